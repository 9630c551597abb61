/*
 * The package end to end on generated books: layout, manifest structure,
 * manifest written last, idempotent re-runs, verification, every tamper
 * case with its error id, and the unpack round trip.
 */
#include "qr_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qr/epub.h"
#include "qr/fs.h"
#include "qr/image.h"
#include "qr/log.h"
#include "qr/package.h"
#include "qr/sample.h"

typedef struct fixture {
    char *dir;
    char book[4096];
    char book2[4096];
    qr_keyring *k;
    qr_keyring *k2;
} fixture;

/* A store over a local one that counts puts, remembers their order and can fail one key. */
typedef struct spy {
    qr_store *inner;
    int puts;
    char keys[64][64];
    const char *fail_on; /* basename whose put fails */
} spy;

static int spy_put(void *ctx, const char *key, const void *d, size_t n, qr_error *err)
{
    spy *s = ctx;
    const char *base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
    if (s->fail_on && strcmp(base, s->fail_on) == 0)
        return qr_error_set(err, QR_ERR_WRITE_FAILED, "store", "injected failure on %s", key);
    if (s->puts < 64)
        snprintf(s->keys[s->puts], sizeof(s->keys[0]), "%s", key);
    s->puts++;
    return qr_store_put(s->inner, key, d, n, err);
}

static int spy_get(void *ctx, const char *key, qr_buf *out, qr_error *err)
{
    return qr_store_get(((spy *)ctx)->inner, key, out, err);
}

static int spy_exists(void *ctx, const char *key, bool *out, qr_error *err)
{
    return qr_store_exists(((spy *)ctx)->inner, key, out, err);
}

static int spy_remove(void *ctx, const char *key, qr_error *err)
{
    return qr_store_remove(((spy *)ctx)->inner, key, err);
}

static const qr_store_ops spy_ops = {
    .put = spy_put, .get = spy_get, .exists = spy_exists, .remove = spy_remove};

