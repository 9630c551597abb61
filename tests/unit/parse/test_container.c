/* OCF container: mimetype variants, container.xml, DRM markers, encryption.xml. */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "epub_builder.h"
#include "qr/epub.h"

static const char opf_v[] =
    "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" unique-identifier=\"u\">"
    "<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:identifier "
    "id=\"u\">x</dc:identifier>"
    "<dc:title>T</dc:title></metadata><manifest>"
    "<item id=\"c1\" href=\"c1.xhtml\" media-type=\"application/xhtml+xml\"/></manifest>"
    "<spine><itemref idref=\"c1\"/></spine></package>";

/* Opens an archive made of exactly `v`; returns the error id or "ok"; *w gets the warnings. */
static const char *open_entries(const qr_test_entry *v, size_t n, qr_warnings **w, qr_epub **out)
{
    static char id[64];
    uint8_t *zip = NULL;
    size_t len = 0;
    assert_int_equal(qr_test_zip_memory(&zip, &len, v, n), 0);
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    *w = qr_warnings_new();
    o.warnings = *w;
    qr_error err = QR_ERROR_INIT;
    qr_epub *e = NULL;
    int rc = qr_epub_open_buffer(&e, zip, len, &o, &err);
    snprintf(id, sizeof(id), "%s", rc < 0 ? err.id : "ok");
    if (out && e) {
        /* The caller frees the buffer (qr_epub_source_data) after the epub. */
        *out = e;
        return id;
    }
    qr_epub_free(e);
    free(zip);
    return id;
}

#define CONTAINER                                                                                  \
    {                                                                                              \
        "META-INF/container.xml", qr_test_container_xml, strlen(qr_test_container_xml), false      \
    }
#define OPF(s)                                                                                     \
    {                                                                                              \
        "EPUB/package.opf", (s), sizeof(s) - 1, false                                              \
    }
#define CH QR_TEST_TEXT("EPUB/c1.xhtml", "<html/>")

static void check(const qr_test_entry *v, size_t n, const char *want_id, const char *want_warning)
{
    qr_warnings *w = NULL;
    const char *id = open_entries(v, n, &w, NULL);
    assert_string_equal(id, want_id);
    if (want_warning)
        assert_true(qr_warnings_has(w, want_warning));
    qr_warnings_free(w);
}

static void test_mimetype_variants(void **state)
{
    (void)state;
    qr_test_entry ok[] = {QR_TEST_STORED("mimetype", "application/epub+zip"), CONTAINER, OPF(opf_v),
                          CH};
    qr_warnings *w = NULL;
    assert_string_equal(open_entries(ok, 4, &w, NULL), "ok");
    assert_int_equal(qr_warnings_count(w), 1); /* only: no navigation */
    assert_true(qr_warnings_has(w, "missing-optional"));
    qr_warnings_free(w);

    qr_test_entry missing[] = {CONTAINER, OPF(opf_v), CH};
    check(missing, 3, "ok", "mimetype-missing");
    qr_test_entry compressed[] = {QR_TEST_TEXT("mimetype", "application/epub+zip"), CONTAINER,
                                  OPF(opf_v), CH};
    check(compressed, 4, "ok", "mimetype-compressed");
    qr_test_entry notfirst[] = {CONTAINER, QR_TEST_STORED("mimetype", "application/epub+zip"),
                                OPF(opf_v), CH};
    check(notfirst, 4, "ok", "mimetype-not-first");
    qr_test_entry newline[] = {QR_TEST_STORED("mimetype", "application/epub+zip\n"), CONTAINER,
                               OPF(opf_v), CH};
    check(newline, 4, "ok", "mimetype-invalid");
    qr_test_entry upper[] = {QR_TEST_STORED("mimetype", "Application/EPUB+zip"), CONTAINER,
                             OPF(opf_v), CH};
    check(upper, 4, "ok", "mimetype-invalid");
}

