/*
 * Resque's failed list, as resque-web shows and edits it: listing entries,
 * retrying one (its payload back to the tail of its queue) and removing one,
 * each write a single Lua script that acts only if the entry is still what
 * was read, and the recent failures `quire status` shows.
 */
#include "queue/resque_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define STAGE QR_RESQUE_STAGE

/* A raw failure entry as JSON (a string when it does not parse). */
static json_t *entry_value(const char *s, size_t len)
{
    json_t *v = json_loadb(s, len, 0, NULL);
    return v ? v : json_stringn(s, len);
}

static int lrange_failed(redisReply **rep, qr_resque *r, long long start, long long stop,
                         qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], a[32], b[32];
    int rc;
    if ((rc = qr_resque__key(key, r, err, "failed")) < 0)
        return rc;
    snprintf(a, sizeof(a), "%lld", start);
    snprintf(b, sizeof(b), "%lld", stop);
    const char *argv[] = {"LRANGE", key, a, b};
    return qr_resque__cmd(rep, r, 4, argv, NULL, err);
}

int qr_resque_failures(struct json_t **out, long long *total, qr_resque *r, long long start,
                       long long count, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    json_t *arr = NULL;
    int rc;

    *out = NULL;
    *total = 0;
    if (start < 0 || count < 0 || count > QR_RESQUE_MAX_LIST)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "failures: start must be >= 0 and count 0..%d", QR_RESQUE_MAX_LIST);
    if ((rc = qr_resque__key(key, r, err, "failed")) < 0 ||
        (rc = qr_resque__get_int(total, r, err, "LLEN", key)) < 0)
        return rc;
    if (!(arr = json_array()))
        return qr_resque__oom(err);
    if (count > 0 && start < *total) {
        if ((rc = lrange_failed(&rep, r, start, start + count - 1, err)) < 0)
            goto out;
        for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
            const redisReply *e = rep->element[i];
            if (e->type != REDIS_REPLY_STRING)
                continue;
            json_t *item = json_object();
            if (!item || json_array_append_new(arr, item) < 0 ||
                (rc = qr_resque__json_set(item, "index", json_integer(start + (long long)i), err)) <
                    0 ||
                (rc = qr_resque__json_set(item, "entry", entry_value(e->str, e->len), err)) < 0) {
                rc = rc < 0 ? rc : qr_resque__oom(err);
                goto out;
            }
        }
    }
    *out = arr;
    arr = NULL;
    rc = 0;
out:
    if (rep)
        freeReplyObject(rep);
    json_decref(arr);
    return rc;
}

/* One recent-failures row: index, failed_at, exception, error, queue, class, book_id. */
static int failure_summary(json_t **out, long long index, const char *s, size_t len, qr_error *err)
{
    json_t *e = json_loadb(s, len, 0, NULL);
    json_t *o = json_object();
    int rc = 0;
    static const char *const fields[] = {"failed_at", "exception", "error",
                                         "queue",     "worker",    "retried_at"};
    *out = NULL;
    if (!o) {
        rc = qr_resque__oom(err);
        goto out;
    }
    if ((rc = qr_resque__json_set(o, "index", json_integer(index), err)) < 0)
        goto out;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *v = json_object_get(e, fields[i]);
        if ((rc = qr_resque__json_set(o, fields[i],
                                      json_is_string(v) ? json_incref(v) : json_null(), err)) < 0)
            goto out;
    }
    if ((rc = qr_resque__payload_summary(o, json_object_get(e, "payload"), err)) < 0)
        goto out;
    *out = o;
    o = NULL;
out:
    json_decref(e);
    json_decref(o);
    return rc;
}

int qr_resque__recent_failures(json_t *arr, qr_resque *r, long long nfailed, size_t n,
                               qr_error *err)
{
    redisReply *rep = NULL;
    int rc;
    if (n == 0 || nfailed == 0)
        return 0;
    long long first = nfailed > (long long)n ? nfailed - (long long)n : 0;
    if ((rc = lrange_failed(&rep, r, first, nfailed - 1, err)) < 0)
        return rc;
    /* Newest first, as resque-web lists them. */
    for (size_t i = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0; i-- > 0;) {
        const redisReply *e = rep->element[i];
        json_t *f = NULL;
        if (e->type != REDIS_REPLY_STRING)
            continue;
        if ((rc = failure_summary(&f, first + (long long)i, e->str, e->len, err)) < 0)
            break;
        if (json_array_append_new(arr, f) < 0) {
            rc = qr_resque__oom(err);
            break;
        }
    }
    freeReplyObject(rep);
    return rc;
}

/* LINDEX failed <index>: the raw entry (*rep owns it). */
static int failed_entry(redisReply **rep, qr_resque *r, long long index, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], idx[32];
    int rc;
    if (index < 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "no failure #%lld", index);
    if ((rc = qr_resque__key(key, r, err, "failed")) < 0)
        return rc;
    snprintf(idx, sizeof(idx), "%lld", index);
    const char *argv[] = {"LINDEX", key, idx};
    if ((rc = qr_resque__cmd(rep, r, 3, argv, NULL, err)) < 0)
        return rc;
    if ((*rep)->type != REDIS_REPLY_STRING)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "no failure #%lld", index);
    return 0;
}

/*
 * KEYS: failed, queue:<q>, queues. ARGV: index, entry as read, new entry,
 * payload, queue name. Only when the entry is unchanged: LSET it and push the
 * payload to the tail of its queue.
 */
static const char retry_lua[] =
    "if redis.call('LINDEX', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end\n"
    "redis.call('LSET', KEYS[1], ARGV[1], ARGV[3])\n"
    "redis.call('SADD', KEYS[3], ARGV[5])\n"
    "redis.call('RPUSH', KEYS[2], ARGV[4])\n"
    "return 1\n";

