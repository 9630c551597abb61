/* Navigation: EPUB 3 nav (toc, page-list) and EPUB 2 NCX (navMap, pageList); hrefs. */
#include "qr_test.h"

#include <stdlib.h>
#include <string.h>

#include "epub_builder.h"
#include "parse/epub_internal.h"
#include "qr/epub.h"

static qr_epub *nav(const char *xml, bool ncx, qr_warnings *w)
{
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.warnings = w;
    qr_epub *e = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(
        qr_epub_parse_nav_buffer(&e, xml, strlen(xml), "OPS/nav/toc.xhtml", ncx, &o, &err), 0);
    return e;
}

static void test_nav_toc_and_pages(void **state)
{
    (void)state;
    qr_warnings *w = qr_warnings_new();
    qr_epub *e =
        nav("<html xmlns=\"http://www.w3.org/1999/xhtml\" "
            "xmlns:epub=\"http://www.idpf.org/2007/ops\"><body>"
            "<nav epub:type=\"landmarks\"><ol><li><a href=\"x.xhtml\">L</a></li></ol></nav>"
            "<nav epub:type=\"toc\" id=\"toc\"><h1>Contents</h1><ol>"
            "<li><a href=\"../text/c1.xhtml\">One&nbsp;</a><ol>"
            "<li><a href=\"../text/c1.xhtml#s1\">  One\n point   one </a></li>"
            "<li><span>Heading</span><ol><li><a "
            "href=\"../text/c%202.xhtml#deep\">Deep</a></li></ol></li>"
            "</ol></li><li><a href=\"http://example.com/\">Web</a></li></ol></nav>"
            "<nav epub:type=\"page-list\" hidden=\"\"><ol><li><a "
            "href=\"../text/c1.xhtml#p1\">1</a></li>"
            "<li><a href=\"../text/c1.xhtml#p2\">ii</a></li></ol></nav></body></html>",
            false, w);
    assert_int_equal(qr_epub_toc_count(e), 5);
    const qr_epub_navpoint *p = qr_epub_get_toc(e, 0);
    assert_string_equal(p->title, "One\xc2\xa0");
    assert_string_equal(p->href, "OPS/text/c1.xhtml");
    assert_int_equal(p->depth, 0);
    p = qr_epub_get_toc(e, 1);
    assert_string_equal(p->title, "One point one");
    assert_string_equal(p->href, "OPS/text/c1.xhtml#s1");
    assert_int_equal(p->depth, 1);
    p = qr_epub_get_toc(e, 2);
    assert_string_equal(p->title, "Heading");
    assert_string_equal(p->href, "");
    p = qr_epub_get_toc(e, 3);
    assert_string_equal(p->href, "OPS/text/c 2.xhtml#deep");
    assert_int_equal(p->depth, 2);
    assert_string_equal(qr_epub_get_toc(e, 4)->href, "http://example.com/");
    assert_int_equal(qr_epub_pagelist_count(e), 2);
    assert_string_equal(qr_epub_get_pagelist(e, 1)->title, "ii");
    assert_string_equal(qr_epub_get_pagelist(e, 1)->href, "OPS/text/c1.xhtml#p2");
    assert_true(qr_warnings_has(w, "xml-html-entity"));
    assert_null(qr_epub_get_toc(e, 5));
    qr_epub_free(e);
    qr_warnings_free(w);
}