static void test_container_rules(void **state)
{
    (void)state;
    qr_test_entry none[] = {QR_TEST_STORED("mimetype", "application/epub+zip"), OPF(opf_v), CH};
    check(none, 3, "container-missing", NULL);

    qr_test_entry norootfile[] = {
        QR_TEST_STORED("mimetype", "application/epub+zip"),
        QR_TEST_TEXT("META-INF/container.xml", "<container><rootfiles/></container>"), OPF(opf_v),
        CH};
    check(norootfile, 4, "container-invalid", NULL);

    qr_test_entry garbage[] = {QR_TEST_STORED("mimetype", "application/epub+zip"),
                               QR_TEST_TEXT("META-INF/container.xml", "\x01\x02 not xml at all"),
                               OPF(opf_v), CH};
    check(garbage, 4, "container-invalid", NULL);

    qr_test_entry noopf[] = {QR_TEST_STORED("mimetype", "application/epub+zip"), CONTAINER, CH};
    check(noopf, 3, "opf-missing", NULL);

    /* Odd whitespace, a first rootfile of another type, the OPF second. */
    qr_test_entry odd[] = {
        QR_TEST_STORED("mimetype", "application/epub+zip"),
        QR_TEST_TEXT("META-INF/container.xml",
                     "\n\n  <?xml version=\"1.0\"?>   <container version=\"1.0\">\n<rootfiles>\n"
                     "<rootfile full-path=\"EPUB/other.pdf\" media-type=\"application/pdf\"/>\n"
                     "<rootfile\n full-path=\" EPUB/package.opf \"\n media-type=\" "
                     "application/oebps-package+xml\"/>"
                     "</rootfiles></container>\n"),
        OPF(opf_v), CH};
    check(odd, 4, "ok", NULL);

    /* UTF-16 container.xml. */
    static const char u16[] =
        "\xff\xfe<\0c\0o\0n\0t\0a\0i\0n\0e\0r\0>\0<\0r\0o\0o\0t\0f\0i\0l\0e\0 \0"
        "f\0u\0l\0l\0-\0p\0a\0t\0h\0=\0\"\0E\0P\0U\0B\0/\0p\0a\0c\0k\0a\0g\0e\0.\0o\0p\0f\0\"\0/"
        "\0>\0"
        "<\0/\0c\0o\0n\0t\0a\0i\0n\0e\0r\0>\0";
    qr_test_entry utf16[] = {QR_TEST_STORED("mimetype", "application/epub+zip"),
                             {"META-INF/container.xml", u16, sizeof(u16) - 1, false},
                             OPF(opf_v),
                             CH};
    check(utf16, 4, "ok", NULL);

    /* Backslash container name and wrong-case OPF path. */
    qr_test_entry bs[] = {
        QR_TEST_STORED("mimetype", "application/epub+zip"),
        {"META-INF\\container.xml", qr_test_container_xml, strlen(qr_test_container_xml), false},
        {"EPUB/Package.opf", opf_v, sizeof(opf_v) - 1, false},
        CH};
    qr_warnings *w = NULL;
    assert_string_equal(open_entries(bs, 4, &w, NULL), "ok");
    assert_true(qr_warnings_has(w, "href-backslash"));
    assert_true(qr_warnings_has(w, "href-case-mismatch"));
    qr_warnings_free(w);

    /* A container pointing outside the root. */
    qr_test_entry esc[] = {
        QR_TEST_STORED("mimetype", "application/epub+zip"),
        QR_TEST_TEXT("META-INF/container.xml",
                     "<container><rootfiles><rootfile full-path=\"../x.opf\" "
                     "media-type=\"application/oebps-package+xml\"/></rootfiles></container>"),
        OPF(opf_v), CH};
    check(esc, 4, "unsafe-path", NULL);
}

