/* EPUB ZIP layer: safety limits, hostile names, damaged archives, bounded reads. */
#include "qr_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epub_builder.h"
#include "qr/epub.h"

typedef struct book {
    uint8_t *zip;
    size_t len;
    qr_epub *e;
    qr_warnings *w;
    qr_error err;
} book;

static int open_book(book *b, const qr_epub_opts *opts)
{
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    if (opts)
        o = *opts;
    b->w = qr_warnings_new();
    o.warnings = b->w;
    qr_error_clear(&b->err);
    return qr_epub_open_buffer(&b->e, b->zip, b->len, &o, &b->err);
}

static void close_book(book *b)
{
    qr_epub_free(b->e);
    qr_warnings_free(b->w);
    free(b->zip);
    memset(b, 0, sizeof(*b));
}

static void expect_extra(const qr_test_entry *extra, size_t n, const qr_epub_opts *opts,
                         const char *id)
{
    book b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, extra, n), 0);
    int rc = open_book(&b, opts);
    if (id) {
        assert_true(rc < 0);
        assert_null(b.e);
        assert_string_equal(b.err.id, id);
    } else {
        assert_int_equal(rc, 0);
    }
    close_book(&b);
}

static void test_valid_minimal(void **state)
{
    (void)state;
    book b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, NULL, 0), 0);
    assert_int_equal(open_book(&b, NULL), 0);
    assert_int_equal(qr_epub_entry_count(b.e), 5);
    assert_int_equal(qr_warnings_count(b.w), 0);
    int i = qr_epub_find_entry(b.e, "EPUB/c1.xhtml");
    assert_true(i >= 0);
    qr_buf out = QR_BUF_INIT(1 << 20);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_epub_read_entry(&out, b.e, (size_t)i, &err), 0);
    assert_non_null(strstr((const char *)out.data, "Hello"));
    qr_buf_free(&out);
    size_t n = 0;
    assert_ptr_equal(qr_epub_source_data(b.e, &n), b.zip);
    assert_int_equal(n, b.len);
    assert_null(qr_epub_source_path(b.e));
    close_book(&b);
}

static void test_traversal_names(void **state)
{
    (void)state;
    static const char *const bad[] = {"../evil.txt", "/abs.txt",         "EPUB/../../x.txt",
                                      "C:/win.txt",  "a\\..\\..\\x.txt", "\\root.txt"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        qr_test_entry x = {bad[k], "x", 1, false};
        expect_extra(&x, 1, NULL, "unsafe-path");
    }
}

static void test_backslash_and_dup(void **state)
{
    (void)state;
    /* "EPUB\c1.xhtml" normalises onto EPUB/c1.xhtml: a duplicate; the last copy wins. */
    qr_test_entry x = QR_TEST_TEXT("EPUB\\c1.xhtml", "<html>second</html>");
    book b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, &x, 1), 0);
    assert_int_equal(open_book(&b, NULL), 0);
    assert_true(qr_warnings_has(b.w, "href-backslash"));
    assert_true(qr_warnings_has(b.w, "duplicate-entry"));
    int i = qr_epub_find_entry(b.e, "EPUB/c1.xhtml");
    assert_int_equal(i, 5);
    assert_true(qr_epub_get_entry(b.e, 4)->is_duplicate);
    assert_false(qr_epub_get_entry(b.e, 5)->is_duplicate);
    close_book(&b);
}

static void test_bomb_entry_size(void **state)
{
    (void)state;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.limits.max_entry_bytes = 1 << 20;
    qr_test_entry x = QR_TEST_ZEROS("EPUB/big.bin", 2 << 20);
    expect_extra(&x, 1, &o, "zip-bomb");
}

static void test_bomb_ratio(void **state)
{
    (void)state;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.limits.max_ratio = 100;
    qr_test_entry x = QR_TEST_ZEROS("EPUB/zeros.bin", 4 << 20);
    expect_extra(&x, 1, &o, "zip-bomb");
    /* Below ratio_min_bytes the ratio is not checked. */
    qr_test_entry small = QR_TEST_ZEROS("EPUB/zeros.bin", 512 << 10);
    expect_extra(&small, 1, &o, NULL);
}

