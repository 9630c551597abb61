/*
 * The slice plan and slice ZIPs: every entry in exactly one slice, slices in
 * reading order, the size target kept, shared resources in the base,
 * exclusive ones with their text, large images alone; raw copies in ZIPs.
 */
#include "qr_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "epub_builder.h"
#include "qr/image.h"
#include "qr/sample.h"
#include "qr/slice.h"

#define TARGET 10000

typedef struct fixture {
    char *bufs[8];
    size_t nbufs;
    uint8_t *zip;
    size_t zip_len;
    qr_epub *e;
    qr_positions *p;
    qr_slice_plan *plan;
} fixture;

static const char opf[] =
    "<?xml version=\"1.0\"?><package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" "
    "unique-identifier=\"uid\"><metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
    "<dc:identifier id=\"uid\">urn:uuid:12345678-9abc-def0-1234-56789abcdef0</dc:identifier>"
    "<dc:title>T</dc:title><dc:language>en</dc:language></metadata><manifest>"
    "<item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" properties=\"nav\"/>"
    "<item id=\"css\" href=\"style.css\" media-type=\"text/css\"/>"
    "<item id=\"cover\" href=\"img/cover.jpg\" media-type=\"image/jpeg\" "
    "properties=\"cover-image\"/>"
    "<item id=\"c1\" href=\"text/c1.xhtml\" media-type=\"application/xhtml+xml\"/>"
    "<item id=\"c2\" href=\"text/c2.xhtml\" media-type=\"application/xhtml+xml\"/>"
    "<item id=\"notes\" href=\"text/notes.xhtml\" media-type=\"application/xhtml+xml\"/>"
    "<item id=\"c3\" href=\"text/c3.xhtml\" media-type=\"application/xhtml+xml\"/>"
    "<item id=\"c4\" href=\"text/c4.xhtml\" media-type=\"application/xhtml+xml\"/>"
    "<item id=\"c5\" href=\"text/c5.xhtml\" media-type=\"application/xhtml+xml\"/>"
    "<item id=\"shared\" href=\"img/shared.png\" media-type=\"image/png\"/>"
    "<item id=\"own2\" href=\"img/own%202.png\" media-type=\"image/png\"/>"
    "<item id=\"big3\" href=\"img/big3.png\" media-type=\"image/png\"/>"
    "<item id=\"orphan\" href=\"img/orphan.png\" media-type=\"image/png\"/>"
    "</manifest><spine><itemref idref=\"c1\"/><itemref idref=\"c2\"/>"
    "<itemref idref=\"notes\" linear=\"no\"/><itemref idref=\"c3\"/><itemref idref=\"c4\"/>"
    "<itemref idref=\"c5\"/></spine></package>";

