/* Format sniffing and byte-level metadata filtering (no libvips involved). */
#include "qr_test.h"

#include <string.h>

#include "image/image_internal.h"

static void test_sniff(void **state)
{
    (void)state;
    qr_image__sniff s;
    qr_image__sniff_buffer(&s, (const uint8_t *)"\xFF\xD8\xFF\xE0", 4);
    assert_int_equal(s.format, QR_IMAGE_FMT_JPEG);
    qr_image__sniff_buffer(&s, (const uint8_t *)"GIF89a....", 10);
    assert_int_equal(s.format, QR_IMAGE_FMT_GIF);
    qr_image__sniff_buffer(&s, (const uint8_t *)"RIFF\x10\0\0\0WEBPVP8L\x01\0\0\0x", 21);
    assert_int_equal(s.format, QR_IMAGE_FMT_WEBP);
    assert_true(s.webp_lossless);
    qr_image__sniff_buffer(&s, (const uint8_t *)"\xEF\xBB\xBF  <svg/>", 12);
    assert_int_equal(s.format, QR_IMAGE_FMT_SVG);
    static const char xml[] = "<?xml version='1.0'?><!DOCTYPE svg><svg/>";
    qr_image__sniff_buffer(&s, (const uint8_t *)xml, sizeof(xml) - 1);
    assert_int_equal(s.format, QR_IMAGE_FMT_SVG);
    static const char html[] = "<?xml version='1.0'?><html/>";
    qr_image__sniff_buffer(&s, (const uint8_t *)html, sizeof(html) - 1);
    assert_int_equal(s.format, QR_IMAGE_FMT_UNKNOWN);
    qr_image__sniff_buffer(&s, NULL, 0);
    assert_int_equal(s.format, QR_IMAGE_FMT_UNKNOWN);
    assert_string_equal(qr_image__format_name(QR_IMAGE_FMT_PNG), "png");
    assert_string_equal(qr_image__format_name(QR_IMAGE_FMT_UNKNOWN), "unknown");
    /* PNG IHDR: palette, 4 bits */
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13,
                                  'I',  'H', 'D', 'R', 0,    0,    0,    1,    0, 0, 0, 1,
                                  4,    3,   0,   0,   0,    0,    0,    0,    0};
    qr_image__sniff_buffer(&s, png, sizeof(png));
    assert_int_equal(s.format, QR_IMAGE_FMT_PNG);
    assert_int_equal(s.png_bit_depth, 4);
    assert_int_equal(s.png_color_type, 3);
    assert_false(s.png_animated);
}

static bool contains(const qr_buf *b, const char *needle, size_t n)
{
    for (size_t i = 0; n <= b->len && i + n <= b->len; i++)
        if (memcmp(b->data + i, needle, n) == 0)
            return true;
    return false;
}

static void test_strip_jpeg(void **state)
{
    (void)state;
    static const uint8_t jpg[] = {
        0xFF, 0xD8,                                                     /* SOI */
        0xFF, 0xE0, 0, 7, 'J', 'F', 'I', 'F', 0,                        /* APP0 JFIF */
        0xFF, 0xE1, 0, 8, 'E', 'x', 'i', 'f', 0, 0,                     /* APP1 EXIF */
        0xFF, 0xE2, 0, 16, 'I', 'C', 'C', '_', 'P', 'R', 'O', 'F', 'I', 'L', 'E', 0, 1, 1,
        0xFF, 0xFE, 0, 4, 'h', 'i',                                     /* COM */
        0xFF, 0xEE, 0, 7, 'A', 'd', 'o', 'b', 'e',                      /* APP14 */
        0xFF, 0xDA, 0, 2, 0x12, 0xFF, 0xE1, 0x34, 0xFF, 0xD9};          /* SOS ... EOI */
    qr_buf out = QR_BUF_INIT(1 << 20);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_image__strip_metadata(&out, QR_IMAGE_FMT_JPEG, jpg, sizeof(jpg), &err), 0);
    assert_false(contains(&out, "Exif", 4));
    assert_false(contains(&out, "hi", 2));
    assert_true(contains(&out, "JFIF", 4));
    assert_true(contains(&out, "ICC_PROFILE", 11));
    assert_true(contains(&out, "Adobe", 5));
    /* Scan data is copied verbatim, even bytes that look like markers. */
    assert_memory_equal(out.data + out.len - 10, "\xFF\xDA\0\x02\x12\xFF\xE1\x34\xFF\xD9", 10);
    assert_int_equal(out.len, sizeof(jpg) - 10 - 6);

    qr_buf_free(&out);
    /* A segment length running past the end is malformed. */
    static const uint8_t bad[] = {0xFF, 0xD8, 0xFF, 0xE1, 0x10, 0x00, 'E'};
    assert_true(qr_image__strip_metadata(&out, QR_IMAGE_FMT_JPEG, bad, sizeof(bad), &err) < 0);
    assert_string_equal(err.id, "image-encode");
    qr_buf_free(&out);
}

static void test_strip_png_webp(void **state)
{
    (void)state;
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n',
                                  0, 0, 0, 1, 'i', 'C', 'C', 'P', 'x', 1, 2, 3, 4,
                                  0, 0, 0, 1, 't', 'E', 'X', 't', 'y', 1, 2, 3, 4,
                                  0, 0, 0, 1, 'e', 'X', 'I', 'f', 'z', 1, 2, 3, 4,
                                  0, 0, 0, 0, 'I', 'E', 'N', 'D', 1, 2, 3, 4};
    qr_buf out = QR_BUF_INIT(1 << 20);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_image__strip_metadata(&out, QR_IMAGE_FMT_PNG, png, sizeof(png), &err), 0);
    assert_int_equal(out.len, 8 + 13 + 12);
    assert_true(contains(&out, "iCCP", 4));
    assert_false(contains(&out, "tEXt", 4));
    assert_false(contains(&out, "eXIf", 4));
    qr_buf_free(&out);

    static const uint8_t webp[] = {'R', 'I', 'F', 'F', 40, 0, 0, 0, 'W', 'E', 'B', 'P',
                                   'V', 'P', '8', 'X', 2, 0, 0, 0, 0x2C, 0,
                                   'I', 'C', 'C', 'P', 1, 0, 0, 0, 'p', 0,
                                   'E', 'X', 'I', 'F', 3, 0, 0, 0, 'e', 'e', 'e', 0,
                                   'V', 'P', '8', 'L', 1, 0, 0, 0, 'v', 0};
    assert_int_equal(qr_image__strip_metadata(&out, QR_IMAGE_FMT_WEBP, webp, sizeof(webp), &err),
                     0);
    assert_int_equal(out.len, sizeof(webp) - 12);
    assert_false(contains(&out, "EXIF", 4));
    assert_int_equal(out.data[20], 0x20); /* ICC flag kept, EXIF/XMP flags cleared */
    assert_int_equal(out.data[4], out.len - 8);
    qr_buf_free(&out);

    /* GIF passes through unchanged. */
    assert_int_equal(
        qr_image__strip_metadata(&out, QR_IMAGE_FMT_GIF, (const uint8_t *)"GIF89a", 6, &err), 0);
    assert_int_equal(out.len, 6);
    qr_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_strip_jpeg),
        cmocka_unit_test(test_strip_png_webp),
    };
    return cmocka_run_group_tests_name("image_metadata", tests, NULL, NULL);
}