/* KEYS: failed. ARGV: index, entry as read, sentinel. LSET to the sentinel, then LREM it. */
static const char remove_lua[] =
    "if redis.call('LINDEX', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end\n"
    "redis.call('LSET', KEYS[1], ARGV[1], ARGV[3])\n"
    "redis.call('LREM', KEYS[1], 1, ARGV[3])\n"
    "return 1\n";

/* Runs `script` with `n` arguments (keys first); *res is its integer reply, 0 otherwise. */
static int run_script(long long *res, qr_resque *r, const char *script, int nkeys, int n,
                      const char **args, const size_t *lens, qr_error *err)
{
    const char *argv[12];
    size_t alens[12];
    redisReply *rep = NULL;
    int rc;
    for (int i = 0; i < n && i < 9; i++) {
        argv[3 + i] = args[i];
        alens[3 + i] = lens[i];
    }
    if ((rc = qr_resque__eval(&rep, r, script, nkeys, 3 + n, argv, alens, err)) < 0)
        return rc;
    *res = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    freeReplyObject(rep);
    return 0;
}

/* Resque's retried_at: Time.now.strftime("%Y/%m/%d %H:%M:%S"), local time, no zone. */
static void fmt_retried_at(char *buf, size_t n, time_t t)
{
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, n, "%Y/%m/%d %H:%M:%S", &tm) == 0)
        snprintf(buf, n, "%s", "1970/01/01 00:00:00");
}

static int changed(qr_error *err, long long index)
{
    return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                        "failure #%lld changed while it was being updated; list again", index);
}

int qr_resque_failure_retry(char **queue_out, qr_resque *r, long long index, qr_error *err)
{
    char kfailed[QR_RESQUE_MAX_KEY], kqueue[QR_RESQUE_MAX_KEY], kqueues[QR_RESQUE_MAX_KEY];
    char idx[32], retried[64];
    redisReply *rep = NULL;
    json_t *entry = NULL, *payload = NULL;
    char *new_entry = NULL, *push = NULL;
    long long res = 0;
    int rc;

    *queue_out = NULL;
    if ((rc = failed_entry(&rep, r, index, err)) < 0)
        goto out;
    entry = json_loadb(rep->str, rep->len, 0, NULL);
    const char *queue = json_string_value(json_object_get(entry, "queue"));
    json_t *p = json_object_get(entry, "payload");
    if (!json_is_object(entry) || !queue || !queue[0] || strchr(queue, ':') ||
        !(json_is_object(p) || json_is_string(p))) {
        rc = qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE,
                          "failure #%lld has no queue or payload to retry", index);
        goto out;
    }
    if (json_is_string(p)) {
        /* quire stores a payload that is not JSON as a string: push it back as it was. */
        push = strndup(json_string_value(p), json_string_length(p));
    } else {
        /* Job.create(queue, class, *args): Resque.encode(class: ..., args: [...]). */
        json_t *args = json_object_get(p, "args");
        json_t *cls = json_object_get(p, "class");
        payload = json_pack("{s:O, s:o}", "class", cls ? cls : json_null(), "args",
                            json_is_array(args) ? json_incref(args) : json_array());
        push = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    }
    fmt_retried_at(retried, sizeof(retried), qr_resque__now(r));
    if (!push || json_object_set_new(entry, "retried_at", json_string(retried)) < 0 ||
        !(new_entry = json_dumps(entry, JSON_COMPACT))) {
        rc = qr_resque__oom(err);
        goto out;
    }
    if ((rc = qr_resque__key(kfailed, r, err, "failed")) < 0 ||
        (rc = qr_resque__key(kqueue, r, err, "queue:%s", queue)) < 0 ||
        (rc = qr_resque__key(kqueues, r, err, "queues")) < 0)
        goto out;
    snprintf(idx, sizeof(idx), "%lld", index);
    const char *args[] = {kfailed, kqueue, kqueues, idx, rep->str, new_entry, push, queue};
    size_t lens[] = {strlen(kfailed), strlen(kqueue),    strlen(kqueues), strlen(idx),
                     rep->len,        strlen(new_entry), strlen(push),    strlen(queue)};
    if ((rc = run_script(&res, r, retry_lua, 3, 8, args, lens, err)) < 0)
        goto out;
    if (res != 1) {
        rc = changed(err, index);
        goto out;
    }
    if (!(*queue_out = strdup(queue)))
        rc = qr_resque__oom(err);
out:
    free(push);
    free(new_entry);
    json_decref(payload);
    json_decref(entry);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

int qr_resque_failure_remove(qr_resque *r, long long index, qr_error *err)
{
    char kfailed[QR_RESQUE_MAX_KEY], idx[32], sentinel[64];
    redisReply *rep = NULL;
    long long res = 0;
    int rc;
    if ((rc = failed_entry(&rep, r, index, err)) < 0)
        goto out;
    if ((rc = qr_resque__key(kfailed, r, err, "failed")) < 0)
        goto out;
    snprintf(idx, sizeof(idx), "%lld", index);
    /* Unique per call, so no other entry can equal it (Resque uses a random hex string). */
    snprintf(sentinel, sizeof(sentinel), "quire:removed:%lld:%lld", (long long)qr_resque__now(r),
             index);
    const char *args[] = {kfailed, idx, rep->str, sentinel};
    size_t lens[] = {strlen(kfailed), strlen(idx), rep->len, strlen(sentinel)};
    if ((rc = run_script(&res, r, remove_lua, 1, 4, args, lens, err)) < 0)
        goto out;
    if (res != 1)
        rc = changed(err, index);
out:
    if (rep)
        freeReplyObject(rep);
    return rc;
}