/* A chapter of exactly `size` bytes (stored, so stored size = size) holding `refs`. */
static char *chapter(fixture *f, const char *refs, size_t size)
{
    static const char head[] = "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\""
                               " xmlns:xlink=\"http://www.w3.org/1999/xlink\"><body>";
    static const char tail[] = "<p>x</p></body></html>";
    size_t fixed = strlen(head) + strlen(refs) + strlen(tail);
    char *s = malloc(size + 1);
    assert_non_null(s);
    assert_true(size > fixed);
    size_t w = 0;
    memcpy(s + w, head, strlen(head));
    w += strlen(head);
    memcpy(s + w, refs, strlen(refs));
    w += strlen(refs);
    memset(s + w, ' ', size - fixed);
    w += size - fixed;
    memcpy(s + w, tail, strlen(tail));
    s[size] = 0;
    f->bufs[f->nbufs++] = s;
    return s;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    char *c1 = chapter(f, "<img src=\"../img/shared.png\"/>", 3000);
    char *c2 = chapter(f,
                       "<img src=\"../img/own%202.png\"/><a href=\"notes.xhtml#n1\">n</a>"
                       "<a href=\"c1.xhtml\">back</a><img src=\"http://example.com/x.png\"/>"
                       "<img src=\"../../../etc/passwd\"/>",
                       3000);
    char *c3 = chapter(f, "<svg><image xlink:href=\"../img/big3.png\"/></svg>", 3000);
    char *c4 = chapter(f, "<IMG SRC=\"../img/shared.png#frag\">", 6000);
    char *c5 = chapter(f, "<p>plain</p>", 2000);
    char *notes = chapter(f, "<p id=\"n1\">note</p>", 1000);
    qr_test_entry ents[] = {
        {"mimetype", "application/epub+zip", 20, true},
        QR_TEST_TEXT("META-INF/container.xml", ""),
        {"EPUB/package.opf", opf, sizeof(opf) - 1, false},
        {"EPUB/nav.xhtml", qr_test_default_nav, strlen(qr_test_default_nav), false},
        {"EPUB/style.css", NULL, 800, true},
        {"EPUB/img/cover.jpg", NULL, 4000, true},
        {"EPUB/text/c1.xhtml", c1, 3000, true},
        {"EPUB/text/c2.xhtml", c2, 3000, true},
        {"EPUB/text/notes.xhtml", notes, 1000, true},
        {"EPUB/text/c3.xhtml", c3, 3000, true},
        {"EPUB/text/c4.xhtml", c4, 6000, true},
        {"EPUB/text/c5.xhtml", c5, 2000, true},
        {"EPUB/img/shared.png", NULL, 500, true},
        {"EPUB/img/own 2.png", NULL, 1500, true},
        {"EPUB/img/big3.png", NULL, 20000, true},
        {"EPUB/img/orphan.png", NULL, 300, true},
    };
    ents[1].data = qr_test_container_xml;
    ents[1].len = strlen(qr_test_container_xml);
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    if (qr_test_zip_memory(&f->zip, &f->zip_len, ents, sizeof(ents) / sizeof(ents[0])) < 0 ||
        qr_epub_open_buffer(&f->e, f->zip, f->zip_len, &o, NULL) < 0 ||
        qr_positions_compute(&f->p, f->e, NULL) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_slice_plan_free(f->plan);
    qr_positions_free(f->p);
    qr_epub_free(f->e);
    free(f->zip);
    for (size_t i = 0; i < f->nbufs; i++)
        free(f->bufs[i]);
    free(f);
    return 0;
}

/* Slice holding entry `path`, or -1. */
static long slice_of(const qr_slice_plan *plan, const qr_epub *e, const char *path)
{
    int ent = qr_epub_find_entry(e, path);
    assert_true(ent >= 0);
    for (size_t i = 0; i < qr_slice_plan_count(plan); i++) {
        const qr_slice_info *si = qr_slice_plan_get(plan, i);
        for (size_t k = 0; k < si->nentries; k++)
            if (si->entries[k] == (size_t)ent)
                return (long)i;
    }
    return -1;
}

/*
 * The invariants every plan keeps: each entry but mimetype, directories and
 * shadowed duplicates in exactly one slice (archive order inside a slice);
 * slice 0 is the base; text slices follow the spine with monotonic
 * positions; a slice over the target holds one linear item, or one
 * non-document resource alone.
 */
static void check_invariants(const qr_slice_plan *plan, const qr_epub *e, const qr_positions *p,
                             uint64_t target)
{
    size_t ne = qr_epub_entry_count(e);
    int *seen = calloc(ne ? ne : 1, sizeof(int));
    assert_non_null(seen);
    size_t n = qr_slice_plan_count(plan);
    int nav = qr_epub_get_info(e)->nav_item, cover = qr_epub_get_info(e)->cover_item;
    /* Per entry: 1 a spine document, 2 a linear one that does not live in the
     * base (a nav document or cover image in the spine does). */
    char *role = calloc(ne ? ne : 1, 1);
    assert_non_null(role);
    for (size_t s = 0; s < qr_epub_spine_count(e); s++) {
        const qr_epub_itemref *ref = qr_epub_get_spine(e, s);
        int ent = qr_epub_get_item(e, (size_t)ref->item)->entry;
        if (ent < 0)
            continue;
        if (role[ent] == 0)
            role[ent] = 1;
        if (ref->linear && ref->item != nav && ref->item != cover)
            role[ent] = 2;
    }
    assert_true(n >= 1);
    long last_spine = -1, last_first = -1;
    uint32_t last_pos = 0;
    for (size_t i = 0; i < n; i++) {
        const qr_slice_info *si = qr_slice_plan_get(plan, i);
        assert_int_equal(si->index, i);
        assert_int_equal(si->is_base, i == 0);
        assert_true(si->nentries > 0);
        uint64_t sum = 0;
        size_t docs = 0, linear = 0;
        for (size_t k = 0; k < si->nentries; k++) {
            assert_true(si->entries[k] < ne);
            if (k > 0)
                assert_true(si->entries[k] > si->entries[k - 1]);
            seen[si->entries[k]]++;
            const qr_epub_entry *ent = qr_epub_get_entry(e, si->entries[k]);
            sum += ent->comp_size;
            docs += role[si->entries[k]] != 0;
            linear += role[si->entries[k]] == 2;
        }
        assert_int_equal(sum, si->stored_bytes);
        if (si->is_base) {
            assert_int_equal(si->first_spine, -1);
            assert_int_equal(si->first_position, 0);
            assert_int_equal(linear, 0);
            continue;
        }
        assert_true(si->last_spine >= si->first_spine);
        if (docs == 0) {
            /* A large resource alone, right after the text slice that uses it. */
            assert_int_equal(si->nentries, 1);
            assert_true(si->stored_bytes > target);
            assert_true(si->first_spine >= last_first && si->last_spine <= last_spine);
            continue;
        }
        assert_true(si->first_spine > last_spine);
        if (si->stored_bytes > target && linear != 1)
            fail_msg("slice %zu (spine %ld-%ld) holds %llu bytes and %zu linear items", i,
                     si->first_spine, si->last_spine, (unsigned long long)si->stored_bytes, linear);
        if (p->span[si->first_spine] > 0) {
            assert_int_equal(si->first_position, p->first[si->first_spine]);
            assert_true(si->last_position >= si->first_position);
            assert_true(si->first_position > last_pos);
            last_pos = si->last_position;
        }
        last_first = si->first_spine;
        last_spine = si->last_spine;
    }
    for (size_t i = 0; i < ne; i++) {
        const qr_epub_entry *ent = qr_epub_get_entry(e, i);
        int want = ent->is_dir || ent->is_duplicate || strcmp(ent->path, "mimetype") == 0 ? 0 : 1;
        if (seen[i] != want)
            fail_msg("entry %s is in %d slices", ent->path, seen[i]);
    }
    /* Every linear spine item has been covered by a text slice. */
    for (size_t s = 0; s < qr_epub_spine_count(e); s++)
        if (qr_epub_get_spine(e, s)->linear && p->span[s] > 0 &&
            qr_epub_get_spine(e, s)->item != nav && qr_epub_get_spine(e, s)->item != cover)
            assert_true(last_spine >= (long)s);
    free(role);
    free(seen);
}

static void test_generated_plan(void **state)
{
    fixture *f = *state;
    qr_slice_opts o = QR_SLICE_OPTS_INIT;
    o.target_bytes = TARGET;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_slice_plan_new(&f->plan, f->e, f->p, &o, &err), 0);
    check_invariants(f->plan, f->e, f->p, TARGET);
    /* base, [c1 c2 notes own2], [c3 c4], [big3], [c5] */
    assert_int_equal(qr_slice_plan_count(f->plan), 5);
    const qr_slice_plan *pl = f->plan;
    const qr_epub *e = f->e;
    assert_int_equal(slice_of(pl, e, "META-INF/container.xml"), 0);
    assert_int_equal(slice_of(pl, e, "EPUB/package.opf"), 0);
    assert_int_equal(slice_of(pl, e, "EPUB/nav.xhtml"), 0);
    assert_int_equal(slice_of(pl, e, "EPUB/style.css"), 0);
    assert_int_equal(slice_of(pl, e, "EPUB/img/cover.jpg"), 0);
    assert_int_equal(slice_of(pl, e, "EPUB/img/shared.png"), 0);
    assert_int_equal(slice_of(pl, e, "EPUB/img/orphan.png"), 0);
    assert_int_equal(slice_of(pl, e, "mimetype"), -1);
    assert_int_equal(slice_of(pl, e, "EPUB/text/c1.xhtml"), 1);
    assert_int_equal(slice_of(pl, e, "EPUB/text/c2.xhtml"), 1);
    assert_int_equal(slice_of(pl, e, "EPUB/text/notes.xhtml"), 1);
    assert_int_equal(slice_of(pl, e, "EPUB/img/own 2.png"), 1);
    assert_int_equal(slice_of(pl, e, "EPUB/text/c3.xhtml"), 2);
    assert_int_equal(slice_of(pl, e, "EPUB/text/c4.xhtml"), 2);
    assert_int_equal(slice_of(pl, e, "EPUB/img/big3.png"), 3);
    assert_int_equal(slice_of(pl, e, "EPUB/text/c5.xhtml"), 4);
    const qr_slice_info *big = qr_slice_plan_get(pl, 3);
    assert_int_equal(big->first_spine, 3);
    assert_int_equal(big->last_spine, 3);
    assert_int_equal(big->first_position, f->p->first[3]);
    assert_int_equal(qr_slice_plan_get(pl, 1)->stored_bytes, 3000 + 3000 + 1000 + 1500);
    assert_int_equal(qr_slice_plan_get(pl, 1)->first_spine, 0);
    assert_int_equal(qr_slice_plan_get(pl, 1)->last_spine, 1);
    assert_int_equal(qr_slice_plan_get(pl, 1)->first_position, 1);
    assert_null(qr_slice_plan_get(pl, 5));
}

