/* SHA-1 test vectors, font-obfuscation keys and the deobfuscation round trip; media helpers. */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epub_builder.h"
#include "parse/epub_internal.h"
#include "qr/epub.h"

static void hex(char *out, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha1_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *digest;
    } v[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"urn:uuid:12345678-9abc-def0-1234-56789abcdef0",
         "d5136d90a6cbd07e7ec7326acb8753f97a31c839"},
    };
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        uint8_t d[20];
        char h[41];
        qr_epub__sha1(d, v[k].msg, strlen(v[k].msg));
        hex(h, d, 20);
        assert_string_equal(h, v[k].digest);
    }
    /* A million 'a's (multi-block, length > 2^20 bits). */
    char *m = malloc(1000000);
    assert_non_null(m);
    memset(m, 'a', 1000000);
    uint8_t d[20];
    char h[41];
    qr_epub__sha1(d, m, 1000000);
    hex(h, d, 20);
    assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(m);
}

static void test_roundtrip(void **state)
{
    (void)state;
    /* The key is SHA-1 of the identifier with whitespace removed: spaces are added on purpose. */
    static const char opf[] =
        "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" unique-identifier=\"u\">"
        "<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:identifier id=\"u\">\n "
        "urn:uuid:12345678-"
        "9abc-def0-1234-56789abcdef0\t</dc:identifier></metadata><manifest>"
        "<item id=\"c1\" href=\"c1.xhtml\" media-type=\"application/xhtml+xml\"/>"
        "<item id=\"f1\" href=\"f1.otf\" media-type=\"font/otf\"/>"
        "<item id=\"f2\" href=\"f2.woff\" media-type=\"application/font-woff\"/></manifest>"
        "<spine><itemref idref=\"c1\"/></spine></package>";
    static const uint8_t idpf_key[20] = {0xd5, 0x13, 0x6d, 0x90, 0xa6, 0xcb, 0xd0,
                                         0x7e, 0x7e, 0xc7, 0x32, 0x6a, 0xcb, 0x87,
                                         0x53, 0xf9, 0x7a, 0x31, 0xc8, 0x39};
    static const uint8_t adobe_key[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                          0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
    size_t n = 3000;
    uint8_t *clear = malloc(n), *f1 = malloc(n), *f2 = malloc(n);
    assert_true(clear && f1 && f2);
    for (size_t i = 0; i < n; i++)
        clear[i] = (uint8_t)(i * 7 + 3);
    memcpy(f1, clear, n);
    memcpy(f2, clear, n);
    for (size_t i = 0; i < 1040; i++)
        f1[i] ^= idpf_key[i % 20];
    for (size_t i = 0; i < 1024; i++)
        f2[i] ^= adobe_key[i % 16];
    static const char enc[] =
        "<encryption xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\" "
        "xmlns:enc=\"http://www.w3.org/2001/04/xmlenc#\">"
        "<enc:EncryptedData><enc:EncryptionMethod "
        "Algorithm=\"http://www.idpf.org/2008/embedding\"/>"
        "<enc:CipherData><enc:CipherReference "
        "URI=\"EPUB/f1.otf\"/></enc:CipherData></enc:EncryptedData>"
        "<enc:EncryptedData><enc:EncryptionMethod Algorithm=\"http://ns.adobe.com/pdf/enc#RC\"/>"
        "<enc:CipherData><enc:CipherReference "
        "URI=\"EPUB/f2.woff\"/></enc:CipherData></enc:EncryptedData>"
        "</encryption>";
    qr_test_entry extra[] = {{"EPUB/f1.otf", f1, n, false},
                             {"EPUB/f2.woff", f2, n, true},
                             QR_TEST_TEXT("META-INF/encryption.xml", enc)};
    uint8_t *zip = NULL;
    size_t len = 0;
    assert_int_equal(qr_test_epub_memory(&zip, &len, opf, NULL, extra, 3), 0);
    qr_epub *e = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_epub_open_buffer(&e, zip, len, NULL, &err), 0);
    assert_int_equal(qr_epub_get_info(e)->obfuscated_fonts, 2);
    static const char *const names[] = {"EPUB/f1.otf", "EPUB/f2.woff"};
    static const qr_obfuscation algs[] = {QR_OBF_IDPF, QR_OBF_ADOBE};
    for (int k = 0; k < 2; k++) {
        int i = qr_epub_find_entry(e, names[k]);
        assert_true(i >= 0);
        const qr_epub_entry *en = qr_epub_get_entry(e, (size_t)i);
        assert_int_equal(en->obf, algs[k]);
        assert_true(en->item >= 0);
        assert_true(qr_media_is_font(qr_epub_get_item(e, (size_t)en->item)->media_type));
        qr_buf b = QR_BUF_INIT(1 << 20);
        assert_int_equal(qr_epub_read_entry(&b, e, (size_t)i, &err), 0);
        assert_int_equal(b.len, n);
        assert_memory_not_equal(b.data, clear, n);
        assert_int_equal(qr_epub_deobfuscate(e, en->obf, b.data, b.len, &err), 0);
        assert_memory_equal(b.data, clear, n);
        /* Self-inverse: applying it again gives the stored bytes back. */
        assert_int_equal(qr_epub_deobfuscate(e, en->obf, b.data, b.len, &err), 0);
        assert_memory_equal(b.data, k == 0 ? f1 : f2, n);
        qr_buf_free(&b);
    }
    /* Short data: only what is there is XORed. */
    uint8_t tiny[3] = {0, 0, 0};
    assert_int_equal(qr_epub_deobfuscate(e, QR_OBF_IDPF, tiny, 3, &err), 0);
    assert_memory_equal(tiny, idpf_key, 3);
    qr_epub_free(e);
    free(zip);
    free(clear);
    free(f1);
    free(f2);
}

