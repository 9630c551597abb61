/*
 * PDF books through the package: a small PDF written by the test itself
 * (pages with text, an outline with a nested entry, Info title and author)
 * is processed, and the manifest (Readium PDF profile, toc, slices with page
 * ranges), positions.json, verify, unpack (with the slices directory), the
 * PDF-specific tamper cases and the corpus's outlined, labelled file are
 * checked.
 */
#include "qr_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "package/package_internal.h"
#include "qr/fs.h"
#include "qr/pdf.h"

enum { NPAGES = 5 };

typedef struct fixture {
    char *dir;
    char pdf[4096];
    qr_keyring *k;
} fixture;

/*
 * Appends object `num` and records its offset. The outline is "Part One"
 * (page 1) with children "Chapter 1" (page 2) and "Chapter 2" (page 3), then
 * "Part Two" (page 4). Objects: 1 catalog, 2 pages, 3 font, 4 info,
 * 5 outline root, 6-9 outline items, then page k at 10 + 2k and its content
 * stream at 11 + 2k.
 */
static void obj(qr_buf *b, long *offs, int num, const char *body)
{
    offs[num] = (long)b->len;
    assert_int_equal(qr_buf_appendf(b, NULL, "%d 0 obj\n%s\nendobj\n", num, body), 0);
}