static void test_ncx(void **state)
{
    (void)state;
    qr_warnings *w = qr_warnings_new();
    qr_epub *e =
        nav("<?xml version=\"1.0\"?><ncx xmlns=\"http://www.daisy.org/z3986/2005/ncx/\" "
            "version=\"2005-1\">"
            "<head/><docTitle><text>T</text></docTitle><navMap>"
            "<navPoint id=\"a\" playOrder=\"1\"><navLabel><text>Part I</text></navLabel><content "
            "src=\"p1.html\"/>"
            "<navPoint id=\"b\" playOrder=\"2\"><navLabel><text>Ch 1</text></navLabel><content "
            "src=\"p1.html#c1\"/></navPoint>"
            "</navPoint><navPoint id=\"c\"><navLabel><text>Part II</text></navLabel><content "
            "src=\"sub\\p2.html\"/></navPoint>"
            "</navMap><pageList><pageTarget type=\"normal\" "
            "value=\"1\"><navLabel><text>1</text></navLabel>"
            "<content src=\"p1.html#page1\"/></pageTarget><pageTarget type=\"normal\" value=\"2\">"
            "<navLabel><text>2</text></navLabel><content "
            "src=\"p1.html#page2\"/></pageTarget></pageList></ncx>",
            true, w);
    assert_int_equal(qr_epub_toc_count(e), 3);
    assert_string_equal(qr_epub_get_toc(e, 0)->title, "Part I");
    assert_string_equal(qr_epub_get_toc(e, 1)->href, "OPS/nav/p1.html#c1");
    assert_int_equal(qr_epub_get_toc(e, 1)->depth, 1);
    assert_string_equal(qr_epub_get_toc(e, 2)->href, "OPS/nav/sub/p2.html");
    assert_true(qr_warnings_has(w, "href-backslash"));
    assert_int_equal(qr_epub_pagelist_count(e), 2);
    assert_string_equal(qr_epub_get_pagelist(e, 0)->href, "OPS/nav/p1.html#page1");
    qr_epub_free(e);
    qr_warnings_free(w);
}

static void test_nav_broken_is_a_warning(void **state)
{
    (void)state;
    qr_warnings *w = qr_warnings_new();
    qr_epub *e = nav("\x01\x02 not a document", false, w);
    assert_int_equal(qr_epub_toc_count(e), 0);
    assert_true(qr_warnings_has(w, "nav-invalid"));
    qr_epub_free(e);
    qr_warnings_free(w);

    /* ...but an unsafe href in the nav is still an error. */
    const char *bad =
        "<html><body><nav epub:type=\"toc\"><ol><li><a href=\"../../../../etc/passwd\">x</a>"
        "</li></ol></nav></body></html>";
    qr_error err = QR_ERROR_INIT;
    e = NULL;
    assert_true(qr_epub_parse_nav_buffer(&e, bad, strlen(bad), "OPS/nav.xhtml", false, NULL, &err) <
                0);
    assert_string_equal(err.id, "unsafe-path");
}

/* A whole EPUB 2 with only an NCX, and an EPUB 3 whose nav is missing. */
static void test_books(void **state)
{
    (void)state;
    static const char opf2[] =
        "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"2.0\" unique-identifier=\"id\">"
        "<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:identifier "
        "id=\"id\">b2</dc:identifier>"
        "<dc:title>Two</dc:title></metadata><manifest>"
        "<item id=\"ncx\" href=\"toc.ncx\" media-type=\"application/x-dtbncx+xml\"/>"
        "<item id=\"c1\" href=\"C1.XHTML\" media-type=\"application/xhtml+xml\"/>"
        "<item id=\"c2\" href=\"c%20x.xhtml\" media-type=\"application/xhtml+xml\"/>"
        "</manifest><spine toc=\"ncx\"><itemref idref=\"c1\"/><itemref "
        "idref=\"c2\"/></spine></package>";
    static const char ncx[] = "<ncx><navMap><navPoint><navLabel><text>C1</text></navLabel><content "
                              "src=\"c1.xhtml\"/></navPoint>"
                              "</navMap><pageList><pageTarget><navLabel><text>1</text></"
                              "navLabel><content src=\"c1.xhtml#p\"/>"
                              "</pageTarget></pageList></ncx>";
    qr_test_entry extra[] = {QR_TEST_TEXT("EPUB/toc.ncx", ncx),
                             QR_TEST_TEXT("EPUB/c%20x.xhtml", "<html/>")};
    uint8_t *zip = NULL;
    size_t len = 0;
    assert_int_equal(qr_test_epub_memory(&zip, &len, opf2, NULL, extra, 2), 0);
    qr_warnings *w = qr_warnings_new();
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.warnings = w;
    qr_epub *e = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_epub_open_buffer(&e, zip, len, &o, &err), 0);
    const qr_epub_info *i = qr_epub_get_info(e);
    assert_int_equal(i->nav_item, -1);
    assert_int_equal(i->ncx_item, 0);
    assert_int_equal(qr_epub_toc_count(e), 1);
    assert_string_equal(qr_epub_get_toc(e, 0)->href, "EPUB/c1.xhtml");
    assert_int_equal(qr_epub_pagelist_count(e), 1);
    assert_true(qr_warnings_has(w, "href-case-mismatch"));
    assert_true(qr_warnings_has(w, "href-percent-encoded"));
    assert_int_equal(qr_epub_spine_count(e), 2);
    const qr_epub_item *c1 = qr_epub_get_item(e, 1);
    assert_string_equal(c1->path, "EPUB/c1.xhtml");
    assert_true(c1->entry >= 0);
    assert_int_equal(qr_epub_get_entry(e, (size_t)c1->entry)->item, 1);
    assert_string_equal(qr_epub_get_item(e, 2)->path, "EPUB/c%20x.xhtml");
    qr_epub_free(e);
    qr_warnings_free(w);
    free(zip);

    static const char opf3[] =
        "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\"><metadata/><manifest>"
        "<item id=\"nav\" href=\"missing-nav.xhtml\" media-type=\"application/xhtml+xml\" "
        "properties=\"nav\"/>"
        "<item id=\"c1\" href=\"c1.xhtml\" media-type=\"application/xhtml+xml\"/>"
        "</manifest><spine><itemref idref=\"c1\"/></spine></package>";
    assert_int_equal(qr_test_epub_memory(&zip, &len, opf3, NULL, NULL, 0), 0);
    w = qr_warnings_new();
    o.warnings = w;
    assert_int_equal(qr_epub_open_buffer(&e, zip, len, &o, &err), 0);
    assert_true(qr_warnings_has(w, "missing-optional"));
    assert_true(qr_warnings_has(w, "unique-identifier-missing"));
    assert_int_equal(qr_epub_toc_count(e), 0);
    qr_epub_free(e);
    qr_warnings_free(w);
    free(zip);
}

