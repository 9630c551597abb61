/*
 * qr_callback_deliver against a real receiver (tests/tools/callback_receiver.py,
 * python3, 127.0.0.1 on a free port, killed after each test) that verifies
 * every signature as a Rails app would and records what it saw: retries end
 * in exactly one logical delivery with a valid signature and the same key on
 * every attempt; a wrong secret is refused once; a receiver that never says
 * 2xx gives callback-failed; the SSRF guard stops a loopback URL before any
 * request. Backoffs are recorded by a fake sleep, never waited for. Skips
 * without python3.
 */
#include "qr_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "qr/http.h"
#include "qr/notify.h"

#define SECRET "whsec_quire_test_secret_0123456789"
#define AJ_ID "1f0e7c7a-5f3d-4f0b-9d53-2f6f6b1a9e21"

typedef struct receiver {
    pid_t pid;
    int port;
    char *dir;
    char record[4200];
    char url[256];
} receiver;

/* The fake clock: each call is 60 s after the previous (inside the 300 s tolerance). */
typedef struct fake_clock {
    int64_t base;
    int calls;
    double waits[16];
    int nwaits;
} fake_clock;

static int64_t fake_now(void *ud)
{
    fake_clock *c = ud;
    return c->base + 60 * (int64_t)c->calls++;
}

static void fake_sleep(double s, void *ud)
{
    fake_clock *c = ud;
    if (c->nwaits < 16)
        c->waits[c->nwaits] = s;
    c->nwaits++;
}

static bool have_python(void)
{
    return system("python3 -c 'import http.server' >/dev/null 2>&1") == 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts the receiver with extra arguments (NULL-terminated); waits for its port. */
static void receiver_start(receiver *r, const char *const *extra)
{
    char script[4096], portfile[4200], log[4200];
    char *argv[32];
    int n = 0;
    snprintf(script, sizeof(script), "%s/tests/tools/callback_receiver.py", QR_TEST_SRCDIR);
    snprintf(portfile, sizeof(portfile), "%s/port", r->dir);
    snprintf(r->record, sizeof(r->record), "%s/record.json", r->dir);
    snprintf(log, sizeof(log), "%s/receiver.log", r->dir);
    argv[n++] = strdup("python3");
    argv[n++] = strdup(script);
    argv[n++] = strdup("--secret");
    argv[n++] = strdup(SECRET);
    argv[n++] = strdup("--port-file");
    argv[n++] = strdup(portfile);
    argv[n++] = strdup("--record");
    argv[n++] = strdup(r->record);
    for (size_t i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = strdup(extra[i]);
    argv[n] = NULL;
    for (int i = 0; i < n; i++)
        assert_non_null(argv[i]);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log, "a", stderr);
        (void)f;
        execvp("python3", argv);
        _exit(127);
    }
    for (int i = 0; i < n; i++)
        free(argv[i]);
    r->pid = pid;
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", &r->port);
            fclose(f);
            if (ok == 1 && r->port > 0) {
                /* A query string, to check that it never reaches an error message. */
                snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d/quire/callback?token=sekrit",
                         r->port);
                return;
            }
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            r->pid = 0;
            fail_msg("callback_receiver.py exited early (see %s)", log);
        }
        sleep_ms(10);
    }
    fail_msg("callback_receiver.py wrote no port in 10 s (see %s)", log);
}

static void receiver_stop(receiver *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        for (int i = 0; i < 500; i++) {
            if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
                r->pid = 0;
                return;
            }
            sleep_ms(10);
        }
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

static json_t *receiver_record(const receiver *r)
{
    json_error_t je;
    json_t *doc = json_load_file(r->record, 0, &je);
    assert_non_null(doc);
    return doc;
}