/* The book; each page k (0-based) in the mask `big` carries 40 KB of noise in its content. */
static int write_pdf(const char *path, unsigned big)
{
    qr_buf b = QR_BUF_INIT(1 << 20);
    long offs[10 + 2 * NPAGES];
    char body[512];
    int nobj = 9 + 2 * NPAGES; /* the last content stream */
    memset(offs, 0, sizeof(offs));
    assert_int_equal(qr_buf_appendf(&b, NULL, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n"), 0);
    obj(&b, offs, 1, "<< /Type /Catalog /Pages 2 0 R /Outlines 5 0 R /PageMode /UseOutlines >>");
    char kids[256] = "";
    for (int k = 0; k < NPAGES; k++) {
        char one[16];
        snprintf(one, sizeof(one), "%d 0 R ", 10 + 2 * k);
        strcat(kids, one);
    }
    snprintf(body, sizeof(body), "<< /Type /Pages /Kids [%s] /Count %d >>", kids, NPAGES);
    obj(&b, offs, 2, body);
    obj(&b, offs, 3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    obj(&b, offs, 4, "<< /Title (Quire PDF test) /Author (The Test Suite) >>");
    obj(&b, offs, 5, "<< /Type /Outlines /First 6 0 R /Last 9 0 R /Count 4 >>");
    obj(&b, offs, 6,
        "<< /Title (Part One) /Parent 5 0 R /Next 9 0 R /First 7 0 R /Last 8 0 R /Count 2 "
        "/Dest [10 0 R /Fit] >>");
    obj(&b, offs, 7, "<< /Title (Chapter 1) /Parent 6 0 R /Next 8 0 R /Dest [12 0 R /Fit] >>");
    obj(&b, offs, 8, "<< /Title (Chapter 2) /Parent 6 0 R /Prev 7 0 R /Dest [14 0 R /Fit] >>");
    obj(&b, offs, 9, "<< /Title (Part Two) /Parent 5 0 R /Prev 6 0 R /Dest [16 0 R /Fit] >>");
    for (int k = 0; k < NPAGES; k++) {
        char text[128];
        snprintf(text, sizeof(text), "BT /F1 24 Tf 72 700 Td (Page %d of the test) Tj ET", k + 1);
        snprintf(body, sizeof(body),
                 "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << "
                 "/F1 3 0 R >> >> /Contents %d 0 R >>",
                 11 + 2 * k);
        obj(&b, offs, 10 + 2 * k, body);
        qr_buf content = QR_BUF_INIT(1 << 20);
        assert_int_equal(qr_buf_appendf(&content, NULL, "%s\n", text), 0);
        /* Hexadecimal noise in comments: Flate cannot make it small. */
        uint32_t x = 2463534242u;
        for (int line = 0; (big >> k & 1) && line < 640; line++) {
            assert_int_equal(qr_buf_appendf(&content, NULL, "%%"), 0);
            for (int w = 0; w < 8; w++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                assert_int_equal(qr_buf_appendf(&content, NULL, "%08x", x), 0);
            }
            assert_int_equal(qr_buf_appendf(&content, NULL, "\n"), 0);
        }
        offs[11 + 2 * k] = (long)b.len;
        assert_int_equal(qr_buf_appendf(&b, NULL, "%d 0 obj\n<< /Length %zu >>\nstream\n",
                                        11 + 2 * k, content.len),
                         0);
        assert_int_equal(qr_buf_append(&b, content.data, content.len, NULL), 0);
        assert_int_equal(qr_buf_appendf(&b, NULL, "\nendstream\nendobj\n"), 0);
        qr_buf_free(&content);
    }
    long xref = (long)b.len;
    assert_int_equal(qr_buf_appendf(&b, NULL, "xref\n0 %d\n0000000000 65535 f \n", nobj + 1), 0);
    for (int i = 1; i <= nobj; i++)
        assert_int_equal(qr_buf_appendf(&b, NULL, "%010ld 00000 n \n", offs[i]), 0);
    assert_int_equal(qr_buf_appendf(&b, NULL,
                                    "trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\n"
                                    "startxref\n%ld\n%%%%EOF\n",
                                    nobj + 1, xref),
                     0);
    int rc = qr_fs_write_atomic(path, b.data, b.len, 0644, NULL);
    qr_buf_free(&b);
    return rc;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    qr_error err = QR_ERROR_INIT;
    if (!f || qr_crypt_global_init(&err) < 0)
        return -1;
    f->dir = qr_test_tmpdir();
    if (!f->dir)
        return -1;
    snprintf(f->pdf, sizeof(f->pdf), "%s/book.pdf", f->dir);
    if (write_pdf(f->pdf, 0) < 0 || qr_keyring_generate(&f->k, "kek-pdf-test", &err) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_keyring_free(f->k);
    qr_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static json_t *load_json(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("%s: %s", path, je.text);
    return j;
}

/* Lossless, `pages` pages per slice (0: by size) on `threads` threads, work under the fixture. */
static qr_process_opts lossless(const fixture *f, int threads, uint32_t pages)
{
    qr_process_opts o = QR_PROCESS_OPTS_INIT;
    o.profile = qr_profile_get("lossless");
    o.threads = threads;
    o.slice_pages = pages;
    o.work_parent = f->dir;
    return o;
}

/* Processes `book` into the package directory `sub`, `pages` pages per slice (0: by size). */
static qr_store *process_into(const fixture *f, const char *book, const char *sub, uint32_t pages,
                              char *pkgdir, size_t n, qr_process_report **rep_out)
{
    snprintf(pkgdir, n, "%s/%s", f->dir, sub);
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_local_new(&s, pkgdir, &err), 0);
    qr_process_report *r = NULL;
    qr_process_opts o = lossless(f, 2, pages);
    if (qr_process_book(&r, book, s, "", f->k, &o, NULL, &err) < 0)
        fail_msg("process %s: %s: %s (%s)", book, err.id, err.msg, err.context);
    if (rep_out)
        *rep_out = r;
    else
        qr_process_report_free(r);
    return s;
}

static uint32_t pdf_pages(const char *path)
{
    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;
    qr_limits lim = QR_LIMITS_INIT;
    if (qr_pdf_open(&p, path, &lim, NULL, &err) < 0)
        fail_msg("open %s: %s: %s", path, err.id, err.msg);
    uint32_t n = qr_pdf_info_get(p)->pages;
    qr_pdf_close(p);
    return n;
}

static void test_manifest(void **state)
{
    fixture *f = *state;
    char dir[4096], path[4200];
    qr_process_report *r = NULL;
    qr_store *s = process_into(f, f->pdf, "manifest", 2, dir, sizeof(dir), &r);
    assert_int_equal(r->slices, 3);
    assert_int_equal(r->pages, NPAGES);
    assert_int_equal(r->positions, NPAGES);
    assert_string_equal(r->pages_source, "pdf");
    /* The test's own PDF is well formed: nothing repaired. */
    assert_int_equal(qr_warnings_count(r->warnings), 0);
    assert_memory_equal(r->book_id, "pdf-", 4);
    assert_int_equal(strlen(r->book_id), 20);
    qr_process_report_free(r);

    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    json_t *m = load_json(path);
    json_t *md = json_object_get(m, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "conformsTo")),
                        "https://readium.org/webpub-manifest/profiles/pdf");
    assert_string_equal(json_string_value(json_object_get(md, "title")), "Quire PDF test");
    assert_string_equal(json_string_value(json_object_get(md, "author")), "The Test Suite");
    assert_int_equal(json_integer_value(json_object_get(md, "numberOfPages")), NPAGES);
    assert_memory_equal(json_string_value(json_object_get(md, "identifier")),
                        "urn:quire:pdf:sha256:", 21);

    /* One PDF in the reading order, no fragment. */
    json_t *ro = json_object_get(m, "readingOrder");
    assert_int_equal(json_array_size(ro), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ro, 0), "href")),
                        "publication.pdf");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ro, 0), "type")),
                        "application/pdf");
    assert_null(json_object_get(m, "resources"));

    /* The outline: two top-level entries, the first with two children; pages are 1-based. */
    json_t *toc = json_object_get(m, "toc");
    assert_int_equal(json_array_size(toc), 2);
    json_t *p1 = json_array_get(toc, 0);
    assert_string_equal(json_string_value(json_object_get(p1, "title")), "Part One");
    assert_string_equal(json_string_value(json_object_get(p1, "href")), "publication.pdf#page=1");
    json_t *kids = json_object_get(p1, "children");
    assert_int_equal(json_array_size(kids), 2);
    json_t *c2 = json_array_get(kids, 1);
    assert_string_equal(json_string_value(json_object_get(c2, "title")), "Chapter 2");
    assert_string_equal(json_string_value(json_object_get(c2, "href")), "publication.pdf#page=3");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(c2, "properties"), "position")), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(toc, 1), "href")),
                        "publication.pdf#page=4");

    /* Slices: page ranges 1-2, 3-4, 5, the same fields as EPUB slices but no resources. */
    json_t *coll = json_object_get(m, "urn:quire:slices");
    json_t *cm = json_object_get(coll, "metadata");
    assert_int_equal(json_integer_value(json_object_get(cm, "count")), 3);
    assert_int_equal(json_integer_value(json_object_get(cm, "pagesPerSlice")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(cm, "pages"), "source")),
                        "pdf");
    json_t *links = json_object_get(coll, "links");
    const int firsts[] = {1, 3, 5}, lasts[] = {2, 4, 5};
    for (size_t i = 0; i < 3; i++) {
        json_t *l = json_array_get(links, i);
        json_t *p = json_object_get(l, "properties");
        char href[32];
        snprintf(href, sizeof(href), "slices/%04zu.qs", i);
        assert_string_equal(json_string_value(json_object_get(l, "href")), href);
        assert_string_equal(json_string_value(json_object_get(p, "contentType")),
                            "application/pdf");
        assert_null(json_object_get(p, "resources"));
        assert_false(json_is_true(json_object_get(p, "base")));
        assert_int_equal(json_integer_value(json_object_get(p, "firstPage")), firsts[i]);
        assert_int_equal(json_integer_value(json_object_get(p, "lastPage")), lasts[i]);
        assert_int_equal(json_integer_value(json_object_get(p, "firstPosition")), firsts[i]);
        assert_int_equal(json_integer_value(json_object_get(p, "lastPosition")), lasts[i]);
        assert_int_equal(strlen(json_string_value(json_object_get(p, "sha256"))), 64);
        snprintf(path, sizeof(path), "%s/%s", dir, href);
        uint64_t sz = 0;
        assert_int_equal(qr_fs_file_size(&sz, path, NULL), 0);
        assert_int_equal(sz, json_integer_value(json_object_get(p, "size")));
    }
    json_decref(m);

    /* positions.json: one Locator per page, as Readium's LcpdfPositionsService. */
    snprintf(path, sizeof(path), "%s/positions.json", dir);
    json_t *pos = load_json(path);
    assert_int_equal(json_integer_value(json_object_get(pos, "total")), NPAGES);
    json_t *list = json_object_get(pos, "positions");
    assert_int_equal(json_array_size(list), NPAGES);
    json_t *p3 = json_array_get(list, 2);
    json_t *loc = json_object_get(p3, "locations");
    assert_string_equal(json_string_value(json_object_get(p3, "href")), "publication.pdf");
    assert_int_equal(json_integer_value(json_object_get(loc, "position")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(loc, "fragments"), 0)),
                        "page=3");
    assert_true(json_real_value(json_object_get(loc, "totalProgression")) == 0.4);
    json_decref(pos);

    /* No cover for a PDF. */
    snprintf(path, sizeof(path), "%s/cover.jpg", dir);
    assert_int_not_equal(access(path, F_OK), 0);
    qr_store_free(s);
}

