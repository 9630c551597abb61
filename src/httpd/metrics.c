/*
 * The worker's health and metrics (qr/metrics.h): the numbers live in one
 * shared mapping under one process-shared mutex, a part per slot; the
 * worker's loops (one process per slot) write, the HTTP thread reads
 * through qr_metrics_handle. Rendering is tested without a socket.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "qr/metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "qr/buf.h"
#include "qr/clock.h"

#define STAGE "metrics"
/* Hard cap on one /metrics body; 64 queues with 200-byte names and 256 slots fit. */
#define METRICS_MAX (256u * 1024u)

/* Queue and label lengths kept; longer ones are cut. */
#define NAME_MAX_BYTES 200
#define LABEL_NAME_MAX 64
#define LABEL_VALUE_MAX 256

/* quire_stage_duration_seconds: its stages and bucket bounds. */
#define NSTAGES 6
static const char *const stage_names[NSTAGES] = {"fetch", "compress", "positions",
                                                 "slice", "encrypt",  "publish"};
static const double bucket_le[QR_METRICS_NBUCKETS] = {0.1, 0.5, 1,   2.5,  5,    10,   30,   60,
                                                      120, 300, 600, 1800, 3600, 7200, 14400};
#define ERRID_MAX 48

typedef struct slot_state {
    unsigned long long jobs[QR_METRICS_NOUTCOMES];
    unsigned long long child_rss; /* the running child's resident bytes; 0 when idle */
    double duration_sum;
    unsigned long long duration_count;
    unsigned busy;
    bool registered;
    double last_heartbeat; /* monotonic seconds (CLOCK_MONOTONIC: one clock for every process) */
} slot_state;

/*
 * Everything, in one anonymous shared mapping: the slots of a supervisor
 * are forked processes that write here, and the supervisor's HTTP thread
 * reads. No pointer inside: every string is stored inline.
 */
typedef struct shared_state {
    pthread_mutex_t mu; /* process-shared */
    double stale_after_s;
    unsigned nslots;
    slot_state slot[QR_METRICS_MAX_SLOTS];
    size_t nqueues;
    char queues[QR_METRICS_MAX_QUEUES][NAME_MAX_BYTES];
    long long depths[QR_METRICS_MAX_QUEUES];
    double wait_sum; /* queue waits of the jobs whose payload said when they were enqueued */
    unsigned long long wait_count;
    size_t ninfo;
    char info_names[QR_METRICS_MAX_INFO][LABEL_NAME_MAX];
    char info_values[QR_METRICS_MAX_INFO][LABEL_VALUE_MAX];
    double oldest_age[QR_METRICS_MAX_QUEUES]; /* < 0: unknown */
    /* Per stage: cumulative-at-render bucket counts (non-cumulative here), sum, count. */
    unsigned long long stage_bucket[NSTAGES][QR_METRICS_NBUCKETS + 1];
    double stage_sum[NSTAGES];
    unsigned long long stage_count[NSTAGES];
    size_t nerrors;
    char error_ids[QR_METRICS_MAX_ERRORS][ERRID_MAX];
    unsigned long long error_count[QR_METRICS_MAX_ERRORS];
    unsigned long long error_other;
    bool have_disk;
    unsigned long long disk_free, disk_total;
} shared_state;

/* A handle: the shared state and the slot this process writes as. */
struct qr_metrics {
    shared_state *s;
    unsigned slot;
    bool owner; /* unmaps the state when freed */
};

static const char *const outcome_names[QR_METRICS_NOUTCOMES] = {"succeeded", "failed", "requeued",
                                                                "crashed"};