static int write_book(const char *path, uint32_t seed, const char *id)
{
    qr_sample_opts so = QR_SAMPLE_OPTS_INIT;
    so.chapters = 6;
    so.images = 4;
    so.image_width = 640;
    so.image_height = 480;
    so.seed = seed;
    so.identifier = id;
    qr_error err = QR_ERROR_INIT;
    if (qr_sample_book_write(path, &so, &err) < 0) {
        fprintf(stderr, "sample book: %s: %s\n", err.id, err.msg);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    qr_error err = QR_ERROR_INIT;
    if (!f || qr_crypt_global_init(&err) < 0 || qr_image_global_init("test", &err) < 0)
        return -1;
    f->dir = qr_test_tmpdir();
    if (!f->dir)
        return -1;
    snprintf(f->book, sizeof(f->book), "%s/a.epub", f->dir);
    snprintf(f->book2, sizeof(f->book2), "%s/b.epub", f->dir);
    if (write_book(f->book, 1, "urn:uuid:00000000-0000-4000-8000-00000000000a") < 0 ||
        write_book(f->book2, 2, "urn:uuid:00000000-0000-4000-8000-00000000000b") < 0)
        return -1;
    if (qr_keyring_generate(&f->k, "kek-test-1", &err) < 0 ||
        qr_keyring_generate(&f->k2, "kek-test-2", &err) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_keyring_free(f->k);
    qr_keyring_free(f->k2);
    qr_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Processes `book` into the directory `sub` of the fixture (a package directory). */
static qr_store *process_into(fixture *f, const char *book, const char *sub, qr_keyring *k,
                              char *pkgdir, size_t n)
{
    snprintf(pkgdir, n, "%s/%s", f->dir, sub);
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_local_new(&s, pkgdir, &err), 0);
    qr_process_report *r = NULL;
    qr_process_opts o = QR_PROCESS_OPTS_INIT;
    o.threads = 2;
    o.slice_target = 64 * 1024;
    if (qr_process_book(&r, book, s, "", k, &o, NULL, &err) < 0)
        fail_msg("process %s: %s: %s (%s)", book, err.id, err.msg, err.context);
    assert_false(r->already_published);
    assert_true(r->slices >= 3);
    qr_process_report_free(r);
    return s;
}

static json_t *load_json(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("%s: %s", path, je.text);
    return j;
}

static void copy_file(const char *from, const char *to)
{
    qr_buf b = QR_BUF_INIT(1 << 28);
    assert_int_equal(qr_buf_read_file(&b, from, "test", NULL), 0);
    assert_int_equal(qr_fs_write_atomic(to, b.data, b.len, 0644, NULL), 0);
    qr_buf_free(&b);
}

static void expect_verify(const qr_store *s, const qr_keyring *k, const char *id,
                          const char *context)
{
    qr_error err = QR_ERROR_INIT;
    int rc = qr_package_verify(NULL, s, "", k, NULL, &err);
    if (!id) {
        if (rc < 0)
            fail_msg("verify: %s: %s (%s)", err.id, err.msg, err.context);
        return;
    }
    assert_true(rc < 0);
    if (strcmp(err.id, id) != 0)
        fail_msg("expected %s, got %s: %s (%s)", id, err.id, err.msg, err.context);
    if (context && !strstr(err.context, context))
        fail_msg("expected context %s, got '%s'", context, err.context);
}

/* The manifest names every resource of the compressed book once, in slices following reading order.
 */
static void test_manifest_structure(void **state)
{
    fixture *f = *state;
    char dir[4096], path[4200];
    qr_store *s = process_into(f, f->book, "structure", f->k, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    json_t *m = load_json(path);
    json_t *md = json_object_get(m, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "conformsTo")),
                        "https://readium.org/webpub-manifest/profiles/epub");
    assert_string_equal(json_string_value(json_object_get(md, "identifier")),
                        "urn:uuid:00000000-0000-4000-8000-00000000000a");
    assert_true(json_integer_value(json_object_get(md, "numberOfPages")) > 0);
    assert_true(json_array_size(json_object_get(m, "readingOrder")) >= 6);
    assert_true(json_array_size(json_object_get(m, "toc")) > 0);

    json_t *coll = json_object_get(m, "urn:quire:slices");
    json_t *links = json_object_get(coll, "links");
    size_t n = json_array_size(links);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(coll, "metadata"), "count")),
        (json_int_t)n);
    /* Every archive entry except mimetype in exactly one slice. */
    qr_epub *e = NULL;
    qr_epub_opts eo = QR_EPUB_OPTS_INIT;
    assert_int_equal(qr_epub_open(&e, f->book, &eo, NULL), 0);
    for (size_t i = 0; i < qr_epub_entry_count(e); i++) {
        const qr_epub_entry *ent = qr_epub_get_entry(e, i);
        if (ent->is_dir || strcmp(ent->path, "mimetype") == 0)
            continue;
        int seen = 0;
        for (size_t j = 0; j < n; j++) {
            json_t *res = json_object_get(json_object_get(json_array_get(links, j), "properties"),
                                          "resources");
            for (size_t r = 0; r < json_array_size(res); r++)
                seen += strcmp(json_string_value(json_array_get(res, r)), ent->path) == 0;
        }
        if (seen != 1)
            fail_msg("%s is in %d slices", ent->path, seen);
    }
    /*
     * Slices follow reading order: first positions never decrease; the slices
     * holding reading-order documents tile 1..total without gaps (a slice of
     * one large image carries the positions of the text that shows it).
     */
    json_t *ro = json_object_get(m, "readingOrder");
    json_int_t last = 0, prev_first = 0;
    for (size_t j = 0; j < n; j++) {
        json_t *p = json_object_get(json_array_get(links, j), "properties");
        char want[32];
        snprintf(want, sizeof(want), "slices/%04zu.qs", j);
        assert_string_equal(json_string_value(json_object_get(json_array_get(links, j), "href")),
                            want);
        snprintf(path, sizeof(path), "%s/%s", dir, want);
        uint64_t size = 0;
        assert_int_equal(qr_fs_file_size(&size, path, NULL), 0);
        assert_int_equal(json_integer_value(json_object_get(p, "size")), (json_int_t)size);
        json_t *fp = json_object_get(p, "firstPosition");
        if (!fp)
            continue;
        json_int_t first = json_integer_value(fp);
        json_int_t lp = json_integer_value(json_object_get(p, "lastPosition"));
        assert_true(first >= prev_first && lp >= first);
        prev_first = first;
        bool text = false;
        json_t *res = json_object_get(p, "resources");
        for (size_t r = 0; r < json_array_size(res); r++)
            for (size_t q = 0; q < json_array_size(ro); q++)
                text |=
                    strcmp(json_string_value(json_array_get(res, r)),
                           json_string_value(json_object_get(json_array_get(ro, q), "href"))) == 0;
        if (!text)
            continue;
        assert_int_equal(first, last + 1);
        last = lp;
    }
    snprintf(path, sizeof(path), "%s/positions.json", dir);
    json_t *pos = load_json(path);
    assert_int_equal(json_integer_value(json_object_get(pos, "total")), last);
    json_decref(pos);
    qr_epub_free(e);
    json_decref(m);
    expect_verify(s, f->k, NULL, NULL);
    qr_store_free(s);
}

