/*
 * Resque's wire format over hiredis: the connection with reconnect/backoff,
 * worker registration, heartbeat, stats keys, queue listing and failure
 * entries. Reservation and recovery live in reliable.c.
 */
#include "queue/resque_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qr/clock.h"
#include "qr/fs.h"
#include "qr/payload.h"

#define STAGE QR_RESQUE_STAGE

/* Milliseconds of the monotonic clock, for the reconnect backoff. */
static long long mono_ms(void)
{
    return (long long)(qr_now() * 1000.0);
}

static struct timeval ms_tv(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

static char *dup_or(const char *s, const char *dflt)
{
    return strdup(s ? s : dflt);
}

int qr_resque_new(qr_resque **out, const qr_resque_opts *opts, qr_error *err)
{
    qr_resque_opts o = QR_RESQUE_OPTS_INIT;
    qr_resque *r = NULL;

    *out = NULL;
    if (opts)
        o = *opts;
    if (o.port < 0 || o.port > 65535 || o.db < 0 || o.connect_timeout_ms < 0 ||
        o.command_timeout_ms < 0 || o.backoff_min_ms < 0 || o.backoff_max_ms < 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "invalid Redis options");
    if (o.ns && (!o.ns[0] || strlen(o.ns) > 256))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "the Redis namespace must be 1..256 bytes");
    r = calloc(1, sizeof(*r));
    if (!r)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    r->host = dup_or(o.host, "127.0.0.1");
    r->ns = dup_or(o.ns, "resque");
    r->password = o.password ? strdup(o.password) : NULL;
    if (!r->host || !r->ns || (o.password && !r->password)) {
        qr_resque_free(r);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    }
    r->port = o.port ? o.port : 6379;
    r->db = o.db;
    r->connect_timeout_ms = o.connect_timeout_ms ? o.connect_timeout_ms : 2000;
    r->command_timeout_ms = o.command_timeout_ms ? o.command_timeout_ms : 5000;
    r->backoff_min_ms = o.backoff_min_ms ? o.backoff_min_ms : 100;
    r->backoff_max_ms = o.backoff_max_ms ? o.backoff_max_ms : 10000;
    if (r->backoff_max_ms < r->backoff_min_ms)
        r->backoff_max_ms = r->backoff_min_ms;
    r->backoff_cur_ms = r->backoff_min_ms;
    r->clock = o.clock;
    r->clock_ud = o.clock_ud;
    *out = r;
    return 0;
}

void qr_resque_free(qr_resque *r)
{
    if (!r)
        return;
    if (r->c)
        redisFree(r->c);
    free(r->host);
    free(r->password);
    free(r->ns);
    free(r->id);
    free(r->machine);
    free(r);
}

int qr_resque_set_local(qr_resque *r, const char *machine, qr_resque_alive_fn alive, void *ud,
                        qr_error *err)
{
    char *m = machine ? strdup(machine) : NULL;
    if (machine && !m)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    free(r->machine);
    r->machine = m;
    r->alive = alive;
    r->alive_ud = ud;
    return 0;
}

/* Drops the connection and schedules the next reconnect attempt. */
static void drop(qr_resque *r)
{
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
    r->next_try_ms = mono_ms() + r->backoff_cur_ms;
    r->backoff_cur_ms =
        r->backoff_cur_ms > r->backoff_max_ms / 2 ? r->backoff_max_ms : r->backoff_cur_ms * 2;
}

/* The one place hiredis errors become qr_errors (`c->err`/`errstr`, or an error reply). */
static int error_from_redis(qr_error *err, const qr_resque *r, const redisContext *c,
                            const redisReply *reply, const char *what)
{
    if (reply && reply->type == REDIS_REPLY_ERROR)
        return qr_error_set(err, QR_ERR_REDIS_UNAVAILABLE, STAGE, "%s: Redis replied %.*s", what,
                            (int)(reply->len > 200 ? 200 : reply->len), reply->str);
    if (c && c->err)
        return qr_error_set_cause(err, QR_ERR_REDIS_UNAVAILABLE, c->err, STAGE, "%s on %s:%d: %s",
                                  what, r->host, r->port, c->errstr);
    return qr_error_set(err, QR_ERR_REDIS_UNAVAILABLE, STAGE, "%s on %s:%d: no reply", what,
                        r->host, r->port);
}