int qr_metrics_new_slots(qr_metrics **out, unsigned nslots, double stale_after_s, qr_error *err)
{
    *out = NULL;
    if (!(stale_after_s > 0))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "stale-after must be positive");
    if (nslots == 0 || nslots > QR_METRICS_MAX_SLOTS)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "slots must be 1..%d",
                            QR_METRICS_MAX_SLOTS);
    qr_metrics *a = calloc(1, sizeof(*a));
    if (!a)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    void *m =
        mmap(NULL, sizeof(shared_state), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        free(a);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "no shared memory for the metrics");
    }
    a->s = m;
    a->owner = true;
    memset(a->s, 0, sizeof(*a->s));
    pthread_mutexattr_t at;
    int bad = pthread_mutexattr_init(&at) != 0 ||
              pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED) != 0 ||
              pthread_mutex_init(&a->s->mu, &at) != 0;
    pthread_mutexattr_destroy(&at);
    if (bad) {
        munmap(m, sizeof(shared_state));
        free(a);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "pthread_mutex_init failed");
    }
    a->s->stale_after_s = stale_after_s;
    a->s->nslots = nslots;
    *out = a;
    return 0;
}

int qr_metrics_new(qr_metrics **out, double stale_after_s, qr_error *err)
{
    return qr_metrics_new_slots(out, 1, stale_after_s, err);
}

int qr_metrics_attach(qr_metrics **out, const qr_metrics *shared, unsigned slot, qr_error *err)
{
    *out = NULL;
    if (!shared || slot >= shared->s->nslots)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "no slot %u", slot);
    qr_metrics *a = calloc(1, sizeof(*a));
    if (!a)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    a->s = shared->s;
    a->slot = slot;
    *out = a;
    return 0;
}

void qr_metrics_set_info(qr_metrics *a, const char *const *names, const char *const *values,
                         size_t n)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->s->mu);
    a->s->ninfo = 0;
    for (size_t i = 0; i < n && a->s->ninfo < QR_METRICS_MAX_INFO; i++) {
        snprintf(a->s->info_names[a->s->ninfo], LABEL_NAME_MAX, "%s", names[i]);
        snprintf(a->s->info_values[a->s->ninfo++], LABEL_VALUE_MAX, "%s",
                 values[i] ? values[i] : "");
    }
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_free(qr_metrics *a)
{
    if (!a)
        return;
    if (a->owner) {
        pthread_mutex_destroy(&a->s->mu);
        munmap(a->s, sizeof(shared_state));
    }
    free(a);
}

void qr_metrics_record_job(qr_metrics *a, qr_metrics_outcome outcome, double seconds)
{
    if (!a || (unsigned)outcome >= QR_METRICS_NOUTCOMES)
        return;
    pthread_mutex_lock(&a->s->mu);
    slot_state *st = &a->s->slot[a->slot];
    st->jobs[outcome]++;
    if (seconds >= 0) {
        st->duration_sum += seconds;
        st->duration_count++;
    }
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_record_stage(qr_metrics *a, const char *stage, double seconds)
{
    int k = -1;
    if (!a || !stage || !(seconds >= 0))
        return;
    for (int i = 0; i < NSTAGES && k < 0; i++)
        if (strcmp(stage, stage_names[i]) == 0)
            k = i;
    if (k < 0)
        return;
    size_t b = 0;
    while (b < QR_METRICS_NBUCKETS && seconds > bucket_le[b])
        b++;
    pthread_mutex_lock(&a->s->mu);
    a->s->stage_bucket[k][b]++;
    a->s->stage_sum[k] += seconds;
    a->s->stage_count[k]++;
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_record_failure(qr_metrics *a, const char *errid)
{
    if (!a)
        return;
    if (!errid || !*errid)
        errid = "internal";
    pthread_mutex_lock(&a->s->mu);
    shared_state *s = a->s;
    size_t i = 0;
    while (i < s->nerrors && strcmp(s->error_ids[i], errid) != 0)
        i++;
    if (i == s->nerrors && s->nerrors < QR_METRICS_MAX_ERRORS && strlen(errid) < ERRID_MAX) {
        snprintf(s->error_ids[i], ERRID_MAX, "%s", errid);
        s->nerrors++;
    }
    if (i < s->nerrors)
        s->error_count[i]++;
    else
        s->error_other++;
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_set_child_rss(qr_metrics *a, unsigned long long rss)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->s->mu);
    a->s->slot[a->slot].child_rss = rss;
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_set_disk(qr_metrics *a, unsigned long long free_b, unsigned long long total_b)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->s->mu);
    a->s->have_disk = true;
    a->s->disk_free = free_b;
    a->s->disk_total = total_b;
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_record_wait(qr_metrics *a, double seconds)
{
    if (!a || !(seconds >= 0))
        return;
    pthread_mutex_lock(&a->s->mu);
    a->s->wait_sum += seconds;
    a->s->wait_count++;
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_set_busy(qr_metrics *a, unsigned busy)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->s->mu);
    a->s->slot[a->slot].busy = busy;
    if (!busy)
        a->s->slot[a->slot].child_rss = 0;
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_set_registered(qr_metrics *a, bool registered)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->s->mu);
    slot_state *st = &a->s->slot[a->slot];
    st->registered = registered;
    if (registered)
        st->last_heartbeat = qr_now();
    else
        st->busy = 0;
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_heartbeat(qr_metrics *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->s->mu);
    a->s->slot[a->slot].last_heartbeat = qr_now();
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_set_queues(qr_metrics *a, const char *const *queues, const long long *depths,
                           const double *ages, size_t n)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->s->mu);
    a->s->nqueues = 0;
    for (size_t i = 0; i < n && a->s->nqueues < QR_METRICS_MAX_QUEUES; i++) {
        snprintf(a->s->queues[a->s->nqueues], NAME_MAX_BYTES, "%s", queues[i]);
        a->s->oldest_age[a->s->nqueues] = ages ? ages[i] : -1;
        a->s->depths[a->s->nqueues++] = depths[i];
    }
    pthread_mutex_unlock(&a->s->mu);
}