static void test_bomb_total(void **state)
{
    (void)state;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.limits.max_total_bytes = 100 << 10;
    o.limits.max_entry_bytes = 80 << 10;
    qr_test_entry x[2] = {QR_TEST_ZEROS("EPUB/a.bin", 60 << 10),
                          QR_TEST_ZEROS("EPUB/b.bin", 60 << 10)};
    expect_extra(x, 2, &o, "zip-bomb");
}

static void test_too_many_entries(void **state)
{
    (void)state;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.limits.max_entries = 5;
    qr_test_entry x = QR_TEST_TEXT("EPUB/extra.txt", "x");
    expect_extra(&x, 1, &o, "too-many-entries");
    expect_extra(NULL, 0, &o, NULL);
}

static void test_input_too_large(void **state)
{
    (void)state;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.limits.max_input_bytes = 100;
    expect_extra(NULL, 0, &o, "input-too-large");
}

static void test_not_zip_and_truncated(void **state)
{
    (void)state;
    qr_epub *e = NULL;
    qr_error err = QR_ERROR_INIT;
    static const char junk[] = "\xff\xd8\xff\xe0 this is a JPEG, honest";
    assert_true(qr_epub_open_buffer(&e, junk, sizeof(junk), NULL, &err) < 0);
    assert_string_equal(err.id, "unsupported-format");
    qr_error_clear(&err);
    assert_true(qr_epub_open_buffer(&e, "", 0, NULL, &err) < 0);
    assert_string_equal(err.id, "unsupported-format");

    book b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, NULL, 0), 0);
    b.len = b.len * 2 / 3; /* cut off the central directory */
    assert_true(open_book(&b, NULL) < 0);
    assert_string_equal(b.err.id, "corrupt-archive");
    close_book(&b);

    qr_error_clear(&err);
    assert_true(qr_epub_open(&e, "/nonexistent/book.epub", NULL, &err) < 0);
    assert_string_equal(err.id, "source-not-found");
}

/* Finds the central-directory and local headers of `name` in a ZIP image. */
static void find_headers(uint8_t *z, size_t len, const char *name, uint8_t **cd, uint8_t **lh)
{
    size_t nl = strlen(name);
    *cd = *lh = NULL;
    for (size_t i = 0; i + 46 + nl <= len; i++) {
        if (!*lh && memcmp(z + i, "PK\3\4", 4) == 0 && memcmp(z + i + 30, name, nl) == 0)
            *lh = z + i;
        if (!*cd && memcmp(z + i, "PK\1\2", 4) == 0 && memcmp(z + i + 46, name, nl) == 0)
            *cd = z + i;
    }
    assert_non_null(*cd);
    assert_non_null(*lh);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

static void test_compression_and_encryption_flags(void **state)
{
    (void)state;
    qr_test_entry x = QR_TEST_TEXT("EPUB/odd.bin", "some bytes that compress somewhat somewhat");
    book b;
    uint8_t *cd, *lh;

    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, &x, 1), 0);
    find_headers(b.zip, b.len, "EPUB/odd.bin", &cd, &lh);
    put16(cd + 10, 12); /* bzip2 */
    put16(lh + 8, 12);
    assert_true(open_book(&b, NULL) < 0);
    assert_string_equal(b.err.id, "corrupt-archive");
    assert_string_equal(b.err.context, "EPUB/odd.bin");
    close_book(&b);

    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, &x, 1), 0);
    find_headers(b.zip, b.len, "EPUB/odd.bin", &cd, &lh);
    put16(cd + 8, cd[8] | 1); /* traditional PKWARE encryption */
    put16(lh + 6, lh[6] | 1);
    assert_true(open_book(&b, NULL) < 0);
    assert_string_equal(b.err.id, "drm-protected");
    close_book(&b);
}