/* Sends one command on a fresh connection during the handshake (AUTH, SELECT). */
static int handshake(qr_resque *r, int argc, const char **argv, qr_error *err)
{
    redisReply *reply = redisCommandArgv(r->c, argc, argv, NULL);
    int rc = 0;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        rc = error_from_redis(err, r, r->c, reply, argv[0]);
    if (reply)
        freeReplyObject(reply);
    return rc;
}

static int ensure_connected(qr_resque *r, qr_error *err)
{
    char db[16];
    int rc;

    if (r->c)
        return 0;
    long long now = mono_ms();
    if (r->next_try_ms && now < r->next_try_ms)
        return qr_error_set(err, QR_ERR_REDIS_UNAVAILABLE, STAGE,
                            "Redis at %s:%d is down; next reconnect in %lld ms", r->host, r->port,
                            r->next_try_ms - now);
    r->c = redisConnectWithTimeout(r->host, r->port, ms_tv(r->connect_timeout_ms));
    if (!r->c || r->c->err) {
        rc = error_from_redis(err, r, r->c, NULL, "connect");
        drop(r);
        return rc;
    }
    if (redisSetTimeout(r->c, ms_tv(r->command_timeout_ms)) != REDIS_OK) {
        rc = error_from_redis(err, r, r->c, NULL, "set timeout");
        drop(r);
        return rc;
    }
    if (r->password) {
        const char *argv[] = {"AUTH", r->password};
        if ((rc = handshake(r, 2, argv, err)) < 0) {
            drop(r);
            return rc;
        }
    }
    if (r->db > 0) {
        snprintf(db, sizeof(db), "%d", r->db);
        const char *argv[] = {"SELECT", db};
        if ((rc = handshake(r, 2, argv, err)) < 0) {
            drop(r);
            return rc;
        }
    }
    return 0;
}

int qr_resque__cmd(redisReply **reply, qr_resque *r, int argc, const char **argv,
                   const size_t *lens, qr_error *err)
{
    int rc;
    *reply = NULL;
    if ((rc = ensure_connected(r, err)) < 0)
        return rc;
    redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
    if (!rep) {
        /* The reply is lost: the command may or may not have run. Callers are idempotent. */
        rc = error_from_redis(err, r, r->c, NULL, argv[0]);
        drop(r);
        return rc;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        rc = error_from_redis(err, r, r->c, rep, argv[0]);
        freeReplyObject(rep);
        return rc;
    }
    r->backoff_cur_ms = r->backoff_min_ms;
    r->next_try_ms = 0;
    *reply = rep;
    return 0;
}

int qr_resque__cmdv(qr_resque *r, qr_error *err, int argc, const char **argv)
{
    redisReply *rep = NULL;
    int rc = qr_resque__cmd(&rep, r, argc, argv, NULL, err);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

int qr_resque__key(char *buf, const qr_resque *r, qr_error *err, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(buf, QR_RESQUE_MAX_KEY, "%s:", r->ns);
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, QR_RESQUE_MAX_KEY - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)n + (size_t)m >= QR_RESQUE_MAX_KEY)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "Redis key too long");
    return 0;
}

int qr_resque_backoff_ms(const qr_resque *r)
{
    if (!r || r->c || !r->next_try_ms)
        return 0;
    long long left = r->next_try_ms - mono_ms();
    return left > 0 ? (int)left : 0;
}

void qr_resque_retry_now(qr_resque *r)
{
    if (r)
        r->next_try_ms = 0;
}

time_t qr_resque__now(const qr_resque *r)
{
    return r->clock ? r->clock(r->clock_ud) : time(NULL);
}

int qr_resque__server_time(time_t *out, qr_resque *r, qr_error *err)
{
    redisReply *rep = NULL;
    const char *argv[] = {"TIME"};
    int rc = qr_resque__cmd(&rep, r, 1, argv, NULL, err);
    if (rc < 0)
        return rc;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return qr_error_set(err, QR_ERR_REDIS_UNAVAILABLE, STAGE, "TIME: unexpected reply");
    }
    *out = (time_t)strtoll(rep->element[0]->str, NULL, 10);
    freeReplyObject(rep);
    return 0;
}

void qr_resque__fmt_failed_at(char *buf, size_t n, time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, n, "%Y/%m/%d %H:%M:%S %Z", &tm);
}

