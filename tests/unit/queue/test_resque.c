/*
 * resque.c / reliable.c against a real redis-server started by this test on
 * 127.0.0.1 (a free port, AOF with fsync always so a restart keeps the data).
 * Asserts the raw keys and values a Ruby Resque and resque-web would read
 * (reference/resque.md), FIFO reservation, the sweep, the poison pill and
 * reconnecting after the server restarts. Skips without redis-server.
 */
#include "qr_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "qr/resque.h"
#include "redis_server.h"
#include "queue/resque_int.h"

/* 2026-11-26 10:56:29 UTC, the instant of reference/resque.md's observations. */
#define FIXED_NOW ((time_t)1795690589)

typedef qr_test_redis server;

static int group_setup(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    *state = qr_test_redis_new();
    return 0;
}

static int group_teardown(void **state)
{
    qr_test_redis_free(*state);
    return 0;
}

static int test_setup(void **state)
{
    server *s = *state;
    if (s && s->raw) {
        redisReply *r = redisCommand(s->raw, "FLUSHALL");
        assert_non_null(r);
        freeReplyObject(r);
    }
    return 0;
}

static server *need_server(void **state)
{
    server *s = *state;
    if (!s)
        skip();
    return s;
}

static time_t fixed_clock(void *ud)
{
    (void)ud;
    return FIXED_NOW;
}

static qr_resque *ctx(const server *s, const char *host, long pid, const char *q1, const char *q2)
{
    qr_resque_opts o = QR_RESQUE_OPTS_INIT;
    o.port = s->port;
    o.clock = fixed_clock;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 160;
    qr_resque *r = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_resque_new(&r, &o, &err), 0);
    const char *qs[] = {q1, q2};
    assert_int_equal(qr_resque_set_worker(r, host, pid, qs, q2 ? 2 : 1, &err), 0);
    return r;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        qr_error e_ = QR_ERROR_INIT;                                                               \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            fail_msg("%s failed: %s: %s", #call, e_.id ? e_.id : "?", e_.msg);                     \
    } while (0)

/* Raw reads through the test's own connection. */
static redisReply *rawcmd(server *s, const char *fmt, const char *a, const char *b)
{
    redisReply *r = redisCommand(s->raw, fmt, a, b);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    return r;
}

static char *get_str(server *s, const char *key)
{
    redisReply *r = rawcmd(s, "GET %s", key, NULL);
    char *v = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

static long long get_int(server *s, const char *fmt, const char *a, const char *b)
{
    redisReply *r = rawcmd(s, fmt, a, b);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10)
                                                  : -1;
    freeReplyObject(r);
    return v;
}

static void assert_key_str(server *s, const char *key, const char *want)
{
    char *v = get_str(s, key);
    if (!v || strcmp(v, want) != 0)
        fail_msg("%s = %s, want %s", key, v ? v : "(nil)", want);
    free(v);
}

/* LRANGE key 0 -1 joined with '|'. */
static char *list_str(server *s, const char *key)
{
    redisReply *r = rawcmd(s, "LRANGE %s 0 -1", key, NULL);
    size_t cap = 16;
    for (size_t i = 0; i < r->elements; i++)
        cap += r->element[i]->len + 1;
    char *out = calloc(1, cap);
    assert_non_null(out);
    for (size_t i = 0; i < r->elements; i++) {
        if (i)
            strcat(out, "|");
        strcat(out, r->element[i]->str);
    }
    freeReplyObject(r);
    return out;
}

static void assert_list(server *s, const char *key, const char *want)
{
    char *v = list_str(s, key);
    if (strcmp(v, want) != 0)
        fail_msg("%s = [%s], want [%s]", key, v, want);
    free(v);
}

static void push(qr_resque *r, const char *q, const char *payload)
{
    OK(qr_resque_push(r, q, payload, strlen(payload), &e_));
}

static void push_raw(server *s, const char *q, const char *payload)
{
    char key[128];
    snprintf(key, sizeof(key), "resque:queue:%s", q);
    freeReplyObject(rawcmd(s, "RPUSH %s %s", key, payload));
}

