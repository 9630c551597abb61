/*
 * Operator views and actions over Resque's keys, as resque-web offers them:
 * a status snapshot, the failed list (list, retry, remove), the heartbeat age
 * of one host's workers, and redis:// URL parsing for the command line.
 * Reads are separate round trips (a snapshot, not a transaction); the two
 * writes that must not race with workers are single Lua scripts.
 */
#include "queue/resque_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qr/payload.h"

#define STAGE QR_RESQUE_STAGE
/* Most entries one failures call returns, queues/workers one status reports. */
#define MAX_LIST 10000

static int oom(qr_error *err)
{
    return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
}

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
        return oom(err);
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

/* Runs a command whose arguments are NUL-terminated strings. */
static int cmd(redisReply **rep, qr_resque *r, qr_error *err, int argc, const char **argv)
{
    return qr_resque__cmd(rep, r, argc, argv, NULL, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* SMEMBERS of a key as a sorted array of borrowed strings (valid while *rep lives). */
static int members(redisReply **rep, const char ***out, size_t *n, qr_resque *r, const char *key,
                   qr_error *err)
{
    const char *argv[] = {"SMEMBERS", key};
    int rc;
    *out = NULL;
    *n = 0;
    if ((rc = cmd(rep, r, err, 2, argv)) < 0)
        return rc;
    if ((*rep)->type != REDIS_REPLY_ARRAY || (*rep)->elements == 0)
        return 0;
    if ((*rep)->elements > MAX_LIST)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "%s has over %d members", key,
                            MAX_LIST);
    const char **v = calloc((*rep)->elements, sizeof(*v));
    if (!v)
        return oom(err);
    for (size_t i = 0; i < (*rep)->elements; i++)
        if ((*rep)->element[i]->type == REDIS_REPLY_STRING)
            v[(*n)++] = (*rep)->element[i]->str;
    qsort(v, *n, sizeof(*v), cmp_str);
    *out = v;
    return 0;
}

/* An integer reply (LLEN) or a string holding one (GET of a counter); 0 when nil. */
static int get_int(long long *out, qr_resque *r, qr_error *err, const char *op, const char *key)
{
    redisReply *rep = NULL;
    const char *argv[] = {op, key};
    int rc;
    *out = 0;
    if ((rc = cmd(&rep, r, err, 2, argv)) < 0)
        return rc;
    if (rep->type == REDIS_REPLY_INTEGER)
        *out = rep->integer;
    else if (rep->type == REDIS_REPLY_STRING)
        *out = strtoll(rep->str, NULL, 10);
    freeReplyObject(rep);
    return 0;
}

/* GET as a new JSON string, or JSON null when the key is missing. */
static int get_json_str(json_t **out, qr_resque *r, qr_error *err, const char *key)
{
    redisReply *rep = NULL;
    const char *argv[] = {"GET", key};
    int rc;
    *out = NULL;
    if ((rc = cmd(&rep, r, err, 2, argv)) < 0)
        return rc;
    *out = rep->type == REDIS_REPLY_STRING ? json_stringn(rep->str, rep->len) : json_null();
    freeReplyObject(rep);
    return *out ? 0 : oom(err);
}

static int set_new(json_t *obj, const char *k, json_t *v, qr_error *err)
{
    if (!v || json_object_set_new(obj, k, v) < 0)
        return oom(err);
    return 0;
}

/* The job object of a payload: args[0], or args[0].arguments[0] for the ActiveJob wrapper. */
static json_t *payload_job(json_t *payload, const char **cls)
{
    const char *c = json_string_value(json_object_get(payload, "class"));
    json_t *a0 = json_array_get(json_object_get(payload, "args"), 0);
    *cls = c;
    if (c && strcmp(c, QR_PAYLOAD_ACTIVEJOB_WRAPPER) == 0 && json_is_object(a0)) {
        const char *jc = json_string_value(json_object_get(a0, "job_class"));
        if (jc)
            *cls = jc;
        return json_array_get(json_object_get(a0, "arguments"), 0);
    }
    return a0;
}

/* Adds "class" and "book_id" (string, integer, or null) read from a payload value. */
static int add_payload_summary(json_t *obj, json_t *payload, qr_error *err)
{
    const char *cls = NULL;
    json_t *job = json_is_object(payload) ? payload_job(payload, &cls) : NULL;
    json_t *id = json_object_get(job, "book_id");
    int rc;
    if ((rc = set_new(obj, "class", cls ? json_string(cls) : json_null(), err)) < 0)
        return rc;
    return set_new(obj, "book_id",
                   json_is_string(id) || json_is_integer(id) ? json_incref(id) : json_null(), err);
}

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
    return cmd(rep, r, err, 4, argv);
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
    if (start < 0 || count < 0 || count > MAX_LIST)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "failures: start must be >= 0 and count 0..%d", MAX_LIST);
    if ((rc = qr_resque__key(key, r, err, "failed")) < 0 ||
        (rc = get_int(total, r, err, "LLEN", key)) < 0)
        return rc;
    if (!(arr = json_array()))
        return oom(err);
    if (count > 0 && start < *total) {
        if ((rc = lrange_failed(&rep, r, start, start + count - 1, err)) < 0)
            goto out;
        for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
            const redisReply *e = rep->element[i];
            if (e->type != REDIS_REPLY_STRING)
                continue;
            json_t *item = json_object();
            if (!item || json_array_append_new(arr, item) < 0 ||
                (rc = set_new(item, "index", json_integer(start + (long long)i), err)) < 0 ||
                (rc = set_new(item, "entry", entry_value(e->str, e->len), err)) < 0) {
                rc = rc < 0 ? rc : oom(err);
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
        rc = oom(err);
        goto out;
    }
    if ((rc = set_new(o, "index", json_integer(index), err)) < 0)
        goto out;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *v = json_object_get(e, fields[i]);
        if ((rc = set_new(o, fields[i], json_is_string(v) ? json_incref(v) : json_null(), err)) < 0)
            goto out;
    }
    if ((rc = add_payload_summary(o, json_object_get(e, "payload"), err)) < 0)
        goto out;
    *out = o;
    o = NULL;