static void test_lying_size_is_capped(void **state)
{
    (void)state;
    qr_test_entry x = QR_TEST_ZEROS("EPUB/liar.bin", 200000);
    book b;
    uint8_t *cd, *lh;
    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, &x, 1), 0);
    find_headers(b.zip, b.len, "EPUB/liar.bin", &cd, &lh);
    put32(cd + 24, 1000); /* claims 1000 bytes uncompressed */
    put32(lh + 22, 1000);
    assert_int_equal(open_book(&b, NULL), 0);
    int i = qr_epub_find_entry(b.e, "EPUB/liar.bin");
    assert_true(i >= 0);
    assert_int_equal(qr_epub_get_entry(b.e, (size_t)i)->size, 1000);
    qr_buf out = QR_BUF_INIT(1 << 30);
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_epub_read_entry(&out, b.e, (size_t)i, &err) < 0);
    assert_string_equal(err.id, "corrupt-archive");
    assert_true(out.len <= 1000);
    qr_buf_free(&out);
    close_book(&b);
}

static void test_read_respects_buffer_max(void **state)
{
    (void)state;
    qr_test_entry x = QR_TEST_ZEROS("EPUB/z.bin", 100000);
    book b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, &x, 1), 0);
    assert_int_equal(open_book(&b, NULL), 0);
    qr_buf out = QR_BUF_INIT(1000);
    qr_error err = QR_ERROR_INIT;
    int i = qr_epub_find_entry(b.e, "EPUB/z.bin");
    assert_true(qr_epub_read_entry(&out, b.e, (size_t)i, &err) < 0);
    assert_string_equal(err.id, "entry-too-large");
    qr_buf_free(&out);
    close_book(&b);
}

typedef struct reader_arg {
    const qr_epub *e;
    int failures;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    for (int round = 0; round < 5; round++) {
        for (size_t i = 0; i < qr_epub_entry_count(a->e); i++) {
            qr_buf out = QR_BUF_INIT(64 << 20);
            qr_error err = QR_ERROR_INIT;
            const qr_epub_entry *en = qr_epub_get_entry(a->e, i);
            if (qr_epub_read_entry(&out, a->e, i, &err) < 0 || out.len != en->size)
                a->failures++;
            else if (en->size >= 300000 && out.data[en->size - 1] != 0)
                a->failures++;
            qr_buf_free(&out);
        }
    }
    return NULL;
}

static void test_parallel_reads(void **state)
{
    (void)state;
    qr_test_entry x[2] = {QR_TEST_ZEROS("EPUB/img1.bin", 300000),
                          QR_TEST_ZEROS("EPUB/img2.bin", 400000)};
    book b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, x, 2), 0);
    assert_int_equal(open_book(&b, NULL), 0);
    pthread_t t[6];
    reader_arg a[6];
    for (int i = 0; i < 6; i++) {
        a[i].e = b.e;
        a[i].failures = 0;
        assert_int_equal(pthread_create(&t[i], NULL, reader, &a[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].failures, 0);
    }
    close_book(&b);
}

static void test_open_from_path(void **state)
{
    (void)state;
    char *dir = qr_test_tmpdir();
    assert_non_null(dir);
    char path[4096];
    snprintf(path, sizeof(path), "%s/book.epub", dir);
    qr_test_entry v[] = {
        QR_TEST_STORED("mimetype", "application/epub+zip"),
        {"META-INF/container.xml", qr_test_container_xml, strlen(qr_test_container_xml), false},
        {"EPUB/package.opf", qr_test_default_opf, strlen(qr_test_default_opf), false},
        {"EPUB/nav.xhtml", qr_test_default_nav, strlen(qr_test_default_nav), false},
        QR_TEST_TEXT("EPUB/c1.xhtml", "<html/>")};
    assert_int_equal(qr_test_zip_write(path, v, 5), 0);
    qr_epub *e = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_epub_open(&e, path, NULL, &err), 0);
    assert_string_equal(qr_epub_source_path(e), path);
    qr_buf out = QR_BUF_INIT(1 << 20);
    assert_int_equal(qr_epub_read_entry(&out, e, 4, &err), 0);
    assert_string_equal((const char *)out.data, "<html/>");
    qr_buf_free(&out);
    qr_epub_free(e);
    qr_test_rmtree(dir);
    free(dir);
}

