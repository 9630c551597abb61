/*
 * The worker's health and Prometheus metrics, served by qr_httpd at
 * GET /healthz and GET /metrics (text format 0.0.4). The worker's main loop
 * owns the numbers and pushes them in through the qr_metrics_* setters,
 * which take a mutex; the HTTP thread only reads them under that mutex
 * (qr_metrics_handle), so it never touches the worker's Redis connection.
 * docs/operations/monitoring.md lists the metrics.
 *
 * Endpoints: /healthz → 200 "ok\n" while the worker is registered and its
 * last heartbeat is younger than `stale_after_s`, else 503 with the reason;
 * /metrics → 200; any other path 404; any method but GET (and HEAD) 405.
 */
#ifndef QR_METRICS_H
#define QR_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "qr/error.h"
#include "qr/httpd.h"

typedef struct qr_metrics qr_metrics;

/* Default address of the worker's endpoint: loopback only. */
#define QR_METRICS_DEFAULT_LISTEN "127.0.0.1:9187"
/* Most queues whose depth /metrics reports. */
#define QR_METRICS_MAX_QUEUES 64

typedef enum qr_metrics_outcome {
    QR_METRICS_SUCCEEDED = 0,
    QR_METRICS_FAILED,
    QR_METRICS_REQUEUED,
    QR_METRICS_CRASHED /* the child died by a signal the worker did not send, or without a result */
} qr_metrics_outcome;
#define QR_METRICS_NOUTCOMES 4

/* Most error ids quire_job_failures_total keeps apart (more are counted as "other"). */
#define QR_METRICS_MAX_ERRORS 64
/* Finite upper bounds of quire_stage_duration_seconds' buckets (then +Inf). */
#define QR_METRICS_NBUCKETS 15

/* Most slots one holder reports. */
#define QR_METRICS_MAX_SLOTS 256

/*
 * A metrics holder with no server yet, for one slot. The caller owns *out
 * (qr_metrics_free). Errors: invalid-argument (stale_after_s <= 0),
 * out-of-memory.
 */
int qr_metrics_new(qr_metrics **out, double stale_after_s, qr_error *err) QR_WUR;
/*
 * The same for `nslots` slots, in memory shared with processes forked
 * afterwards: each slot's process takes a handle with qr_metrics_attach and
 * writes its own part; /metrics shows the totals and per-slot series
 * (slot="i"); /healthz is healthy when every slot is registered with a
 * fresh heartbeat. This handle writes as slot 0.
 */
int qr_metrics_new_slots(qr_metrics **out, unsigned nslots, double stale_after_s,
                         qr_error *err) QR_WUR;
/* A handle on `shared`'s state writing as `slot` (free with qr_metrics_free; the state stays). */
int qr_metrics_attach(qr_metrics **out, const qr_metrics *shared, unsigned slot,
                      qr_error *err) QR_WUR;

/* Frees the handle (and the state, for the one that created it); stop the server first. NULL-safe.
 */
void qr_metrics_free(qr_metrics *a);

/*
 * A qr_httpd_handler over a qr_metrics (`ud`): /healthz, /metrics, 404 for
 * other paths, 405 for methods other than GET and HEAD.
 */
void qr_metrics_handle(void *ud, const qr_httpd_request *req, qr_httpd_response *resp);

/* Setters for the worker's loop; all NULL-safe (endpoint disabled) and thread-safe. */
void qr_metrics_record_job(qr_metrics *a, qr_metrics_outcome outcome, double seconds);
void qr_metrics_set_busy(qr_metrics *a, unsigned busy);
/* A job's wait in its queue, from its payload's enqueue time to its start. */
void qr_metrics_record_wait(qr_metrics *a, double seconds);
/*
 * One stage's seconds of one job into quire_stage_duration_seconds: fetch,
 * compress, positions, slice, encrypt, publish (other names are ignored).
 */
void qr_metrics_record_stage(qr_metrics *a, const char *stage, double seconds);
/* A job that failed with error id `errid` (quire_job_failures_total{error}). */
void qr_metrics_record_failure(qr_metrics *a, const char *errid);
/* This slot's child's resident bytes now (0: idle). */
void qr_metrics_set_child_rss(qr_metrics *a, unsigned long long rss);
/* The work directory's file system: free and total bytes. */
void qr_metrics_set_disk(qr_metrics *a, unsigned long long free_b, unsigned long long total_b);
/* Registered or not; registering counts as a heartbeat. */
void qr_metrics_set_registered(qr_metrics *a, bool registered);
/* A successful heartbeat now. */
void qr_metrics_heartbeat(qr_metrics *a);
/* Replaces the known queue depths (names copied; beyond QR_METRICS_MAX_QUEUES ignored). */
void qr_metrics_set_depths(qr_metrics *a, const char *const *queues, const long long *depths,
                           size_t n);
/*
 * The same with each queue's oldest job's age in seconds (from its
 * payload's enqueue time; < 0: unknown, no quire_queue_oldest_age_seconds
 * series). `ages` may be NULL.
 */
void qr_metrics_set_queues(qr_metrics *a, const char *const *queues, const long long *depths,
                           const double *ages, size_t n);

/*
 * The labels of quire_build_info (`quire_build_info{version="...",...} 1`):
 * names must be Prometheus label names; both arrays copied. A later call
 * replaces them; more than QR_METRICS_MAX_INFO pairs are cut.
 */
void qr_metrics_set_info(qr_metrics *a, const char *const *names, const char *const *values,
                         size_t n);
#define QR_METRICS_MAX_INFO 16

/*
 * Renders the /metrics body at monotonic time `now` (seconds, as qr_now). The caller frees *out
 * with free(). Errors: out-of-memory.
 */
int qr_metrics_render(char **out, qr_metrics *a, double now, qr_error *err) QR_WUR;

/*
 * Health at `now`: true when every slot is registered with a recent heartbeat; otherwise
 * false and `reason` (at least 128 bytes) says why.
 */
bool qr_metrics_healthy(qr_metrics *a, double now, char *reason, size_t reason_len);

#endif
