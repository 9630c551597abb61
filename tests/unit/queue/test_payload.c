/* payload.c: plain and ActiveJob Resque payloads, every malformed case, serialisation. */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/payload.h"

static qr_job *parse_ok(const char *json, const qr_payload_opts *o)
{
    qr_job *job = NULL;
    qr_error err = QR_ERROR_INIT;
    int rc = qr_payload_parse_buffer(&job, json, strlen(json), o, &err);
    if (rc != 0)
        fail_msg("parse failed: %s: %s", err.id, err.msg);
    assert_non_null(job);
    return job;
}

static void expect_error(const char *json, const char *id, const char *msg_part)
{
    qr_job *job = (qr_job *)1;
    qr_error err = QR_ERROR_INIT;
    int rc = qr_payload_parse_buffer(&job, json, strlen(json), NULL, &err);
    assert_int_equal(rc, QR_EFORMAT);
    assert_null(job);
    assert_string_equal(err.id, id);
    assert_string_equal(err.stage, "payload");
    if (!strstr(err.msg, msg_part))
        fail_msg("message \"%s\" lacks \"%s\" (payload %s)", err.msg, msg_part, json);
}

static void test_plain(void **state)
{
    (void)state;
    qr_job *job = parse_ok("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":42,"
                           "\"source\":\"s3://books/a.epub\",\"callback_url\":\"https://x/cb\","
                           "\"profile\":\"mobile\",\"revision\":3,\"extra\":[1]}],\"id\":\"x\"}",
                           NULL);
    assert_string_equal(job->job_class, "Quire::ProcessBook");
    assert_string_equal(job->book_id, "42");
    assert_string_equal(job->source, "s3://books/a.epub");
    assert_string_equal(job->callback_url, "https://x/cb");
    assert_string_equal(job->profile, "mobile");
    assert_string_equal(job->revision, "3");
    assert_null(job->active_job_id);
    assert_false(job->active_job);
    qr_job_free(job);

    job = parse_ok("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":\"b-1\","
                   "\"source\":\"/srv/in/b.epub\",\"callback_url\":null,\"revision\":\"r7\"}]}",
                   NULL);
    assert_string_equal(job->book_id, "b-1");
    assert_null(job->callback_url);
    assert_null(job->profile);
    assert_string_equal(job->revision, "r7");
    qr_job_free(job);
}

static void test_configured_class(void **state)
{
    (void)state;
    qr_payload_opts o = QR_PAYLOAD_OPTS_INIT;
    o.job_class = "BookJob";
    qr_job *job =
        parse_ok("{\"class\":\"BookJob\",\"args\":[{\"book_id\":1,\"source\":\"a\"}]}", &o);
    assert_string_equal(job->job_class, "BookJob");
    qr_job_free(job);
    qr_job *j2 = (qr_job *)1;
    qr_error err = QR_ERROR_INIT;
    const char *p =
        "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1,\"source\":\"a\"}]}";
    assert_int_equal(qr_payload_parse_buffer(&j2, p, strlen(p), &o, &err), QR_EFORMAT);
    assert_null(j2);
    assert_string_equal(err.id, "job-unknown-class");
    assert_non_null(strstr(err.msg, "\"Quire::ProcessBook\" is not \"BookJob\""));
}

/* The shape of rails activejob/lib/active_job/core.rb#serialize through the Resque adapter. */
static void test_activejob(void **state)
{
    (void)state;
    qr_job *job = parse_ok(
        "{\"class\":\"ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper\",\"args\":[{"
        "\"job_class\":\"Quire::ProcessBook\",\"job_id\":\"0f6e8a5e-1b7c-4d7e-9a55-6d1c2b3a4f50\","
        "\"provider_job_id\":null,\"queue_name\":\"books\",\"priority\":null,\"arguments\":[{"
        "\"book_id\":7,\"source\":\"s3://b/k.epub\",\"profile\":\"web\","
        "\"_aj_ruby2_keywords\":[\"book_id\",\"source\",\"profile\"]}],\"executions\":0,"
        "\"exception_executions\":{},\"locale\":\"en\",\"timezone\":\"UTC\","
        "\"enqueued_at\":\"2026-11-26T10:56:29.123456789Z\",\"scheduled_at\":null}]}",
        NULL);
    assert_true(job->active_job);
    assert_string_equal(job->job_class, "Quire::ProcessBook");
    assert_string_equal(job->active_job_id, "0f6e8a5e-1b7c-4d7e-9a55-6d1c2b3a4f50");
    assert_string_equal(job->book_id, "7");
    assert_string_equal(job->source, "s3://b/k.epub");
    assert_string_equal(job->profile, "web");
    /* enqueued_at, UTC: 2026-11-26T10:56:29.123456789Z. */
    assert_true(job->enqueued_at > 1795690589.0 && job->enqueued_at < 1795690589.2);
    qr_job_free(job);

    /* Symbol-keyed positional hash: the _aj_symbol_keys marker is ignored. */
    job = parse_ok("{\"class\":\"ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper\",\"args\":[{"
                   "\"job_class\":\"Quire::ProcessBook\",\"arguments\":[{\"book_id\":\"x\","
                   "\"source\":\"y\",\"_aj_symbol_keys\":[\"book_id\",\"source\"]}]}]}",
                   NULL);
    assert_null(job->active_job_id);
    assert_string_equal(job->book_id, "x");
    qr_job_free(job);
}

