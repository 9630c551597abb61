/*
 * record.c against a real redis-server: an outcome is recorded the same way
 * on every path. The path that once differed: a child crashes, Redis is
 * away when the parent records it, and a drain cuts the backoff short; the
 * last attempt must count the attempt like the first (with max_attempts 1
 * the job becomes a failure, not a job silently back in its queue), update
 * the metrics and log it. Skips without redis-server.
 */
#include "qr_test.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/clock.h"
#include "qr/log.h"
#include "qr/metrics.h"
#include "redis_server.h"
#include "worker/worker_int.h"

typedef struct fixture {
    qr_test_redis *redis;
    qr_worker_opts opts;
    qr_worker_signals sig;
    qr_worker w;
    int retries_seen; /* "recording the job ... retrying" lines */
    pthread_t drainer;
    bool drainer_started;
    bool last_attempt_logged;
    bool exhausted_logged;
} fixture;

/* A stop asked while the worker waits out its backoff, as a signal handler would set it. */
static void *drain_soon(void *arg)
{
    fixture *f = arg;
    qr_sleep(0.05);
    f->sig.drain = 1;
    return NULL;
}

/*
 * The log sink stands in for the operator: at the first retry Redis comes
 * back and, a moment later, while the worker sleeps, a drain is asked.
 */
static void on_log(const qr_log_event *ev, void *ud)
{
    fixture *f = ud;
    if (strstr(ev->msg, "recording the job:") && strstr(ev->msg, "retrying")) {
        if (f->retries_seen++ == 0) {
            qr_test_redis_start(f->redis);
            assert_int_equal(pthread_create(&f->drainer, NULL, drain_soon, f), 0);
            f->drainer_started = true;
        }
    }
    if (strstr(ev->msg, "one last attempt to record the job"))
        f->last_attempt_logged = true;
    if (strstr(ev->msg, "attempts exhausted: recorded as a failure"))
        f->exhausted_logged = true;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->redis = qr_test_redis_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_log_set_sink(NULL, NULL, QR_LOG_INFO);
    qr_resque_free(f->w.r);
    qr_metrics_free(f->w.metrics);
    qr_test_redis_free(f->redis);
    free(f);
    return 0;
}

static redisReply *raw(fixture *f, const char *cmd)
{
    redisReply *r = redisCommand(f->redis->raw, cmd);
    assert_non_null(r);
    return r;
}

static void test_crash_recorded_on_the_last_attempt(void **state)
{
    fixture *f = *state;
    if (!f->redis)
        skip();
    qr_error err = QR_ERROR_INIT;
    qr_worker_opts o = QR_WORKER_OPTS_INIT;
    o.redis.port = f->redis->port;
    /* A backoff long enough that the drain surely comes while the worker waits. */
    o.redis.backoff_min_ms = 2000;
    o.redis.backoff_max_ms = 4000;
    f->opts = o;
    f->w.o = &f->opts;
    f->w.sig = &f->sig;
    f->w.max_attempts = 1;
    /* No heartbeat or sweep due while the test runs. */
    f->w.next_heartbeat = f->w.next_sweep = qr_now() + 3600;
    f->w.heartbeat_s = f->w.sweep_s = 3600;
    assert_int_equal(qr_metrics_new(&f->w.metrics, 60, &err), 0);
    assert_int_equal(qr_resque_new(&f->w.r, &f->opts.redis, &err), 0);
    const char *queues[] = {"books"};
    assert_int_equal(qr_resque_set_worker(f->w.r, "testhost", 4242, queues, 1, &err), 0);
    assert_int_equal(qr_resque_register(f->w.r, &err), 0);
    freeReplyObject(raw(f, "RPUSH resque:queue:books "
                           "{\"class\":\"Quire::ProcessBook\",\"args\":[{\"book_id\":\"b1\","
                           "\"source\":\"/nowhere.epub\"}]}"));
    qr_resque_job *job = NULL;
    assert_int_equal(qr_resque_reserve(&job, f->w.r, queues, 1, &err), 0);
    assert_non_null(job);

    /* The child died by a signal, and Redis is down when the parent records it. */
    qr_worker_outcome oc;
    qr_worker__outcome_init(&oc);
    snprintf(oc.stage, sizeof(oc.stage), "compress");
    oc.crashed = true;
    oc.by_parent = true;
    qr_worker__outcome_fail(&oc, QR_ERR_INTERNAL, "Resque::DirtyExit",
                            "Child process received unhandled signal pid 1 SIGKILL (signal 9) in "
                            "stage compress");
    qr_test_redis_kill(f->redis);

    qr_log_set_sink(on_log, f, QR_LOG_INFO);
    bool final_failure = false;
    qr_error rerr = QR_ERROR_INIT;
    int rc = qr_worker__record(&f->w, job, &oc, &final_failure, &rerr);
    qr_log_set_sink(NULL, NULL, QR_LOG_INFO);
    if (f->drainer_started)
        pthread_join(f->drainer, NULL);
    if (rc < 0)
        fail_msg("record: %s: %s", rerr.id, rerr.msg);
    /* The drain came during the backoff: this was the last attempt. */
    assert_int_equal(f->retries_seen, 1);
    assert_true(f->sig.drain);
    assert_true(f->last_attempt_logged);

    /* Counted and exhausted: a failure entry, not a job back in its queue. */
    assert_true(final_failure);
    assert_true(f->exhausted_logged);
    redisReply *r = raw(f, "LLEN resque:queue:books");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    r = raw(f, "LRANGE resque:failed 0 -1");
    assert_int_equal(r->elements, 1);
    assert_non_null(strstr(r->element[0]->str, "\"exception\":\"Resque::DirtyExit\""));
    assert_non_null(strstr(r->element[0]->str, "stage: compress"));
    freeReplyObject(r);
    char *m = NULL;
    assert_int_equal(qr_metrics_render(&m, f->w.metrics, qr_now(), &err), 0);
    /* A crash counts as crashed in /metrics even when it ends as a failure entry. */
    assert_non_null(strstr(m, "quire_jobs_total{outcome=\"crashed\"} 1\n"));
    assert_non_null(strstr(m, "quire_jobs_total{outcome=\"failed\"} 0\n"));
    assert_non_null(strstr(m, "quire_job_failures_total{error=\"internal\"} 1\n"));
    free(m);
    qr_resque_job_free(job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_recorded_on_the_last_attempt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