void qr_resque__fmt_run_at(char *buf, size_t n, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void qr_resque__fmt_heartbeat(char *buf, size_t n, time_t t)
{
    struct tm tm;
    char z[8];
    localtime_r(&t, &tm);
    size_t len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    /* Ruby's Time#iso8601 writes the offset as +HH:MM; strftime's %z has no colon. */
    if (strftime(z, sizeof(z), "%z", &tm) == 5 && len + 7 <= n)
        snprintf(buf + len, n - len, "%.3s:%.2s", z, z + 3);
}

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

int qr_resque__parse_iso8601(time_t *out, const char *s)
{
    int y, mo, d, h, mi, sec, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
        used != 19 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    const char *z = s + used;
    long off = 0;
    if (*z == '.') /* fractional seconds */
        while (*++z >= '0' && *z <= '9')
            ;
    if (*z == 'Z' && z[1] == '\0') {
        off = 0;
    } else if ((*z == '+' || *z == '-') && z[1] && z[2] && z[3] == ':' && z[6] == '\0') {
        int oh = (z[1] - '0') * 10 + (z[2] - '0'), om = (z[4] - '0') * 10 + (z[5] - '0');
        off = (oh * 3600L + om * 60L) * (*z == '-' ? -1 : 1);
    } else {
        return -1;
    }
    long long days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = (time_t)(days * 86400 + h * 3600LL + mi * 60LL + sec - off);
    return 0;
}

int qr_resque_set_worker(qr_resque *r, const char *host, long pid, const char *const *queues,
                         size_t nqueues, qr_error *err)
{
    char id[QR_RESQUE_MAX_KEY / 2];
    if (!host || !host[0] || strpbrk(host, ":,") || strlen(host) > 255 || pid <= 0 ||
        nqueues == 0 || nqueues > QR_RESQUE_MAX_QUEUES)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "a worker needs a host without ':' or ',', a pid and 1..%d queues",
                            QR_RESQUE_MAX_QUEUES);
    int n = snprintf(id, sizeof(id), "%s:%ld:", host, pid);
    for (size_t i = 0; i < nqueues; i++) {
        const char *q = queues[i];
        if (!q || !q[0] || strpbrk(q, ":,"))
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                                "queue name \"%s\" is empty or contains ':' or ','", q ? q : "");
        int m = snprintf(id + n, sizeof(id) - (size_t)n, "%s%s", i ? "," : "", q);
        if (m < 0 || (size_t)(n + m) >= sizeof(id))
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "worker id too long");
        n += m;
    }
    char *dup = strdup(id);
    if (!dup)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    free(r->id);
    r->id = dup;
    return 0;
}

const char *qr_resque_worker_id(const qr_resque *r)
{
    return r ? r->id : NULL;
}

static int need_id(const qr_resque *r, qr_error *err)
{
    if (!r->id)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "no worker identity (call qr_resque_set_worker)");
    return 0;
}

int qr_resque_ping(qr_resque *r, qr_error *err)
{
    const char *argv[] = {"PING"};
    return qr_resque__cmdv(r, err, 1, argv);
}

int qr_resque_heartbeat(qr_resque *r, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], val[64];
    time_t now = 0;
    int rc;
    if ((rc = need_id(r, err)) < 0 || (rc = qr_resque__server_time(&now, r, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "workers:heartbeat")) < 0)
        return rc;
    qr_resque__fmt_heartbeat(val, sizeof(val), now);
    const char *argv[] = {"HSET", key, r->id, val};
    return qr_resque__cmdv(r, err, 4, argv);
}

int qr_resque_register(qr_resque *r, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], started[64];
    struct tm tm;
    int rc;
    if ((rc = qr_resque_heartbeat(r, err)) < 0 || (rc = qr_resque__key(key, r, err, "workers")) < 0)
        return rc;
    const char *sadd[] = {"SADD", key, r->id};
    if ((rc = qr_resque__cmdv(r, err, 3, sadd)) < 0)
        return rc;
    time_t now = qr_resque__now(r);
    localtime_r(&now, &tm);
    strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S %z", &tm);
    if ((rc = qr_resque__key(key, r, err, "worker:%s:started", r->id)) < 0)
        return rc;
    const char *set[] = {"SET", key, started};
    return qr_resque__cmdv(r, err, 3, set);
}