static void test_tiny_and_huge_targets(void **state)
{
    fixture *f = *state;
    qr_slice_opts o = QR_SLICE_OPTS_INIT;
    o.target_bytes = 1;
    assert_int_equal(qr_slice_plan_new(&f->plan, f->e, f->p, &o, NULL), 0);
    check_invariants(f->plan, f->e, f->p, 1);
    /* One slice per linear item, every image shared or travelling alone. */
    assert_true(qr_slice_plan_count(f->plan) >= 6);
    qr_slice_plan_free(f->plan);
    f->plan = NULL;
    o.target_bytes = UINT64_C(1) << 40;
    assert_int_equal(qr_slice_plan_new(&f->plan, f->e, f->p, &o, NULL), 0);
    check_invariants(f->plan, f->e, f->p, o.target_bytes);
    assert_int_equal(qr_slice_plan_count(f->plan), 2);
    /* Everything in one text slice: shared.png is no longer shared. */
    assert_int_equal(slice_of(f->plan, f->e, "EPUB/img/shared.png"), 1);
}

static void test_invalid_arguments(void **state)
{
    fixture *f = *state;
    qr_slice_opts o = {0};
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_slice_plan_new(&f->plan, f->e, f->p, &o, &err), QR_EINVAL);
    assert_string_equal(err.id, "invalid-argument");
    assert_null(f->plan);
    qr_buf b = QR_BUF_INIT(1 << 20);
    qr_error_clear(&err);
    assert_int_equal(qr_slice_write(&b, f->e, NULL, 0, &err), QR_EINVAL);
    qr_buf_free(&b);
}

