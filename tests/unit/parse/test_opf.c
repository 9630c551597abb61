/* OPF package document through qr_epub_parse_opf_buffer, plus XML safety. */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qr/epub.h"

#define PKG(attrs, meta, manifest, spine)                                                          \
    "<?xml version=\"1.0\"?><package xmlns=\"http://www.idpf.org/2007/opf\" " attrs ">"            \
    "<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">" meta "</metadata>"                  \
    "<manifest>" manifest "</manifest>" spine "</package>"

#define ITEM(id, href, mt, props)                                                                  \
    "<item id=\"" id "\" href=\"" href "\" media-type=\"" mt "\" properties=\"" props "\"/>"
#define XHTML "application/xhtml+xml"

typedef struct parsed {
    qr_epub *e;
    qr_warnings *w;
    qr_error err;
    int rc;
} parsed;

static parsed parse(const char *xml)
{
    parsed p;
    memset(&p, 0, sizeof(p));
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    p.w = qr_warnings_new();
    o.warnings = p.w;
    p.rc = qr_epub_parse_opf_buffer(&p.e, xml, strlen(xml), "OPS/content.opf", &o, &p.err);
    return p;
}

static void done(parsed *p)
{
    qr_epub_free(p->e);
    qr_warnings_free(p->w);
}

static void test_metadata(void **state)
{
    (void)state;
    parsed p = parse(PKG(
        "version=\"3.0\" unique-identifier=\"pub-id\" prefix=\"rendition: "
        "http://www.idpf.org/vocab/rendition/#\"",
        "<dc:identifier id=\"other\">urn:isbn:123</dc:identifier>"
        "<dc:identifier id=\"pub-id\">  urn:uuid:12345678-9abc-def0-1234-56789abcdef0 "
        "</dc:identifier>"
        "<dc:title id=\"t1\">Collection</dc:title><dc:title id=\"t2\">Real &amp; Main</dc:title>"
        "<meta refines=\"#t2\" property=\"title-type\">main</meta>"
        "<dc:language>fr</dc:language><dc:creator>A. Writer</dc:creator><dc:creator>B</dc:creator>"
        "<dc:publisher>Pub</dc:publisher><meta "
        "property=\"dcterms:modified\">2020-01-01T00:00:00Z</meta>"
        "<meta property=\"rendition:layout\">pre-paginated</meta>"
        "<meta property=\"schema:numberOfPages\">321</meta>"
        "<meta property=\"pageBreakSource\">urn:isbn:999</meta>",
        ITEM("c1", "text/c1.xhtml", XHTML, "") ITEM("c2", "text/c2.xhtml", XHTML, "")
            ITEM("img", "images/cover.jpg", "image/jpeg", "cover-image")
                ITEM("nav", "nav.xhtml", XHTML, "nav scripted"),
        "<spine page-progression-direction=\"rtl\"><itemref idref=\"c1\" "
        "properties=\"page-spread-left\"/>"
        "<itemref idref=\"c2\" linear=\"no\"/></spine>"));
    assert_int_equal(p.rc, 0);
    const qr_epub_info *i = qr_epub_get_info(p.e);
    assert_int_equal(i->version_major, 3);
    assert_int_equal(i->version_minor, 0);
    assert_string_equal(i->unique_identifier, "urn:uuid:12345678-9abc-def0-1234-56789abcdef0");
    assert_string_equal(i->title, "Real & Main");
    assert_string_equal(i->language, "fr");
    assert_string_equal(i->creator, "A. Writer");
    assert_string_equal(i->publisher, "Pub");
    assert_string_equal(i->modified, "2020-01-01T00:00:00Z");
    assert_int_equal(i->layout, QR_LAYOUT_FIXED);
    assert_string_equal(i->page_progression, "rtl");
    assert_int_equal(i->declared_pages, 321);
    assert_string_equal(i->page_source, "urn:isbn:999");
    assert_int_equal(i->cover_item, 2);
    assert_int_equal(i->nav_item, 3);
    assert_int_equal(i->ncx_item, -1);
    assert_int_equal(qr_epub_item_count(p.e), 4);
    assert_string_equal(qr_epub_get_item(p.e, 0)->path, "OPS/text/c1.xhtml");
    assert_int_equal(qr_epub_get_item(p.e, 0)->entry, -1);
    assert_int_equal(qr_epub_spine_count(p.e), 2);
    assert_true(qr_epub_get_spine(p.e, 0)->linear);
    assert_string_equal(qr_epub_get_spine(p.e, 0)->properties, "page-spread-left");
    assert_false(qr_epub_get_spine(p.e, 1)->linear);
    assert_false(qr_epub_get_item(p.e, 1)->linear);
    assert_int_equal(qr_epub_get_item(p.e, 1)->spine, 1);
    assert_int_equal(qr_warnings_count(p.w), 0);
    done(&p);
}