/* Keys other Resque tools add are ignored; an add-on's "timestamp" is the enqueue time. */
static void test_enqueue_time(void **state)
{
    (void)state;
    qr_job *job = parse_ok("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":\"b\","
                           "\"source\":\"s\"}],\"timestamp\":1795690589,\"queue\":\"x\","
                           "\"retry\":true}",
                           NULL);
    assert_true(job->enqueued_at == 1795690589.0);
    qr_job_free(job);
    /* Not a number, absurd, or in the future: unknown. */
    const char *bad[] = {"\"1795690589\"", "12", "99999999999", "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":\"b\","
                 "\"source\":\"s\"}],\"timestamp\":%s}",
                 bad[i]);
        job = parse_ok(buf, NULL);
        assert_true(job->enqueued_at == 0);
        qr_job_free(job);
    }
    /* ActiveJob's enqueued_at in a zone other than UTC is not read. */
    job = parse_ok("{\"class\":\"ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper\",\"args\":[{"
                   "\"job_class\":\"Quire::ProcessBook\",\"arguments\":[{\"book_id\":\"x\","
                   "\"source\":\"y\"}],\"enqueued_at\":\"2026-11-26T10:56:29+02:00\"}]}",
                   NULL);
    assert_true(job->enqueued_at == 0);
    qr_job_free(job);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *inv = "job-payload-invalid";
    const char *aj = "{\"class\":\"ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper\",\"args\":";
    char buf[512];

    expect_error("", inv, "not JSON");
    expect_error("{\"class\":", inv, "not JSON");
    expect_error("[1,2]", inv, "not a JSON object");
    expect_error("\"Quire::ProcessBook\"", inv, "not JSON");
    expect_error("{\"args\":[{}]}", inv, "lacks a string \"class\"");
    expect_error("{\"class\":7,\"args\":[{}]}", inv, "lacks a string \"class\"");
    expect_error("{\"class\":\"\",\"args\":[{}]}", inv, "lacks a string \"class\"");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"class\":\"X\",\"args\":[]}", inv, "not JSON");
    expect_error("{\"class\":\"Other\",\"args\":[{}]}", "job-unknown-class", "\"Other\"");
    expect_error("{\"class\":\"Quire::ProcessBook\"}", inv, "\"args\" must be an array");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":{}}", inv,
                 "\"args\" must be an array");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[]}", inv, "\"args\" is empty");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[42]}", inv, "must be an object");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"source\":\"a\"}]}", inv,
                 "lack \"book_id\"");
    expect_error(
        "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":null,\"source\":\"a\"}]}", inv,
        "lack \"book_id\"");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1}]}", inv,
                 "lack \"source\"");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1.5,\"source\":\"a\"}]}",
                 inv, "\"book_id\" must be a string or integer");
    expect_error(
        "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":\"\",\"source\":\"a\"}]}", inv,
        "\"book_id\" is empty");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1,\"source\":3}]}", inv,
                 "\"source\" must be a string");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1,\"source\":\"a\","
                 "\"callback_url\":false}]}",
                 inv, "\"callback_url\" must be a string");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1,\"source\":\"a\","
                 "\"profile\":[]}]}",
                 inv, "\"profile\" must be a string");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1,\"source\":\"a\","
                 "\"revision\":{}}]}",
                 inv, "\"revision\" must be a string or integer");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":"
                 "{\"_aj_globalid\":\"gid://app/Book/1\"},\"source\":\"a\"}]}",
                 inv, "ActiveJob-serialised object");
    expect_error("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":\"a\\u0000b\","
                 "\"source\":\"a\"}]}",
                 inv, "not JSON");

    snprintf(buf, sizeof(buf), "%s[]}", aj);
    expect_error(buf, inv, "\"args\" is empty");
    snprintf(buf, sizeof(buf), "%s[\"x\"]}", aj);
    expect_error(buf, inv, "args[0] must be an object");
    snprintf(buf, sizeof(buf), "%s[{\"arguments\":[{}]}]}", aj);
    expect_error(buf, inv, "lacks a string \"job_class\"");
    snprintf(buf, sizeof(buf), "%s[{\"job_class\":\"Mailer\",\"arguments\":[{}]}]}", aj);
    expect_error(buf, "job-unknown-class", "ActiveJob job_class \"Mailer\"");
    snprintf(buf, sizeof(buf), "%s[{\"job_class\":\"Quire::ProcessBook\"}]}", aj);
    expect_error(buf, inv, "\"arguments\" must be an array");
    snprintf(buf, sizeof(buf), "%s[{\"job_class\":\"Quire::ProcessBook\",\"arguments\":[]}]}", aj);
    expect_error(buf, inv, "\"arguments\" is empty");
    snprintf(buf, sizeof(buf),
             "%s[{\"job_class\":\"Quire::ProcessBook\",\"job_id\":5,\"arguments\":[{}]}]}", aj);
    expect_error(buf, inv, "\"job_id\" must be a string");
    snprintf(buf, sizeof(buf),
             "%s[{\"job_class\":\"Quire::ProcessBook\",\"arguments\":[{\"book_id\":1}]}]}", aj);
    expect_error(buf, inv, "lack \"source\"");
}

