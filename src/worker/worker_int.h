/* Internals shared by the files of src/worker/ (docs/internals/worker.md). */
#ifndef QR_WORKER_INT_H
#define QR_WORKER_INT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "qr/metrics.h"
#include "qr/notify.h"
#include "qr/package.h"
#include "qr/payload.h"
#include "qr/resque.h"
#include "qr/worker.h"

/* Failure callbacks in flight at once; one more waits for the oldest. */
#define QR_WORKER_MAX_NOTIFIERS 8
/* Most slots under one supervisor. */
#define QR_WORKER__MAX_SLOTS 256

/* The slots' busy/idle board the fleet agent reads (fleet_agent.c), in shared memory. */
typedef struct qr_worker__board qr_worker__board;

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
    pid_t parent_pid;    /* this worker's pid, for children to notice an orphaning */
    bool told_stopping;  /* systemd has been told STOPPING=1 */
    double next_extend;  /* when the next stop-timeout extension is due (monotonic) */
    qr_metrics *metrics; /* /healthz and /metrics state; NULL when the endpoint is off */
    pid_t admin;         /* the process serving it (qr_worker__admin_start); 0 when off */
    /* Children delivering the failure callback of a job the parent ended (reaped by tick). */
    qr_worker__board *board;      /* fleet mode: where this slot says it is busy; else NULL */
    const qr_resque_job *current; /* the job being run, for a re-registration; else NULL */
    char machine[128];            /* boot_id and PID namespace: who sees the same PIDs */
    unsigned slot;                /* this slot's index on the board */
    pid_t notifiers[QR_WORKER_MAX_NOTIFIERS];
    size_t nnotifiers;
    char *job_work; /* the running job's own work directory (its child's work_parent), or NULL */
    int job_lock;   /* the flock on job_work (qr_worker__lock_dir), or -1 */
    double next_digest; /* when to look for a due alert digest next (monotonic) */
} qr_worker;

/* ---- the child's result, both ends (outcome.c) ---- */

/*
 * What became of one job: the child's report, or what the parent saw.
 * `err.stage` points into `stage`: an outcome is never copied.
 */
typedef struct qr_worker_outcome {
    bool ok;               /* the child reported success */
    bool crashed;          /* no result: killed by a signal or exited without one */
    bool released;         /* drain: the job goes back to its queue, no attempt counted */
    bool by_parent;        /* the parent ended the job (limit, USR1, crash): no callback was sent */
    qr_error err;          /* the failure (the child's own error, or the parent's verdict) */
    const char *exception; /* the Resque failure's exception: err.id, or "Resque::DirtyExit" */
    char stage[32];        /* the last stage the child reported */
    char book_id[65];      /* success: what was published */
    char revision[65];
    bool already_published;
    double child_seconds; /* success: the child's own processing time */
    char log[4096];       /* tail of the child's log (complete lines), for failure entries */
    double seconds;       /* wall-clock time of the run, for /metrics */
    /* For the history record (history.c). */
    char job_id[129];  /* the job id (the callback's Idempotency-Key) */
    double t_stage[5]; /* compress, positions, slice, encrypt, publish (child's report) */
    uint64_t bytes_in, bytes_out; /* source and sealed package bytes (success) */
    size_t slices;
    uint64_t peak_rss;      /* the child's, sampled every 100 ms */
    double cpu_s;           /* the child's user + system time */
    double started, ended;  /* Unix seconds */
    uint64_t disk_free;     /* free bytes in the work directory at start */
    uint64_t disk_total;    /* size of its file system */
    uint64_t disk_used;     /* peak bytes under the job's work directory (sampled every second) */
    uint64_t disk_free_min; /* least free space seen during the job */
    double t_fetch;         /* seconds in the fetch stage, timed by the parent */
    bool disk_full;         /* disk-full: gets one more run (record.c), maybe on another host */
    char *json_log;         /* the child's whole log (JSON lines; the last log_max bytes) */
    size_t json_log_len;
} qr_worker_outcome;

/* Reads the child's JSON lines: stage updates and the final result. */
typedef struct qr_worker__pipe {
    char line[16384];
    size_t len;
    bool overflow; /* the current line is too long: dropped */
    bool have_result;
} qr_worker__pipe;

void qr_worker__outcome_init(qr_worker_outcome *oc);
/* Child: one stage line; false when the parent is gone. Never logs. */
bool qr_worker__send_stage(int fd, const char *stage);
/* Child: the result line, the report `r` on success, else `err` (stage: err's, else `stage`). */
bool qr_worker__send_result(int fd, const qr_process_report *r, const qr_error *err,
                            const char *stage);
/* Parent: drains what the pipe holds now into `oc`; false at EOF or on an error. */
bool qr_worker__pipe_read(qr_worker__pipe *p, int fd, qr_worker_outcome *oc);
/*
 * Parent: the job failed for reason `id` at the last reported stage, with
 * Resque exception `exception` (NULL: the id itself).
 */