static void test_epub2_cover_ncx_source(void **state)
{
    (void)state;
    parsed p =
        parse(PKG("version=\"2.0\" unique-identifier=\"missing\"",
                  "<dc:identifier>first-id</dc:identifier><dc:identifier>second</dc:identifier>"
                  "<dc:title>One</dc:title><dc:title>Two</dc:title>"
                  "<dc:source id=\"src\">urn:isbn:42</dc:source>"
                  "<meta refines=\"#src\" property=\"source-of\">pagination</meta>"
                  "<meta name=\"cover\" content=\"cov\"/>",
                  ITEM("cov", "cover.png", "image/png", "")
                      ITEM("ncx", "toc.ncx", "application/x-dtbncx+xml", "")
                          ITEM("c1", "c1.html#frag", XHTML, ""),
                  "<spine toc=\"ncx\"><itemref idref=\"c1\"/><itemref idref=\"nope\"/></spine>"));
    assert_int_equal(p.rc, 0);
    const qr_epub_info *i = qr_epub_get_info(p.e);
    assert_int_equal(i->version_major, 2);
    assert_string_equal(i->unique_identifier, "first-id");
    assert_true(qr_warnings_has(p.w, "unique-identifier-missing"));
    assert_string_equal(i->title, "One");
    assert_string_equal(i->page_source, "urn:isbn:42");
    assert_int_equal(i->cover_item, 0);
    assert_int_equal(i->ncx_item, 1);
    assert_true(qr_warnings_has(p.w, "href-fragment"));
    assert_string_equal(qr_epub_get_item(p.e, 2)->path, "OPS/c1.html");
    assert_true(qr_warnings_has(p.w, "spine-idref-unknown"));
    assert_int_equal(qr_epub_spine_count(p.e), 1);
    done(&p);
}

static void test_spine_errors(void **state)
{
    (void)state;
    parsed p = parse(PKG("version=\"3.0\"", "", ITEM("c1", "c1.xhtml", XHTML, ""), ""));
    assert_true(p.rc < 0);
    assert_string_equal(p.err.id, "spine-empty");
    assert_null(p.e);
    done(&p);
    p = parse(PKG("version=\"3.0\"", "", ITEM("c1", "c1.xhtml", XHTML, ""),
                  "<spine><itemref idref=\"zz\"/></spine>"));
    assert_string_equal(p.err.id, "spine-empty");
    done(&p);
    p = parse("<notapackage/>");
    assert_string_equal(p.err.id, "opf-invalid");
    done(&p);
    p = parse("<package><metadata/><spine/></package>");
    assert_string_equal(p.err.id, "opf-invalid");
    done(&p);
    p = parse("");
    assert_string_equal(p.err.id, "opf-invalid");
    done(&p);
}