/* --store layout, manifest last, and idempotent re-runs through a spying store. */
static void test_store_layout_and_reruns(void **state)
{
    fixture *f = *state;
    char root[4096], path[4700];
    snprintf(root, sizeof(root), "%s/store", f->dir);
    qr_store *local = NULL;
    assert_int_equal(qr_store_local_new(&local, root, NULL), 0);
    spy sp = {local, 0, {{0}}, "manifest.json"};
    qr_store *s = qr_store_new(&spy_ops, &sp);
    assert_non_null(s);
    qr_process_opts o = QR_PROCESS_OPTS_INIT;
    o.book_id = "book-a";
    o.slice_target = 64 * 1024;
    qr_process_report *r = NULL;
    qr_error err = QR_ERROR_INIT;

    /* A failing manifest put leaves no manifest: nothing is published. */
    assert_true(qr_process_book(&r, f->book, s, NULL, f->k, &o, NULL, &err) < 0);
    assert_string_equal(err.id, "write-failed");
    assert_null(r);
    sp.fail_on = NULL;
    sp.puts = 0;

    err = (qr_error)QR_ERROR_INIT;
    if (qr_process_book(&r, f->book, s, NULL, f->k, &o, NULL, &err) < 0)
        fail_msg("%s: %s", err.id, err.msg);
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "books/book-a/%s/", r->revision);
    assert_string_equal(r->prefix, prefix);
    assert_int_equal(strlen(r->revision), 16);
    int first_puts = sp.puts;
    /* slices, positions, cover, key, signature, manifest: the manifest last, its signature before.
     */
    assert_true(first_puts >= (int)r->slices + 5);
    char want[300];
    snprintf(want, sizeof(want), "%smanifest.json", prefix);
    assert_string_equal(sp.keys[first_puts - 1], want);
    snprintf(want, sizeof(want), "%smanifest.json.sig", prefix);
    assert_string_equal(sp.keys[first_puts - 2], want);
    snprintf(want, sizeof(want), "%sslices/0000.qs", prefix);
    assert_string_equal(sp.keys[0], want);
    char revision[65];
    snprintf(revision, sizeof(revision), "%s", r->revision);
    qr_process_report_free(r);
    r = NULL;

    /* Same job again: same revision, verified, nothing written. */
    sp.puts = 0;
    assert_int_equal(qr_process_book(&r, f->book, s, NULL, f->k, &o, NULL, &err), 0);
    assert_true(r->already_published);
    assert_string_equal(r->revision, revision);
    assert_int_equal(sp.puts, 0);
    qr_process_report_free(r);
    r = NULL;

    /* A lost slice: the re-run rewrites every object, manifest last. */
    snprintf(path, sizeof(path), "%s/%sslices/0001.qs", root, prefix);
    assert_int_equal(unlink(path), 0);
    sp.puts = 0;
    assert_int_equal(qr_process_book(&r, f->book, s, NULL, f->k, &o, NULL, &err), 0);
    assert_false(r->already_published);
    assert_int_equal(sp.puts, first_puts);
    qr_process_report_free(r);
    expect_verify(local, f->k, "manifest-invalid", NULL); /* the root is not a package */
    qr_error verr = QR_ERROR_INIT;
    assert_int_equal(qr_package_verify(NULL, local, prefix, f->k, NULL, &verr), 0);
    qr_store_free(s);
    qr_store_free(local);
}