static void test_limits(void **state)
{
    (void)state;
    qr_payload_opts o = QR_PAYLOAD_OPTS_INIT;
    o.max_bytes = 16;
    qr_job *job = (qr_job *)1;
    qr_error err = QR_ERROR_INIT;
    const char *p =
        "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1,\"source\":\"a\"}]}";
    assert_int_equal(qr_payload_parse_buffer(&job, p, strlen(p), &o, &err), QR_ELIMIT);
    assert_null(job);
    assert_string_equal(err.id, "input-too-large");

    size_t n = QR_PAYLOAD_MAX_FIELD + 1;
    char *big = malloc(n + 200);
    assert_non_null(big);
    int k = snprintf(big, 200,
                     "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1,\"source\":\"");
    memset(big + k, 'a', n);
    strcpy(big + k + n, "\"}]}");
    qr_error e2 = QR_ERROR_INIT;
    assert_int_equal(qr_payload_parse_buffer(&job, big, strlen(big), NULL, &e2), QR_EFORMAT);
    assert_string_equal(e2.id, "job-payload-invalid");
    assert_non_null(strstr(e2.msg, "over the 8192 byte limit"));
    free(big);

    /* Not NUL-terminated: only `len` bytes are read. */
    char raw[] =
        "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1,\"source\":\"a\"}]}XXXX";
    assert_int_equal(qr_payload_parse_buffer(&job, raw, strlen(raw) - 4, NULL, NULL), 0);
    qr_job_free(job);
}

static void test_serialize_round_trip(void **state)
{
    (void)state;
    qr_job in = {0};
    in.job_class = "Quire::ProcessBook";
    in.book_id = "42";
    in.source = "s3://b/\xc3\xa9t\xc3\xa9.epub";
    in.callback_url = "https://api/cb?x=1&y=\"2\"";
    char *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_payload_serialize(&s, &in, &err), 0);
    assert_string_equal(s, "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":\"42\","
                           "\"source\":\"s3://b/\xc3\xa9t\xc3\xa9.epub\","
                           "\"callback_url\":\"https://api/cb?x=1&y=\\\"2\\\"\"}]}");
    qr_job *out = parse_ok(s, NULL);
    assert_string_equal(out->book_id, "42");
    assert_string_equal(out->source, in.source);
    assert_string_equal(out->callback_url, in.callback_url);
    assert_null(out->profile);
    qr_job_free(out);
    free(s);

    in.source = NULL;
    qr_error e2 = QR_ERROR_INIT;
    assert_int_equal(qr_payload_serialize(&s, &in, &e2), QR_EINVAL);
    assert_null(s);
    assert_string_equal(e2.id, "invalid-argument");
    qr_job_free(NULL);
}

/* job_id in args[0] (quire serve, quire enqueue --job-id): written last, read back. */
static void test_job_id(void **state)
{
    (void)state;
    qr_job in = {0};
    in.job_class = "Quire::ProcessBook";
    in.book_id = "42";
    in.source = "s3://b/42.epub";
    in.revision = "7";
    in.job_id = "5f0c1d2e3f405162738495a6b7c8d9e0";
    char *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_payload_serialize(&s, &in, &err), 0);
    assert_string_equal(s, "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":\"42\","
                           "\"source\":\"s3://b/42.epub\",\"revision\":\"7\","
                           "\"job_id\":\"5f0c1d2e3f405162738495a6b7c8d9e0\"}]}");
    qr_job *out = parse_ok(s, NULL);
    assert_string_equal(out->job_id, in.job_id);
    assert_null(out->active_job_id);
    qr_job_free(out);
    free(s);
    out = parse_ok("{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":1,\"source\":\"x\"}]}",
                   NULL);
    assert_null(out->job_id);
    qr_job_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_configured_class),
        cmocka_unit_test(test_activejob),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_enqueue_time),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_serialize_round_trip),
        cmocka_unit_test(test_job_id),
    };
    return cmocka_run_group_tests_name("queue/payload", tests, NULL, NULL);
}