static int group_setup(void **state)
{
    qr_error err = QR_ERROR_INIT;
    *state = NULL;
    if (!have_python())
        return 0;
    if (sodium_init() < 0 || qr_http_global_init(&err) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    *state = (void *)1;
    return 0;
}

static int group_teardown(void **state)
{
    if (*state)
        qr_http_global_cleanup();
    return 0;
}

static int test_setup(void **state)
{
    if (!*state)
        return 0;
    receiver *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->dir = qr_test_tmpdir();
    assert_non_null(r->dir);
    *state = r;
    return 0;
}

static int test_teardown(void **state)
{
    receiver *r = *state;
    if (!r)
        return 0;
    receiver_stop(r);
    qr_test_rmtree(r->dir);
    free(r->dir);
    free(r);
    *state = (void *)1;
    return 0;
}

static const char *const loopback[] = {"127.0.0.1/32"};

static qr_net_policy test_policy(void)
{
    qr_net_policy p = QR_NET_POLICY_INIT;
    p.allow_http = true;
    p.allow = loopback;
    p.nallow = 1;
    return p;
}

static qr_job make_job(receiver *r, bool active_job)
{
    qr_job job = {0};
    job.job_class = (char *)"Quire::ProcessBook";
    job.book_id = (char *)"42";
    job.source = (char *)"s3://books/in/42.epub";
    job.callback_url = r->url;
    if (active_job) {
        job.active_job = true;
        job.active_job_id = (char *)AJ_ID;
    }
    return job;
}

static qr_callback_result make_result(void)
{
    qr_callback_result res = QR_CALLBACK_RESULT_INIT;
    res.published = true;
    res.book_id = "42";
    res.revision = "r1";
    res.manifest_url = "s3://pkg/books/42/r1/manifest.json";
    res.pages = 10;
    res.positions = 20;
    res.slices = 3;
    return res;
}

static qr_callback_opts fast_opts(const qr_net_policy *p, const qr_callback_clock *clk)
{
    qr_callback_opts o = QR_CALLBACK_OPTS_INIT;
    o.secret = SECRET;
    o.policy = p;
    o.max_attempts = 5;
    o.timeout_s = 10;
    o.backoff_base_s = 0.01;
    o.backoff_max_s = 0.05;
    o.clock = clk;
    return o;
}

/* Asserts the receiver's record: n attempts, all signed correctly with `key`, distinct ids. */
static json_t *check_attempts(const receiver *r, size_t n, const char *key, bool all_valid)
{
    json_t *doc = receiver_record(r);
    json_t *atts = json_object_get(doc, "attempts");
    assert_int_equal(json_array_size(atts), n);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(atts, i);
        assert_string_equal(json_string_value(json_object_get(a, "key")), key);
        if (all_valid)
            assert_true(json_is_true(json_object_get(a, "signature_ok")));
        assert_string_equal(json_string_value(json_object_get(a, "content_type")),
                            "application/json");
        assert_non_null(strstr(json_string_value(json_object_get(a, "user_agent")), "quire/"));
        assert_int_equal(json_integer_value(json_object_get(a, "attempt")), (json_int_t)i + 1);
        const char *d = json_string_value(json_object_get(a, "delivery"));
        assert_non_null(d);
        assert_int_equal(strlen(d), 32);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(
                d, json_string_value(json_object_get(json_array_get(atts, j), "delivery")));
    }
    return doc;
}