static qr_resque_job *reserve(qr_resque *r, const char *q1, const char *q2)
{
    qr_resque_job *job = NULL;
    const char *qs[] = {q1, q2};
    OK(qr_resque_reserve(&job, r, qs, q2 ? 2 : 1, &e_));
    return job;
}

#define P1 "{\"class\":\"ProcessBook\",\"args\":[{\"book_id\":1}]}"
#define WID "vm:19312:books,covers"

static void test_wire_format(void **state)
{
    server *s = need_server(state);
    qr_resque *r = ctx(s, "vm", 19312, "books", "covers");
    assert_string_equal(qr_resque_worker_id(r), WID);

    OK(qr_resque_register(r, &e_));
    assert_int_equal(get_int(s, "SISMEMBER resque:workers %s", WID, NULL), 1);
    assert_key_str(s, "resque:worker:" WID ":started", "2026-11-26 10:56:29 +0000");
    redisReply *hb = rawcmd(s, "HGET resque:workers:heartbeat %s", WID, NULL);
    assert_int_equal(hb->type, REDIS_REPLY_STRING);
    /* ISO 8601 of Redis TIME, as Ruby's Time#iso8601 writes it in UTC. */
    assert_int_equal(strlen(hb->str), 25);
    assert_string_equal(hb->str + 19, "+00:00");
    assert_int_equal(hb->str[10], 'T');
    struct tm tm = {0};
    assert_non_null(strptime(hb->str, "%Y-%m-%dT%H:%M:%S", &tm));
    long long skew = (long long)(timegm(&tm) - time(NULL));
    assert_true(skew > -5 && skew < 5);
    freeReplyObject(hb);

    /* Enqueue exactly as Resque.enqueue: SADD queues + RPUSH queue:<q>. */
    push(r, "books", P1);
    assert_int_equal(get_int(s, "SISMEMBER resque:queues books", NULL, NULL), 1);
    long long n = 0;
    OK(qr_resque_llen(&n, r, "books", &e_));
    assert_int_equal(n, 1);

    qr_resque_job *job = reserve(r, "books", "covers");
    assert_non_null(job);
    assert_string_equal(job->queue, "books");
    assert_string_equal(job->payload, P1);
    assert_false(job->resumed);
    assert_key_str(s, "resque:worker:" WID,
                   "{\"queue\":\"books\",\"run_at\":\"2026-11-26T10:56:29Z\",\"payload\":" P1 "}");
    assert_list(s, "resque:quire:processing:books:" WID, P1);
    assert_int_equal(get_int(s, "SISMEMBER resque:quire:processing %s", "books:" WID, NULL), 1);
    assert_int_equal(get_int(s, "LLEN resque:queue:books", NULL, NULL), 0);

    OK(qr_resque_done(r, job, NULL, &e_));
    assert_int_equal(get_int(s, "EXISTS resque:worker:%s", WID, NULL), 0);
    assert_key_str(s, "resque:stat:processed", "1");
    assert_key_str(s, "resque:stat:processed:" WID, "1");
    assert_int_equal(get_int(s, "EXISTS resque:quire:processing:books:%s", WID, NULL), 0);
    assert_int_equal(get_int(s, "SCARD resque:quire:processing", NULL, NULL), 0);
    /* A repeat (lost reply) counts nothing twice. */
    OK(qr_resque_done(r, job, NULL, &e_));
    assert_key_str(s, "resque:stat:processed", "1");
    qr_resque_job_free(job);

    /* A failure: Resque's seven fields in its formats and order. */
    push(r, "covers", P1);
    job = reserve(r, "books", "covers");
    assert_string_equal(job->queue, "covers");
    const char *bt[] = {"src/pipeline/pipeline.c:120:in `run'"};
    qr_resque_failure f = {"ArgumentError", "book 1 has no pages", bt, 1};
    OK(qr_resque_done(r, job, &f, &e_));
    qr_resque_job_free(job);
    assert_list(s, "resque:failed",
                "{\"failed_at\":\"2026/11/26 10:56:29 UTC\",\"payload\":" P1
                ",\"exception\":\"ArgumentError\",\"error\":\"book 1 has no pages\","
                "\"backtrace\":[\"src/pipeline/pipeline.c:120:in `run'\"],\"worker\":\"" WID
                "\",\"queue\":\"covers\"}");
    assert_key_str(s, "resque:stat:failed", "1");
    assert_key_str(s, "resque:stat:failed:" WID, "1");
    assert_key_str(s, "resque:stat:processed", "2");
    assert_key_str(s, "resque:stat:processed:" WID, "2");

    /* Unregister removes exactly what unregister_worker removes; global stats stay. */
    OK(qr_resque_unregister(r, &e_));
    assert_int_equal(get_int(s, "SISMEMBER resque:workers %s", WID, NULL), 0);
    assert_int_equal(get_int(s, "HEXISTS resque:workers:heartbeat %s", WID, NULL), 0);
    assert_int_equal(get_int(s, "EXISTS resque:worker:%s:started", WID, NULL), 0);
    assert_int_equal(get_int(s, "EXISTS resque:stat:processed:%s", WID, NULL), 0);
    assert_int_equal(get_int(s, "EXISTS resque:stat:failed:%s", WID, NULL), 0);
    assert_key_str(s, "resque:stat:processed", "2");
    assert_key_str(s, "resque:stat:failed", "1");
    qr_resque_free(r);
}

