/*
 * `quire status`: a snapshot of Resque's keys as resque-web shows them
 * (queues and depths, workers with their heartbeat and current job, quire's
 * processing lists, the stat counters and the recent failures), and the
 * heartbeat age of one host's workers for `quire health`. Reads are separate
 * round trips: a snapshot, not a transaction.
 */
#include "queue/resque_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qr/notify.h"
#include "qr/payload.h"

#define STAGE QR_RESQUE_STAGE

/* GET as a new JSON string, or JSON null when the key is missing. */
static int get_json_str(json_t **out, qr_resque *r, qr_error *err, const char *key)
{
    redisReply *rep = NULL;
    const char *argv[] = {"GET", key};
    int rc;
    *out = NULL;
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    *out = rep->type == REDIS_REPLY_STRING ? json_stringn(rep->str, rep->len) : json_null();
    freeReplyObject(rep);
    return *out ? 0 : qr_resque__oom(err);
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
        return qr_resque__oom(err);
    if ((rc = qr_resque__json_set(snap, "queues", arr, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "queues")) < 0 ||
        (rc = qr_resque__members(&rep, &names, &n, r, key, err)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        long long depth = 0;
        json_t *q = NULL;
        if ((rc = qr_resque__key(key, r, err, "queue:%s", names[i])) < 0 ||
            (rc = qr_resque__get_int(&depth, r, err, "LLEN", key)) < 0)
            goto out;
        q = json_pack("{s:s, s:I}", "name", names[i], "depth", (json_int_t)depth);
        if (!q || json_array_append_new(arr, q) < 0) {
            rc = qr_resque__oom(err);
            goto out;
        }
    }
out:
    free(names);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/*
 * The job's live state (<ns>:quire:job:<id>, written by its worker while it
 * runs: stage, rss, disk_used, disk_free, updated) as job.live, found by the
 * job id quire derives from the payload; nothing when there is none.
 */
static int job_live(json_t *job, qr_resque *r, const json_t *payload, qr_error *err)
{
    const char *cls = NULL;
    (void)qr_payload_peek(payload, &cls);
    char *text = payload && cls ? json_dumps(payload, JSON_COMPACT) : NULL;
    qr_job *j = NULL;
    json_t *live = NULL;
    char id[QR_CALLBACK_KEY_MAX];
    qr_payload_opts po = QR_PAYLOAD_OPTS_INIT;
    po.job_class = cls;
    qr_error pe = QR_ERROR_INIT;
    int rc = 0;
    if (!text || qr_payload_parse_buffer(&j, text, strlen(text), &po, &pe) < 0 ||
        qr_callback_idempotency_key(id, j, &pe) < 0)
        goto out;
    if ((rc = qr_resque_job_get(&live, r, id, err)) < 0)
        goto out;
    if (json_object_size(live) > 0) {
        if ((rc = qr_resque__json_set(job, "job_id", json_string(id), err)) < 0)
            goto out;
        rc = qr_resque__json_set(job, "live", live, err);
        live = NULL;
    }
out:
    json_decref(live);
    qr_job_free(j);
    free(text);
    return rc;
}

/* The "job" of a worker from worker:<id>: queue, run_at, class, book_id, elapsed_s, live. */
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
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    if (rep->type != REDIS_REPLY_STRING) {
        rc = qr_resque__json_set(w, "job", json_null(), err);
        goto out;
    }
    val = json_loadb(rep->str, rep->len, 0, NULL);
    const char *queue = json_string_value(json_object_get(val, "queue"));
    const char *ra = json_string_value(json_object_get(val, "run_at"));
    if (!(job = json_object())) {
        rc = qr_resque__oom(err);
        goto out;
    }
    if ((rc = qr_resque__json_set(job, "queue", queue ? json_string(queue) : json_null(), err)) <
            0 ||
        (rc = qr_resque__json_set(job, "run_at", ra ? json_string(ra) : json_null(), err)) < 0 ||
        (rc = qr_resque__payload_summary(job, json_object_get(val, "payload"), err)) < 0)
        goto out;
    bool have_run_at = ra && qr_resque__parse_iso8601(&run_at, ra) == 0;
    if ((rc = qr_resque__json_set(
             job, "elapsed_s", have_run_at ? json_integer((json_int_t)(now - run_at)) : json_null(),
             err)) < 0 ||
        (rc = job_live(job, r, json_object_get(val, "payload"), err)) < 0)
        goto out;
    rc = qr_resque__json_set(w, "job", job, err);
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
    if ((rc = qr_resque__cmd(&rep, r, 3, argv, NULL, err)) < 0)
        return rc;
    bool have = rep->type == REDIS_REPLY_STRING;
    bool parsed = have && qr_resque__parse_iso8601(&hb, rep->str) == 0;
    if ((rc = qr_resque__json_set(w, "heartbeat", have ? json_string(rep->str) : json_null(),
                                  err)) == 0)
        rc = qr_resque__json_set(w, "heartbeat_age_s",
                                 parsed ? json_integer((json_int_t)(now - hb)) : json_null(), err);
    freeReplyObject(rep);
    return rc;
}

/* quire's info key beside the registration: the parsed JSON, or null (not a quire worker). */
static int worker_info(json_t *w, qr_resque *r, const char *id, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    int rc;
    if ((rc = qr_resque__key(key, r, err, "quire:worker:%s:info", id)) < 0)
        return rc;
    const char *argv[] = {"GET", key};
    if ((rc = qr_resque__cmd(&rep, r, 2, argv, NULL, err)) < 0)
        return rc;
    json_t *info = rep->type == REDIS_REPLY_STRING ? json_loadb(rep->str, rep->len, 0, NULL) : NULL;
    freeReplyObject(rep);
    if (!json_is_object(info)) {
        json_decref(info);
        info = json_null();
    }
    return qr_resque__json_set(w, "info", info, err);
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
        return qr_resque__oom(err);
    if ((rc = qr_resque__json_set(snap, "workers", arr, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "workers")) < 0 ||
        (rc = qr_resque__members(&rep, &ids, &n, r, key, err)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *w = json_object(), *started = NULL;
        if (!w || json_array_append_new(arr, w) < 0) {
            rc = qr_resque__oom(err);
            goto out;
        }
        if ((rc = qr_resque__json_set(w, "id", json_string(ids[i]), err)) < 0 ||
            (rc = qr_resque__key(key, r, err, "worker:%s:started", ids[i])) < 0 ||
            (rc = get_json_str(&started, r, err, key)) < 0 ||
            (rc = qr_resque__json_set(w, "started", started, err)) < 0 ||
            (rc = worker_heartbeat(w, r, ids[i], now, err)) < 0 ||
            (rc = worker_job(w, r, ids[i], now, err)) < 0 ||
            (rc = worker_info(w, r, ids[i], err)) < 0)
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
        return qr_resque__oom(err);
    if ((rc = qr_resque__json_set(snap, "processing", arr, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "quire:processing")) < 0 ||
        (rc = qr_resque__members(&rep, &lists, &n, r, key, err)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(lists[i], ':');
        long long len = 0;
        if (!colon)
            continue;
        if ((rc = qr_resque__key(key, r, err, "quire:processing:%s", lists[i])) < 0 ||
            (rc = qr_resque__get_int(&len, r, err, "LLEN", key)) < 0)
            goto out;
        json_t *p =
            json_pack("{s:s%, s:s, s:s, s:I}", "queue", lists[i], (size_t)(colon - lists[i]),
                      "worker", colon + 1, "key", key, "length", (json_int_t)len);
        if (!p || json_array_append_new(arr, p) < 0) {
            rc = qr_resque__oom(err);
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
    long long processed = 0, failed = 0, nfailed = 0;
    json_t *recent = json_array();
    int rc;
    if (!recent)
        return qr_resque__oom(err);
    if ((rc = qr_resque__json_set(snap, "recent_failures", recent, err)) < 0 ||
        (rc = qr_resque__key(key, r, err, "stat:processed")) < 0 ||
        (rc = qr_resque__get_int(&processed, r, err, "GET", key)) < 0 ||
        (rc = qr_resque__key(key, r, err, "stat:failed")) < 0 ||
        (rc = qr_resque__get_int(&failed, r, err, "GET", key)) < 0 ||
        (rc = qr_resque__key(key, r, err, "failed")) < 0 ||
        (rc = qr_resque__get_int(&nfailed, r, err, "LLEN", key)) < 0)
        return rc;
    if ((rc = qr_resque__json_set(snap, "processed", json_integer(processed), err)) < 0 ||
        (rc = qr_resque__json_set(snap, "failed", json_integer(failed), err)) < 0 ||
        (rc = qr_resque__json_set(snap, "failed_entries", json_integer(nfailed), err)) < 0)
        return rc;
    return qr_resque__recent_failures(recent, r, nfailed, nfailures, err);
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
        return qr_resque__oom(err);
    if ((rc = qr_resque__json_set(snap, "namespace", json_string(r->ns), err)) < 0 ||
        (rc = qr_resque__json_set(snap, "server_time", json_integer((json_int_t)now), err)) < 0 ||
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
        (rc = qr_resque__members(&rep, &ids, &n, r, key, err)) < 0)
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
        if ((rc = qr_resque__cmd(&hb, r, 3, argv, NULL, err)) < 0)
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

/* ---- the figures a fleet scales on (docs/operations/autoscale.md, "Metrics") ---- */

static bool watched(const char *queue, size_t len, const char *const *queues, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(queues[i]) == len && memcmp(queues[i], queue, len) == 0)
            return true;
    return false;
}

int qr_resque_backlog(qr_resque_counts *out, qr_resque *r, const char *const *queues, size_t n,
                      const char *mark, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY];
    redisReply *rep = NULL;
    const char **lists = NULL;
    size_t nlists = 0;
    int rc = 0;
    *out = (qr_resque_counts){0, 0, 0, -1};
    for (size_t i = 0; i < n; i++) {
        long long v = 0;
        if ((rc = qr_resque__key(key, r, err, "queue:%s", queues[i])) < 0 ||
            (rc = qr_resque__get_int(&v, r, err, "LLEN", key)) < 0)
            goto out;
        out->queued += v;
    }
    if ((rc = qr_resque__key(key, r, err, "quire:processing")) < 0 ||
        (rc = qr_resque__members(&rep, &lists, &nlists, r, key, err)) < 0)
        goto out;
    for (size_t i = 0; i < nlists; i++) {
        const char *colon = strchr(lists[i], ':');
        long long v = 0;
        if (!colon || !watched(lists[i], (size_t)(colon - lists[i]), queues, n))
            continue;
        if ((rc = qr_resque__key(key, r, err, "quire:processing:%s", lists[i])) < 0 ||
            (rc = qr_resque__get_int(&v, r, err, "LLEN", key)) < 0)
            goto out;
        out->running += v;
    }
    if ((rc = qr_resque__key(key, r, err, "quire:processed")) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        redisReply *h = NULL;
        const char *argv[3] = {"HGET", key, queues[i]};
        if ((rc = qr_resque__cmd(&h, r, 3, argv, NULL, err)) < 0)
            goto out;
        if (h->type == REDIS_REPLY_STRING)
            out->processed += strtoll(h->str, NULL, 10);
        freeReplyObject(h);
    }
    if (mark) {
        redisReply *g = NULL;
        if ((rc = qr_resque__key(key, r, err, "quire:metrics:%s:processed", mark)) < 0)
            goto out;
        const char *argv[2] = {"GET", key};
        if ((rc = qr_resque__cmd(&g, r, 2, argv, NULL, err)) < 0)
            goto out;
        if (g->type == REDIS_REPLY_STRING)
            out->previous = strtoll(g->str, NULL, 10);
        freeReplyObject(g);
    }
out:
    if (rep)
        freeReplyObject(rep);
    free(lists);
    return rc;
}

int qr_resque_backlog_mark(qr_resque *r, const char *mark, long long processed, qr_error *err)
{
    char key[QR_RESQUE_MAX_KEY], v[32];
    int rc = qr_resque__key(key, r, err, "quire:metrics:%s:processed", mark);
    if (rc < 0)
        return rc;
    snprintf(v, sizeof(v), "%lld", processed);
    const char *argv[3] = {"SET", key, v};
    return qr_resque__cmdv(r, err, 3, argv);
}
