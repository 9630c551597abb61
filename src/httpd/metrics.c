/*
 * The worker's health and metrics (qr/metrics.h): the numbers live in one
 * struct under one mutex; the worker's loop writes, the HTTP thread reads
 * through qr_metrics_handle. Rendering is tested without a socket.
 */
#include "qr/metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/buf.h"
#include "qr/clock.h"

#define STAGE "metrics"
/* Hard cap on one /metrics body; 64 queues with 200-byte names fit easily. */
#define METRICS_MAX (64u * 1024u)

struct qr_metrics {
    pthread_mutex_t mu;
    double stale_after_s;
    unsigned long long jobs[3];
    double duration_sum;
    unsigned long long duration_count;
    unsigned busy;
    bool registered;
    double last_heartbeat; /* monotonic seconds; 0 = never */
    size_t nqueues;
    char *queues[QR_METRICS_MAX_QUEUES];
    long long depths[QR_METRICS_MAX_QUEUES];
    size_t ninfo;
    char *info_names[QR_METRICS_MAX_INFO];
    char *info_values[QR_METRICS_MAX_INFO];
};

static const char *const outcome_names[3] = {"succeeded", "failed", "requeued"};

int qr_metrics_new(qr_metrics **out, double stale_after_s, qr_error *err)
{
    *out = NULL;
    if (!(stale_after_s > 0))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "stale-after must be positive");
    qr_metrics *a = calloc(1, sizeof(*a));
    if (!a)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "pthread_mutex_init failed");
    }
    a->stale_after_s = stale_after_s;
    *out = a;
    return 0;
}

static void clear_queues(qr_metrics *a)
{
    for (size_t i = 0; i < a->nqueues; i++)
        free(a->queues[i]);
    a->nqueues = 0;
}

static void clear_info(qr_metrics *a)
{
    for (size_t i = 0; i < a->ninfo; i++) {
        free(a->info_names[i]);
        free(a->info_values[i]);
    }
    a->ninfo = 0;
}

void qr_metrics_set_info(qr_metrics *a, const char *const *names, const char *const *values,
                         size_t n)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    clear_info(a);
    for (size_t i = 0; i < n && a->ninfo < QR_METRICS_MAX_INFO; i++) {
        char *k = strdup(names[i]), *v = strdup(values[i] ? values[i] : "");
        if (!k || !v) {
            free(k);
            free(v);
            break; /* fewer labels rather than no metrics */
        }
        a->info_names[a->ninfo] = k;
        a->info_values[a->ninfo++] = v;
    }
    pthread_mutex_unlock(&a->mu);
}

void qr_metrics_free(qr_metrics *a)
{
    if (!a)
        return;
    clear_info(a);
    clear_queues(a);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void qr_metrics_record_job(qr_metrics *a, qr_metrics_outcome outcome, double seconds)
{
    if (!a || (unsigned)outcome > QR_METRICS_REQUEUED)
        return;
    pthread_mutex_lock(&a->mu);
    a->jobs[outcome]++;
    if (seconds >= 0) {
        a->duration_sum += seconds;
        a->duration_count++;
    }
    pthread_mutex_unlock(&a->mu);
}

void qr_metrics_set_busy(qr_metrics *a, unsigned busy)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->busy = busy;
    pthread_mutex_unlock(&a->mu);
}

void qr_metrics_set_registered(qr_metrics *a, bool registered)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->registered = registered;
    if (registered)
        a->last_heartbeat = qr_now();
    pthread_mutex_unlock(&a->mu);
}

void qr_metrics_heartbeat(qr_metrics *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->last_heartbeat = qr_now();
    pthread_mutex_unlock(&a->mu);
}