static void test_adobe_needs_uuid(void **state)
{
    (void)state;
    const char *opf = "<package version=\"3.0\" unique-identifier=\"u\"><metadata><identifier "
                      "id=\"u\">isbn</identifier>"
                      "</metadata><manifest><item id=\"c\" href=\"c.xhtml\" "
                      "media-type=\"application/xhtml+xml\"/>"
                      "</manifest><spine><itemref idref=\"c\"/></spine></package>";
    qr_epub *e = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_epub_parse_opf_buffer(&e, opf, strlen(opf), NULL, NULL, &err), 0);
    uint8_t d[4] = {0};
    assert_true(qr_epub_deobfuscate(e, QR_OBF_ADOBE, d, 4, &err) < 0);
    assert_string_equal(err.id, "drm-protected");
    qr_error_clear(&err);
    assert_int_equal(qr_epub_deobfuscate(e, QR_OBF_NONE, d, 4, &err), 0);
    qr_epub_free(e);
}

static void test_media_helpers(void **state)
{
    (void)state;
    assert_true(qr_media_is_image("image/jpeg"));
    assert_true(qr_media_is_image("IMAGE/PNG"));
    assert_true(qr_media_is_image("image/svg+xml"));
    assert_false(qr_media_is_image("image/"));
    assert_false(qr_media_is_image("application/xhtml+xml"));
    assert_false(qr_media_is_image(NULL));
    assert_true(qr_media_is_font("font/otf"));
    assert_true(qr_media_is_font("application/vnd.ms-opentype"));
    assert_true(qr_media_is_font("application/font-woff"));
    assert_true(qr_media_is_font("application/x-font-ttf"));
    assert_true(qr_media_is_font("application/font-sfnt; x=y"));
    assert_false(qr_media_is_font("application/font-sfntx"));
    assert_false(qr_media_is_font("text/css"));
    assert_false(qr_media_is_font(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_vectors),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_adobe_needs_uuid),
        cmocka_unit_test(test_media_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