static void test_verify_unpack(void **state)
{
    fixture *f = *state;
    char dir[4096], out[4200], slices[4200], path[4300];
    qr_store *s = process_into(f, f->pdf, "roundtrip", 2, dir, sizeof(dir), NULL);
    qr_error err = QR_ERROR_INIT;
    qr_verify_report vr;
    qr_read_opts ro = QR_READ_OPTS_INIT;
    ro.work_parent = f->dir;
    if (qr_package_verify_with(&vr, s, "", f->k, &ro, &err) < 0)
        fail_msg("verify: %s: %s (%s)", err.id, err.msg, err.context);
    assert_true(vr.pdf);
    assert_int_equal(vr.pages, NPAGES);
    assert_int_equal(vr.slices, 3);
    assert_int_equal(vr.resources, 0);

    snprintf(out, sizeof(out), "%s/unpacked.pdf", f->dir);
    snprintf(slices, sizeof(slices), "%s/slices-out", f->dir);
    ro.slices_dir = slices;
    if (qr_package_unpack_with(&vr, s, "", f->k, out, &ro, &err) < 0)
        fail_msg("unpack: %s: %s (%s)", err.id, err.msg, err.context);
    assert_int_equal(pdf_pages(out), NPAGES);
    const uint32_t want[] = {2, 2, 1};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%04zu.pdf", slices, i);
        assert_int_equal(pdf_pages(path), want[i]);
    }
    /* Re-running the same job writes nothing. */
    qr_process_report *r = NULL;
    qr_process_opts o = QR_PROCESS_OPTS_INIT;
    o.profile = qr_profile_get("lossless");
    o.slice_pages = 2;
    o.work_parent = f->dir;
    assert_int_equal(qr_process_book(&r, f->pdf, s, "", f->k, &o, NULL, &err), 0);
    assert_true(r->already_published);
    qr_process_report_free(r);
    qr_store_free(s);
}