static void test_invalid_identity(void **state)
{
    (void)state;
    qr_resque *r = NULL;
    assert_int_equal(qr_resque_new(&r, NULL, NULL), 0);
    const char *bad[] = {"bo:oks"};
    const char *empty[] = {""};
    const char *good[] = {"books"};
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_resque_set_worker(r, "vm", 1, bad, 1, &err), QR_EINVAL);
    assert_string_equal(err.id, "invalid-argument");
    assert_int_equal(qr_resque_set_worker(r, "vm", 1, empty, 1, NULL), QR_EINVAL);
    assert_int_equal(qr_resque_set_worker(r, "v:m", 1, good, 1, NULL), QR_EINVAL);
    assert_int_equal(qr_resque_set_worker(r, "vm", 1, good, 0, NULL), QR_EINVAL);
    assert_null(qr_resque_worker_id(r));
    qr_resque_job *job = NULL;
    assert_int_equal(qr_resque_reserve(&job, r, good, 1, NULL), QR_EINVAL);
    qr_resque_free(r);
}

static void test_pause_and_queues(void **state)
{
    server *s = need_server(state);
    qr_resque *r = ctx(s, "vm", 2, "*", NULL);
    bool paused = true;
    OK(qr_resque_paused(&paused, r, &e_));
    assert_false(paused);
    freeReplyObject(rawcmd(s, "SET resque:pause-all-workers %s", "true", NULL));
    OK(qr_resque_paused(&paused, r, &e_));
    assert_true(paused);
    freeReplyObject(rawcmd(s, "SET resque:pause-all-workers %s", "false", NULL));
    OK(qr_resque_paused(&paused, r, &e_));
    assert_false(paused);

    freeReplyObject(rawcmd(s, "SADD resque:queues covers %s", "books", NULL));
    freeReplyObject(rawcmd(s, "SADD resque:queues audio %s", "books_low", NULL));
    freeReplyObject(rawcmd(s, "SADD resque:queues %s", ".hidden", NULL));
    /* Resque 3's Worker#queues: literal lists as given, globs and "!" against SMEMBERS. */
    struct {
        const char *spec[3];
        size_t n;
        const char *want;
    } cases[] = {
        {{"*"}, 1, "audio,books,books_low,covers"},
        {{"covers", "*"}, 2, "covers,audio,books,books_low"},
        {{"*", "!books"}, 2, "audio,books_low,covers"},
        {{"*", "!books*"}, 2, "audio,covers"},
        {{"books*"}, 1, "books,books_low"},
        {{"b?oks", "[ac]*"}, 2, "books,audio,covers"},
        {{"zeta", "b*"}, 2, "books,books_low"},
        {{"zeta", "books", "zeta"}, 3, "zeta,books,zeta"},
        {{".h*"}, 1, ".hidden"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char **qs = NULL;
        size_t nq = 0;
        char got[256] = "";
        OK(qr_resque_queues(&qs, &nq, r, cases[i].spec, cases[i].n, &e_));
        for (size_t j = 0; j < nq; j++) {
            if (j)
                strcat(got, ",");
            strcat(got, qs[j]);
        }
        assert_null(qs[nq]);
        assert_string_equal(got, cases[i].want);
        qr_resque_strv_free(qs);
    }
    qr_resque_free(r);
}

static void test_reserve_fifo_and_resume(void **state)
{
    server *s = need_server(state);
    qr_resque *r = ctx(s, "vm", 3, "books", "covers");
    OK(qr_resque_register(r, &e_));
    char p[64];
    for (int i = 1; i <= 5; i++) {
        /* Odd spacing: the payload must come back byte-identical. */
        snprintf(p, sizeof(p), "{\"class\":\"ProcessBook\", \"args\":[{\"book_id\":%d}]}", i);
        push(r, "books", p);
    }
    push(r, "covers", "{\"class\":\"ProcessBook\",\"args\":[{\"book_id\":6}]}");
    push(r, "books", "not json at all");

    /* A second context with the same id stands for the same worker after a lost reply. */
    qr_resque *again = ctx(s, "vm", 3, "books", "covers");
    for (int i = 1; i <= 5; i++) {
        qr_resque_job *job = reserve(r, "books", "covers");
        snprintf(p, sizeof(p), "{\"class\":\"ProcessBook\", \"args\":[{\"book_id\":%d}]}", i);
        assert_string_equal(job->payload, p);
        assert_int_equal(job->payload_len, strlen(p));
        qr_resque_job *resumed = reserve(again, "books", "covers");
        assert_true(resumed->resumed);
        assert_string_equal(resumed->payload, p);
        assert_int_equal(
            get_int(s, "LLEN resque:quire:processing:books:%s", "vm:3:books,covers", NULL), 1);
        OK(qr_resque_done(r, job, NULL, &e_));
        qr_resque_job_free(resumed);
        qr_resque_job_free(job);
    }
    /* An unparseable payload still shows in resque-web, as a string. */
    qr_resque_job *job = reserve(r, "books", "covers");
    assert_string_equal(job->payload, "not json at all");
    assert_key_str(s, "resque:worker:vm:3:books,covers",
                   "{\"queue\":\"books\",\"run_at\":\"2026-11-26T10:56:29Z\","
                   "\"payload\":\"not json at all\"}");
    qr_error err = QR_ERROR_INIT;
    qr_resque_failure f = {"Quire::JobPayloadInvalid", "payload is not JSON", NULL, 0};
    assert_int_equal(qr_resque_done(r, job, &f, &err), 0);
    qr_resque_job_free(job);
    job = reserve(r, "books", "covers");
    assert_string_equal(job->queue, "covers");
    OK(qr_resque_done(r, job, NULL, &e_));
    qr_resque_job_free(job);
    assert_null(reserve(r, "books", "covers"));
    assert_key_str(s, "resque:stat:processed", "7");
    qr_resque_free(again);
    qr_resque_free(r);
}

static void set_heartbeat(server *s, const char *wid, const char *when)
{
    freeReplyObject(rawcmd(s, "HSET resque:workers:heartbeat %s %s", wid, when));
}

static void test_sweep_requeues_to_head(void **state)
{
    server *s = need_server(state);
    qr_resque *dead = ctx(s, "hostA", 11, "books", NULL);
    qr_resque *alive = ctx(s, "hostB", 12, "books", NULL);
    qr_resque *sweeper = ctx(s, "hostC", 13, "books", NULL);
    OK(qr_resque_register(dead, &e_));
    OK(qr_resque_register(alive, &e_));
    OK(qr_resque_register(sweeper, &e_));
    push(dead, "books", "j1");
    push(dead, "books", "j2");
    push(dead, "books", "j3");
    push(dead, "books", "j4");
    qr_resque_job *jd = reserve(dead, "books", NULL);
    qr_resque_job *ja = reserve(alive, "books", NULL);
    assert_string_equal(jd->payload, "j1");
    assert_string_equal(ja->payload, "j2");

    /* Fresh heartbeats: nothing is touched. */
    qr_resque_sweep_stats st;
    OK(qr_resque_sweep(&st, sweeper, 60, 3, &e_));
    assert_int_equal(st.dead_workers + st.requeued + st.poisoned, 0);
    assert_list(s, "resque:queue:books", "j3|j4");

    /* hostA's heartbeat goes stale: j1 returns to the head, hostA's keys go. */
    set_heartbeat(s, "hostA:11:books", "2020-01-01T00:00:00+00:00");
    OK(qr_resque_sweep(&st, sweeper, 60, 3, &e_));
    assert_int_equal(st.dead_workers, 1);
    assert_int_equal(st.requeued, 1);
    assert_int_equal(st.poisoned, 0);
    assert_list(s, "resque:queue:books", "j1|j3|j4");
    assert_int_equal(get_int(s, "EXISTS resque:quire:processing:books:%s", "hostA:11:books", NULL),
                     0);
    assert_int_equal(get_int(s, "SISMEMBER resque:workers %s", "hostA:11:books", NULL), 0);
    assert_int_equal(get_int(s, "HEXISTS resque:workers:heartbeat %s", "hostA:11:books", NULL), 0);
    assert_int_equal(get_int(s, "EXISTS resque:worker:%s", "hostA:11:books", NULL), 0);
    assert_int_equal(get_int(s, "EXISTS resque:worker:%s:started", "hostA:11:books", NULL), 0);
    assert_int_equal(get_int(s, "HLEN resque:quire:attempts", NULL, NULL), 1);
    assert_list(s, "resque:quire:processing:books:hostB:12:books", "j2");
    assert_int_equal(get_int(s, "SISMEMBER resque:workers %s", "hostB:12:books", NULL), 1);

    /* A worker that died idle holds no job; a stale heartbeat still gets it forgotten. */
    qr_resque *idle = ctx(s, "hostD", 14, "books", NULL);
    OK(qr_resque_register(idle, &e_));
    set_heartbeat(s, "hostD:14:books", "2020-01-01T00:00:00+00:00");
    OK(qr_resque_sweep(&st, sweeper, 60, 3, &e_));
    assert_int_equal(st.dead_workers, 1);
    assert_int_equal(st.requeued, 0);
    assert_int_equal(get_int(s, "SISMEMBER resque:workers %s", "hostD:14:books", NULL), 0);
    assert_int_equal(get_int(s, "HEXISTS resque:workers:heartbeat %s", "hostD:14:books", NULL), 0);
    assert_int_equal(get_int(s, "EXISTS resque:worker:%s:started", "hostD:14:books", NULL), 0);
    assert_int_equal(get_int(s, "SISMEMBER resque:workers %s", "hostB:12:books", NULL), 1);
    qr_resque_free(idle);

    /* The dead worker comes back late: its result is not recorded twice. */
    OK(qr_resque_done(dead, jd, NULL, &e_));
    assert_int_equal(get_int(s, "EXISTS resque:stat:processed", NULL, NULL), 0);

    /* A worker that is no longer registered is dead whatever its heartbeat. */
    freeReplyObject(rawcmd(s, "SREM resque:workers %s", "hostB:12:books", NULL));
    OK(qr_resque_sweep(&st, sweeper, 60, 3, &e_));
    assert_int_equal(st.requeued, 1);
    assert_list(s, "resque:queue:books", "j2|j1|j3|j4");
    assert_int_equal(get_int(s, "SCARD resque:quire:processing", NULL, NULL), 0);

    /* Completing a recovered job clears its attempt counter. */
    qr_resque_job *j = reserve(sweeper, "books", NULL);
    assert_string_equal(j->payload, "j2");
    OK(qr_resque_done(sweeper, j, NULL, &e_));
    qr_resque_job_free(j);
    j = reserve(sweeper, "books", NULL);
    assert_string_equal(j->payload, "j1");
    OK(qr_resque_done(sweeper, j, NULL, &e_));
    qr_resque_job_free(j);
    assert_int_equal(get_int(s, "HLEN resque:quire:attempts", NULL, NULL), 0);

    qr_resque_job_free(jd);
    qr_resque_job_free(ja);
    qr_resque_free(dead);
    qr_resque_free(alive);
    qr_resque_free(sweeper);
}

static void test_poison_pill(void **state)
{
    server *s = need_server(state);
    qr_resque *sweeper = ctx(s, "sweeper", 1, "books", NULL);
    OK(qr_resque_register(sweeper, &e_));
    push(sweeper, "books", P1);
    push(sweeper, "books", "next");
    char wid[64];
    for (long attempt = 1; attempt <= 3; attempt++) {
        qr_resque *w = ctx(s, "h", 100 + attempt, "books", NULL);
        OK(qr_resque_register(w, &e_));
        qr_resque_job *job = reserve(w, "books", NULL);
        assert_string_equal(job->payload, P1);
        /* The worker dies: it disappears from the registry without cleaning up. */
        snprintf(wid, sizeof(wid), "h:%ld:books", 100 + attempt);
        freeReplyObject(rawcmd(s, "HDEL resque:workers:heartbeat %s", wid, NULL));
        qr_resque_sweep_stats st;
        OK(qr_resque_sweep(&st, sweeper, 60, 3, &e_));
        assert_int_equal(st.dead_workers, 1);
        assert_int_equal(st.requeued, attempt < 3 ? 1 : 0);
        assert_int_equal(st.poisoned, attempt < 3 ? 0 : 1);
        qr_resque_job_free(job);
        qr_resque_free(w);
    }
    assert_list(s, "resque:queue:books", "next");
    assert_int_equal(get_int(s, "HLEN resque:quire:attempts", NULL, NULL), 0);
    assert_int_equal(get_int(s, "LLEN resque:failed", NULL, NULL), 1);
    char *entry = list_str(s, "resque:failed");
    json_error_t je;
    json_t *o = json_loads(entry, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "exception")), "Quire::PoisonPill");
    assert_non_null(strstr(json_string_value(json_object_get(o, "error")), "interrupted 3 times"));
    assert_string_equal(json_string_value(json_object_get(o, "worker")), "h:103:books");
    assert_string_equal(json_string_value(json_object_get(o, "queue")), "books");
    assert_string_equal(json_string_value(json_object_get(o, "failed_at")),
                        "2026/11/26 10:56:29 UTC");
    assert_true(json_is_array(json_object_get(o, "backtrace")));
    char *pl = json_dumps(json_object_get(o, "payload"), JSON_COMPACT);
    assert_string_equal(pl, P1);
    assert_int_equal(json_object_size(o), 7);
    free(pl);
    json_decref(o);
    free(entry);
    qr_resque_free(sweeper);
}