static void test_unsafe_hrefs(void **state)
{
    (void)state;
    static const char *const bad[] = {
        PKG("", "", ITEM("c1", "../../x.xhtml", XHTML, ""),
            "<spine><itemref idref=\"c1\"/></spine>"),
        PKG("", "", ITEM("c1", "/OPS/x.xhtml", XHTML, ""),
            "<spine><itemref idref=\"c1\"/></spine>"),
        PKG("", "", ITEM("c1", "..%2F..%2Fx.xhtml", XHTML, ""),
            "<spine><itemref idref=\"c1\"/></spine>"),
        PKG("", "", ITEM("c1", "C:\\x.xhtml", XHTML, ""), "<spine><itemref idref=\"c1\"/></spine>"),
        PKG("", "", ITEM("c1", "a%00.xhtml", XHTML, ""), "<spine><itemref idref=\"c1\"/></spine>"),
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        parsed p = parse(bad[k]);
        assert_true(p.rc < 0);
        assert_string_equal(p.err.id, "unsafe-path");
        done(&p);
    }
    /* "a/../b" inside the root is fine; remote resources are kept unresolved. */
    parsed p = parse(PKG("", "",
                         ITEM("c1", "a/../b/./c1.xhtml", XHTML, "")
                             ITEM("r", "https://example.com/x.css", "text/css", ""),
                         "<spine><itemref idref=\"c1\"/></spine>"));
    assert_int_equal(p.rc, 0);
    assert_string_equal(qr_epub_get_item(p.e, 0)->path, "OPS/b/c1.xhtml");
    assert_null(qr_epub_get_item(p.e, 1)->path);
    done(&p);
}

static void test_html_entities_and_recovery(void **state)
{
    (void)state;
    parsed p =
        parse(PKG("", "<dc:title>Caf&eacute;&nbsp;&mdash; &amp; co</dc:title>",
                  ITEM("c1", "c1.xhtml", XHTML, ""), "<spine><itemref idref=\"c1\"/></spine>"));
    assert_int_equal(p.rc, 0);
    assert_string_equal(qr_epub_get_info(p.e)->title, "Caf\xc3\xa9\xc2\xa0\xe2\x80\x94 & co");
    assert_true(qr_warnings_has(p.w, "xml-html-entity"));
    assert_false(qr_warnings_has(p.w, "xml-recovered"));
    done(&p);

    /* Not well-formed (stray '&', unclosed root): parsed with recovery. */
    p = parse("<package version=\"3.0\"><metadata><title>AT&T</title></metadata>"
              "<manifest><item id=\"c1\" href=\"c1.xhtml\" media-type=\"" XHTML "\"/></manifest>"
              "<spine><itemref idref=\"c1\"/></spine>");
    assert_int_equal(p.rc, 0);
    assert_true(qr_warnings_has(p.w, "xml-recovered"));
    assert_int_equal(qr_epub_spine_count(p.e), 1);
    done(&p);
}

static void test_billion_laughs(void **state)
{
    (void)state;
    const char *lol =
        "<?xml version=\"1.0\"?><!DOCTYPE package [<!ENTITY lol \"lol\">"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
        "<package><metadata><title>&lol3;</title></metadata><manifest>"
        "<item id=\"c1\" href=\"c1.xhtml\" media-type=\"" XHTML "\"/></manifest>"
        "<spine><itemref idref=\"c1\"/></spine></package>";
    parsed p = parse(lol);
    assert_true(p.rc < 0);
    assert_string_equal(p.err.id, "xml-limit");
    done(&p);
    /* The same in UTF-16 is refused too. */
    char u16[2048];
    size_t n = 0;
    for (const char *s = lol; *s && n + 2 < sizeof(u16); s++) {
        u16[n++] = *s;
        u16[n++] = 0;
    }
    qr_epub *e = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_epub_parse_opf_buffer(&e, u16, n, NULL, NULL, &err) < 0);
    assert_string_equal(err.id, "xml-limit");
}

