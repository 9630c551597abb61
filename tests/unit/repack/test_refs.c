/* The reference rewriter of the -jpeg profiles: every kind of file and reference form. */
#include "qr_test.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qr/repack.h"

static const qr_repack_rename ren[] = {
    {"OEBPS/images/photo.png", "OEBPS/images/photo.jpg"},
    {"OEBPS/images/my photo.png", "OEBPS/images/my photo.jpg"},
    {"OEBPS/images/taken.png", "OEBPS/images/taken-2.jpg"},
    {"OEBPS/cover.PNG", "OEBPS/cover.jpg"},
};
#define NREN (sizeof(ren) / sizeof(ren[0]))

/* Rewrites `in` as `doc` and checks the result and the count. */
static void check(const char *doc, bool opf, const char *in, const char *want, size_t want_refs)
{
    qr_buf out = QR_BUF_INIT(1 << 20);
    size_t n = 99;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_repack_rewrite_refs(&out, &n, doc, opf, (const uint8_t *)in, strlen(in),
                                            ren, NREN, &err),
                     0);
    assert_int_equal(n, want_refs);
    if (want_refs == 0) {
        assert_int_equal(out.len, 0);
    } else {
        assert_int_equal(out.len, strlen(want));
        assert_memory_equal(out.data, want, out.len);
    }
    qr_buf_free(&out);
}

static void test_xhtml_forms(void **state)
{
    (void)state;
    check("OEBPS/text/ch1.xhtml", false,
          "<img src=\"../images/photo.png\" alt=\"photo.png\"/>"
          "<a href='../images/photo.png#frag'>x</a>"
          "<img srcset=\"../images/photo.png 1x, ../images/taken.png 2x\"/>"
          "<video poster=\"../images/photo.png?v=1\"/>",
          "<img src=\"../images/photo.jpg\" alt=\"photo.png\"/>"
          "<a href='../images/photo.jpg#frag'>x</a>"
          "<img srcset=\"../images/photo.jpg 1x, ../images/taken-2.jpg 2x\"/>"
          "<video poster=\"../images/photo.jpg?v=1\"/>",
          5);
}

static void test_percent_and_case(void **state)
{
    (void)state;
    check("OEBPS/text/ch1.xhtml", false, "<img src=\"../images/my%20photo.png\"/>",
          "<img src=\"../images/my%20photo.jpg\"/>", 1);
    check("OEBPS/text/ch1.xhtml", false, "<img src=\"../images/%70hoto.png\"/>",
          "<img src=\"../images/%70hoto.jpg\"/>", 1);
    check("OEBPS/text/ch1.xhtml", false, "<img src=\"../cover.PNG\"/>",
          "<img src=\"../cover.jpg\"/>", 1);
    /* A bad escape is not a path into the archive: left alone. */
    check("OEBPS/text/ch1.xhtml", false, "<img src=\"../images/%zzphoto.png\"/>", NULL, 0);
}

static void test_relative_paths(void **state)
{
    (void)state;
    /* The same bytes mean another file from another folder. */
    check("OEBPS/images/page.xhtml", false, "<img src=\"photo.png\"/>", "<img src=\"photo.jpg\"/>",
          1);
    check("OEBPS/text/ch1.xhtml", false, "<img src=\"photo.png\"/>", NULL, 0);
    check("OEBPS/a/b/c.xhtml", false, "<img src=\"../../images/./photo.png\"/>",
          "<img src=\"../../images/./photo.jpg\"/>", 1);
    check("OEBPS/text/ch1.xhtml", false, "<img src=\"../../../images/photo.png\"/>", NULL, 0);
    /* Not in the archive at all. */
    check("OEBPS/text/ch1.xhtml", false,
          "<img src=\"http://example.com/images/photo.png\"/><img src=\"data:x.png\"/>", NULL, 0);
    /* A name that only ends like a renamed one. */
    check("OEBPS/text/ch1.xhtml", false, "<img src=\"../images/xphoto.png\"/>", NULL, 0);
    check("OEBPS/text/ch1.xhtml", false, "<img src=\"../images/photo.pngx\"/>", NULL, 0);
}

