/*
 * The worker's admin endpoint (qr/admin.h): /healthz and Prometheus /metrics
 * over libmicrohttpd with one internal polling thread. The numbers live in
 * one struct under one mutex; the worker's loop writes, the HTTP thread reads.
 * Only API present in both libmicrohttpd 0.9.75 (bookworm) and 1.0 (trixie).
 */
#include "qr/admin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "qr/buf.h"

#define STAGE "admin"
/* Hard cap on one /metrics body; 64 queues with 200-byte names fit easily. */
#define METRICS_MAX (64u * 1024u)

struct qr_admin {
    pthread_mutex_t mu;
    struct MHD_Daemon *daemon;
    double stale_after_s;
    unsigned long long jobs[3];
    double duration_sum;
    unsigned long long duration_count;
    unsigned busy;
    bool registered;
    double last_heartbeat; /* monotonic seconds; 0 = never */
    size_t nqueues;
    char *queues[QR_ADMIN_MAX_QUEUES];
    long long depths[QR_ADMIN_MAX_QUEUES];
};

static const char *const outcome_names[3] = {"succeeded", "failed", "requeued"};

double qr_admin_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int qr_admin_new(qr_admin **out, double stale_after_s, qr_error *err)
{
    *out = NULL;
    if (!(stale_after_s > 0))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "stale-after must be positive");
    qr_admin *a = calloc(1, sizeof(*a));
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

static void clear_queues(qr_admin *a)
{
    for (size_t i = 0; i < a->nqueues; i++)
        free(a->queues[i]);
    a->nqueues = 0;
}

void qr_admin_free(qr_admin *a)
{
    if (!a)
        return;
    /* Stop the HTTP thread first: after this no request reads the struct. */
    if (a->daemon)
        MHD_stop_daemon(a->daemon);
    clear_queues(a);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void qr_admin_record_job(qr_admin *a, qr_admin_outcome outcome, double seconds)
{
    if (!a || (unsigned)outcome > QR_ADMIN_REQUEUED)
        return;
    pthread_mutex_lock(&a->mu);
    a->jobs[outcome]++;
    if (seconds >= 0) {
        a->duration_sum += seconds;
        a->duration_count++;
    }
    pthread_mutex_unlock(&a->mu);
}

void qr_admin_set_busy(qr_admin *a, unsigned busy)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->busy = busy;
    pthread_mutex_unlock(&a->mu);
}

void qr_admin_set_registered(qr_admin *a, bool registered)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->registered = registered;
    if (registered)
        a->last_heartbeat = qr_admin_now();
    pthread_mutex_unlock(&a->mu);
}

void qr_admin_heartbeat(qr_admin *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->last_heartbeat = qr_admin_now();
    pthread_mutex_unlock(&a->mu);
}

void qr_admin_set_depths(qr_admin *a, const char *const *queues, const long long *depths, size_t n)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    clear_queues(a);
    for (size_t i = 0; i < n && a->nqueues < QR_ADMIN_MAX_QUEUES; i++) {
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
static int render(qr_buf *b, const qr_admin *a, double now, qr_error *err)
{
    int rc = qr_buf_appendf(b, err, "# HELP quire_jobs_total Jobs finished, by outcome.\n"
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
    if (rc == 0 && a->last_heartbeat > 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_worker_heartbeat_age_seconds Since the last heartbeat.\n"
                            "# TYPE quire_worker_heartbeat_age_seconds gauge\n"
                            "quire_worker_heartbeat_age_seconds %.3f\n",
                            now - a->last_heartbeat);
    return rc;
}

int qr_admin_metrics(char **out, qr_admin *a, double now, qr_error *err)
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

bool qr_admin_healthy(qr_admin *a, double now, char *reason, size_t reason_len)
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

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             const char *type)
{
    struct MHD_Response *resp =
        /* MUST_COPY: MHD copies and never writes; its 0.9 API just lacks const. */
        MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    enum MHD_Result r = MHD_add_response_header(resp, "Content-Type", type);
    if (r == MHD_YES)
        r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    qr_admin *a = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    const char *text = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, "method not allowed\n", text);
    if (strcmp(url, "/healthz") == 0) {
        char reason[256], body[300];
        if (qr_admin_healthy(a, qr_admin_now(), reason, sizeof(reason)))
            return reply(c, 200, "ok\n", text);
        snprintf(body, sizeof(body), "%s\n", reason);
        return reply(c, 503, body, text);
    }
    if (strcmp(url, "/metrics") == 0) {
        char *m = NULL;
        qr_error e = QR_ERROR_INIT;
        if (qr_admin_metrics(&m, a, qr_admin_now(), &e) < 0)
            return reply(c, 500, "metrics unavailable\n", text);
        enum MHD_Result r = reply(c, 200, m, "text/plain; version=0.0.4; charset=utf-8");
        free(m);
        return r;
    }
    return reply(c, 404, "not found\n", text);
}

static int parse_listen(struct sockaddr_in *sa, const char *listen, qr_error *err)
{
    char host[64];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    char *end = NULL;
    if (!colon || (size_t)(colon - listen) >= sizeof(host))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "admin address '%s' is not HOST:PORT", listen ? listen : "");
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    long port = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (!*(colon + 1) || *end || port < 1 || port > 65535 ||
        inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "admin address '%s' is not IPV4:PORT", listen);
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

int qr_admin_listen(qr_admin *a, const char *listen, qr_error *err)
{
    struct sockaddr_in sa;
    int rc = parse_listen(&sa, listen, err);
    if (rc < 0)
        return rc;
    if (a->daemon)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "admin server already running");
    a->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, ntohs(sa.sin_port), NULL, NULL,
                                 handle, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!a->daemon)
        return qr_error_set(err, QR_ERR_IO, STAGE, "cannot listen on %s", listen);
    return 0;
}