/* Every kind of damage is refused with its own error id, naming the slice. */
static void test_tampering(void **state)
{
    fixture *f = *state;
    char dir[4096], dir2[4096], a[4300], b[4300], tmp[4300];
    qr_store *s = process_into(f, f->book, "tamper", f->k, dir, sizeof(dir));
    qr_store *s2 = process_into(f, f->book2, "other", f->k, dir2, sizeof(dir2));
    expect_verify(s, f->k, NULL, NULL);
    snprintf(a, sizeof(a), "%s/slices/0001.qs", dir);
    snprintf(b, sizeof(b), "%s/slices/0002.qs", dir);
    snprintf(tmp, sizeof(tmp), "%s/slices/keep", dir);
    copy_file(a, tmp);

    /* A flipped byte: the signed SHA-256 no longer matches. */
    qr_buf buf = QR_BUF_INIT(1 << 28);
    assert_int_equal(qr_buf_read_file(&buf, a, "test", NULL), 0);
    buf.data[buf.len / 2] ^= 0x01;
    assert_int_equal(qr_fs_write_atomic(a, buf.data, buf.len, 0644, NULL), 0);
    expect_verify(s, f->k, "slice-hash-mismatch", "slices/0001.qs");
    /* Truncated. */
    assert_int_equal(qr_fs_write_atomic(a, buf.data, buf.len - 100, 0644, NULL), 0);
    expect_verify(s, f->k, "slice-hash-mismatch", "slices/0001.qs");
    qr_buf_free(&buf);
    /* Swapped with another slice of the same book. */
    copy_file(b, a);
    expect_verify(s, f->k, "slice-hash-mismatch", "slices/0001.qs");
    /* A slice of another book at the same index. */
    snprintf(b, sizeof(b), "%s/slices/0001.qs", dir2);
    copy_file(b, a);
    expect_verify(s, f->k, "slice-hash-mismatch", "slices/0001.qs");
    /* Missing. */
    assert_int_equal(unlink(a), 0);
    expect_verify(s, f->k, "slice-missing", "slices/0001.qs");
    copy_file(tmp, a);
    expect_verify(s, f->k, NULL, NULL);

    /* A wrong key file: another key id. */
    expect_verify(s, f->k2, "wrong-key", "key.json");

    /* An edited manifest. */
    char man[4300], sig[4300];
    snprintf(man, sizeof(man), "%s/manifest.json", dir);
    snprintf(sig, sizeof(sig), "%s/manifest.json.sig", dir);
    snprintf(tmp, sizeof(tmp), "%s/manifest.keep", dir);
    copy_file(man, tmp);
    json_t *m = load_json(man);
    json_object_set_new(json_object_get(m, "metadata"), "title", json_string("Edited"));
    assert_int_equal(json_dump_file(m, man, JSON_COMPACT), 0);
    expect_verify(s, f->k, "manifest-signature-invalid", "manifest.json");
    /* No signature at all. */
    assert_int_equal(unlink(sig), 0);
    expect_verify(s, f->k, "manifest-signature-invalid", "manifest.json.sig");

    /*
     * Past the signature: a signer who points slice 1's hash at slice 2's
     * file still fails, because the slice is bound to its index.
     */
    json_t *links = json_object_get(json_object_get(m, "urn:quire:slices"), "links");
    json_t *p1 = json_object_get(json_array_get(links, 1), "properties");
    json_t *p2 = json_object_get(json_array_get(links, 2), "properties");
    json_object_set(p1, "sha256", json_object_get(p2, "sha256"));
    json_object_set(p1, "size", json_object_get(p2, "size"));
    json_object_set(p1, "plainLength", json_object_get(p2, "plainLength"));
    json_object_set_new(json_object_get(m, "metadata"), "title",
                        json_string("The Quire Sample Book"));
    char *text = json_dumps(m, JSON_COMPACT);
    uint8_t sg[64];
    assert_int_equal(qr_crypt_sign(sg, f->k, (const uint8_t *)text, strlen(text), NULL), 0);
    assert_int_equal(qr_fs_write_atomic(man, text, strlen(text), 0644, NULL), 0);
    assert_int_equal(qr_fs_write_atomic(sig, sg, 64, 0644, NULL), 0);
    snprintf(b, sizeof(b), "%s/slices/0002.qs", dir);
    copy_file(b, a);
    expect_verify(s, f->k, "slice-auth-failed", "slices/0001.qs");
    free(text);
    json_decref(m);
    qr_store_free(s2);
    qr_store_free(s);
}