static void retry_then_deliver(receiver *r, const char *mode, unsigned fails)
{
    char nfail[16];
    snprintf(nfail, sizeof(nfail), "%u", fails);
    const char *const extra[] = {"--fail", nfail, "--fail-mode", mode, NULL};
    receiver_start(r, extra);

    qr_net_policy p = test_policy();
    fake_clock fc = {(int64_t)time(NULL) - 100, 0, {0}, 0};
    qr_callback_clock clk = {fake_now, fake_sleep, &fc};
    qr_callback_opts o = fast_opts(&p, &clk);
    qr_job job = make_job(r, true);
    qr_callback_result res = make_result();
    qr_callback_report rep;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(qr_callback_deliver(&rep, &job, &res, &o, &err), 0);
    assert_true(rep.delivered);
    assert_int_equal(rep.attempts, fails + 1);
    assert_int_equal(rep.last_status, 200);
    assert_string_equal(rep.key, AJ_ID);

    json_t *doc = check_attempts(r, fails + 1, AJ_ID, true);
    /* Each attempt was signed with its own timestamp. */
    json_t *atts = json_object_get(doc, "attempts");
    for (size_t i = 1; i < json_array_size(atts); i++)
        assert_true(json_integer_value(json_object_get(json_array_get(atts, i), "t")) >
                    json_integer_value(json_object_get(json_array_get(atts, i - 1), "t")));
    /* Exactly one logical delivery, with the body of the last attempt. */
    json_t *dels = json_object_get(doc, "deliveries");
    assert_int_equal(json_object_size(dels), 1);
    json_t *d = json_object_get(dels, AJ_ID);
    assert_int_equal(json_integer_value(json_object_get(d, "count")), 1);
    json_t *body = json_object_get(d, "body");
    assert_string_equal(json_string_value(json_object_get(body, "event")), "book.published");
    assert_string_equal(json_string_value(json_object_get(body, "job_id")), AJ_ID);
    assert_string_equal(json_string_value(json_object_get(body, "manifest_url")),
                        "s3://pkg/books/42/r1/manifest.json");
    assert_int_equal(json_integer_value(json_object_get(body, "attempt")), fails + 1);
    json_decref(doc);

    /* One wait between attempts, each inside its documented window (min(cap, base*2^k) halved). */
    assert_int_equal(fc.nwaits, (int)fails);
    for (int i = 0; i < fc.nwaits; i++) {
        double d_full = 0.01 * (double)(1 << i);
        if (d_full > 0.05)
            d_full = 0.05;
        assert_true(fc.waits[i] >= d_full / 2 - 1e-9);
        assert_true(fc.waits[i] <= 0.05 + 1e-9);
    }
}

static void test_5xx_then_delivered(void **state)
{
    if (!*state)
        skip();
    retry_then_deliver(*state, "500", 3);
}

static void test_dropped_then_delivered(void **state)
{
    if (!*state)
        skip();
    retry_then_deliver(*state, "drop", 2);
}

static void test_429_then_delivered(void **state)
{
    if (!*state)
        skip();
    retry_then_deliver(*state, "429", 1);
}

static void test_timeout_then_delivered(void **state)
{
    receiver *r = *state;
    if (!r)
        skip();
    /* The first attempt gets no answer at all; the 1 s attempt deadline ends it. */
    const char *const extra[] = {"--fail",         "1",  "--fail-mode", "hang",
                                 "--hang-seconds", "30", NULL};
    receiver_start(r, extra);
    qr_net_policy p = test_policy();
    qr_callback_opts o = fast_opts(&p, NULL);
    o.timeout_s = 1;
    qr_job job = make_job(r, true);
    qr_callback_result res = make_result();
    qr_callback_report rep;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(qr_callback_deliver(&rep, &job, &res, &o, &err), 0);
    assert_true(rep.delivered);
    assert_int_equal(rep.attempts, 2);
    json_t *doc = check_attempts(r, 2, AJ_ID, true);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(doc, "attempts"), 0), "answer")),
                        "hang");
    assert_int_equal(json_object_size(json_object_get(doc, "deliveries")), 1);
    json_decref(doc);
}

static void test_rerun_same_key(void **state)
{
    receiver *r = *state;
    if (!r)
        skip();
    receiver_start(r, NULL);
    qr_net_policy p = test_policy();
    qr_callback_opts o = fast_opts(&p, NULL);
    qr_job job = make_job(r, false); /* a plain Resque job: the key is the payload hash */
    qr_callback_result res = make_result();
    qr_callback_report rep1, rep2;
    char key[QR_CALLBACK_KEY_MAX];

    assert_int_equal(qr_callback_idempotency_key(key, &job, NULL), 0);
    assert_int_equal(qr_callback_deliver(&rep1, &job, &res, &o, NULL), 0);
    /* The job re-run after a failure delivers again, with the same key. */
    assert_int_equal(qr_callback_deliver(&rep2, &job, &res, &o, NULL), 0);
    assert_string_equal(rep1.key, key);
    assert_string_equal(rep2.key, key);
    json_t *doc = receiver_record(r);
    assert_int_equal(json_array_size(json_object_get(doc, "attempts")), 2);
    assert_int_equal(json_object_size(json_object_get(doc, "deliveries")), 1);
    assert_int_equal(json_integer_value(json_object_get(doc, "duplicates")), 1);
    json_decref(doc);
}

