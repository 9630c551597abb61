/* Format detection by content. */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/fs.h"
#include "qr/compress.h"

static void test_buffers(void **state)
{
    (void)state;
    assert_int_equal(qr_detect_format_buffer("PK\x03\x04rest", 8), QR_FORMAT_EPUB);
    assert_int_equal(qr_detect_format_buffer("PK\x05\x06", 4), QR_FORMAT_EPUB);
    assert_int_equal(qr_detect_format_buffer("%PDF-1.7\n", 9), QR_FORMAT_PDF);
    /* Junk before the header, as some PDF writers leave it. */
    assert_int_equal(qr_detect_format_buffer("garbage\n%PDF-1.4", 16), QR_FORMAT_PDF);
    assert_int_equal(qr_detect_format_buffer("\xff\xd8\xff\xe0", 4), QR_FORMAT_UNKNOWN);
    assert_int_equal(qr_detect_format_buffer("", 0), QR_FORMAT_UNKNOWN);
    assert_int_equal(qr_detect_format_buffer("PK", 2), QR_FORMAT_UNKNOWN);
    assert_string_equal(qr_format_str(QR_FORMAT_EPUB), "epub");
    assert_string_equal(qr_format_str(QR_FORMAT_UNKNOWN), "unknown");
}

static void test_files(void **state)
{
    (void)state;
    char *dir = qr_test_tmpdir();
    assert_non_null(dir);
    char path[4096];
    snprintf(path, sizeof(path), "%s/book.epub", dir); /* the name says EPUB, the bytes do not */
    assert_int_equal(qr_fs_write_atomic(path, "%PDF-1.5\n", 9, 0, NULL), 0);
    qr_format f = QR_FORMAT_UNKNOWN;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_detect_format(&f, path, &err), 0);
    assert_int_equal(f, QR_FORMAT_PDF);
    assert_int_equal(qr_fs_write_atomic(path, "", 0, 0, NULL), 0);
    assert_int_equal(qr_detect_format(&f, path, &err), 0);
    assert_int_equal(f, QR_FORMAT_UNKNOWN);
    snprintf(path, sizeof(path), "%s/missing.epub", dir);
    assert_int_equal(qr_detect_format(&f, path, &err), QR_EIO);
    assert_string_equal(err.id, "source-not-found");
    qr_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffers),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests_name("pipeline/detect", tests, NULL, NULL);
}