void qr_metrics_set_depths(qr_metrics *a, const char *const *queues, const long long *depths,
                           size_t n)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    clear_queues(a);
    for (size_t i = 0; i < n && a->nqueues < QR_METRICS_MAX_QUEUES; i++) {
        char *q = strdup(queues[i]);
        if (!q)
            break; /* a missing depth line is better than no metrics at all */
        a->queues[a->nqueues] = q;
        a->depths[a->nqueues++] = depths[i];
    }
    pthread_mutex_unlock(&a->mu);
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static int append_label(qr_buf *b, const char *s, qr_error *err)
{
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        int rc = esc ? qr_buf_append(b, esc, 2, err) : qr_buf_append(b, s, 1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Called with the mutex held. */
static int render(qr_buf *b, const qr_metrics *a, double now, qr_error *err)
{
    int rc = qr_buf_appendf(b, err,
                            "# HELP quire_jobs_total Jobs finished, by outcome.\n"
                            "# TYPE quire_jobs_total counter\n");
    for (int i = 0; rc == 0 && i < 3; i++)
        rc = qr_buf_appendf(b, err, "quire_jobs_total{outcome=\"%s\"} %llu\n", outcome_names[i],
                            a->jobs[i]);
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_job_duration_seconds Wall-clock time per job.\n"
                            "# TYPE quire_job_duration_seconds summary\n"
                            "quire_job_duration_seconds_sum %.6f\n"
                            "quire_job_duration_seconds_count %llu\n"
                            "# HELP quire_busy_slots Slots running a job now.\n"
                            "# TYPE quire_busy_slots gauge\n"
                            "quire_busy_slots %u\n"
                            "# HELP quire_queue_depth Jobs waiting, per queue, as last polled.\n"
                            "# TYPE quire_queue_depth gauge\n",
                            a->duration_sum, a->duration_count, a->busy);
    for (size_t i = 0; rc == 0 && i < a->nqueues; i++) {
        rc = qr_buf_appendf(b, err, "quire_queue_depth{queue=\"");
        if (rc == 0)
            rc = append_label(b, a->queues[i], err);
        if (rc == 0)
            rc = qr_buf_appendf(b, err, "\"} %lld\n", a->depths[i]);
    }
    if (rc == 0 && a->ninfo > 0) {
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_build_info quire's version and commit and the versions "
                            "of the libraries it loaded.\n"
                            "# TYPE quire_build_info gauge\n"
                            "quire_build_info{");
        for (size_t i = 0; rc == 0 && i < a->ninfo; i++) {
            rc = qr_buf_appendf(b, err, "%s%s=\"", i ? "," : "", a->info_names[i]);
            if (rc == 0)
                rc = append_label(b, a->info_values[i], err);
            if (rc == 0)
                rc = qr_buf_appendf(b, err, "\"");
        }
        if (rc == 0)
            rc = qr_buf_appendf(b, err, "} 1\n");
    }
    if (rc == 0 && a->last_heartbeat > 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_worker_heartbeat_age_seconds Since the last heartbeat.\n"
                            "# TYPE quire_worker_heartbeat_age_seconds gauge\n"
                            "quire_worker_heartbeat_age_seconds %.3f\n",
                            now - a->last_heartbeat);
    return rc;
}

int qr_metrics_render(char **out, qr_metrics *a, double now, qr_error *err)
{
    qr_buf b = QR_BUF_INIT(METRICS_MAX);
    *out = NULL;
    pthread_mutex_lock(&a->mu);
    int rc = render(&b, a, now, err);
    pthread_mutex_unlock(&a->mu);
    if (rc < 0)
        goto out;
    /* An empty buffer has no storage yet; give the caller a string anyway. */
    if (b.len == 0 && (rc = qr_buf_append(&b, "", 0, err)) < 0)
        goto out;
    *out = (char *)qr_buf_detach(&b, NULL);
out:
    qr_buf_free(&b);
    return rc;
}

bool qr_metrics_healthy(qr_metrics *a, double now, char *reason, size_t reason_len)
{
    pthread_mutex_lock(&a->mu);
    bool registered = a->registered;
    double age = now - a->last_heartbeat;
    pthread_mutex_unlock(&a->mu);
    if (!registered) {
        snprintf(reason, reason_len, "worker not registered");
        return false;
    }
    if (age > a->stale_after_s) {
        snprintf(reason, reason_len, "last heartbeat %.0f s ago (limit %.0f s)", age,
                 a->stale_after_s);
        return false;
    }
    return true;
}

void qr_metrics_handle(void *ud, const qr_httpd_request *req, qr_httpd_response *resp)
{
    qr_metrics *a = ud;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        qr_httpd_text(resp, 405, "method not allowed\n");
        return;
    }
    if (strcmp(req->path, "/healthz") == 0) {
        char reason[256], body[300];
        if (qr_metrics_healthy(a, qr_now(), reason, sizeof(reason))) {
            qr_httpd_text(resp, 200, "ok\n");
            return;
        }
        snprintf(body, sizeof(body), "%s\n", reason);
        qr_httpd_text(resp, 503, body);
        return;
    }
    if (strcmp(req->path, "/metrics") == 0) {
        char *m = NULL;
        qr_error e = QR_ERROR_INIT;
        if (qr_metrics_render(&m, a, qr_now(), &e) < 0) {
            qr_httpd_text(resp, 500, "metrics unavailable\n");
            return;
        }
        resp->status = 200;
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        resp->body = m;
        return;
    }
    qr_httpd_text(resp, 404, "not found\n");
}
