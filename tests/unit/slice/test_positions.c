/* Reading positions (Readium ArchiveEntryLength over raw deflate level 6) and page counts. */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epub_builder.h"
#include "qr/slice.h"

#define OPF_HEAD                                                                                   \
    "<?xml version=\"1.0\"?><package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" "      \
    "unique-identifier=\"uid\"><metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"           \
    "<dc:identifier id=\"uid\">urn:uuid:12345678-9abc-def0-1234-56789abcdef0</dc:identifier>"      \
    "<dc:title>T</dc:title><dc:language>en</dc:language>"

#define MANIFEST                                                                                   \
    "<manifest><item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" "          \
    "properties=\"nav\"/><item id=\"c1\" href=\"c1.xhtml\" media-type=\"application/xhtml+xml\"/>" \
    "<item id=\"big\" href=\"text/chap%201.xhtml\" media-type=\"application/xhtml+xml\"/>"         \
    "<item id=\"empty\" href=\"empty.xhtml\" media-type=\"application/xhtml+xml\"/>"               \
    "<item id=\"notes\" href=\"notes.xhtml\" media-type=\"application/xhtml+xml\"/></manifest>"

#define SPINE                                                                                      \
    "<spine><itemref idref=\"c1\"/><itemref idref=\"notes\" linear=\"no\"/>"                       \
    "<itemref idref=\"big\"/><itemref idref=\"empty\"/></spine></package>"

typedef struct fixture {
    uint8_t *noise; /* incompressible bytes */
    uint8_t *zip;
    size_t zip_len;
    qr_epub *e;
} fixture;

/* xorshift: deterministic incompressible content. */
static void fill_noise(uint8_t *p, size_t n)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static int open_book(fixture *f, const char *opf, const char *nav)
{
    qr_test_entry extra[] = {
        {"EPUB/text/chap 1.xhtml", f->noise, 10000, false},
        QR_TEST_STORED("EPUB/empty.xhtml", ""),
        QR_TEST_TEXT("EPUB/notes.xhtml", "<html><body><p>notes</p></body></html>"),
    };
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    if (qr_test_epub_memory(&f->zip, &f->zip_len, opf, nav, extra, 3) < 0)
        return -1;
    return qr_epub_open_buffer(&f->e, f->zip, f->zip_len, &o, NULL);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || !(f->noise = malloc(10000)))
        return -1;
    fill_noise(f->noise, 10000);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_epub_free(f->e);
    free(f->zip);
    free(f->noise);
    free(f);
    return 0;
}

static void test_reflowable(void **state)
{
    fixture *f = *state;
    qr_positions *p = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(open_book(f, OPF_HEAD "</metadata>" MANIFEST SPINE, NULL), 0);
    assert_int_equal(qr_positions_compute(&p, f->e, &err), 0);
    /* c1 (tiny) 1, notes non-linear 0, 10000 noise bytes deflate to 10005 -> 10, empty 1. */
    assert_int_equal(p->nspine, 4);
    assert_int_equal(p->span[0], 1);
    assert_int_equal(p->span[1], 0);
    assert_int_equal(p->first[1], 0);
    assert_int_equal(p->span[2], 10);
    assert_int_equal(p->span[3], 1);
    assert_int_equal(p->count, 12);
    assert_int_equal(p->first[2], 2);
    assert_int_equal(p->first[3], 12);
    for (size_t i = 0; i < p->count; i++) {
        assert_int_equal(p->list[i].position, i + 1);
        assert_true(p->list[i].spine != 1);
        assert_true(p->list[i].total_progression >= 0 && p->list[i].total_progression < 1);
        if (i > 0)
            assert_true(p->list[i].total_progression > p->list[i - 1].total_progression);
    }
    assert_true(p->list[1].spine == 2 && p->list[1].progression == 0.0);
    assert_true(p->list[2].progression > 0.099 && p->list[2].progression < 0.101);

    json_t *j = qr_positions_json(p, f->e);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 12);
    json_t *list = json_object_get(j, "positions");
    assert_int_equal(json_array_size(list), 12);
    json_t *second = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_object_get(second, "href")),
                        "EPUB/text/chap%201.xhtml");
    assert_string_equal(json_string_value(json_object_get(second, "type")),
                        "application/xhtml+xml");
    json_t *loc = json_object_get(second, "locations");
    assert_int_equal(json_integer_value(json_object_get(loc, "position")), 2);
    assert_true(json_real_value(json_object_get(loc, "totalProgression")) > 0.083 &&
                json_real_value(json_object_get(loc, "totalProgression")) < 0.084);
    json_decref(j);

    qr_pages pg;
    qr_pages_compute(&pg, f->e, p);
    assert_int_equal(pg.source, QR_PAGES_SYNTHETIC);
    assert_int_equal(pg.count, 12);
    assert_string_equal(qr_page_source_str(pg.source), "synthetic");
    qr_positions_free(p);
}