static void test_xxe_never_reads_files(void **state)
{
    (void)state;
    /* An external entity declaration is refused outright. */
    parsed p = parse(
        "<?xml version=\"1.0\"?><!DOCTYPE package [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
        "<package><metadata><title>&xxe;</title></metadata><manifest>"
        "<item id=\"c1\" href=\"c1.xhtml\" media-type=\"" XHTML "\"/></manifest>"
        "<spine><itemref idref=\"c1\"/></spine></package>");
    assert_true(p.rc < 0);
    assert_string_equal(p.err.id, "xml-limit");
    done(&p);
    /* An external DTD subset is never loaded: its entities stay undefined. */
    p = parse(
        "<?xml version=\"1.0\"?><!DOCTYPE package SYSTEM \"file:///etc/passwd\">"
        "<package><metadata><title>x&xxe;y</title><creator>&passwd;</creator></metadata><manifest>"
        "<item id=\"c1\" href=\"c1.xhtml\" media-type=\"" XHTML "\"/></manifest>"
        "<spine><itemref idref=\"c1\"/></spine></package>");
    assert_int_equal(p.rc, 0);
    const qr_epub_info *i = qr_epub_get_info(p.e);
    assert_null(strstr(i->title, "root:"));
    assert_null(strstr(i->creator, "root:"));
    done(&p);
    /* Parameter entities with a network URL. */
    p = parse("<?xml version=\"1.0\"?><!DOCTYPE package [<!ENTITY % r SYSTEM "
              "\"http://127.0.0.1:1/x\"> %r;]>"
              "<package/>");
    assert_string_equal(p.err.id, "xml-limit");
    done(&p);
}

static void test_xml_size_limit(void **state)
{
    (void)state;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.limits.max_xml_bytes = 64;
    qr_epub *e = NULL;
    qr_error err = QR_ERROR_INIT;
    const char *xml =
        PKG("", "", ITEM("c1", "c1.xhtml", XHTML, ""), "<spine><itemref idref=\"c1\"/></spine>");
    assert_true(qr_epub_parse_opf_buffer(&e, xml, strlen(xml), NULL, &o, &err) < 0);
    assert_string_equal(err.id, "entry-too-large");
}

static void test_deep_nesting_does_not_hang(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *xml = malloc(depth * 7 + 64);
    assert_non_null(xml);
    char *w = xml;
    w += sprintf(w, "<package>");
    for (size_t k = 0; k < depth; k++)
        w += sprintf(w, "<a>");
    *w = 0;
    qr_epub *e = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_epub_parse_opf_buffer(&e, xml, strlen(xml), NULL, NULL, &err) < 0);
    assert_null(e);
    free(xml);
}

/*
 * Found by fuzz/opf: an OPF whose encoding cannot be converted made libxml2
 * print "encoding error : input conversion failed" on stderr. The library
 * never prints: stderr stays empty, and the document is refused or recovered.
 */
static void test_encoding_error_is_quiet(void **state)
{
    (void)state;
    static const char ucs4[] = {'<', 0, 0, 0};
    static const char bad_utf8[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<package "
                                   "xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\">"
                                   "<metadata>\xff\xfe\xc3</metadata><manifest/><spine/></package>";
    const struct {
        const char *xml;
        size_t len;
    } cases[] = {{ucs4, sizeof(ucs4)}, {bad_utf8, sizeof(bad_utf8) - 1}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char path[] = "/tmp/qr-test-stderr-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        fflush(stderr);
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        qr_epub *e = NULL;
        qr_error err = QR_ERROR_INIT;
        if (qr_epub_parse_opf_buffer(&e, cases[k].xml, cases[k].len, NULL, NULL, &err) == 0)
            qr_epub_free(e);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        close(fd);
        unlink(path);
        assert_int_equal(st.st_size, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_encoding_error_is_quiet),
        cmocka_unit_test(test_epub2_cover_ncx_source),
        cmocka_unit_test(test_spine_errors),
        cmocka_unit_test(test_unsafe_hrefs),
        cmocka_unit_test(test_html_entities_and_recovery),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_xxe_never_reads_files),
        cmocka_unit_test(test_xml_size_limit),
        cmocka_unit_test(test_deep_nesting_does_not_hang),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