/* Sized toward a target: with a tiny target every page is its own slice. */
static void test_target_size(void **state)
{
    fixture *f = *state;
    char dir[4096];
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    snprintf(dir, sizeof(dir), "%s/target", f->dir);
    assert_int_equal(qr_store_local_new(&s, dir, &err), 0);
    qr_process_report *r = NULL;
    qr_process_opts o = QR_PROCESS_OPTS_INIT;
    o.profile = qr_profile_get("lossless");
    o.slice_target = 1;
    o.work_parent = f->dir;
    if (qr_process_book(&r, f->pdf, s, "", f->k, &o, NULL, &err) < 0)
        fail_msg("process: %s: %s (%s)", err.id, err.msg, err.context);
    assert_int_equal(r->slices, NPAGES);
    qr_process_report_free(r);
    /* A large target: one slice. */
    o.slice_target = UINT64_C(1) << 30;
    o.revision = "one-slice";
    assert_int_equal(qr_process_book(&r, f->pdf, s, NULL, f->k, &o, NULL, &err), 0);
    assert_int_equal(r->slices, 1);
    qr_process_report_free(r);
    qr_store_free(s);
}

/* Rewrites manifest.json with `edit` applied and signs it again with the service key. */
static void resign(const fixture *f, const char *dir, void (*edit)(json_t *))
{
    char path[4200], sig[4300];
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    snprintf(sig, sizeof(sig), "%s/manifest.json.sig", dir);
    json_t *m = load_json(path);
    edit(m);
    char *text = json_dumps(m, JSON_INDENT(1));
    uint8_t sg[64];
    assert_int_equal(qr_crypt_sign(sg, f->k, (const uint8_t *)text, strlen(text), NULL), 0);
    assert_int_equal(qr_fs_write_atomic(path, text, strlen(text), 0644, NULL), 0);
    assert_int_equal(qr_fs_write_atomic(sig, sg, sizeof(sg), 0644, NULL), 0);
    free(text);
    json_decref(m);
}