static void test_release(void **state)
{
    server *s = need_server(state);
    qr_resque *r = ctx(s, "vm", 4, "books", NULL);
    OK(qr_resque_register(r, &e_));
    push(r, "books", "a");
    push(r, "books", "b");
    qr_resque_job *job = reserve(r, "books", NULL);
    bool poisoned = true;
    /* Drain: straight back to the head, no attempt counted. */
    OK(qr_resque_release(r, job, 0, NULL, &poisoned, &e_));
    assert_false(poisoned);
    assert_list(s, "resque:queue:books", "a|b");
    assert_int_equal(get_int(s, "EXISTS resque:worker:%s", "vm:4:books", NULL), 0);
    assert_int_equal(get_int(s, "SCARD resque:quire:processing", NULL, NULL), 0);
    assert_int_equal(get_int(s, "HLEN resque:quire:attempts", NULL, NULL), 0);
    qr_resque_job_free(job);

    /* A child that keeps crashing: counted, and the second crash (max 2) is a failure. */
    qr_resque_failure f = {"Resque::DirtyExit",
                           "Child process received unhandled signal pid 9 SIGSEGV", NULL, 0};
    job = reserve(r, "books", NULL);
    OK(qr_resque_release(r, job, 2, &f, &poisoned, &e_));
    assert_false(poisoned);
    qr_resque_job_free(job);
    job = reserve(r, "books", NULL);
    assert_string_equal(job->payload, "a");
    OK(qr_resque_release(r, job, 2, &f, &poisoned, &e_));
    assert_true(poisoned);
    qr_resque_job_free(job);
    assert_list(s, "resque:queue:books", "b");
    char *entry = list_str(s, "resque:failed");
    assert_non_null(strstr(entry, "\"exception\":\"Resque::DirtyExit\""));
    assert_non_null(strstr(entry, "\"payload\":\"a\""));
    free(entry);

    /* Unregister gives back whatever is still reserved. */
    job = reserve(r, "books", NULL);
    OK(qr_resque_unregister(r, &e_));
    assert_list(s, "resque:queue:books", "b");
    assert_int_equal(get_int(s, "SCARD resque:quire:processing", NULL, NULL), 0);
    qr_resque_job_free(job);
    qr_resque_free(r);
}

