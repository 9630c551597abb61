/*
 * The worker's admin endpoint: a small HTTP server (libmicrohttpd, one
 * internal polling thread) serving GET /healthz and a Prometheus GET
 * /metrics (text format 0.0.4). The worker's main loop owns the numbers and
 * pushes them in through the qr_admin_* setters, which take a mutex; the
 * HTTP thread only reads them under that mutex, so it never touches the
 * worker's Redis connection. docs/operations/worker.md lists the metrics.
 *
 * Endpoints: /healthz → 200 "ok\n" while the worker is registered and its
 * last heartbeat is younger than `stale_after_s`, else 503 with the reason;
 * /metrics → 200; any other path 404; any method but GET (and HEAD) 405.
 */
#ifndef QR_ADMIN_H
#define QR_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "qr/error.h"

typedef struct qr_admin qr_admin;

/* Default admin address: loopback only. */
#define QR_ADMIN_DEFAULT_LISTEN "127.0.0.1:9187"
/* Most queues whose depth /metrics reports. */
#define QR_ADMIN_MAX_QUEUES 64

typedef enum qr_admin_outcome {
    QR_ADMIN_SUCCEEDED = 0,
    QR_ADMIN_FAILED,
    QR_ADMIN_REQUEUED
} qr_admin_outcome;

/*
 * A metrics holder with no server yet. The caller owns *out (qr_admin_free).
 * Errors: invalid-argument (stale_after_s <= 0), out-of-memory.
 */
int qr_admin_new(qr_admin **out, double stale_after_s, qr_error *err) QR_WUR;

/*
 * Starts serving on `listen` ("A.B.C.D:PORT", IPv4 only; only that address
 * is bound). Errors: invalid-argument (bad address), io (cannot bind).
 */
int qr_admin_listen(qr_admin *a, const char *listen, qr_error *err) QR_WUR;

/* Stops the server (joins its thread) and frees everything. NULL-safe. */
void qr_admin_free(qr_admin *a);

/* Setters for the worker's loop; all NULL-safe (admin disabled) and thread-safe. */
void qr_admin_record_job(qr_admin *a, qr_admin_outcome outcome, double seconds);
void qr_admin_set_busy(qr_admin *a, unsigned busy);
/* Registered or not; registering counts as a heartbeat. */
void qr_admin_set_registered(qr_admin *a, bool registered);
/* A successful heartbeat now. */
void qr_admin_heartbeat(qr_admin *a);
/* Replaces the known queue depths (names copied; beyond QR_ADMIN_MAX_QUEUES ignored). */
void qr_admin_set_depths(qr_admin *a, const char *const *queues, const long long *depths,
                         size_t n);

/*
 * Renders the /metrics body at monotonic time `now` (seconds, as
 * qr_admin_now). The caller frees *out with free(). Errors: out-of-memory.
 */
int qr_admin_metrics(char **out, qr_admin *a, double now, qr_error *err) QR_WUR;

/*
 * Health at `now`: true when registered with a recent heartbeat; otherwise
 * false and `reason` (at least 128 bytes) says why.
 */
bool qr_admin_healthy(qr_admin *a, double now, char *reason, size_t reason_len);

/* Monotonic clock in seconds (CLOCK_MONOTONIC). */
double qr_admin_now(void);

#endif