static json_t *slice_props(json_t *m, size_t i)
{
    return json_object_get(
        json_array_get(json_object_get(json_object_get(m, "urn:quire:slices"), "links"), i),
        "properties");
}

/* Slice 0 holds pages 1-2; a signed manifest that says 1-1 (and 2-4 for slice 1) still tiles. */
static void shift_ranges(json_t *m)
{
    json_object_set_new(slice_props(m, 0), "lastPage", json_integer(1));
    json_object_set_new(slice_props(m, 1), "firstPage", json_integer(2));
}

static void gap_in_ranges(json_t *m)
{
    json_object_set_new(slice_props(m, 1), "firstPage", json_integer(4));
}

static void wrong_total(json_t *m)
{
    json_object_set_new(json_object_get(m, "metadata"), "numberOfPages", json_integer(9));
}

static void expect_verify(const fixture *f, const char *dir, const char *id, const char *context)
{
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_local_new(&s, dir, &err), 0);
    qr_read_opts ro = QR_READ_OPTS_INIT;
    ro.work_parent = f->dir;
    assert_true(qr_package_verify_with(NULL, s, "", f->k, &ro, &err) < 0);
    if (strcmp(err.id, id) != 0)
        fail_msg("expected %s, got %s: %s (%s)", id, err.id, err.msg, err.context);
    if (context && !strstr(err.context, context))
        fail_msg("expected context %s, got '%s'", context, err.context);
    qr_store_free(s);
}

static void test_tamper(void **state)
{
    fixture *f = *state;
    char dir[4096];
    qr_store_free(process_into(f, f->pdf, "tamper-pages", 2, dir, sizeof(dir), NULL));
    resign(f, dir, shift_ranges);
    expect_verify(f, dir, "slice-invalid", "slices/0000.qs");

    qr_store_free(process_into(f, f->pdf, "tamper-gap", 2, dir, sizeof(dir), NULL));
    resign(f, dir, gap_in_ranges);
    expect_verify(f, dir, "manifest-invalid", "manifest.json");

    qr_store_free(process_into(f, f->pdf, "tamper-total", 2, dir, sizeof(dir), NULL));
    resign(f, dir, wrong_total);
    expect_verify(f, dir, "manifest-invalid", "manifest.json");
}

/* Not a PDF, not an EPUB: unsupported-format and nothing written. */
static void test_not_a_book(void **state)
{
    fixture *f = *state;
    char bad[4200], dir[4200], man[4300];
    snprintf(bad, sizeof(bad), "%s/notes.txt", f->dir);
    assert_int_equal(qr_fs_write_atomic(bad, "hello\n", 6, 0644, NULL), 0);
    snprintf(dir, sizeof(dir), "%s/not-a-book", f->dir);
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_local_new(&s, dir, &err), 0);
    qr_process_report *r = NULL;
    qr_process_opts o = QR_PROCESS_OPTS_INIT;
    assert_true(qr_process_book(&r, bad, s, "", f->k, &o, NULL, &err) < 0);
    assert_string_equal(err.id, "unsupported-format");
    assert_null(r);
    snprintf(man, sizeof(man), "%s/manifest.json", dir);
    assert_int_not_equal(access(man, F_OK), 0);
    qr_store_free(s);
}

/* A store whose put of `fail_key` fails; every other put goes to `inner`. */
typedef struct failing {
    qr_store *inner;
    const char *fail_key;
    int puts;
} failing;

static int failing_put(void *ctx, const char *key, const void *data, size_t len, qr_error *err)
{
    failing *fs = ctx;
    fs->puts++;
    if (strcmp(key, fs->fail_key) == 0)
        return qr_error_set(err, QR_ERR_WRITE_FAILED, "store", "refused %s", key);
    return qr_store_put(fs->inner, key, data, len, err);
}