/* The minimal book's files, each under `prefix` ("" for a flat book). */
static void folder_book(book *b, const char *prefix, bool dir_entries, const char *stray)
{
    static char names[8][128];
    static const char *const base[] = {"mimetype", "META-INF/container.xml", "EPUB/package.opf",
                                       "EPUB/nav.xhtml", "EPUB/c1.xhtml"};
    qr_test_entry v[10];
    size_t n = 0;
    if (dir_entries) {
        snprintf(names[5], sizeof(names[5]), "%s", prefix);
        v[n++] = (qr_test_entry){names[5], "", 0, true};
    }
    for (size_t k = 0; k < 5; k++)
        snprintf(names[k], sizeof(names[k]), "%s%s", prefix, base[k]);
    v[n++] = (qr_test_entry){names[0], "application/epub+zip", 20, true};
    if (dir_entries) {
        snprintf(names[6], sizeof(names[6]), "%sMETA-INF/", prefix);
        v[n++] = (qr_test_entry){names[6], "", 0, true};
    }
    v[n++] = (qr_test_entry){names[1], qr_test_container_xml, strlen(qr_test_container_xml), false};
    v[n++] = (qr_test_entry){names[2], qr_test_default_opf, strlen(qr_test_default_opf), false};
    v[n++] = (qr_test_entry){names[3], qr_test_default_nav, strlen(qr_test_default_nav), false};
    v[n++] = (qr_test_entry){names[4], "<html>c1</html>", 15, false};
    if (stray)
        v[n++] = (qr_test_entry){stray, "x", 1, false};
    memset(b, 0, sizeof(*b));
    assert_int_equal(qr_test_zip_memory(&b->zip, &b->len, v, n), 0);
}

static void test_root_folder(void **state)
{
    (void)state;
    /* "zip -r book.epub 'My Book/'": with and without the folders' own entries. */
    for (int dirs = 0; dirs < 2; dirs++) {
        book b;
        folder_book(&b, "My Book/", dirs, NULL);
        assert_int_equal(open_book(&b, NULL), 0);
        assert_true(qr_warnings_has(b.w, "archive-root-folder"));
        assert_string_equal(qr_epub_get_info(b.e)->opf_path, "EPUB/package.opf");
        int i = qr_epub_find_entry(b.e, "EPUB/c1.xhtml");
        assert_true(i >= 0);
        assert_string_equal(qr_epub_get_entry(b.e, (size_t)i)->path, "EPUB/c1.xhtml");
        assert_int_equal(qr_epub_find_entry(b.e, "My Book/EPUB/c1.xhtml"), -1);
        assert_true(qr_epub_find_entry(b.e, "mimetype") >= 0);
        assert_int_equal(qr_epub_spine_count(b.e), 1);
        const qr_epub_item *it = qr_epub_get_item(b.e, (size_t)qr_epub_get_spine(b.e, 0)->item);
        assert_int_equal(it->entry, i);
        /* Nothing written from the book may carry the folder: no entry path starts with it. */
        for (size_t k = 0; k < qr_epub_entry_count(b.e); k++)
            assert_null(strstr(qr_epub_get_entry(b.e, k)->path, "My Book"));
        qr_buf out = QR_BUF_INIT(1 << 20);
        qr_error err = QR_ERROR_INIT;
        assert_int_equal(qr_epub_read_entry(&out, b.e, (size_t)i, &err), 0);
        assert_int_equal(out.len, 15);
        qr_buf_free(&out);
        close_book(&b);
    }
}