out:
    json_decref(e);
    json_decref(o);
    return rc;
}

static int status_queues(json_t *snap, qr_resque *r, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    const char **names = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    int rc;
    if (!arr)
        return oom(err);
    if ((rc = set_new(snap, "queues", arr, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "queues")) < 0 ||
        (rc = members(&rep, &names, &n, r, key, err)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        long long depth = 0;
        json_t *q = NULL;
        if ((rc = qr_resque__key(key, r, err, "queue:%s", names[i])) < 0 ||
            (rc = get_int(&depth, r, err, "LLEN", key)) < 0)
            goto out;
        q = json_pack("{s:s, s:I}", "name", names[i], "depth", (json_int_t)depth);
        if (!q || json_array_append_new(arr, q) < 0) {
            rc = oom(err);
            goto out;
        }
    }
out:
    free(names);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* The "job" of a worker from worker:<id>: queue, run_at, class, book_id, elapsed_s. */
static int worker_job(json_t *w, qr_resque *r, const char *id, time_t now, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    json_t *val = NULL, *job = NULL;
    time_t run_at = 0;
    int rc;
    if ((rc = qr_resque__key(key, r, err, "worker:%s", id)) < 0)
        return rc;
    const char *argv[] = {"GET", key};
    if ((rc = cmd(&rep, r, err, 2, argv)) < 0)
        return rc;
    if (rep->type != REDIS_REPLY_STRING) {
        rc = set_new(w, "job", json_null(), err);
        goto out;
    }
    val = json_loadb(rep->str, rep->len, 0, NULL);
    const char *queue = json_string_value(json_object_get(val, "queue"));
    const char *ra = json_string_value(json_object_get(val, "run_at"));
    if (!(job = json_object())) {
        rc = oom(err);
        goto out;
    }
    if ((rc = set_new(job, "queue", queue ? json_string(queue) : json_null(), err)) < 0 ||
        (rc = set_new(job, "run_at", ra ? json_string(ra) : json_null(), err)) < 0 ||
        (rc = add_payload_summary(job, json_object_get(val, "payload"), err)) < 0)
        goto out;
    bool have_run_at = ra && qr_resque__parse_iso8601(&run_at, ra) == 0;
    if ((rc = set_new(job, "elapsed_s",
                      have_run_at ? json_integer((json_int_t)(now - run_at)) : json_null(), err)) <
        0)
        goto out;
    rc = set_new(w, "job", job, err);
    job = NULL;
out:
    json_decref(job);
    json_decref(val);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* HGET workers:heartbeat as a string and an age in seconds (null when absent or unparseable). */
static int worker_heartbeat(json_t *w, qr_resque *r, const char *id, time_t now, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    time_t hb = 0;
    int rc;
    if ((rc = qr_resque__key(key, r, err, "workers:heartbeat")) < 0)
        return rc;
    const char *argv[] = {"HGET", key, id};
    if ((rc = cmd(&rep, r, err, 3, argv)) < 0)
        return rc;
    bool have = rep->type == REDIS_REPLY_STRING;
    bool parsed = have && qr_resque__parse_iso8601(&hb, rep->str) == 0;
    if ((rc = set_new(w, "heartbeat", have ? json_string(rep->str) : json_null(), err)) == 0)
        rc = set_new(w, "heartbeat_age_s",
                     parsed ? json_integer((json_int_t)(now - hb)) : json_null(), err);
    freeReplyObject(rep);
    return rc;
}

static int status_workers(json_t *snap, qr_resque *r, time_t now, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    const char **ids = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    int rc;
    if (!arr)
        return oom(err);
    if ((rc = set_new(snap, "workers", arr, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "workers")) < 0 ||
        (rc = members(&rep, &ids, &n, r, key, err)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *w = json_object(), *started = NULL;
        if (!w || json_array_append_new(arr, w) < 0) {
            rc = oom(err);
            goto out;
        }
        if ((rc = set_new(w, "id", json_string(ids[i]), err)) < 0 ||
            (rc = qr_resque__key(key, r, err, "worker:%s:started", ids[i])) < 0 ||
            (rc = get_json_str(&started, r, err, key)) < 0 ||
            (rc = set_new(w, "started", started, err)) < 0 ||
            (rc = worker_heartbeat(w, r, ids[i], now, err)) < 0 ||
            (rc = worker_job(w, r, ids[i], now, err)) < 0)
            goto out;
    }
out:
    free(ids);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

static int status_processing(json_t *snap, qr_resque *r, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    const char **lists = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    int rc;
    if (!arr)
        return oom(err);
    if ((rc = set_new(snap, "processing", arr, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "quire:processing")) < 0 ||
        (rc = members(&rep, &lists, &n, r, key, err)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(lists[i], ':');
        long long len = 0;
        if (!colon)
            continue;
        if ((rc = qr_resque__key(key, r, err, "quire:processing:%s", lists[i])) < 0 ||
            (rc = get_int(&len, r, err, "LLEN", key)) < 0)
            goto out;
        json_t *p =
            json_pack("{s:s%, s:s, s:s, s:I}", "queue", lists[i], (size_t)(colon - lists[i]),
                      "worker", colon + 1, "key", key, "length", (json_int_t)len);
        if (!p || json_array_append_new(arr, p) < 0) {
            rc = oom(err);
            goto out;
        }
    }
out:
    free(lists);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

static int status_stats(json_t *snap, qr_resque *r, size_t nfailures, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    long long processed = 0, failed = 0, nfailed = 0;
    json_t *recent = json_array();
    int rc;
    if (!recent)
        return oom(err);
    if ((rc = set_new(snap, "recent_failures", recent, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "stat:processed")) < 0 ||
        (rc = get_int(&processed, r, err, "GET", key)) < 0 ||
        (rc = qr_resque__key(key, r, err, "stat:failed")) < 0 ||
        (rc = get_int(&failed, r, err, "GET", key)) < 0 ||
        (rc = qr_resque__key(key, r, err, "failed")) < 0 ||
        (rc = get_int(&nfailed, r, err, "LLEN", key)) < 0)
        return rc;
    if ((rc = set_new(snap, "processed", json_integer(processed), err)) < 0 ||
        (rc = set_new(snap, "failed", json_integer(failed), err)) < 0 ||
        (rc = set_new(snap, "failed_entries", json_integer(nfailed), err)) < 0)
        return rc;
    if (nfailures == 0 || nfailed == 0)
        return 0;
    long long first = nfailed > (long long)nfailures ? nfailed - (long long)nfailures : 0;
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
        if (json_array_append_new(recent, f) < 0) {
            rc = oom(err);
            break;
        }
    }
    freeReplyObject(rep);
    return rc;
}

int qr_resque_status(struct json_t **out, qr_resque *r, size_t nfailures, qr_error *err)
{
    time_t now = 0;
    json_t *snap = NULL;
    int rc;
    *out = NULL;
    if ((rc = qr_resque__server_time(&now, r, err)) < 0)
        return rc;
    if (!(snap = json_object()))
        return oom(err);
    if ((rc = set_new(snap, "namespace", json_string(r->ns), err)) < 0 ||
        (rc = set_new(snap, "server_time", json_integer((json_int_t)now), err)) < 0 ||
        (rc = status_queues(snap, r, err)) < 0 || (rc = status_workers(snap, r, now, err)) < 0 ||
        (rc = status_processing(snap, r, err)) < 0 ||
        (rc = status_stats(snap, r, nfailures, err)) < 0)
        goto out;
    *out = snap;
    snap = NULL;
out:
    json_decref(snap);
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
    if ((rc = cmd(rep, r, err, 3, argv)) < 0)
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

static int run_script(long long *res, qr_resque *r, const char *script, int nkeys, int n,
                      const char **args, const size_t *lens, qr_error *err)
{
    const char *argv[12];
    size_t alens[12];
    char nk[8];
    redisReply *rep = NULL;
    int rc;
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = nk;
    for (int i = 0; i < 3; i++)
        alens[i] = strlen(argv[i]);
    for (int i = 0; i < n && i < 9; i++) {
        argv[3 + i] = args[i];
        alens[3 + i] = lens[i];
    }
    if ((rc = qr_resque__cmd(&rep, r, 3 + n, argv, alens, err)) < 0)
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
        rc = oom(err);
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
        rc = oom(err);
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

int qr_resque_host_heartbeat(long long *age_s, size_t *nworkers, qr_resque *r, const char *host,
                             qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    const char **ids = NULL;
    size_t n = 0, hlen = host ? strlen(host) : 0;
    time_t now = 0;
    int rc;

    *age_s = -1;
    *nworkers = 0;
    if (!hlen || strchr(host, ':'))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "host name must be non-empty and free of ':'");
    if ((rc = qr_resque__server_time(&now, r, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "workers")) < 0 ||
        (rc = members(&rep, &ids, &n, r, key, err)) < 0)
        goto out;
    if ((rc = qr_resque__key(key, r, err, "workers:heartbeat")) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(ids[i], host, hlen) != 0 || ids[i][hlen] != ':')
            continue;
        (*nworkers)++;
        redisReply *hb = NULL;
        time_t t = 0;
        const char *argv[] = {"HGET", key, ids[i]};
        if ((rc = cmd(&hb, r, err, 3, argv)) < 0)
            goto out;
        if (hb->type == REDIS_REPLY_STRING && qr_resque__parse_iso8601(&t, hb->str) == 0) {
            long long age = (long long)(now - t);
            if (age < 0)
                age = 0;
            if (*age_s < 0 || age < *age_s)
                *age_s = age;
        }
        freeReplyObject(hb);
    }
out:
    free(ids);
    if (rep)
        freeReplyObject(rep);
    return rc;
}