static void test_drm_markers(void **state)
{
    (void)state;
    qr_test_entry rights[] = {QR_TEST_STORED("mimetype", "application/epub+zip"), CONTAINER,
                              OPF(opf_v), CH, QR_TEST_TEXT("META-INF/rights.xml", "<rights/>")};
    check(rights, 5, "drm-protected", NULL);
    qr_test_entry lcp[] = {QR_TEST_STORED("mimetype", "application/epub+zip"), CONTAINER,
                           OPF(opf_v), CH, QR_TEST_TEXT("META-INF/license.lcpl", "{}")};
    check(lcp, 5, "drm-protected", NULL);
}

#define ENC_HEAD                                                                                   \
    "<encryption xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\" "                       \
    "xmlns:enc=\"http://www.w3.org/2001/04/xmlenc#\"><enc:EncryptedData>"
#define ENC(alg, uri)                                                                              \
    ENC_HEAD "<enc:EncryptionMethod Algorithm=\"" alg "\"/><enc:CipherData>"                       \
             "<enc:CipherReference URI=\"" uri                                                     \
             "\"/></enc:CipherData></enc:EncryptedData></encryption>"

static void test_encryption_xml(void **state)
{
    (void)state;
    qr_test_entry aes[] = {
        QR_TEST_STORED("mimetype", "application/epub+zip"), CONTAINER, OPF(opf_v), CH,
        QR_TEST_TEXT("META-INF/encryption.xml",
                     ENC("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "EPUB/c1.xhtml"))};
    check(aes, 5, "drm-protected", NULL);

    qr_test_entry gone[] = {
        QR_TEST_STORED("mimetype", "application/epub+zip"), CONTAINER, OPF(opf_v), CH,
        QR_TEST_TEXT("META-INF/encryption.xml",
                     ENC("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "EPUB/gone.xhtml"))};
    check(gone, 5, "ok", "unknown-encryption-for-missing-file");

    qr_test_entry noalg[] = {
        QR_TEST_STORED("mimetype", "application/epub+zip"), CONTAINER, OPF(opf_v), CH,
        QR_TEST_TEXT("META-INF/encryption.xml",
                     ENC_HEAD "<enc:CipherData><enc:CipherReference URI=\"EPUB/c1.xhtml\"/>"
                              "</enc:CipherData></enc:EncryptedData></encryption>")};
    check(noalg, 5, "drm-protected", NULL);

    qr_test_entry broken[] = {QR_TEST_STORED("mimetype", "application/epub+zip"), CONTAINER,
                              OPF(opf_v), CH,
                              QR_TEST_TEXT("META-INF/encryption.xml", "\x01 garbage")};
    check(broken, 5, "drm-protected", NULL);

    qr_test_entry font[] = {
        QR_TEST_STORED("mimetype", "application/epub+zip"),
        CONTAINER,
        OPF(opf_v),
        CH,
        QR_TEST_TEXT("EPUB/f%.otf", "OTTOxxxx"),
        QR_TEST_TEXT("META-INF/encryption.xml",
                     ENC("http://www.idpf.org/2008/embedding", "EPUB/f%25.otf"))};
    qr_warnings *w = NULL;
    qr_epub *e = NULL;
    assert_string_equal(open_entries(font, 6, &w, &e), "ok");
    assert_non_null(e);
    const qr_epub_info *info = qr_epub_get_info(e);
    assert_true(info->has_encryption_xml);
    assert_int_equal(info->obfuscated_fonts, 1);
    int i = qr_epub_find_entry(e, "EPUB/f%.otf");
    assert_true(i >= 0);
    assert_int_equal(qr_epub_get_entry(e, (size_t)i)->obf, QR_OBF_IDPF);
    size_t len = 0;
    void *zip = (void *)(uintptr_t)qr_epub_source_data(e, &len);
    qr_epub_free(e);
    free(zip);
    qr_warnings_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mimetype_variants),
        cmocka_unit_test(test_container_rules),
        cmocka_unit_test(test_drm_markers),
        cmocka_unit_test(test_encryption_xml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