static void test_root_folder_not_taken(void **state)
{
    (void)state;
    book b;
    /* A flat book is read as it is. */
    folder_book(&b, "", false, NULL);
    assert_int_equal(open_book(&b, NULL), 0);
    assert_false(qr_warnings_has(b.w, "archive-root-folder"));
    close_book(&b);
    /* Something else at the top level: not a zipped folder, so no container. */
    folder_book(&b, "book/", true, "README.txt");
    assert_true(open_book(&b, NULL) < 0);
    assert_string_equal(b.err.id, "container-missing");
    assert_false(qr_warnings_has(b.w, "archive-root-folder"));
    close_book(&b);
    /* Two top-level folders. */
    folder_book(&b, "book/", false, "other/x.txt");
    assert_true(open_book(&b, NULL) < 0);
    assert_string_equal(b.err.id, "container-missing");
    close_book(&b);
    /* One folder, but no container.xml inside it. */
    qr_test_entry v[] = {QR_TEST_STORED("book/mimetype", "application/epub+zip"),
                         QR_TEST_TEXT("book/EPUB/c1.xhtml", "<html/>")};
    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_zip_memory(&b.zip, &b.len, v, 2), 0);
    assert_true(open_book(&b, NULL) < 0);
    assert_string_equal(b.err.id, "container-missing");
    assert_false(qr_warnings_has(b.w, "archive-root-folder"));
    close_book(&b);
}

/* An OPF whose one chapter's href is `href`, and a nav that links it twice. */
static void nfc_book(book *b, const char *href, const char *entry_name)
{
    char opf[2048], nav[1024];
    snprintf(opf, sizeof(opf),
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" "
             "unique-identifier=\"uid\"><metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
             "<dc:identifier id=\"uid\">urn:uuid:1</dc:identifier><dc:title>T</dc:title>"
             "<dc:language>de</dc:language></metadata><manifest><item id=\"nav\" "
             "href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" properties=\"nav\"/>"
             "<item id=\"c1\" href=\"c1.xhtml\" media-type=\"application/xhtml+xml\"/>"
             "<item id=\"k\" href=\"%s\" media-type=\"application/xhtml+xml\"/></manifest>"
             "<spine><itemref idref=\"c1\"/><itemref idref=\"k\"/></spine></package>",
             href);
    snprintf(nav, sizeof(nav),
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<html "
             "xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\">"
             "<head><title>nav</title></head><body><nav epub:type=\"toc\"><ol>"
             "<li><a href=\"%s\">K</a></li><li><a href=\"%s#s2\">K2</a></li></ol></nav></body>"
             "</html>",
             href, href);
    qr_test_entry x = {entry_name, "<html>k</html>", 14, false};
    memset(b, 0, sizeof(*b));
    assert_int_equal(qr_test_epub_memory(&b->zip, &b->len, opf, nav, &x, 1), 0);
}

static size_t count_warnings(const qr_warnings *w, const char *code)
{
    size_t n = 0;
    for (size_t i = 0; i < qr_warnings_count(w); i++)
        n += strcmp(qr_warnings_get(w, i)->code, code) == 0;
    return n;
}

