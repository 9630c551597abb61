/*
 * The worker: a Resque-compatible job loop (`quire worker`). One call runs one
 * worker slot until it is told to stop: register under Resque's keys, reserve
 * jobs into this worker's processing list, fork one child per job to process
 * the book into a store, supervise the child (heartbeat, wall-clock limit,
 * drain) and record the result through the queue layer (qr/resque.h).
 * docs/internals/worker.md explains the loop; docs/operations/worker.md the
 * signals and options.
 *
 * Process-wide rules the caller (the binary) must follow:
 *   - ignore SIGPIPE (hiredis writes to sockets directly);
 *   - do NOT initialise libvips before calling qr_worker_run: libvips starts
 *     threads, and only the forking thread survives fork(). Each child calls
 *     qr_image_global_init itself. libsodium (qr_crypt_global_init) is fine.
 *   - install signal handlers that only store into a qr_worker_signals.
 */
#ifndef QR_WORKER_H
#define QR_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/alert.h"
#include "qr/config.h"
#include "qr/crypt.h"
#include "qr/error.h"
#include "qr/fleet.h"
#include "qr/notify.h"
#include "qr/package.h"
#include "qr/remote.h"
#include "qr/resque.h"

/*
 * Flags set by the binary's signal handlers (and only read by the worker).
 * Resque's meanings: TERM (and, for quire, INT) drain; QUIT finishes the
 * current job then exits; USR1 kills the running child; USR2 pauses and
 * CONT resumes.
 */
typedef struct qr_worker_signals {
    volatile sig_atomic_t drain;      /* TERM / INT */
    volatile sig_atomic_t quit;       /* QUIT */
    volatile sig_atomic_t kill_child; /* USR1; the worker resets it to 0 */
    volatile sig_atomic_t paused;     /* USR2 sets 1, CONT sets 0 */
} qr_worker_signals;

typedef struct qr_worker_opts {
    qr_resque_opts redis;      /* connection and namespace */
    const char *const *queues; /* queue specification in priority order ("*", globs, !q) */
    size_t nqueues;
    const char *hostname;      /* NULL = gethostname() */
    const char *job_class;     /* NULL = QR_PAYLOAD_DEFAULT_CLASS */
    const char *store_dir;     /* the store (required): a directory or s3://bucket[/prefix] */
    const qr_keyring *keyring; /* borrowed; required */
    /*
     * Every job's processing options: profile (when the job names none),
     * limits, threads, work_parent (children's work directories; NULL =
     * /tmp) and source_dir (local job sources must resolve inside it).
     * The job's own book id, revision and profile are set per job.
     */
    qr_process_opts process;
    double interval_s;            /* poll interval when every queue is empty; 0 = 5 */
    double heartbeat_s;           /* heartbeat period; 0 = 60 (Resque's) */
    double sweep_s;               /* dead-worker sweep period; 0 = 60 */
    long prune_after_s;           /* a heartbeat older than this is dead; 0 = 300 (Resque's) */
    double job_timeout_s;         /* wall-clock limit per job; 0 = none */
    double drain_timeout_s;       /* how long a drain waits for the running job; 0 = 30 */
    double term_timeout_s;        /* then: TERM, and KILL this much later; < 0 = 10, 0 = KILL */
    unsigned max_attempts;        /* interrupted runs before a job is a failure; 0 = 3 */
    char *title;                  /* process title memory (argv), may be NULL */
    size_t title_cap;             /* bytes available at title */
    uint64_t memory_limit;        /* resident bytes per job before the child is killed; 0 = none */
    uint64_t min_free;            /* free bytes needed in the store and work dirs to take a job */
    const char *admin_listen;     /* /healthz and /metrics address (qr/metrics.h); NULL = none */
    const qr_remote_opts *remote; /* s3:// and https:// sources, S3 stores; NULL: local only */
    const qr_callback_opts *callback; /* job callbacks; NULL: defaults (a job with a
                                         callback_url then fails: no secret) */
    bool notify_systemd; /* this process is its systemd unit's main process: sd_notify READY,
                            STATUS, STOPPING and stop-timeout extensions (no-op outside
                            systemd); with --slots only the supervisor does */
    /*
     * This instance's Auto Scaling group (qr/fleet.h; borrowed), NULL when
     * not in a fleet. The process that owns the slots keeps the instance
     * protected from scale-in while a job runs and drains for the
     * terminating hook (docs/operations/autoscale.md).
     */
    qr_fleet *fleet;
    /* The group EMF lines name when `fleet` is NULL (a slot of a fleet's supervisor); borrowed. */
    const char *emf_group;
    double fleet_poll_s;      /* target lifecycle state read this often; 0 = 5 */
    double fleet_heartbeat_s; /* drain hook heartbeat period; 0 = 60 */
    size_t history_max;       /* job history records kept (approximately); 0 = 10000 */
    long log_ttl_s;           /* per-job logs (and live job state) kept this long; 0 = 14 days */
    size_t log_max_bytes;     /* the last bytes of a child's log kept; 0 = 1 MiB */
    /*
     * While a job runs: when the work directory's file system has less
     * free space than this, the job is stopped and fails as disk-full
     * before the disk actually fills (docs/operations/monitoring.md); 0 = no check.
     */
    uint64_t disk_reserve;
    /*
     * CloudWatch embedded-metric-format: when set, called with one JSON
     * line (no newline) at each job's end; the binary writes it to its log.
     */
    void (*emf)(const char *line, void *ud);
    void *emf_ud;
    /*
     * Alerts (qr/alert.h; borrowed): a mail and/or webhook when a job
     * crashes, is killed at a limit or poison-pilled (and, with `failures`,
     * on every failure), at most one per book per period fleet-wide, a
     * digest past the burst. Sent by a forked notifier after the outcome is
     * recorded; NULL or neither smtp.url nor webhook set: no alerts.
     */
    const qr_alert_opts *alert;
} qr_worker_opts;