/* Reads every slice ZIP back and compares names and bytes with the book. */
static void check_zips(const qr_slice_plan *plan, const qr_epub *e)
{
    for (size_t i = 0; i < qr_slice_plan_count(plan); i++) {
        const qr_slice_info *si = qr_slice_plan_get(plan, i);
        qr_buf b = QR_BUF_INIT(SIZE_MAX);
        qr_error err = QR_ERROR_INIT;
        assert_int_equal(qr_slice_write(&b, e, plan, i, &err), 0);
        zip_error_t ze;
        zip_error_init(&ze);
        zip_source_t *src = zip_source_buffer_create(b.data, b.len, 0, &ze);
        assert_non_null(src);
        zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
        assert_non_null(za);
        assert_int_equal(zip_get_num_entries(za, 0), si->nentries);
        for (size_t k = 0; k < si->nentries; k++) {
            const qr_epub_entry *ent = qr_epub_get_entry(e, si->entries[k]);
            zip_stat_t zs;
            assert_int_equal(zip_stat_index(za, k, 0, &zs), 0);
            assert_string_equal(zs.name, ent->path);
            assert_int_equal(zs.comp_size, ent->comp_size);
            assert_int_equal(zs.comp_method, ent->comp_method);
            assert_int_equal(zs.crc, ent->crc);
            qr_buf orig = QR_BUF_INIT(SIZE_MAX);
            assert_int_equal(qr_epub_read_entry(&orig, e, si->entries[k], NULL), 0);
            assert_int_equal(zs.size, orig.len);
            uint8_t *got = malloc(orig.len + 1);
            assert_non_null(got);
            zip_file_t *zf = zip_fopen_index(za, k, 0);
            assert_non_null(zf);
            assert_int_equal(zip_fread(zf, got, orig.len), (zip_int64_t)orig.len);
            zip_fclose(zf);
            assert_memory_equal(got, orig.data, orig.len);
            free(got);
            qr_buf_free(&orig);
        }
        zip_close(za);
        zip_error_fini(&ze);
        qr_buf_free(&b);
    }
}