static void test_nfc_names(void **state)
{
    (void)state;
    static const char nfc[] = "Kapitel-\xc3\xbc"
                              "ber.xhtml";
    static const char nfd[] = "Kapitel-u\xcc\x88"
                              "ber.xhtml";
    /* ASCII case differs too (case folding is ASCII only: u-umlaut stays lower case). */
    static const char nfd_upper[] = "KAPITEL-u\xcc\x88"
                                    "BER.xhtml";
    /* Archive decomposed, OPF precomposed; the reverse; each case-folded too. */
    const char *const cases[][2] = {{"EPUB/Kapitel-u\xcc\x88"
                                     "ber.xhtml",
                                     nfc},
                                    {"EPUB/Kapitel-\xc3\xbc"
                                     "ber.xhtml",
                                     nfd},
                                    {"EPUB/Kapitel-\xc3\xbc"
                                     "ber.xhtml",
                                     nfd_upper}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        book b;
        nfc_book(&b, cases[k][1], cases[k][0]);
        assert_int_equal(open_book(&b, NULL), 0);
        int i = qr_epub_find_entry(b.e, cases[k][0]);
        assert_true(i >= 0);
        /* The entry keeps the archive's bytes; the item and the toc name it. */
        assert_string_equal(qr_epub_get_entry(b.e, (size_t)i)->path, cases[k][0]);
        assert_int_equal(qr_epub_spine_count(b.e), 2);
        const qr_epub_item *it = qr_epub_get_item(b.e, (size_t)qr_epub_get_spine(b.e, 1)->item);
        assert_int_equal(it->entry, i);
        assert_false(qr_warnings_has(b.w, "missing-resource"));
        /* One warning for the entry however often it is linked (OPF and nav twice). */
        assert_int_equal(count_warnings(b.w, "href-nfc-mismatch"), 1);
        assert_false(qr_warnings_has(b.w, "href-case-mismatch"));
        assert_int_equal(qr_epub_toc_count(b.e), 2);
        const char *toc = qr_epub_get_toc(b.e, 1)->href;
        assert_true(strncmp(toc, cases[k][0], strlen(cases[k][0])) == 0);
        assert_string_equal(toc + strlen(cases[k][0]), "#s2");
        /* Exact lookups stay exact: the other form is not found by qr_epub_find_entry. */
        char other[128];
        snprintf(other, sizeof(other), "EPUB/%s", cases[k][1]);
        assert_int_equal(qr_epub_find_entry(b.e, other), -1);
        long ref = -1;
        qr_error err = QR_ERROR_INIT;
        assert_int_equal(qr_epub_resolve_ref(&ref, b.e, "EPUB/c1.xhtml", cases[k][1], &err), 0);
        assert_int_equal(ref, i);
        close_book(&b);
    }
    /* Both forms in the archive: each href finds its own, exactly, with no warning. */
    book b;
    qr_test_entry two[] = {{"EPUB/Kapitel-u\xcc\x88"
                            "ber.xhtml",
                            "<html>d</html>", 14, false},
                           {"EPUB/Kapitel-\xc3\xbc"
                            "ber.xhtml",
                            "<html>c</html>", 14, false}};
    memset(&b, 0, sizeof(b));
    assert_int_equal(qr_test_epub_memory(&b.zip, &b.len, NULL, NULL, two, 2), 0);
    assert_int_equal(open_book(&b, NULL), 0);
    assert_int_equal(qr_epub_find_entry(b.e, two[0].name), 5);
    assert_int_equal(qr_epub_find_entry(b.e, two[1].name), 6);
    long ref = -1;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_epub_resolve_ref(&ref, b.e, "EPUB/c1.xhtml", nfd, &err), 0);
    assert_int_equal(ref, 5);
    assert_int_equal(qr_epub_resolve_ref(&ref, b.e, "EPUB/c1.xhtml", nfc, &err), 0);
    assert_int_equal(ref, 6);
    assert_false(qr_warnings_has(b.w, "href-nfc-mismatch"));
    close_book(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_minimal),
        cmocka_unit_test(test_traversal_names),
        cmocka_unit_test(test_backslash_and_dup),
        cmocka_unit_test(test_bomb_entry_size),
        cmocka_unit_test(test_bomb_ratio),
        cmocka_unit_test(test_bomb_total),
        cmocka_unit_test(test_too_many_entries),
        cmocka_unit_test(test_input_too_large),
        cmocka_unit_test(test_not_zip_and_truncated),
        cmocka_unit_test(test_compression_and_encryption_flags),
        cmocka_unit_test(test_lying_size_is_capped),
        cmocka_unit_test(test_read_respects_buffer_max),
        cmocka_unit_test(test_parallel_reads),
        cmocka_unit_test(test_open_from_path),
        cmocka_unit_test(test_root_folder),
        cmocka_unit_test(test_root_folder_not_taken),
        cmocka_unit_test(test_nfc_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
