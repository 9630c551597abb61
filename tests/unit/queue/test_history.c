/*
 * The job history against a real redis-server (tests/helpers): records are
 * read back newest first with their fields, the stream stays within its
 * bound (one macro node of slack, as MAXLEN ~ trims), logs round-trip
 * byte for byte and expire, a missing log is source-not-found, and a job's
 * live state reads back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "qr/resque.h"
#include "redis_server.h"

typedef struct fixture {
    qr_test_redis *redis;
    qr_resque *r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->redis = qr_test_redis_new();
    if (f->redis) {
        qr_resque_opts o = QR_RESQUE_OPTS_INIT;
        char url[64];
        char *buf = NULL;
        qr_error err = QR_ERROR_INIT;
        snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", f->redis->port);
        if (qr_resque_opts_parse_url(&o, &buf, url, &err) < 0 || qr_resque_new(&f->r, &o, &err) < 0)
            return -1;
        free(buf);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_resque_free(f->r);
    qr_test_redis_free(f->redis);
    free(f);
    return 0;
}

static void test_records_and_bound(void **state)
{
    fixture *f = *state;
    if (!f->redis)
        skip();
    qr_error err = QR_ERROR_INIT;
    for (int i = 0; i < 1000; i++) {
        char n[16];
        snprintf(n, sizeof(n), "b%d", i);
        const char *kv[] = {"book_id", n, "outcome", i % 10 ? "succeeded" : "failed"};
        assert_int_equal(qr_resque_history_add(f->r, kv, 2, 300, &err), 0);
    }
    long long len = 0;
    assert_int_equal(qr_resque_history_len(&len, f->r, &err), 0);
    assert_true(len >= 300 && len <= 300 + 100);
    json_t *runs = NULL;
    assert_int_equal(qr_resque_history_read(&runs, f->r, 0, 5, &err), 0);
    assert_int_equal(json_array_size(runs), 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "book_id")),
                        "b999");
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 4), "outcome")),
                        "succeeded");
    assert_non_null(json_object_get(json_array_get(runs, 0), "id"));
    json_decref(runs);
    /* Nothing after the future. */
    assert_int_equal(qr_resque_history_read(&runs, f->r, 32503680000000LL, 5, &err), 0);
    assert_int_equal(json_array_size(runs), 0);
    json_decref(runs);
}

static void test_logs_and_state(void **state)
{
    fixture *f = *state;
    if (!f->redis)
        skip();
    qr_error err = QR_ERROR_INIT;
    const char bin[] = {'z', 'l', 'i', 'b', ':', 0, 1, 2, (char)0xff, '\n'};
    assert_int_equal(qr_resque_log_put(f->r, "job1", bin, sizeof(bin), 60, &err), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(qr_resque_log_get(&data, &len, f->r, "job1", &err), 0);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(data, bin, sizeof(bin));
    free(data);
    redisReply *ttl = redisCommand(f->redis->raw, "TTL resque:quire:log:job1");
    assert_true(ttl->integer > 0 && ttl->integer <= 60);
    freeReplyObject(ttl);
    assert_int_equal(qr_resque_log_get(&data, &len, f->r, "nope", &err), QR_EIO);
    assert_string_equal(err.id, "source-not-found");

    const char *kv[] = {"state", "running", "stage", "compress"};
    assert_int_equal(qr_resque_job_state(f->r, "job1", kv, 2, 60, &err), 0);
    json_t *st = NULL;
    assert_int_equal(qr_resque_job_get(&st, f->r, "job1", &err), 0);
    assert_string_equal(json_string_value(json_object_get(st, "stage")), "compress");
    json_decref(st);
    assert_int_equal(qr_resque_job_get(&st, f->r, "none", &err), 0);
    assert_int_equal(json_object_size(st), 0);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_and_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logs_and_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