int qr_resque_set_info(qr_resque *r, const char *json, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    int rc;
    if (!r->id)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "no worker identity (call qr_resque_set_worker)");
    if ((rc = qr_resque__key(key, r, err, "quire:worker:%s:info", r->id)) < 0)
        return rc;
    const char *set[] = {"SET", key, json};
    return qr_resque__cmdv(r, err, 3, set);
}

int qr_resque__forget_worker(qr_resque *r, const char *wid, qr_error *err)
{
    char k1[QR_RESQUE_MAX_KEY], k2[QR_RESQUE_MAX_KEY], k3[QR_RESQUE_MAX_KEY], k4[QR_RESQUE_MAX_KEY];
    char k5[QR_RESQUE_MAX_KEY];
    int rc;
    if ((rc = qr_resque__key(k1, r, err, "workers")) < 0)
        return rc;
    const char *srem[] = {"SREM", k1, wid};
    if ((rc = qr_resque__cmdv(r, err, 3, srem)) < 0)
        return rc;
    if ((rc = qr_resque__key(k1, r, err, "worker:%s", wid)) < 0 ||
        (rc = qr_resque__key(k2, r, err, "worker:%s:started", wid)) < 0 ||
        (rc = qr_resque__key(k3, r, err, "stat:processed:%s", wid)) < 0 ||
        (rc = qr_resque__key(k4, r, err, "stat:failed:%s", wid)) < 0 ||
        (rc = qr_resque__key(k5, r, err, "quire:worker:%s:info", wid)) < 0)
        return rc;
    const char *del[] = {"DEL", k1, k2, k3, k4, k5};
    if ((rc = qr_resque__cmdv(r, err, 6, del)) < 0 ||
        (rc = qr_resque__key(k1, r, err, "workers:heartbeat")) < 0)
        return rc;
    const char *hdel[] = {"HDEL", k1, wid};
    return qr_resque__cmdv(r, err, 3, hdel);
}

int qr_resque_paused(bool *out, qr_resque *r, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *out = false;
    if ((rc = qr_resque__key(key, r, err, "pause-all-workers")) < 0)
        return rc;
    const char *argv[] = {"GET", key};
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    *out = rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "true") == 0;
    freeReplyObject(rep);
    return 0;
}

int qr_resque_llen(long long *out, qr_resque *r, const char *queue, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *out = 0;
    if ((rc = qr_resque__key(key, r, err, "queue:%s", queue)) < 0)
        return rc;
    const char *argv[] = {"LLEN", key};
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    *out = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    freeReplyObject(rep);
    return 0;
}

int qr_resque_oldest(double *out, qr_resque *r, const char *queue, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *out = 0;
    if ((rc = qr_resque__key(key, r, err, "queue:%s", queue)) < 0)
        return rc;
    /* Resque pushes at the tail and pops at the head: the head waited longest. */
    const char *argv[] = {"LINDEX", key, "0"};
    if ((rc = qr_resque__cmd(&rep, r, 3, argv, NULL, err)) < 0)
        return rc;
    if (rep->type == REDIS_REPLY_STRING)
        *out = qr_payload_enqueued_at(rep->str, rep->len);
    freeReplyObject(rep);
    return 0;
}

int qr_resque_push(qr_resque *r, const char *queue, const char *payload, size_t len, qr_error *err)
{
    char qkey[QR_RESQUE_MAX_KEY], skey[QR_RESQUE_MAX_KEY];
    int rc;
    if (!queue || !queue[0] || strchr(queue, ':'))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "invalid queue name");
    if ((rc = qr_resque__key(skey, r, err, "queues")) < 0 ||
        (rc = qr_resque__key(qkey, r, err, "queue:%s", queue)) < 0)
        return rc;
    const char *sadd[] = {"SADD", skey, queue};
    if ((rc = qr_resque__cmdv(r, err, 3, sadd)) < 0)
        return rc;
    const char *argv[] = {"RPUSH", qkey, payload};
    const size_t lens[] = {5, strlen(qkey), len};
    redisReply *rep = NULL;
    if ((rc = qr_resque__cmd(&rep, r, 3, argv, lens, err)) < 0)
        return rc;
    freeReplyObject(rep);
    return 0;
}

void qr_resque_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool strv_has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* Resque's Worker::WILDCARDS: any of these (or a "!" entry) makes the queue list dynamic. */
static bool has_wildcard(const char *q)
{
    return strpbrk(q, "*?{}[]") != NULL;
}