/* Unpack rebuilds the book: every entry back, text byte-identical to the input. */
static void test_unpack_round_trip(void **state)
{
    fixture *f = *state;
    char dir[4096], out[4300];
    qr_store *s = process_into(f, f->book, "unpack", f->k, dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/unpacked.epub", f->dir);
    qr_verify_report vr;
    qr_error err = QR_ERROR_INIT;
    if (qr_package_unpack(&vr, s, "", f->k, NULL, out, f->dir, &err) < 0)
        fail_msg("unpack: %s: %s (%s)", err.id, err.msg, err.context);
    qr_epub *a = NULL, *b = NULL;
    qr_epub_opts eo = QR_EPUB_OPTS_INIT;
    assert_int_equal(qr_epub_open(&a, f->book, &eo, NULL), 0);
    assert_int_equal(qr_epub_open(&b, out, &eo, NULL), 0);
    assert_string_equal(qr_epub_get_entry(b, 0)->path, "mimetype");
    assert_int_equal(qr_epub_get_entry(b, 0)->comp_method, 0);
    size_t texts = 0;
    for (size_t i = 0; i < qr_epub_entry_count(a); i++) {
        const qr_epub_entry *ea = qr_epub_get_entry(a, i);
        int j = qr_epub_find_entry(b, ea->path);
        if (j < 0)
            fail_msg("%s lost", ea->path);
        const char *mt = ea->item >= 0 ? qr_epub_get_item(a, (size_t)ea->item)->media_type : "";
        if (qr_media_is_image(mt))
            continue;
        qr_buf x = QR_BUF_INIT(1 << 26), y = QR_BUF_INIT(1 << 26);
        assert_int_equal(qr_epub_read_entry(&x, a, i, NULL), 0);
        assert_int_equal(qr_epub_read_entry(&y, b, (size_t)j, NULL), 0);
        if (x.len != y.len || memcmp(x.data, y.data, x.len) != 0)
            fail_msg("%s differs after unpack", ea->path);
        texts++;
        qr_buf_free(&x);
        qr_buf_free(&y);
    }
    assert_true(texts >= 8);
    assert_int_equal(qr_epub_entry_count(a), qr_epub_entry_count(b));
    /* A wrong key writes nothing. */
    char out2[4300];
    snprintf(out2, sizeof(out2), "%s/never.epub", f->dir);
    err = (qr_error)QR_ERROR_INIT;
    assert_true(qr_package_unpack(NULL, s, "", f->k2, NULL, out2, f->dir, &err) < 0);
    assert_string_equal(err.id, "wrong-key");
    assert_int_equal(access(out2, F_OK), -1);
    qr_epub_free(a);
    qr_epub_free(b);
    qr_store_free(s);
}

/* Store keys cannot leave the root. */
static void test_local_store_keys(void **state)
{
    fixture *f = *state;
    char root[4096];
    snprintf(root, sizeof(root), "%s/keys", f->dir);
    qr_store *s = NULL;
    assert_int_equal(qr_store_local_new(&s, root, NULL), 0);
    const char *bad[] = {"../x", "/abs", "a//b", "a/./b", "a/../b", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        qr_error err = QR_ERROR_INIT;
        assert_true(qr_store_put(s, bad[i], "x", 1, &err) < 0);
        assert_string_equal(err.id, "invalid-argument");
    }
    bool ex = true;
    assert_int_equal(qr_store_exists(s, "a/b/c", &ex, NULL), 0);
    assert_false(ex);
    assert_int_equal(qr_store_put(s, "a/b/c", "xyz", 3, NULL), 0);
    assert_int_equal(qr_store_exists(s, "a/b/c", &ex, NULL), 0);
    assert_true(ex);
    qr_buf b = QR_BUF_INIT(16);
    assert_int_equal(qr_store_get(s, "a/b/c", &b, NULL), 0);
    assert_memory_equal(b.data, "xyz", 3);
    qr_buf_free(&b);
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_store_get(s, "a/b/missing", &b, &err) < 0);
    assert_string_equal(err.id, "source-not-found");
    assert_int_equal(qr_store_remove(s, "a/b/c", NULL), 0);
    assert_int_equal(qr_store_remove(s, "a/b/c", NULL), 0);
    qr_store_free(s);
}