void qr_metrics_set_depths(qr_metrics *a, const char *const *queues, const long long *depths,
                           size_t n)
{
    qr_metrics_set_queues(a, queues, depths, NULL, n);
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

/* The stage histogram, child RSS, disk and failures by error id; called with the mutex held. */
static int render_resources(qr_buf *b, const shared_state *a, unsigned long long rss, qr_error *err)
{
    int rc = qr_buf_appendf(b, err,
                            "# HELP quire_stage_duration_seconds Time per pipeline stage of a "
                            "job.\n# TYPE quire_stage_duration_seconds histogram\n");
    for (int k = 0; rc == 0 && k < NSTAGES; k++) {
        unsigned long long cum = 0;
        for (int i = 0; rc == 0 && i <= QR_METRICS_NBUCKETS; i++) {
            cum += a->stage_bucket[k][i];
            if (i < QR_METRICS_NBUCKETS)
                rc = qr_buf_appendf(b, err,
                                    "quire_stage_duration_seconds_bucket{stage=\"%s\",le=\"%g\"} "
                                    "%llu\n",
                                    stage_names[k], bucket_le[i], cum);
            else
                rc = qr_buf_appendf(b, err,
                                    "quire_stage_duration_seconds_bucket{stage=\"%s\",le=\"+Inf\"} "
                                    "%llu\n",
                                    stage_names[k], cum);
        }
        if (rc == 0)
            rc = qr_buf_appendf(b, err,
                                "quire_stage_duration_seconds_sum{stage=\"%s\"} %.6f\n"
                                "quire_stage_duration_seconds_count{stage=\"%s\"} %llu\n",
                                stage_names[k], a->stage_sum[k], stage_names[k], a->stage_count[k]);
    }
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_child_rss_bytes Resident memory of the running job's "
                            "child (0 when idle).\n# TYPE quire_child_rss_bytes gauge\n"
                            "quire_child_rss_bytes %llu\n",
                            rss);
    for (unsigned i = 0; rc == 0 && i < a->nslots; i++)
        rc = qr_buf_appendf(b, err, "quire_child_rss_bytes{slot=\"%u\"} %llu\n", i,
                            a->slot[i].child_rss);
    if (rc == 0 && a->have_disk)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_disk_free_bytes Free bytes on the work directory's file "
                            "system.\n# TYPE quire_disk_free_bytes gauge\n"
                            "quire_disk_free_bytes %llu\n"
                            "# HELP quire_disk_total_bytes Size of the work directory's file "
                            "system.\n# TYPE quire_disk_total_bytes gauge\n"
                            "quire_disk_total_bytes %llu\n",
                            a->disk_free, a->disk_total);
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_job_failures_total Failed runs, by error id.\n"
                            "# TYPE quire_job_failures_total counter\n");
    for (size_t i = 0; rc == 0 && i < a->nerrors; i++) {
        rc = qr_buf_appendf(b, err, "quire_job_failures_total{error=\"");
        if (rc == 0)
            rc = append_label(b, a->error_ids[i], err);
        if (rc == 0)
            rc = qr_buf_appendf(b, err, "\"} %llu\n", a->error_count[i]);
    }
    if (rc == 0 && a->error_other > 0)
        rc = qr_buf_appendf(b, err, "quire_job_failures_total{error=\"other\"} %llu\n",
                            a->error_other);
    return rc;
}