/* Ruby's File.fnmatch? without flags: wildcards do not match a leading '.'. */
static bool glob_match(const char *pattern, const char *name)
{
    return fnmatch(pattern, name, FNM_PERIOD) == 0;
}

int qr_resque_queues(char ***out, size_t *nout, qr_resque *r, const char *const *spec, size_t nspec,
                     qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    char **all = NULL, **res = NULL;
    size_t nall = 0, n = 0;
    int rc = 0;

    *out = NULL;
    *nout = 0;
    if (nspec > QR_RESQUE_MAX_QUEUES)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "too many queues");
    bool dynamic = false;
    for (size_t i = 0; i < nspec; i++)
        dynamic = dynamic || spec[i][0] == '!' || has_wildcard(spec[i]);
    if (dynamic) {
        if ((rc = qr_resque__key(key, r, err, "queues")) < 0)
            goto out;
        const char *argv[] = {"SMEMBERS", key};
        if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
            goto out;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements) {
            all = calloc(rep->elements, sizeof(*all));
            if (!all) {
                rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
                goto out;
            }
            for (size_t i = 0; i < rep->elements; i++)
                if (rep->element[i]->type == REDIS_REPLY_STRING)
                    all[nall++] = rep->element[i]->str;
            qsort(all, nall, sizeof(*all), cmp_str);
        }
    }
    /* A static list has nspec names; a dynamic one holds each known queue at most once. */
    res = calloc((dynamic ? nall : nspec) + 1, sizeof(*res));
    if (!res) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nspec; i++) {
        if (spec[i][0] == '!')
            continue;
        /*
         * Resque 3 (Worker#queues, #glob_match): without wildcards the list is
         * used as given; with them every entry, plain names included, is
         * matched against the known queues (sorted), skipping "!" patterns.
         */
        for (size_t j = 0; j < (dynamic ? nall : 1); j++) {
            const char *q = dynamic ? all[j] : spec[i];
            if (dynamic) {
                bool skip = !glob_match(spec[i], q) || strv_has(res, n, q);
                for (size_t k = 0; !skip && k < nspec; k++)
                    skip = spec[k][0] == '!' && glob_match(spec[k] + 1, q);
                if (skip)
                    continue;
            }
            if (!(res[n] = strdup(q))) {
                rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
                goto out;
            }
            n++;
        }
    }
    *out = res;
    *nout = n;
    res = NULL;
out:
    qr_resque_strv_free(res);
    free(all);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* The payload as JSON when it parses, else as a JSON string (so the entry stays valid JSON). */
static json_t *payload_value(const char *payload, size_t len)
{
    json_t *v = json_loadb(payload, len, 0, NULL);
    return v ? v : json_stringn(payload, len);
}

int qr_resque__failure_json(char **out, const qr_resque *r, const char *payload, size_t len,
                            const qr_resque_failure *f, const char *worker, const char *queue,
                            qr_error *err)
{
    char failed_at[64];
    json_t *o = json_object(), *bt = json_array();
    int bad = !o || !bt;

    *out = NULL;
    qr_resque__fmt_failed_at(failed_at, sizeof(failed_at), qr_resque__now(r));
    /* Resque's key order (failure/redis.rb#save); resque-web reads every one of them. */
    bad = bad || json_object_set_new(o, "failed_at", json_string(failed_at));
    bad = bad || json_object_set_new(o, "payload", payload_value(payload, len));
    bad = bad || json_object_set_new(o, "exception",
                                     json_string(f->exception ? f->exception : "Quire::JobFailed"));
    bad = bad || json_object_set_new(o, "error", json_string(f->error ? f->error : ""));
    for (size_t i = 0; !bad && f->backtrace && i < f->backtrace_len; i++)
        bad = json_array_append_new(bt, json_string(f->backtrace[i] ? f->backtrace[i] : ""));
    if (!bad) {
        bad = json_object_set_new(o, "backtrace", bt);
        bt = NULL;
    }
    bad = bad || json_object_set_new(o, "worker", json_string(worker));
    bad = bad || json_object_set_new(o, "queue", json_string(queue));
    if (!bad)
        *out = json_dumps(o, JSON_COMPACT);
    json_decref(bt);
    json_decref(o);
    if (!*out)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE,
                            "cannot build the failure entry (out of memory or invalid UTF-8)");
    return 0;
}

/* ---- shared by the operator views (status.c, failures.c) and reliable.c ---- */