static void test_href_resolve(void **state)
{
    (void)state;
    static const struct {
        const char *base, *href, *path, *frag;
        unsigned flags;
    } ok[] = {
        {"OPS/content.opf", "text/c1.xhtml", "OPS/text/c1.xhtml", NULL, 0},
        {"OPS/content.opf", "content%26001.xhtml", "OPS/content&001.xhtml", NULL, QR_HREF_PERCENT},
        {"OPS/content.opf", "a\\b.xhtml", "OPS/a/b.xhtml", NULL, QR_HREF_BACKSLASH},
        {"OPS/text/nav.xhtml", "../img/./x.png#f", "OPS/img/x.png", "f",
         QR_HREF_FRAGMENT | QR_HREF_DOTSEG},
        {"OPS/text/nav.xhtml", "#top", "OPS/text/nav.xhtml", "top", QR_HREF_FRAGMENT},
        {"", "META-INF/../EPUB//p.opf", "EPUB/p.opf", NULL, QR_HREF_DOTSEG},
        {"p.opf", "x.xhtml?q=1", "x.xhtml", NULL, 0},
        {"p.opf", "mailto:a@b", NULL, NULL, QR_HREF_REMOTE},
        {"p.opf", "a%2", "a%2", NULL, 0},
    };
    for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
        char *p = NULL, *f = NULL;
        unsigned flags = 0;
        qr_error err = QR_ERROR_INIT;
        assert_int_equal(qr_epub__href_resolve(&p, &f, &flags, ok[k].base, ok[k].href, true, &err),
                         0);
        if (ok[k].path)
            assert_string_equal(p, ok[k].path);
        else
            assert_null(p);
        if (ok[k].frag)
            assert_string_equal(f, ok[k].frag);
        else
            assert_null(f);
        assert_int_equal(flags, ok[k].flags);
        free(p);
        free(f);
    }
    static const char *const bad[] = {"/x",   "\\x",  "../x", "a/../../x",
                                      "%2Fx", "C:/x", "c:x",  "a%00b"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        char *p = NULL, *f = NULL;
        unsigned flags = 0;
        qr_error err = QR_ERROR_INIT;
        assert_true(qr_epub__href_resolve(&p, &f, &flags, "p.opf", bad[k], true, &err) < 0);
        assert_string_equal(err.id, "unsafe-path");
        assert_null(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nav_toc_and_pages),
        cmocka_unit_test(test_ncx),
        cmocka_unit_test(test_nav_broken_is_a_warning),
        cmocka_unit_test(test_books),
        cmocka_unit_test(test_href_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