/* Counts the parses qr_epub_open logs, by path: the input's and every other one's. */
typedef struct parse_count {
    const char *input;
    int input_parses;
    int compressed_parses; /* the read-back of compression's output */
    int other_parses;
} parse_count;

static void count_parses(const qr_log_event *ev, void *ud)
{
    parse_count *c = ud;
    if (!ev->stage || strcmp(ev->stage, "epub") != 0 || strncmp(ev->msg, "parsed ", 7) != 0)
        return;
    const char *path = ev->msg + 7;
    size_t n = strlen(c->input);
    if (strncmp(path, c->input, n) == 0 && path[n] == ':')
        c->input_parses++;
    else if (strstr(path, "/compressed.epub:"))
        c->compressed_parses++;
    else
        c->other_parses++;
}

/*
 * The book is opened and parsed once per process, and what compression
 * wrote is read back once.
 */
static void test_book_parsed_once(void **state)
{
    fixture *f = *state;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/once", f->dir);
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_local_new(&s, dir, &err), 0);
    parse_count c = {.input = f->book};
    qr_log_level saved = qr_log_get_level();
    qr_log_set_sink(count_parses, &c, QR_LOG_DEBUG);
    qr_process_report *r = NULL;
    qr_process_opts o = QR_PROCESS_OPTS_INIT;
    o.threads = 2;
    o.slice_target = 64 * 1024;
    int rc = qr_process_book(&r, f->book, s, "", f->k, &o, NULL, &err);
    qr_log_set_sink(NULL, NULL, saved);
    if (rc < 0)
        fail_msg("process: %s: %s (%s)", err.id, err.msg, err.context);
    assert_int_equal(c.input_parses, 1);
    assert_int_equal(c.compressed_parses, 1);
    assert_int_equal(c.other_parses, 0);
    qr_process_report_free(r);
    qr_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_store_keys),        cmocka_unit_test(test_manifest_structure),
        cmocka_unit_test(test_store_layout_and_reruns), cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_unpack_round_trip),      cmocka_unit_test(test_book_parsed_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