static int failing_get(void *ctx, const char *key, qr_buf *out, qr_error *err)
{
    return qr_store_get(((failing *)ctx)->inner, key, out, err);
}

static int failing_exists(void *ctx, const char *key, bool *out, qr_error *err)
{
    return qr_store_exists(((failing *)ctx)->inner, key, out, err);
}

static int failing_remove(void *ctx, const char *key, qr_error *err)
{
    return qr_store_remove(((failing *)ctx)->inner, key, err);
}

/* Unpacks the package in `s` with each decrypted slice left in <dir>/<sub>/NNNN.pdf. */
static void unpack_slices(const fixture *f, const qr_store *s, const char *sub)
{
    char out[4200], slices[4200];
    qr_verify_report vr;
    qr_read_opts ro = QR_READ_OPTS_INIT;
    qr_error err = QR_ERROR_INIT;
    ro.work_parent = f->dir;
    snprintf(out, sizeof(out), "%s/%s.pdf", f->dir, sub);
    snprintf(slices, sizeof(slices), "%s/%s", f->dir, sub);
    ro.slices_dir = slices;
    if (qr_package_unpack_with(&vr, s, "", f->k, out, &ro, &err) < 0)
        fail_msg("unpack: %s: %s (%s)", err.id, err.msg, err.context);
}

/*
 * One page per slice on two threads: the cutter thread runs ahead of the
 * loop. A put that fails at slice 1 stops the run with that error (the
 * cutter is stopped and joined, nothing leaks), and no manifest is written;
 * the slices of a one-thread run (cut on the loop's thread) decrypt to the
 * same PDFs as the two-thread run's.
 */
static void test_cut_ahead_stops_on_failure(void **state)
{
    fixture *f = *state;
    char dir[4200], man[4300];
    snprintf(dir, sizeof(dir), "%s/failing", f->dir);
    qr_store *inner = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_local_new(&inner, dir, &err), 0);
    failing fs = {inner, "slices/0001.qs", 0};
    static const qr_store_ops ops = {.put = failing_put,
                                     .get = failing_get,
                                     .exists = failing_exists,
                                     .remove = failing_remove};
    qr_store *s = qr_store_new(&ops, &fs);
    assert_non_null(s);
    qr_process_report *r = NULL;
    qr_process_opts o = lossless(f, 2, 1);
    assert_true(qr_process_book(&r, f->pdf, s, "", f->k, &o, NULL, &err) < 0);
    assert_string_equal(err.id, "write-failed");
    assert_null(r);
    assert_int_equal(fs.puts, 2);
    snprintf(man, sizeof(man), "%s/manifest.json", dir);
    assert_int_not_equal(access(man, F_OK), 0);
    qr_store_free(s);
    qr_store_free(inner);

    /* One thread and two threads publish the same slice PDFs. */
    char d1[4200], d2[4200];
    qr_process_report *r1 = NULL, *r2 = NULL;
    qr_store *s2 = process_into(f, f->pdf, "two-threads", 1, d2, sizeof(d2), &r2);
    snprintf(d1, sizeof(d1), "%s/one-thread", f->dir);
    qr_store *s1 = NULL;
    assert_int_equal(qr_store_local_new(&s1, d1, &err), 0);
    o.threads = 1;
    if (qr_process_book(&r1, f->pdf, s1, "", f->k, &o, NULL, &err) < 0)
        fail_msg("%s: %s", err.id, err.msg);
    assert_int_equal(r1->slices, r2->slices);
    assert_int_equal(r1->plain_bytes, r2->plain_bytes);
    /* Decrypted, slice by slice: the same bytes but for the fresh trailer /ID. */
    unpack_slices(f, s1, "one-thread-slices");
    unpack_slices(f, s2, "two-threads-slices");
    for (size_t i = 0; i < r1->slices; i++) {
        char a[4300], b[4300];
        snprintf(a, sizeof(a), "%s/one-thread-slices/%04zu.pdf", f->dir, i);
        snprintf(b, sizeof(b), "%s/two-threads-slices/%04zu.pdf", f->dir, i);
        if (!qr_test_pdf_files_same_but_id(a, b))
            fail_msg("slice %zu differs between one and two threads", i);
    }
    qr_process_report_free(r1);
    qr_process_report_free(r2);
    qr_store_free(s1);
    qr_store_free(s2);
}