/* Called with the mutex held. */
static int render(qr_buf *b, const shared_state *a, double now, qr_error *err)
{
    unsigned long long jobs[QR_METRICS_NOUTCOMES] = {0}, count = 0, rss = 0;
    double sum = 0, oldest = -1;
    unsigned busy = 0;
    for (unsigned i = 0; i < a->nslots; i++) {
        const slot_state *st = &a->slot[i];
        for (int k = 0; k < QR_METRICS_NOUTCOMES; k++)
            jobs[k] += st->jobs[k];
        rss += st->child_rss;
        sum += st->duration_sum;
        count += st->duration_count;
        busy += st->busy;
        if (st->last_heartbeat > 0 && (oldest < 0 || st->last_heartbeat < oldest))
            oldest = st->last_heartbeat;
    }
    int rc = qr_buf_appendf(b, err,
                            "# HELP quire_jobs_total Jobs finished, by outcome.\n"
                            "# TYPE quire_jobs_total counter\n");
    for (int i = 0; rc == 0 && i < QR_METRICS_NOUTCOMES; i++)
        rc = qr_buf_appendf(b, err, "quire_jobs_total{outcome=\"%s\"} %llu\n", outcome_names[i],
                            jobs[i]);
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_job_duration_seconds Wall-clock time per job.\n"
                            "# TYPE quire_job_duration_seconds summary\n"
                            "quire_job_duration_seconds_sum %.6f\n"
                            "quire_job_duration_seconds_count %llu\n"
                            "# HELP quire_busy_slots Slots running a job now.\n"
                            "# TYPE quire_busy_slots gauge\n"
                            "quire_busy_slots %u\n"
                            "# HELP quire_slots Worker slots of this process.\n"
                            "# TYPE quire_slots gauge\n"
                            "quire_slots %u\n"
                            "# HELP quire_slot_busy A job runs in this slot now.\n"
                            "# TYPE quire_slot_busy gauge\n",
                            sum, count, busy, a->nslots);
    for (unsigned i = 0; rc == 0 && i < a->nslots; i++)
        rc = qr_buf_appendf(b, err, "quire_slot_busy{slot=\"%u\"} %u\n", i, a->slot[i].busy);
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_slot_registered The slot is registered in "
                            "Redis.\n# TYPE quire_slot_registered gauge\n");
    for (unsigned i = 0; rc == 0 && i < a->nslots; i++)
        rc = qr_buf_appendf(b, err, "quire_slot_registered{slot=\"%u\"} %d\n", i,
                            a->slot[i].registered ? 1 : 0);
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_slot_jobs_total Jobs finished by this slot.\n"
                            "# TYPE quire_slot_jobs_total counter\n");
    for (unsigned i = 0; rc == 0 && i < a->nslots; i++)
        for (int k = 0; rc == 0 && k < QR_METRICS_NOUTCOMES; k++)
            rc = qr_buf_appendf(b, err, "quire_slot_jobs_total{slot=\"%u\",outcome=\"%s\"} %llu\n",
                                i, outcome_names[k], a->slot[i].jobs[k]);
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_queue_wait_seconds From enqueue to start, for jobs "
                            "whose payload carries the enqueue time.\n"
                            "# TYPE quire_queue_wait_seconds summary\n"
                            "quire_queue_wait_seconds_sum %.6f\n"
                            "quire_queue_wait_seconds_count %llu\n",
                            a->wait_sum, a->wait_count);
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_queue_depth Jobs waiting, per queue, as last "
                            "polled.\n# TYPE quire_queue_depth gauge\n");
    for (size_t i = 0; rc == 0 && i < a->nqueues; i++) {
        rc = qr_buf_appendf(b, err, "quire_queue_depth{queue=\"");
        if (rc == 0)
            rc = append_label(b, a->queues[i], err);
        if (rc == 0)
            rc = qr_buf_appendf(b, err, "\"} %lld\n", a->depths[i]);
    }
    if (rc == 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_queue_oldest_age_seconds Age of the oldest job waiting, "
                            "per queue, from its payload's enqueue time.\n"
                            "# TYPE quire_queue_oldest_age_seconds gauge\n");
    for (size_t i = 0; rc == 0 && i < a->nqueues; i++) {
        if (a->oldest_age[i] < 0)
            continue;
        rc = qr_buf_appendf(b, err, "quire_queue_oldest_age_seconds{queue=\"");
        if (rc == 0)
            rc = append_label(b, a->queues[i], err);
        if (rc == 0)
            rc = qr_buf_appendf(b, err, "\"} %.3f\n", a->oldest_age[i]);
    }
    if (rc == 0)
        rc = render_resources(b, a, rss, err);
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
    if (rc == 0 && oldest > 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_worker_heartbeat_age_seconds Since the last heartbeat "
                            "(the oldest slot's).\n"
                            "# TYPE quire_worker_heartbeat_age_seconds gauge\n"
                            "quire_worker_heartbeat_age_seconds %.3f\n",
                            now - oldest);
    if (rc == 0 && oldest > 0)
        rc = qr_buf_appendf(b, err,
                            "# HELP quire_slot_heartbeat_age_seconds Since this slot's "
                            "last heartbeat.\n"
                            "# TYPE quire_slot_heartbeat_age_seconds gauge\n");
    for (unsigned i = 0; rc == 0 && oldest > 0 && i < a->nslots; i++)
        if (a->slot[i].last_heartbeat > 0)
            rc = qr_buf_appendf(b, err, "quire_slot_heartbeat_age_seconds{slot=\"%u\"} %.3f\n", i,
                                now - a->slot[i].last_heartbeat);
    return rc;
}

int qr_metrics_render(char **out, qr_metrics *a, double now, qr_error *err)
{
    qr_buf b = QR_BUF_INIT(METRICS_MAX);
    *out = NULL;
    pthread_mutex_lock(&a->s->mu);
    int rc = render(&b, a->s, now, err);
    pthread_mutex_unlock(&a->s->mu);
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
    bool ok = true;
    pthread_mutex_lock(&a->s->mu);
    for (unsigned i = 0; ok && i < a->s->nslots; i++) {
        const slot_state *st = &a->s->slot[i];
        double age = now - st->last_heartbeat;
        char which[32] = "";
        if (a->s->nslots > 1)
            snprintf(which, sizeof(which), "slot %u: ", i);
        if (!st->registered) {
            snprintf(reason, reason_len, "%sworker not registered", which);
            ok = false;
        } else if (age > a->s->stale_after_s) {
            snprintf(reason, reason_len, "%slast heartbeat %.0f s ago (limit %.0f s)", which, age,
                     a->s->stale_after_s);
            ok = false;
        }
    }
    pthread_mutex_unlock(&a->s->mu);
    return ok;
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