void qr_worker__outcome_fail(qr_worker_outcome *oc, qr_errid id, const char *exception,
                             const char *fmt, ...) QR_PRINTF(4, 5);

/* ---- recording (record.c) ---- */

/*
 * Records the outcome of `rj` once per call to Redis, whichever path asks:
 * a released job goes back to the head of its queue (a drain counts no
 * attempt; a crash counts one and becomes a failure at max_attempts), any
 * other job is removed with its stats or failure entry. Retried with the
 * queue layer's backoff while Redis is away; when a stop is asked meanwhile,
 * one last attempt is made through the same path. *final_failure says the
 * job ended as a failure (not released to run again).
 * Returns 0 once recorded; a negative code only when Redis refused before a
 * stop was asked (the job stays in the processing list for a sweep).
 */
int qr_worker__record(qr_worker *w, const qr_resque_job *rj, const qr_worker_outcome *oc,
                      bool *final_failure, qr_error *err);

/* ---- the process (proc.c) ---- */

/* Sleeps up to `s` seconds in short steps, returning early when a stop flag is set. */
void qr_worker__sleep(qr_worker *w, double s);
/* Heartbeat and sweep when due, and reaps finished notifiers; errors are logged, never fatal. */
void qr_worker__tick(qr_worker *w);
/*
 * Forks a notifier child (fflush first; waits for the oldest when
 * QR_WORKER_MAX_NOTIFIERS are in flight): 0 in the child, which must
 * _exit; its pid in the parent, which keeps it for reaping; -1 when fork
 * failed (errno).
 */
pid_t qr_worker__notifier_fork(qr_worker *w);
/* Reaps notifier children: those that have exited, or (`wait_all`) every one. */
void qr_worker__reap_notifiers(qr_worker *w, bool wait_all);
/* Writes the process title ("resque-<version>: <what>"); no-op without title memory. */
void qr_worker__title(const qr_worker *w, const char *fmt, ...) QR_PRINTF(2, 3);
/* Publishes the worker's info key (version, libraries, pid, machine). */
int qr_worker__publish_info(qr_worker *w, qr_error *err);
/* True once a drain or a quit was asked. */
bool qr_worker__stopping(const qr_worker *w);

/*
 * Cleans up after a dead slot of this host (worker id host:<pid>:<queues>):
 * its leftover jobs go back to their queues with an attempt counted
 * (qr_resque_recover_own), then its Resque keys are removed
 * (qr_resque_unregister). Failures are logged; a later sweep finishes the job.
 */
void qr_worker__reap_slot(const qr_worker_opts *o, long pid);

/*
 * Runs one slot: qr_worker_run without the instance-wide fleet duties,
 * reporting to `board` (may be NULL) as slot `slot`, and writing its
 * metrics into the supervisor's `shared` holder (NULL: its own endpoint at
 * o->admin_listen, if any).
 */
int qr_worker__run(const qr_worker_opts *o, qr_worker_signals *sig, qr_worker__board *board,
                   unsigned slot, qr_metrics *shared, qr_error *err);

/* ---- history (history.c) ---- */

/*
 * The job's history record and its log (compressed) in Redis, and its live
 * state at the end; failures are logged, never the job's. Bounded: one
 * XADD, one SET, one HSET + EXPIRE on the worker's connection.
 */
void qr_worker__history(qr_worker *w, const qr_resque_job *rj, const qr_job *job,
                        const qr_worker_outcome *oc, const char *outcome);
/* The live state of the job (`state`: running, stage names, the outcome). */
void qr_worker__job_state(qr_worker *w, const char *job_id, const char *state, const char *stage,
                          const char *book_id);

/*
 * The running job's live state: stage, the child's resident bytes, its work
 * directory's bytes and the file system's free bytes now. One HSET and one
 * EXPIRE; a failure is logged once and the caller backs off.
 */
int qr_worker__job_live(qr_worker *w, const char *job_id, const char *stage, uint64_t rss,
                        uint64_t disk_used, uint64_t disk_free, double started);

/* ---- resources (resources.c) ---- */

/* Resident bytes of `pid` from /proc/<pid>/statm; 0 when unknown. */
uint64_t qr_worker__rss_bytes(pid_t pid);
/* Free and total bytes of the file system holding `path`; -1 when statvfs fails. */
int qr_worker__disk(const char *path, uint64_t *free_b, uint64_t *total_b);
/* Bytes allocated under `dir` (st_blocks), walking at most 64 levels and 100000 entries. */
uint64_t qr_worker__dir_usage(const char *dir);
/*
 * An flock on the directory `dir` (held by its descriptor, which a forked
 * child shares): the descriptor, or -1.
 */
int qr_worker__lock_dir(const char *dir);
/*
 * Removes the job directories (quire-job-*) under `work` that no live
 * worker holds (their lock is free and they are over 10 s old): those of a
 * worker or child that was killed outright. Logged.
 */