int qr_resque__members(redisReply **rep, const char ***out, size_t *n, qr_resque *r,
                       const char *key, qr_error *err)
{
    const char *argv[] = {"SMEMBERS", key};
    int rc;
    *out = NULL;
    *n = 0;
    if ((rc = qr_resque__cmd(rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    if ((*rep)->type != REDIS_REPLY_ARRAY || (*rep)->elements == 0)
        return 0;
    if ((*rep)->elements > QR_RESQUE_MAX_LIST)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "%s has over %d members", key,
                            QR_RESQUE_MAX_LIST);
    const char **v = calloc((*rep)->elements, sizeof(*v));
    if (!v)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    for (size_t i = 0; i < (*rep)->elements; i++)
        if ((*rep)->element[i]->type == REDIS_REPLY_STRING)
            v[(*n)++] = (*rep)->element[i]->str;
    qsort(v, *n, sizeof(*v), cmp_str);
    *out = v;
    return 0;
}

int qr_resque__get_int(long long *out, qr_resque *r, qr_error *err, const char *op, const char *key)
{
    redisReply *rep = NULL;
    const char *argv[] = {op, key};
    int rc;
    *out = 0;
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    if (rep->type == REDIS_REPLY_INTEGER)
        *out = rep->integer;
    else if (rep->type == REDIS_REPLY_STRING)
        *out = strtoll(rep->str, NULL, 10);
    freeReplyObject(rep);
    return 0;
}

int qr_resque__json_set(json_t *obj, const char *k, json_t *v, qr_error *err)
{
    if (!v || json_object_set_new(obj, k, v) < 0)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    return 0;
}

int qr_resque__eval(redisReply **rep, qr_resque *r, const char *script, int nkeys, int argc,
                    const char **argv, size_t *lens, qr_error *err)
{
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = nk;
    for (int i = 0; i < 3; i++)
        lens[i] = strlen(argv[i]);
    for (int i = 3; i < argc; i++)
        if (lens[i] == (size_t)-1)
            lens[i] = strlen(argv[i]);
    return qr_resque__cmd(rep, r, argc, argv, lens, err);
}

int qr_resque__oom(qr_error *err)
{
    return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
}

int qr_resque__payload_summary(json_t *obj, const json_t *payload, qr_error *err)
{
    const char *cls = NULL;
    const json_t *job = qr_payload_peek(payload, &cls);
    json_t *id = json_object_get(job, "book_id");
    int rc;
    if ((rc = qr_resque__json_set(obj, "class", cls ? json_string(cls) : json_null(), err)) < 0)
        return rc;
    return qr_resque__json_set(
        obj, "book_id", json_is_string(id) || json_is_integer(id) ? json_incref(id) : json_null(),
        err);
}

/* ---- redis:// URLs ---- */

static int parse_int(long *out, const char *s, long lo, long hi)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || !end || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int qr_resque_opts_parse_url(qr_resque_opts *opts, char **buf, const char *url, qr_error *err)
{
    long v = 0;
    *buf = NULL;
    if (strncmp(url, "redis://", 8) != 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "want redis://[:password@]host[:port][/db], got '%s'", url);
    char *p = strdup(url + 8);
    if (!p)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    *buf = p;
    char *at = strrchr(p, '@');
    if (at) {
        *at = '\0';
        char *colon = strchr(p, ':');
        opts->password = colon ? colon + 1 : p;
        p = at + 1;
    }
    char *slash = strchr(p, '/');
    if (slash) {
        *slash = '\0';
        if (slash[1] && parse_int(&v, slash + 1, 0, 1 << 20) < 0)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "bad database in '%s'", url);
        opts->db = slash[1] ? (int)v : 0;
    }
    char *colon = strrchr(p, ':');
    if (colon) {
        *colon = '\0';
        if (parse_int(&v, colon + 1, 1, 65535) < 0)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "bad port in '%s'", url);
        opts->port = (int)v;
    }
    if (p[0])
        opts->host = p;
    return 0;
}

void qr_resque_library_version(char *out, size_t n)
{
    char file[256];
    const char *v = NULL;
    if (qr_fs_loaded_library(file, sizeof(file), "libhiredis.so"))
        v = strstr(file, ".so.") ? strstr(file, ".so.") + 4 : NULL;
    snprintf(out, n, "%s", v && *v ? v : "unknown");
}