/* A worker restarting under the same id (pid 1 in a container) counts the interrupted run. */
static void test_recover_own_after_restart(void **state)
{
    server *s = need_server(state);
    push_raw(s, "books", P1);
    push_raw(s, "books", "next");
    for (int run = 1; run <= 2; run++) {
        qr_resque *w = ctx(s, "box", 1, "books", NULL);
        qr_resque_sweep_stats st;
        OK(qr_resque_recover_own(&st, w, 2, &e_));
        assert_int_equal(st.requeued, run == 2 ? 1 : 0);
        OK(qr_resque_register(w, &e_));
        qr_resque_job *job = reserve(w, "books", NULL);
        assert_string_equal(job->payload, P1);
        assert_false(job->resumed);
        qr_resque_job_free(job);
        qr_resque_free(w); /* killed: no done, no unregister */
    }
    qr_resque *w = ctx(s, "box", 1, "books", NULL);
    qr_resque_sweep_stats st;
    OK(qr_resque_recover_own(&st, w, 2, &e_));
    assert_int_equal(st.poisoned, 1);
    assert_int_equal(get_int(s, "EXISTS resque:worker:%s", "box:1:books", NULL), 0);
    assert_list(s, "resque:queue:books", "next");
    assert_int_equal(get_int(s, "LLEN resque:failed", NULL, NULL), 1);
    assert_int_equal(get_int(s, "SCARD resque:quire:processing", NULL, NULL), 0);
    qr_resque_free(w);
}