static void test_fixed_layout(void **state)
{
    fixture *f = *state;
    qr_positions *p = NULL;
    assert_int_equal(open_book(f,
                               OPF_HEAD "<meta property=\"rendition:layout\">pre-paginated</meta>"
                                        "</metadata>" MANIFEST SPINE,
                               NULL),
                     0);
    assert_int_equal(qr_positions_compute(&p, f->e, NULL), 0);
    assert_int_equal(p->count, 3);
    for (size_t i = 0; i < p->count; i++) {
        assert_int_equal(p->list[i].position, i + 1);
        assert_true(p->list[i].progression == 0.0);
    }
    qr_positions_free(p);
}

static void test_itemref_pre_paginated(void **state)
{
    fixture *f = *state;
    qr_positions *p = NULL;
    assert_int_equal(open_book(f,
                               OPF_HEAD
                               "</metadata>" MANIFEST
                               "<spine><itemref idref=\"c1\"/><itemref idref=\"big\" "
                               "properties=\"rendition:layout-pre-paginated\"/></spine></package>",
                               NULL),
                     0);
    assert_int_equal(qr_positions_compute(&p, f->e, NULL), 0);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->span[1], 1);
    qr_positions_free(p);
}

static void test_pages_declared_and_print(void **state)
{
    fixture *f = *state;
    qr_pages pg;
    assert_int_equal(
        open_book(f,
                  OPF_HEAD
                  "<meta property=\"schema:numberOfPages\">321</meta></metadata>" MANIFEST SPINE,
                  NULL),
        0);
    qr_pages_compute(&pg, f->e, NULL);
    assert_int_equal(pg.source, QR_PAGES_DECLARED);
    assert_int_equal(pg.count, 321);
    assert_string_equal(qr_page_source_str(pg.source), "declared");
    qr_epub_free(f->e);
    f->e = NULL;
    free(f->zip);
    f->zip = NULL;

    static const char nav[] =
        "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\" "
        "xmlns:epub=\"http://www.idpf.org/2007/ops\"><head><title>n</title></head><body>"
        "<nav epub:type=\"toc\"><ol><li><a href=\"c1.xhtml\">1</a></li></ol></nav>"
        "<nav epub:type=\"page-list\"><ol><li><a href=\"c1.xhtml#p1\">1</a></li>"
        "<li><a href=\"c1.xhtml#p2\">2</a></li></ol></nav></body></html>";
    assert_int_equal(
        open_book(f,
                  OPF_HEAD
                  "<meta property=\"schema:numberOfPages\">321</meta></metadata>" MANIFEST SPINE,
                  nav),
        0);
    qr_pages_compute(&pg, f->e, NULL);
    assert_int_equal(pg.source, QR_PAGES_PRINT);
    assert_int_equal(pg.count, 2);
    assert_string_equal(qr_page_source_str(pg.source), "print");
}

/* Reference value (docs/format.md): 212 positions with raw deflate level 6. */
static void test_devils_dictionary(void **state)
{
    (void)state;
    const char *dir = qr_test_corpus_dir();
    if (!dir)
        skip();
    char path[4096];
    snprintf(path, sizeof(path), "%s/epub/standardebooks/devils-dictionary.epub", dir);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        skip();
    fclose(fp);
    qr_epub *e = NULL;
    qr_positions *p = NULL;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_epub_open(&e, path, &o, &err), 0);
    assert_int_equal(qr_positions_compute(&p, e, &err), 0);
    assert_int_equal(p->count, 212);
    qr_pages pg;
    qr_pages_compute(&pg, e, p);
    assert_true(pg.count > 0);
    qr_positions_free(p);
    qr_epub_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reflowable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixed_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_itemref_pre_paginated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_declared_and_print, setup, teardown),
        cmocka_unit_test(test_devils_dictionary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
