/*
 * The job history and the per-job logs (qr/resque.h): one Redis stream,
 * <ns>:quire:history, trimmed to an approximate length at every XADD (one
 * key, ordered by time, read by time range; trimming by whole macro nodes
 * keeps each add O(1)); one string per job log, <ns>:quire:log:<job id>,
 * compressed by the caller and expiring; and the live state of a running
 * job, the hash <ns>:quire:job:<job id>, expiring with its log.
 */
#include "queue/resque_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define STAGE QR_RESQUE_STAGE
#define MAX_FIELDS 64

int qr_resque_history_add(qr_resque *r, const char *const *kv, size_t npairs, size_t maxlen,
                          qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], max[32];
    const char *argv[6 + 2 * MAX_FIELDS];
    size_t n = 0;
    int rc;
    if (npairs > MAX_FIELDS || maxlen == 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "history: 1..%d fields, a bound",
                            MAX_FIELDS);
    if ((rc = qr_resque__key(key, r, err, "quire:history")) < 0)
        return rc;
    snprintf(max, sizeof(max), "%zu", maxlen);
    argv[n++] = "XADD";
    argv[n++] = key;
    argv[n++] = "MAXLEN";
    argv[n++] = "~";
    argv[n++] = max;
    argv[n++] = "*";
    for (size_t i = 0; i < 2 * npairs; i++)
        argv[n++] = kv[i] ? kv[i] : "";
    return qr_resque__cmdv(r, err, (int)n, argv);
}

/* One stream entry as a JSON object: "id" and every field. */
static json_t *entry_json(const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "id", json_string(e->element[0]->str)) < 0) {
        json_decref(o);
        return NULL;
    }
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type != REDIS_REPLY_STRING ||
            f->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        json_t *v = json_stringn(f->element[i + 1]->str, f->element[i + 1]->len);
        if (!v || json_object_set_new(o, f->element[i]->str, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

int qr_resque_history_read(json_t **out, qr_resque *r, long long since_ms, size_t count,
                           qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], lo[32], cnt[32];
    redisReply *rep = NULL;
    int rc;
    *out = NULL;
    if ((rc = qr_resque__key(key, r, err, "quire:history")) < 0)
        return rc;
    snprintf(lo, sizeof(lo), "%lld", since_ms > 0 ? since_ms : 0);
    snprintf(cnt, sizeof(cnt), "%zu", count ? count : 1000);
    const char *argv[] = {"XREVRANGE", key, "+", lo, "COUNT", cnt};
    if ((rc = qr_resque__cmd(&rep, r, 6, argv, NULL, err)) < 0)
        return rc;
    json_t *arr = json_array();
    if (!arr)
        rc = qr_resque__oom(err);
    for (size_t i = 0; rc == 0 && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        json_t *o = entry_json(rep->element[i]);
        if (o && json_array_append_new(arr, o) < 0)
            rc = qr_resque__oom(err);
    }
    freeReplyObject(rep);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int qr_resque_history_len(long long *out, qr_resque *r, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    int rc = qr_resque__key(key, r, err, "quire:history");
    return rc < 0 ? rc : qr_resque__get_int(out, r, err, "XLEN", key);
}

int qr_resque_log_put(qr_resque *r, const char *job_id, const void *data, size_t len, long ttl_s,
                      qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], ttl[32];
    redisReply *rep = NULL;
    int rc;
    if ((rc = qr_resque__key(key, r, err, "quire:log:%s", job_id)) < 0)
        return rc;
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s > 0 ? ttl_s : 1);
    const char *argv[] = {"SET", key, (const char *)data, "EX", ttl};
    size_t lens[] = {3, strlen(key), len, 2, strlen(ttl)};
    rc = qr_resque__cmd(&rep, r, 5, argv, lens, err);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

int qr_resque_log_get(char **data, size_t *len, qr_resque *r, const char *job_id, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *data = NULL;
    *len = 0;
    if ((rc = qr_resque__key(key, r, err, "quire:log:%s", job_id)) < 0)
        return rc;
    const char *argv[] = {"GET", key};
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    if (rep->type != REDIS_REPLY_STRING) {
        freeReplyObject(rep);
        return qr_error_set(err, QR_ERR_SOURCE_NOT_FOUND, STAGE,
                            "no log for job %s (expired, or never kept)", job_id);
    }
    if (!(*data = malloc(rep->len ? rep->len : 1))) {
        freeReplyObject(rep);
        return qr_resque__oom(err);
    }
    memcpy(*data, rep->str, rep->len);
    *len = rep->len;
    freeReplyObject(rep);
    return 0;
}

int qr_resque_job_state(qr_resque *r, const char *job_id, const char *const *kv, size_t npairs,
                        long ttl_s, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], ttl[32];
    const char *argv[2 + 2 * MAX_FIELDS];
    size_t n = 0;
    int rc;
    if (npairs == 0 || npairs > MAX_FIELDS)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "job state: 1..%d fields",
                            MAX_FIELDS);
    if ((rc = qr_resque__key(key, r, err, "quire:job:%s", job_id)) < 0)
        return rc;
    argv[n++] = "HSET";
    argv[n++] = key;
    for (size_t i = 0; i < 2 * npairs; i++)
        argv[n++] = kv[i] ? kv[i] : "";
    if ((rc = qr_resque__cmdv(r, err, (int)n, argv)) < 0)
        return rc;
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s > 0 ? ttl_s : 1);
    const char *ex[] = {"EXPIRE", key, ttl};
    return qr_resque__cmdv(r, err, 3, ex);
}

int qr_resque_job_get(json_t **out, qr_resque *r, const char *job_id, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    *out = NULL;
    if ((rc = qr_resque__key(key, r, err, "quire:job:%s", job_id)) < 0)
        return rc;
    const char *argv[] = {"HGETALL", key};
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    json_t *o = json_object();
    if (!o)
        rc = qr_resque__oom(err);
    for (size_t i = 0; rc == 0 && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
        if (rep->element[i]->type == REDIS_REPLY_STRING &&
            rep->element[i + 1]->type == REDIS_REPLY_STRING &&
            json_object_set_new(o, rep->element[i]->str,
                                json_stringn(rep->element[i + 1]->str, rep->element[i + 1]->len)) <
                0)
            rc = qr_resque__oom(err);
    freeReplyObject(rep);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}