static void test_write_slices(void **state)
{
    fixture *f = *state;
    qr_slice_opts o = QR_SLICE_OPTS_INIT;
    o.target_bytes = TARGET;
    assert_int_equal(qr_slice_plan_new(&f->plan, f->e, f->p, &o, NULL), 0);
    check_zips(f->plan, f->e);
    /* Bounded by the caller's cap. */
    qr_buf small = QR_BUF_INIT(100);
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_slice_write(&small, f->e, f->plan, 3, &err) < 0);
    assert_int_equal(err.code, QR_ELIMIT);
    qr_buf_free(&small);
}

static void test_sample_book(void **state)
{
    (void)state;
    char *dir = qr_test_tmpdir();
    assert_non_null(dir);
    char path[4096];
    snprintf(path, sizeof(path), "%s/sample.epub", dir);
    qr_sample_opts so = QR_SAMPLE_OPTS_INIT;
    so.chapters = 6;
    so.images = 4;
    so.image_width = 400;
    so.image_height = 300;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_sample_book_write(path, &so, &err), 0);
    qr_epub *e = NULL;
    qr_positions *p = NULL;
    qr_slice_plan *plan = NULL;
    qr_epub_opts eo = QR_EPUB_OPTS_INIT;
    assert_int_equal(qr_epub_open(&e, path, &eo, &err), 0);
    assert_int_equal(qr_positions_compute(&p, e, &err), 0);
    qr_slice_opts o = QR_SLICE_OPTS_INIT;
    o.target_bytes = 16384;
    assert_int_equal(qr_slice_plan_new(&plan, e, p, &o, &err), 0);
    check_invariants(plan, e, p, o.target_bytes);
    assert_true(qr_slice_plan_count(plan) > 2);
    check_zips(plan, e);
    qr_slice_plan_free(plan);
    qr_positions_free(p);
    qr_epub_free(e);
    qr_test_rmtree(dir);
    free(dir);
}

static void corpus_book(const char *path)
{
    qr_epub *e = NULL;
    qr_positions *p = NULL;
    qr_epub_opts eo = QR_EPUB_OPTS_INIT;
    if (qr_epub_open(&e, path, &eo, NULL) < 0)
        return;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_positions_compute(&p, e, &err), 0);
    static const uint64_t targets[] = {262144, 65536, 1};
    for (size_t t = 0; t < 3; t++) {
        qr_slice_plan *plan = NULL;
        qr_slice_opts o = {targets[t]};
        if (qr_slice_plan_new(&plan, e, p, &o, &err) < 0)
            fail_msg("%s: %s", path, err.msg);
        check_invariants(plan, e, p, targets[t]);
        if (t == 0)
            check_zips(plan, e);
        qr_slice_plan_free(plan);
    }
    qr_positions_free(p);
    qr_epub_free(e);
}

static void test_corpus(void **state)
{
    (void)state;
    const char *dir = qr_test_corpus_dir();
    if (!dir)
        skip();
    static const char *const subs[] = {"epubcheck", "media-overlays", "real-world", "samples",
                                       "standardebooks"};
    size_t books = 0;
    for (size_t s = 0; s < sizeof(subs) / sizeof(subs[0]); s++) {
        char d[4096];
        snprintf(d, sizeof(d), "%s/epub/%s", dir, subs[s]);
        DIR *dp = opendir(d);
        if (!dp)
            continue;
        struct dirent *de;
        while ((de = readdir(dp))) {
            size_t n = strlen(de->d_name);
            if (n < 5 || strcmp(de->d_name + n - 5, ".epub") != 0)
                continue;
            char path[8192];
            snprintf(path, sizeof(path), "%s/%s", d, de->d_name);
            corpus_book(path);
            books++;
        }
        closedir(dp);
    }
    if (books == 0)
        skip();
}

static int global_setup(void **state)
{
    (void)state;
    return qr_image_global_init("test_plan", NULL) < 0 ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generated_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiny_and_huge_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_slices, setup, teardown),
        cmocka_unit_test(test_sample_book),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, global_setup, NULL);
}