static void test_wrong_secret_refused_once(void **state)
{
    receiver *r = *state;
    if (!r)
        skip();
    receiver_start(r, NULL);
    qr_net_policy p = test_policy();
    qr_callback_opts o = fast_opts(&p, NULL);
    o.secret = "not-the-shared-secret-at-all";
    qr_job job = make_job(r, true);
    qr_callback_result res = make_result();
    qr_callback_report rep;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(qr_callback_deliver(&rep, &job, &res, &o, &err), QR_ENET);
    assert_string_equal(err.id, "callback-failed");
    assert_false(rep.delivered);
    assert_int_equal(rep.attempts, 1);
    assert_int_equal(rep.last_status, 401);
    assert_int_equal(err.cause, 401);
    assert_non_null(strstr(err.msg, "401"));
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    assert_null(strstr(err.msg, "sekrit"));
    assert_null(strstr(err.msg, "not-the-shared"));
    json_t *doc = check_attempts(r, 1, AJ_ID, false);
    assert_true(json_is_false(
        json_object_get(json_array_get(json_object_get(doc, "attempts"), 0), "signature_ok")));
    assert_int_equal(json_object_size(json_object_get(doc, "deliveries")), 0);
    json_decref(doc);
}

static void test_never_2xx(void **state)
{
    receiver *r = *state;
    if (!r)
        skip();
    const char *const extra[] = {"--always", "503", NULL};
    receiver_start(r, extra);
    qr_net_policy p = test_policy();
    fake_clock fc = {(int64_t)time(NULL) - 100, 0, {0}, 0};
    qr_callback_clock clk = {fake_now, fake_sleep, &fc};
    qr_callback_opts o = fast_opts(&p, &clk);
    o.max_attempts = 3;
    qr_job job = make_job(r, true);
    qr_callback_result res = make_result();
    qr_callback_report rep;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(qr_callback_deliver(&rep, &job, &res, &o, &err), QR_ENET);
    assert_string_equal(err.id, "callback-failed");
    assert_string_equal(err.stage, "notify");
    assert_false(rep.delivered);
    assert_int_equal(rep.attempts, 3);
    assert_int_equal(rep.last_status, 503);
    assert_non_null(strstr(err.msg, "503"));
    assert_non_null(strstr(err.msg, "3 attempt"));
    assert_null(strstr(err.msg, "sekrit"));
    assert_null(strstr(err.msg, SECRET));
    /* The Retry-After (1 s) is honoured but capped at backoff_max_s. */
    assert_int_equal(fc.nwaits, 2);
    assert_true(fc.waits[0] <= 0.05 + 1e-9 && fc.waits[1] <= 0.05 + 1e-9);
    json_t *doc = check_attempts(r, 3, AJ_ID, true);
    assert_int_equal(json_object_size(json_object_get(doc, "deliveries")), 0);
    json_decref(doc);
}

static void test_refused_4xx_not_retried(void **state)
{
    receiver *r = *state;
    if (!r)
        skip();
    const char *const extra[] = {"--always", "422", NULL};
    receiver_start(r, extra);
    qr_net_policy p = test_policy();
    qr_callback_opts o = fast_opts(&p, NULL);
    qr_job job = make_job(r, true);
    qr_callback_result res = make_result();
    qr_callback_report rep;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(qr_callback_deliver(&rep, &job, &res, &o, &err), QR_ENET);
    assert_string_equal(err.id, "callback-failed");
    assert_int_equal(rep.attempts, 1);
    assert_int_equal(rep.last_status, 422);
    assert_non_null(strstr(err.msg, "refused"));
    json_t *doc = check_attempts(r, 1, AJ_ID, true);
    json_decref(doc);
}