static void test_reconnect_after_restart(void **state)
{
    server *s = need_server(state);
    qr_resque *r = ctx(s, "vm", 5, "books", NULL);
    OK(qr_resque_register(r, &e_));
    for (int i = 1; i <= 3; i++) {
        char p[8];
        snprintf(p, sizeof(p), "j%d", i);
        push(r, "books", p);
    }
    qr_resque_job *job = reserve(r, "books", NULL);
    assert_string_equal(job->payload, "j1");

    qr_test_redis_kill(s);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_resque_done(r, job, NULL, &err), QR_ENET);
    assert_string_equal(err.id, "redis-unavailable");
    assert_string_equal(err.stage, "redis");
    assert_true(qr_error_is_transient(&err));
    /* Within the backoff window calls fail fast without touching the network. */
    qr_error e2 = QR_ERROR_INIT;
    assert_int_equal(qr_resque_ping(r, &e2), QR_ENET);
    assert_true(qr_resque_backoff_ms(r) > 0 || strstr(e2.msg, "connect") != NULL);

    qr_test_redis_start(s);
    int tries = 0;
    for (;; tries++) {
        qr_error e3 = QR_ERROR_INIT;
        if (qr_resque_done(r, job, NULL, &e3) == 0)
            break;
        assert_string_equal(e3.id, "redis-unavailable");
        assert_true(tries < 200);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    qr_resque_job_free(job);
    /* Nothing lost, nothing counted twice: j1 recorded once, j2 and j3 still in order. */
    assert_key_str(s, "resque:stat:processed", "1");
    assert_int_equal(get_int(s, "SCARD resque:quire:processing", NULL, NULL), 0);
    job = reserve(r, "books", NULL);
    assert_string_equal(job->payload, "j2");
    OK(qr_resque_done(r, job, NULL, &e_));
    qr_resque_job_free(job);
    job = reserve(r, "books", NULL);
    assert_string_equal(job->payload, "j3");

    /* A restart while a job is reserved: the job survives in the processing list. */
    qr_test_redis_kill(s);
    qr_test_redis_start(s);
    qr_resque_job *again = NULL;
    const char *qs[] = {"books"};
    for (tries = 0;; tries++) {
        qr_error e4 = QR_ERROR_INIT;
        if (qr_resque_reserve(&again, r, qs, 1, &e4) == 0)
            break;
        assert_true(tries < 200);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_non_null(again);
    assert_true(again->resumed);
    assert_string_equal(again->payload, "j3");
    OK(qr_resque_done(r, again, NULL, &e_));
    assert_key_str(s, "resque:stat:processed", "3");
    qr_resque_job_free(again);
    qr_resque_job_free(job);
    qr_resque_free(r);
}

/* Resque's time formats (no server needed). */
static void test_time_formats(void **state)
{
    (void)state;
    char buf[64];
    time_t t = 0;
    setenv("TZ", "UTC", 1);
    tzset();
    qr_resque__fmt_heartbeat(buf, sizeof(buf), FIXED_NOW);
    assert_string_equal(buf, "2026-11-26T10:56:29+00:00");
    qr_resque__fmt_run_at(buf, sizeof(buf), FIXED_NOW);
    assert_string_equal(buf, "2026-11-26T10:56:29Z");
    qr_resque__fmt_failed_at(buf, sizeof(buf), FIXED_NOW);
    assert_string_equal(buf, "2026/11/26 10:56:29 UTC");
    /* A host one hour east of UTC (POSIX TZ string, no tzdata needed). */
    setenv("TZ", "CET-1", 1);
    tzset();
    qr_resque__fmt_heartbeat(buf, sizeof(buf), FIXED_NOW);
    assert_string_equal(buf, "2026-11-26T11:56:29+01:00");
    qr_resque__fmt_run_at(buf, sizeof(buf), FIXED_NOW);
    assert_string_equal(buf, "2026-11-26T10:56:29Z");
    qr_resque__fmt_failed_at(buf, sizeof(buf), FIXED_NOW);
    assert_string_equal(buf, "2026/11/26 11:56:29 CET");
    setenv("TZ", "UTC", 1);
    tzset();

    const char *same[] = {"2026-11-26T10:56:29+00:00", "2026-11-26T11:56:29+01:00",
                          "2026-11-26T05:56:29-05:00", "2026-11-26T10:56:29Z",
                          "2026-11-26T10:56:29.123456789Z"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        assert_int_equal(qr_resque__parse_iso8601(&t, same[i]), 0);
        assert_int_equal((long long)t, (long long)FIXED_NOW);
    }
    assert_int_equal(qr_resque__parse_iso8601(&t, "2020-01-01T00:00:00+00:00"), 0);
    assert_int_equal((long long)t, 1577836800LL);
    const char *bad[] = {"",
                         "garbage",
                         "2026-11-26 10:56:29 +0000",
                         "2026-11-26T10:56:29",
                         "2026-13-26T10:56:29Z",
                         "2026-11-26T10:56:29+0100"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(qr_resque__parse_iso8601(&t, bad[i]), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_wire_format, test_setup),
        cmocka_unit_test(test_invalid_identity),
        cmocka_unit_test(test_time_formats),
        cmocka_unit_test_setup(test_pause_and_queues, test_setup),
        cmocka_unit_test_setup(test_reserve_fifo_and_resume, test_setup),
        cmocka_unit_test_setup(test_sweep_requeues_to_head, test_setup),
        cmocka_unit_test_setup(test_poison_pill, test_setup),
        cmocka_unit_test_setup(test_release, test_setup),
        cmocka_unit_test_setup(test_recover_own_after_restart, test_setup),
        cmocka_unit_test_setup(test_reconnect_after_restart, test_setup),
    };
    return cmocka_run_group_tests_name("queue/resque", tests, group_setup, group_teardown);
}
