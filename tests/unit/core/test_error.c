/* qr_error: ids, classes, first-error-wins, and docs/errors.md coverage. */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/buf.h"
#include "qr/error.h"

static void test_set_and_first_wins(void **state)
{
    (void)state;
    qr_error err = QR_ERROR_INIT;
    int rc = qr_error_set(&err, QR_ERR_DRM_PROTECTED, "epub", "rights.xml present in %s", "b.epub");
    assert_int_equal(rc, QR_EFORMAT);
    assert_int_equal(err.code, QR_EFORMAT);
    assert_string_equal(err.id, "drm-protected");
    assert_string_equal(err.stage, "epub");
    assert_string_equal(err.msg, "rights.xml present in b.epub");
    rc = qr_error_set(&err, QR_ERR_IO, "fs", "later");
    assert_int_equal(rc, QR_EIO);
    assert_string_equal(err.id, "drm-protected");
    qr_error_set_context(&err, "%s", "first");
    qr_error_set_context(&err, "%s", "second");
    assert_string_equal(err.context, "first");
    assert_false(qr_error_is_transient(&err));
    assert_int_equal(qr_error_exit_status(&err), 3);
}

static void test_null_err_and_newlines(void **state)
{
    (void)state;
    assert_int_equal(qr_error_set(NULL, QR_ERR_ZIP_BOMB, "epub", "x"), QR_ELIMIT);
    qr_error err = QR_ERROR_INIT;
    qr_error_set(&err, QR_ERR_IO, "fs", "line1\nline2\r");
    assert_null(strchr(err.msg, '\n'));
    assert_true(qr_error_is_transient(&err));
}

static void test_ids_roundtrip(void **state)
{
    (void)state;
    for (int id = 1; id < QR_ERR__COUNT; id++) {
        const char *s = qr_errid_str((qr_errid)id);
        assert_non_null(s);
        assert_int_equal(qr_errid_from_str(s), id);
        assert_true(qr_errid_class((qr_errid)id) < 0);
        assert_non_null(qr_errid_meaning((qr_errid)id));
        assert_non_null(qr_errid_action((qr_errid)id));
    }
    assert_int_equal(qr_errid_from_str("no-such-id"), QR_ERR_NONE);
}

/* Every id must be documented in docs/errors.md as a table row "| `id` |". */
static void test_ids_documented(void **state)
{
    (void)state;
    qr_buf doc = QR_BUF_INIT(1 << 20);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_buf_read_file(&doc, QR_TEST_SRCDIR "/docs/errors.md", "test", &err), 0);
    for (int id = 1; id < QR_ERR__COUNT; id++) {
        char needle[96];
        snprintf(needle, sizeof(needle), "| `%s` |", qr_errid_str((qr_errid)id));
        if (!strstr((const char *)doc.data, needle))
            fail_msg("docs/errors.md does not document error id %s", qr_errid_str((qr_errid)id));
    }
    qr_buf_free(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_first_wins),
        cmocka_unit_test(test_null_err_and_newlines),
        cmocka_unit_test(test_ids_roundtrip),
        cmocka_unit_test(test_ids_documented),
    };
    return cmocka_run_group_tests_name("core/error", tests, NULL, NULL);
}