static void test_long_answer_still_delivered(void **state)
{
    receiver *r = *state;
    if (!r)
        skip();
    /* Over the 64 KiB quire reads of an answer: the 200 was still given. */
    const char *const extra[] = {"--answer-bytes", "200000", NULL};
    receiver_start(r, extra);
    qr_net_policy p = test_policy();
    qr_callback_opts o = fast_opts(&p, NULL);
    qr_job job = make_job(r, true);
    qr_callback_result res = make_result();
    qr_callback_report rep;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(qr_callback_deliver(&rep, &job, &res, &o, &err), 0);
    assert_true(rep.delivered);
    assert_int_equal(rep.attempts, 1);
    assert_int_equal(rep.last_status, 200);
    json_t *doc = check_attempts(r, 1, AJ_ID, true);
    json_decref(doc);
}

static void test_loopback_forbidden_without_allowlist(void **state)
{
    receiver *r = *state;
    if (!r)
        skip();
    receiver_start(r, NULL);
    qr_net_policy p = QR_NET_POLICY_INIT;
    p.allow_http = true; /* the scheme is allowed: the address is what is refused */
    qr_callback_opts o = fast_opts(&p, NULL);
    qr_job job = make_job(r, true);
    qr_callback_result res = make_result();
    qr_callback_report rep;
    qr_error err = QR_ERROR_INIT;

    assert_true(qr_callback_deliver(&rep, &job, &res, &o, &err) < 0);
    assert_string_equal(err.id, "source-forbidden");
    assert_false(rep.delivered);
    assert_int_equal(rep.attempts, 0);

    /* No policy given: the default (public https only), never "trusted". */
    o.policy = NULL;
    qr_error_clear(&err);
    assert_true(qr_callback_deliver(&rep, &job, &res, &o, &err) < 0);
    assert_string_equal(err.id, "source-forbidden");

    json_t *doc = receiver_record(r);
    assert_int_equal(json_array_size(json_object_get(doc, "attempts")), 0);
    json_decref(doc);
}

static void test_secret_required(void **state)
{
    receiver *r = *state;
    if (!r)
        skip();
    const char *const extra[] = {"--accept-unsigned", NULL};
    receiver_start(r, extra);
    qr_net_policy p = test_policy();
    qr_callback_opts o = fast_opts(&p, NULL);
    o.secret = NULL;
    qr_job job = make_job(r, true);
    qr_callback_result res = make_result();
    qr_callback_report rep;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(qr_callback_deliver(&rep, &job, &res, &o, &err), QR_EINVAL);
    assert_string_equal(err.id, "invalid-argument");
    assert_int_equal(rep.attempts, 0);
    o.secret = "short";
    qr_error_clear(&err);
    assert_int_equal(qr_callback_deliver(&rep, &job, &res, &o, &err), QR_EINVAL);
    json_t *doc = receiver_record(r);
    assert_int_equal(json_array_size(json_object_get(doc, "attempts")), 0);
    json_decref(doc);

    /* Unsigned only when explicitly allowed: no X-Quire-Signature at all. */
    o.secret = NULL;
    o.allow_unsigned = true;
    assert_int_equal(qr_callback_deliver(&rep, &job, &res, &o, NULL), 0);
    assert_true(rep.delivered);
    doc = receiver_record(r);
    json_t *a = json_array_get(json_object_get(doc, "attempts"), 0);
    assert_true(json_is_false(json_object_get(a, "signed")));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_5xx_then_delivered, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_dropped_then_delivered, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_429_then_delivered, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_then_delivered, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_rerun_same_key, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_secret_refused_once, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_never_2xx, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_refused_4xx_not_retried, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_long_answer_still_delivered, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_loopback_forbidden_without_allowlist, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_secret_required, test_setup, test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