void qr_worker__sweep_job_dirs(const char *work);
/* An error message that says the disk was full (ENOSPC's text), for ids that lost the cause. */
bool qr_worker__says_disk_full(const qr_error *e);
/*
 * One CloudWatch embedded-metric-format line (namespace Quire) for a job's
 * end: JobSeconds, StageSeconds (dimension Stage), PeakRssBytes,
 * DiskFreeBytes and a count of JobsSucceeded, JobsFailed or JobsCrashed,
 * and per stage StageSeconds; the dimension is the Auto Scaling group
 * `group` (plus Stage), none when `group` is NULL or empty; Queue and
 * Outcome are properties. `now_ms`: Unix milliseconds. *out: malloc'd, no
 * newline.
 */
int qr_worker__emf_line(char **out, const qr_worker_outcome *oc, const char *queue,
                        const char *outcome, const char *group, long long now_ms,
                        qr_error *err) QR_WUR;

/* ---- alerts (alert.c) ---- */

/*
 * After a job's outcome is recorded: when it calls for an alert (a crash,
 * a kill at a limit, a poison pill; any failure with alert->failures),
 * claims it in Redis (one per book per period, the digest past the burst)
 * and forks a notifier that mails and posts it. Never fails, never waits
 * on the relay; failures are logged as alert-failed.
 */
void qr_worker__alert(qr_worker *w, const qr_resque_job *rj, const qr_job *job,
                      const qr_worker_outcome *oc, bool final_failure);
/* From the tick: takes a due digest, if any, and forks a notifier that mails it. */
void qr_worker__alert_digest(qr_worker *w);

/* ---- the admin endpoint (slots.c) ---- */

/*
 * Forks the process that serves `m` (/healthz, /metrics) at `listen` for
 * `nslots` slots, so the worker or supervisor that forks jobs and slots
 * never runs a thread; its pid once it listens, or -1 (logged).
 */
pid_t qr_worker__admin_start(const char *listen, qr_metrics *m, unsigned nslots);
/* Stops it (TERM) and waits. No-op for pid <= 0. */
void qr_worker__admin_stop(pid_t pid);

/* ---- the fleet agent (fleet_agent.c) ---- */

/* A board for `nslots` slots, all idle, in memory shared with forked processes; NULL: mmap failed.
 */
qr_worker__board *qr_worker__board_new(unsigned nslots);
void qr_worker__board_free(qr_worker__board *b);
/*
 * Slot `slot` took a job (`busy`) or finished it. The first slot to become
 * busy waits (up to 5 s) until the agent has asked for scale-in protection.
 */
void qr_worker__board_busy(qr_worker__board *b, unsigned slot, bool busy);
/* Slot `slot` is idle and its last poll found every queue empty (or it stopped). */
void qr_worker__board_idle(qr_worker__board *b, unsigned slot);
/* The agent saw the instance terminating. */
bool qr_worker__board_terminating(qr_worker__board *b);
/*
 * Forks the agent for o->fleet, reading `b`; its pid, or -1 (logged) when
 * fork failed. Call before any thread is started and before the slots fork.
 */
pid_t qr_worker__agent_start(const qr_worker_opts *o, qr_worker__board *b);
/*
 * The owner has drained and unregistered: the agent completes the drain
 * hook (or drops the protection) and exits; waits for it (bounded) unless
 * it was already `reaped`.
 */
void qr_worker__agent_finish(qr_worker__board *b, pid_t pid, bool reaped);

/* ---- systemd (sdnotify.c) ---- */

/*
 * Sends one sd_notify message ("READY=1\nSTATUS=...") when `enabled` (the
 * unit's main process); does nothing otherwise or outside systemd.
 */
void qr_worker__sd(bool enabled, const char *fmt, ...) QR_PRINTF(2, 3);
/*
 * The protocol itself (sd_notify(3), no libsystemd): sends `msg` as one
 * datagram to $NOTIFY_SOCKET (a path, or '@' and an abstract name). Returns
 * 1 when sent, 0 when the variable is unset or names another kind of
 * address, -errno when it cannot be sent.
 */
int qr_worker__sd_send(const char *msg);
/*
 * While a stop waits for work to finish: pushes systemd's stop timeout a
 * little further ahead, at most once per renewal period (*next, monotonic
 * seconds, starts at 0).
 */
void qr_worker__sd_extend(bool enabled, double *next, double now);

/* ---- one job (job.c, child.c) ---- */

/*
 * Runs one reserved job to its end: parse, fork, supervise, record.
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
 * Child side: processes the job's source into the store
 * (qr_process_source), sends the callback when the job has one, and writes
 * the result to `fd` (qr_worker__send_result), stage lines before it. Its
 * log goes to stderr, as JSON lines to `jcap` (the history's per-job log)
 * and as text lines to `capture` (the failure entry's tail); both nullable.
 * Never returns.
 */
void qr_worker__child(const qr_worker *w, const qr_job *job, const char *queue, int fd, FILE *jcap,
                      FILE *capture) __attribute__((noreturn));

#endif