/*
 * Pages 4 and 5 are larger than the book's buffer limit: on three threads
 * (cutters from twins of the document, working ahead), the run fails with
 * page 4's error, whichever cutter failed first, after the slices before it
 * were published; the cutters are stopped and joined, nothing leaks.
 */
static void test_cut_failure_stops_cutters(void **state)
{
    fixture *f = *state;
    char book[4200], dir[4200], path[4300];
    snprintf(book, sizeof(book), "%s/big-page.pdf", f->dir);
    assert_int_equal(write_pdf(book, 1u << 3 | 1u << 4), 0);
    snprintf(dir, sizeof(dir), "%s/cut-failure", f->dir);
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_local_new(&s, dir, &err), 0);
    qr_process_report *r = NULL;
    qr_process_opts o = lossless(f, 3, 1);
    o.limits.max_total_bytes = 16384;
    o.limits.max_entry_bytes = 16384;
    for (int run = 0; run < 3; run++) {
        err = (qr_error)QR_ERROR_INIT;
        assert_true(qr_process_book(&r, book, s, "", f->k, &o, NULL, &err) < 0);
        assert_null(r);
        if (strcmp(err.id, "entry-too-large") != 0)
            fail_msg("%s: %s (%s)", err.id, err.msg, err.context);
        assert_non_null(strstr(err.context, "pages 4-4"));
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof(path), "%s/slices/%04d.qs", dir, i);
            assert_int_equal(access(path, F_OK), 0);
        }
        snprintf(path, sizeof(path), "%s/slices/0003.qs", dir);
        assert_int_not_equal(access(path, F_OK), 0);
        snprintf(path, sizeof(path), "%s/manifest.json", dir);
        assert_int_not_equal(access(path, F_OK), 0);
    }
    /* Under the default limit the same book goes through. */
    o.limits = (qr_limits)QR_LIMITS_INIT;
    if (qr_process_book(&r, book, s, "", f->k, &o, NULL, &err) < 0)
        fail_msg("%s: %s (%s)", err.id, err.msg, err.context);
    assert_int_equal(r->slices, NPAGES);
    qr_process_report_free(r);
    qr_store_free(s);
}

/* The corpus's linearized file has an outline and page labels: toc and pageList. */
static void test_corpus_outline_labels(void **state)
{
    fixture *f = *state;
    const char *corpus = qr_test_corpus_dir();
    if (!corpus)
        skip();
    char book[4096], dir[4096], path[4200];
    snprintf(book, sizeof(book), "%s/pdf/qpdf/linearized.pdf", corpus);
    qr_pdf *p = NULL;
    qr_limits lim = QR_LIMITS_INIT;
    assert_int_equal(qr_pdf_open(&p, book, &lim, NULL, NULL), 0);
    const qr_pdf_info *info = qr_pdf_info_get(p);
    uint32_t pages = info->pages;
    bool labels = info->page_labels != NULL;
    bool outline = info->noutline > 0;
    qr_pdf_close(p);
    qr_store *s = process_into(f, book, "corpus-linearized", 0, dir, sizeof(dir), NULL);
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    json_t *m = load_json(path);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(m, "metadata"), "numberOfPages")),
        pages);
    if (outline)
        assert_true(json_array_size(json_object_get(m, "toc")) > 0);
    if (labels)
        assert_int_equal(json_array_size(json_object_get(m, "pageList")), pages);
    json_decref(m);
    qr_error err = QR_ERROR_INIT;
    if (qr_package_verify(NULL, s, "", f->k, NULL, &err) < 0)
        fail_msg("verify: %s: %s (%s)", err.id, err.msg, err.context);
    qr_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest),
        cmocka_unit_test(test_verify_unpack),
        cmocka_unit_test(test_target_size),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_not_a_book),
        cmocka_unit_test(test_corpus_outline_labels),
        cmocka_unit_test(test_cut_ahead_stops_on_failure),
        cmocka_unit_test(test_cut_failure_stops_cutters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