#define QR_WORKER_OPTS_INIT                                                                        \
    {                                                                                              \
        .redis = QR_RESQUE_OPTS_INIT, .queues = NULL, .nqueues = 0, .hostname = NULL,              \
        .job_class = NULL, .store_dir = NULL, .keyring = NULL, .process = QR_PROCESS_OPTS_INIT,    \
        .interval_s = 0, .heartbeat_s = 0, .sweep_s = 0, .prune_after_s = 0, .job_timeout_s = 0,   \
        .drain_timeout_s = 0, .term_timeout_s = -1, .max_attempts = 0, .title = NULL,              \
        .title_cap = 0, .memory_limit = 0, .min_free = 0, .admin_listen = NULL, .remote = NULL,    \
        .callback = NULL, .notify_systemd = false, .fleet = NULL, .fleet_poll_s = 0,               \
        .fleet_heartbeat_s = 0, .history_max = 0, .log_ttl_s = 0, .log_max_bytes = 0,              \
        .disk_reserve = 0, .emf = NULL, .emf_ud = NULL,                                            \
        .alert = NULL                                                                              \
    }

/*
 * Runs the worker until `sig->drain` or `sig->quit` asks it to stop, then
 * unregisters and returns 0. Redis being down is not fatal: the worker
 * retries with the queue layer's backoff and never loses a reserved job.
 * Each child checks the job's source (a local path inside `source_dir`, or
 * an s3:// or https:// URL that `remote` fetches under its SSRF policy),
 * processes the book into the store and, when the job has a callback_url,
 * POSTs the signed result there (qr/notify.h), success or failure; a
 * callback that is never delivered fails the job with callback-failed (the
 * package stays published; a retry re-delivers without republishing).
 * Jobs that fail are recorded as Resque failure entries (exception = the
 * quire error id, backtrace = stage, context and the tail of the child's
 * log); a child killed by a signal is released with an attempt counted (a
 * Resque::DirtyExit once max_attempts is reached). A child over the
 * wall-clock or memory limit is killed and recorded as `timeout` or
 * `out-of-memory`. No job is taken while the store or work directory has
 * less than `min_free` bytes free.
 * With `admin_listen` set, serves /healthz and /metrics there (qr/metrics.h)
 * until return; an address that cannot be bound is logged and the worker
 * runs without the endpoint.
 * Errors (start-up only): invalid-argument (options), io (no hostname),
 * out-of-memory.
 */
int qr_worker_run(const qr_worker_opts *opts, qr_worker_signals *sig, qr_error *err) QR_WUR;

/*
 * Runs `slots` workers, each in its own forked process (its own pid, so its
 * own Resque worker id), and supervises them: the flags in `sig` are passed
 * on as signals (drain → TERM, quit → QUIT, kill_child → USR1, paused →
 * USR2/CONT), a slot that dies unexpectedly is restarted (with a backoff of
 * 1 s doubling to 30 s), and the call returns once every slot has exited
 * after a drain or quit: 0 when all exited 0. `slots` 1 is qr_worker_run in
 * this process. The supervisor itself never connects to Redis.
 * Errors: invalid-argument (slots 0 or over 256), io (fork failed at start).
 */
int qr_worker_run_slots(const qr_worker_opts *opts, unsigned slots, qr_worker_signals *sig,
                        qr_error *err) QR_WUR;

#endif
