/* Unicode NFC of container paths (epub_nfc.c): the forms OCF compares names in. */
#include "qr_test.h"

#include <stdlib.h>
#include <string.h>

#include "parse/epub_internal.h"

/* NFC of `in`: `want`, or NULL when `in` is its own NFC form. */
static void expect_nfc(const char *in, const char *want)
{
    char *out = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_epub__nfc(&out, in, &err), 0);
    if (!want) {
        assert_null(out);
        return;
    }
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void test_own_form(void **state)
{
    (void)state;
    expect_nfc("", NULL);
    expect_nfc("OEBPS/text/chapter-1.xhtml", NULL);
    /* Already composed: u-umlaut, e-acute, a CJK name, an emoji. */
    expect_nfc("text/Kapitel-\xc3\xbc"
               "ber.xhtml",
               NULL);
    expect_nfc("caf\xc3\xa9.xhtml", NULL);
    expect_nfc("\xe7\xab\xa0.xhtml", NULL);
    expect_nfc("\xf0\x9f\x93\x96.png", NULL);
    /* Not UTF-8 (Latin-1 u-umlaut, a cut sequence): no form, compared as bytes. */
    expect_nfc("Kapitel-\xfc"
               "ber.xhtml",
               NULL);
    expect_nfc("a\xcc", NULL);
}

static void test_composes(void **state)
{
    (void)state;
    /* u + COMBINING DIAERESIS -> U+00FC, as macOS file systems hand names to zippers. */
    expect_nfc("text/Kapitel-u\xcc\x88"
               "ber.xhtml",
               "text/Kapitel-\xc3\xbc"
               "ber.xhtml");
    /* Two in one name: e + U+0301, e + U+0300. */
    expect_nfc("cafe\xcc\x81-cre\xcc\x80me.xhtml", "caf\xc3\xa9-cr\xc3\xa8me.xhtml");
    /* Hangul: leading consonant, vowel, trailing consonant -> one syllable U+D55C. */
    expect_nfc("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab.xhtml", "\xed\x95\x9c.xhtml");
    /* ANGSTROM SIGN U+212B is a singleton: NFC is U+00C5. */
    expect_nfc("\xe2\x84\xab.png", "\xc3\x85.png");
}

static void test_order_and_exclusions(void **state)
{
    (void)state;
    /* q + dot above (ccc 230) + dot below (ccc 220): marks reordered, nothing composes. */
    expect_nfc("q\xcc\x87\xcc\xa3", "q\xcc\xa3\xcc\x87");
    /* DEVANAGARI QA U+0958 is a composition exclusion: NFC keeps it decomposed. */
    expect_nfc("\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc");
    /* s + dot below + dot above composes fully to U+1E69 whichever order the marks came in. */
    expect_nfc("s\xcc\x87\xcc\xa3", "\xe1\xb9\xa9");
    expect_nfc("s\xcc\xa3\xcc\x87", "\xe1\xb9\xa9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_form),
        cmocka_unit_test(test_composes),
        cmocka_unit_test(test_order_and_exclusions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
