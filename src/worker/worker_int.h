/* Internals shared by the files of src/worker/ (docs/internals/worker.md). */
#ifndef QR_WORKER_INT_H
#define QR_WORKER_INT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "qr/admin.h"
#include "qr/notify.h"
#include "qr/payload.h"
#include "qr/resque.h"
#include "qr/worker.h"

/* Failure callbacks in flight at once; one more waits for the oldest. */
#define QR_WORKER_MAX_NOTIFIERS 8

/* One worker slot: options, flags, the Redis context and its timers. */
typedef struct qr_worker {
    const qr_worker_opts *o;
    qr_worker_signals *sig;
    qr_resque *r;
    double next_heartbeat; /* monotonic seconds */
    double next_sweep;
    double interval_s, heartbeat_s, sweep_s, drain_timeout_s;
    long prune_after_s;
    unsigned max_attempts;
    pid_t parent_pid; /* this worker's pid, for children to notice an orphaning */
    qr_admin *admin;  /* metrics for /healthz and /metrics; NULL when disabled */
    /* Children delivering the failure callback of a job the parent ended (reaped by tick). */
    pid_t notifiers[QR_WORKER_MAX_NOTIFIERS];
    size_t nnotifiers;
} qr_worker;

/* What a child reported, or what happened to it. */
typedef struct qr_worker_outcome {
    bool ok;        /* the child reported success */
    bool crashed;   /* no result: killed by a signal or exited without one */
    bool released;  /* drain: the job went back to its queue */
    bool by_parent; /* the parent ended the job (limit, USR1, crash): the child sent no callback */
    char id[64];    /* error id (the failure's exception) */
    char msg[512];  /* the failure's error line */
    char stage[32]; /* last stage the child reported */
    char context[256];
    char log[4096]; /* tail of the child's log (complete lines), for failure entries */
    double seconds; /* wall-clock time of the run, for /metrics */
} qr_worker_outcome;

/* Monotonic clock in seconds. */
double qr_worker__now(void);
/* Sleeps up to `s` seconds in short steps, returning early when a stop flag is set. */
void qr_worker__sleep(qr_worker *w, double s);
/* Heartbeat and sweep when due, and reaps finished notifiers; errors are logged, never fatal. */
void qr_worker__tick(qr_worker *w);
/* Reaps notifier children: those that have exited, or (`wait_all`) every one. */
void qr_worker__reap_notifiers(qr_worker *w, bool wait_all);
/* Writes the process title ("resque-<version>: <what>"); no-op without title memory. */
void qr_worker__title(const qr_worker *w, const char *fmt, ...) QR_PRINTF(2, 3);

/*
 * Cleans up after a dead slot of this host (worker id host:<pid>:<queues>):
 * its leftover jobs go back to their queues with an attempt counted
 * (qr_resque_recover_own), then its Resque keys are removed
 * (qr_resque_unregister). Failures are logged; a later sweep finishes the job.
 */
void qr_worker__reap_slot(const qr_worker_opts *o, long pid);

/*
 * Runs one reserved job to its end: parse, check, fork, supervise, record.
 * Returns 0 once the job is recorded or released; a negative code only when
 * Redis refused to record the result before a stop was asked (the job stays
 * in the processing list for the next run or a sweep).
 */
int qr_worker__run_job(qr_worker *w, const qr_resque_job *job, qr_error *err);

/*
 * POSTs `res` to the job's callback_url with the worker's callback options
 * and logs the outcome (book, idempotency key, attempts). Errors: those of
 * qr_callback_deliver.
 */
int qr_worker__deliver(const qr_worker *w, const qr_job *job, const qr_callback_result *res,
                       qr_error *err);

/*
 * Child side: checks the job's source and profile, fetches a remote source
 * into a work directory, processes the book into the store, sends the
 * callback when the job has one, and writes the result as one JSON line to
 * `fd`, stage lines before it. Its log goes to stderr and, as text lines, to
 * `capture` (nullable). Never returns.
 */
void qr_worker__child(const qr_worker *w, const qr_job *job, const char *queue, int fd,
                      FILE *capture) __attribute__((noreturn));

#endif