static void test_css_svg_ncx(void **state)
{
    (void)state;
    check("OEBPS/css/a.css", false,
          "body{background:url(../images/photo.png)}\n"
          "p{background-image:url( \"../images/taken.png\" )}\n"
          ".c{background:url('../images/photo.png#x')}\n",
          "body{background:url(../images/photo.jpg)}\n"
          "p{background-image:url( \"../images/taken-2.jpg\" )}\n"
          ".c{background:url('../images/photo.jpg#x')}\n",
          3);
    check(
        "OEBPS/text/ch1.xhtml", false,
        "<p style=\"background:url(../images/photo.png)\">"
        "<style>div{background:url(&quot;x&quot;)} i{background:url(../images/photo.png)}</style>",
        "<p style=\"background:url(../images/photo.jpg)\">"
        "<style>div{background:url(&quot;x&quot;)} i{background:url(../images/photo.jpg)}</style>",
        2);
    check("OEBPS/images/fig.svg", false,
          "<svg><image xlink:href=\"photo.png\"/><image href=\"taken.png\"/></svg>",
          "<svg><image xlink:href=\"photo.jpg\"/><image href=\"taken-2.jpg\"/></svg>", 2);
    check("OEBPS/toc.ncx", false, "<content src=\"images/photo.png\"/>",
          "<content src=\"images/photo.jpg\"/>", 1);
}

static void test_opf_media_type(void **state)
{
    (void)state;
    check(
        "OEBPS/content.opf", true,
        "<item id=\"a\" media-type=\"image/png\" href=\"images/photo.png\"/>\n"
        "<item id=\"b\" href=\"images/taken.png\"\n  media-type='image/png' properties=\"x\"/>\n"
        "<item id=\"c\" href=\"images/kept.png\" media-type=\"image/png\"/>\n",
        "<item id=\"a\" media-type=\"image/jpeg\" href=\"images/photo.jpg\"/>\n"
        "<item id=\"b\" href=\"images/taken-2.jpg\"\n  media-type='image/jpeg' properties=\"x\"/>\n"
        "<item id=\"c\" href=\"images/kept.png\" media-type=\"image/png\"/>\n",
        2);
}

static void test_unchanged_document(void **state)
{
    (void)state;
    check("OEBPS/text/ch1.xhtml", false, "<p>No pictures here, nor ../images/kept.png.</p>", NULL,
          0);
}

typedef struct names {
    const char **taken;
} names;

static bool taken_fn(void *ud, const char *name)
{
    const names *n = ud;
    for (const char **p = n->taken; *p; p++)
        if (strcasecmp(*p, name) == 0)
            return true;
    return false;
}

static void test_collisions(void **state)
{
    (void)state;
    const char *t[] = {"img/a.jpg", "img/A-2.JPG", "img/b.png", NULL};
    names n = {t};
    char *out = NULL;
    assert_int_equal(qr_repack_jpeg_name(&out, "img/b.png", taken_fn, &n, NULL), 0);
    assert_string_equal(out, "img/b.jpg");
    free(out);
    assert_int_equal(qr_repack_jpeg_name(&out, "img/a.png", taken_fn, &n, NULL), 0);
    assert_string_equal(out, "img/a-3.jpg");
    free(out);
    assert_int_equal(qr_repack_jpeg_name(&out, "img/c.PNG", NULL, NULL, NULL), 0);
    assert_string_equal(out, "img/c.jpg");
    free(out);
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_repack_jpeg_name(&out, "img/a.gif", taken_fn, &n, &err) < 0);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xhtml_forms),    cmocka_unit_test(test_percent_and_case),
        cmocka_unit_test(test_relative_paths), cmocka_unit_test(test_css_svg_ncx),
        cmocka_unit_test(test_opf_media_type), cmocka_unit_test(test_unchanged_document),
        cmocka_unit_test(test_collisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
