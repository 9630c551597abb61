/* resque.c: redis:// URL parsing (the status and failure views are covered by test_ops_cli.sh). */
#include "qr_test.h"

#include <stdlib.h>
#include <string.h>

#include "qr/resque.h"

static void test_url_full(void **state)
{
    (void)state;
    qr_resque_opts o = QR_RESQUE_OPTS_INIT;
    qr_error err = QR_ERROR_INIT;
    char *buf = NULL;
    assert_int_equal(
        qr_resque_opts_parse_url(&o, &buf, "redis://user:s3cr@t@redis.internal:6380/4", &err), 0);
    assert_string_equal(o.host, "redis.internal");
    assert_int_equal(o.port, 6380);
    assert_int_equal(o.db, 4);
    assert_string_equal(o.password, "s3cr@t");
    free(buf);
}

static void test_url_defaults(void **state)
{
    (void)state;
    qr_resque_opts o = QR_RESQUE_OPTS_INIT;
    qr_error err = QR_ERROR_INIT;
    char *buf = NULL;
    assert_int_equal(qr_resque_opts_parse_url(&o, &buf, "redis://", &err), 0);
    assert_null(o.host);
    assert_int_equal(o.port, 0);
    assert_int_equal(o.db, 0);
    assert_null(o.password);
    free(buf);
    buf = NULL;
    assert_int_equal(qr_resque_opts_parse_url(&o, &buf, "redis://:pw@10.0.0.5/", &err), 0);
    assert_string_equal(o.host, "10.0.0.5");
    assert_string_equal(o.password, "pw");
    assert_int_equal(o.port, 0);
    free(buf);
}

static void test_url_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {"http://h:1",    "redis://h:0",  "redis://h:65536",
                                      "redis://h:12x", "redis://h/-1", "redis://h/db"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        qr_resque_opts o = QR_RESQUE_OPTS_INIT;
        qr_error err = QR_ERROR_INIT;
        char *buf = NULL;
        assert_int_equal(qr_resque_opts_parse_url(&o, &buf, bad[i], &err), QR_EINVAL);
        assert_string_equal(err.id, "invalid-argument");
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_full),
        cmocka_unit_test(test_url_defaults),
        cmocka_unit_test(test_url_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
