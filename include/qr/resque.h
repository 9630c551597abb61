/*
 * The Resque wire layer: a Redis connection that reads and writes exactly the
 * keys and values a Ruby Resque worker does (reference/resque.md), plus
 * quire's reliability keys (processing lists, attempt counter, sweep).
 * docs/internals/queue.md lists every key and the algorithms.
 *
 * Commands go through hiredis' redisCommandArgv only (binary-safe, never a
 * format string built from job data). Multi-step operations that must not
 * lose a job run as one Lua script (atomic on the server).
 *
 * Connection: the context connects on first use. When a command fails with an
 * I/O error the connection is dropped and the call fails with
 * `redis-unavailable` (transient, QR_ENET). The next call reconnects, but only
 * once the backoff delay has passed (doubling from backoff_min_ms up to
 * backoff_max_ms, reset by a successful command); before that it fails fast
 * with the same id. A command whose reply was lost may or may not have run:
 * every operation below is written so that repeating it is safe. hiredis
 * writes to the socket directly, so the binary must ignore SIGPIPE (the
 * library installs no handlers).
 *
 * One context serves one worker slot, which holds at most one job at a time:
 * call qr_resque_done or qr_resque_release before reserving again.
 *
 * Error ids used by every function: `redis-unavailable` (cannot connect,
 * connection lost, server error reply), `invalid-argument`, `out-of-memory`.
 */
#ifndef QR_RESQUE_H
#define QR_RESQUE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "qr/error.h"

typedef struct qr_resque qr_resque;

/* Wall clock for timestamps (tests fix it); NULL = time(NULL). */
typedef time_t (*qr_resque_clock_fn)(void *ud);

typedef struct qr_resque_opts {
    const char *host;         /* NULL = "127.0.0.1" */
    int port;                 /* 0 = 6379 */
    int db;                   /* SELECT after connecting when > 0 */
    const char *password;     /* AUTH after connecting when set */
    const char *ns;           /* key namespace without the colon; NULL = "resque" */
    int connect_timeout_ms;   /* 0 = 2000 */
    int command_timeout_ms;   /* 0 = 5000 */
    int backoff_min_ms;       /* 0 = 100 */
    int backoff_max_ms;       /* 0 = 10000 */
    qr_resque_clock_fn clock; /* NULL = time(NULL) */
    void *clock_ud;
} qr_resque_opts;

#define QR_RESQUE_OPTS_INIT                                                                        \
    {                                                                                              \
        .host = NULL, .port = 0, .db = 0, .password = NULL, .ns = NULL, .connect_timeout_ms = 0,   \
        .command_timeout_ms = 0, .backoff_min_ms = 0, .backoff_max_ms = 0, .clock = NULL,          \
        .clock_ud = NULL                                                                           \
    }

/* A reserved job: the payload exactly as it sat in the queue (byte-identical). */
typedef struct qr_resque_job {
    char *queue;        /* queue name, without the "queue:" prefix */
    char *payload;      /* NUL-terminated copy of the raw payload */
    size_t payload_len; /* bytes in payload (without the NUL) */
    bool resumed;       /* true: found already in this worker's processing list */
} qr_resque_job;

/* What a failed job records: Resque's exception, error and backtrace. */
typedef struct qr_resque_failure {
    const char *exception;        /* e.g. "Quire::JobFailed", "Resque::DirtyExit" */
    const char *error;            /* one line */
    const char *const *backtrace; /* may be NULL */
    size_t backtrace_len;
} qr_resque_failure;

/* Counters returned by qr_resque_sweep. */
typedef struct qr_resque_sweep_stats {
    size_t dead_workers; /* processing lists of dead workers that held jobs */
    size_t requeued;     /* jobs pushed back to the head of their queue */
    size_t poisoned;     /* jobs turned into failure entries (attempts exhausted) */
} qr_resque_sweep_stats;

/* Creates a context (no connection yet; the first command connects). Free with qr_resque_free. */
int qr_resque_new(qr_resque **out, const qr_resque_opts *opts, qr_error *err) QR_WUR;
void qr_resque_free(qr_resque *r);

/*
 * Sets this context's worker identity: id "<host>:<pid>:<q1,q2,...>" exactly
 * as Resque's Worker#to_s. `queues` are the configured names (may include
 * "*"), in priority order. Host and queue names must be non-empty and free of
 * ':' and ','. Errors: `invalid-argument`.
 */
int qr_resque_set_worker(qr_resque *r, const char *host, long pid, const char *const *queues,
                         size_t nqueues, qr_error *err) QR_WUR;
/* The worker id, borrowed; NULL before qr_resque_set_worker. */
const char *qr_resque_worker_id(const qr_resque *r);

/* Milliseconds until the next reconnect attempt is allowed (0 when connected or due). */
int qr_resque_backoff_ms(const qr_resque *r);

/* PING; connects (or reconnects) when needed. */
int qr_resque_ping(qr_resque *r, qr_error *err) QR_WUR;

/*
 * Registers the worker: heartbeat first (so a sweeper never sees it
 * registered without one), then SADD <ns>:workers and
 * SET <ns>:worker:<id>:started "%Y-%m-%d %H:%M:%S %z" (Ruby Time#to_s).
 */
int qr_resque_register(qr_resque *r, qr_error *err) QR_WUR;

/*
 * SET <ns>:quire:worker:<id>:info to `json` (what this worker runs: quire's
 * version and commit, its libraries; qr/buildinfo.h), beside Resque's own
 * registration keys, which Resque's tools leave alone. Removed with the
 * worker's other keys (unregister, sweep). Requires qr_resque_set_worker.
 */
int qr_resque_set_info(qr_resque *r, const char *json, qr_error *err) QR_WUR;

/*
 * Lets the next command try to reconnect at once, ignoring the reconnect
 * backoff: for one last attempt before the worker stops.
 */
void qr_resque_retry_now(qr_resque *r);

/* HSET <ns>:workers:heartbeat <id> <Redis TIME as "%Y-%m-%dT%H:%M:%S+00:00" in local time>. */
int qr_resque_heartbeat(qr_resque *r, qr_error *err) QR_WUR;

/*
 * The heartbeat, after checking that this worker is still registered. When
 * Redis has lost its data (SISMEMBER workers fails) the worker registers
 * again (*reregistered = true) and, with `current` (the job it is running;
 * may be NULL), its processing list and Resque's working-on value are
 * recreated, so the job is recorded once when it ends. A job found back in
 * its queue or in another worker's processing list (a sweeper took it) is
 * left there.
 */
int qr_resque_heartbeat_check(bool *reregistered, qr_resque *r, const qr_resque_job *current,
                              qr_error *err) QR_WUR;

/*
 * Unregisters like Resque's unregister_worker: first returns anything left in
 * this worker's processing lists to the head of its queue (without counting
 * an attempt), then SREM workers, DEL worker:<id>, worker:<id>:started,
 * HDEL the heartbeat, DEL stat:processed:<id>, stat:failed:<id> and quire's
 * quire:worker:<id>:info.
 */
int qr_resque_unregister(qr_resque *r, qr_error *err) QR_WUR;

/* *out = true when <ns>:pause-all-workers is the string "true". */
int qr_resque_paused(bool *out, qr_resque *r, qr_error *err) QR_WUR;

/*
 * Expands a queue specification as Resque 3's Worker#queues does. Without
 * wildcards (any of "*?{}[]") or "!" entries the list is returned as given.
 * Otherwise every entry, plain names included, is an fnmatch glob (a leading
 * '.' is not matched by a wildcard, as in Ruby) over SMEMBERS <ns>:queues
 * sorted alphabetically; "!pattern" entries remove what they match; a name
 * appears once. *out is a NULL-terminated array (free with qr_resque_strv_free).
 */
int qr_resque_queues(char ***out, size_t *nout, qr_resque *r, const char *const *spec, size_t nspec,
                     qr_error *err) QR_WUR;
void qr_resque_strv_free(char **v);

/*
 * The figures an Auto Scaling fleet scales on (docs/operations/autoscale.md):
 * jobs waiting in `queues` (LLEN <ns>:queue:<q>, summed), jobs held in the
 * processing lists of those queues, the per-queue done counters
 * (HGET <ns>:quire:processed <q>, summed; qr_resque_done counts every
 * success or failure there) and, with `mark`, the sum kept by
 * qr_resque_backlog_mark at the previous publish (-1: none).
 */
typedef struct qr_resque_counts {
    long long queued;
    long long running;
    long long processed;
    long long previous;
} qr_resque_counts;

int qr_resque_backlog(qr_resque_counts *out, qr_resque *r, const char *const *queues, size_t n,
                      const char *mark, qr_error *err) QR_WUR;
/* SET <ns>:quire:metrics:<mark>:processed <processed>. */
int qr_resque_backlog_mark(qr_resque *r, const char *mark, long long processed,
                           qr_error *err) QR_WUR;

/* ---- history and per-job logs (history.c; docs/internals/queue.md) ---- */

struct json_t;

/*
 * XADD <ns>:quire:history MAXLEN ~ maxlen * with `npairs` field/value
 * pairs (kv[2i], kv[2i+1]; at most 64). Approximate trimming: the stream
 * may hold up to one macro node (100 entries) over maxlen.
 */
int qr_resque_history_add(qr_resque *r, const char *const *kv, size_t npairs, size_t maxlen,
                          qr_error *err) QR_WUR;
/* The newest `count` records (0: 1000) from `since_ms` (Unix ms; 0: all), newest first. */
int qr_resque_history_read(struct json_t **out, qr_resque *r, long long since_ms, size_t count,
                           qr_error *err) QR_WUR;
/* XLEN of the history. */
int qr_resque_history_len(long long *out, qr_resque *r, qr_error *err) QR_WUR;
/* SET <ns>:quire:log:<job_id> `data` (bytes, as given) EX ttl_s. */
int qr_resque_log_put(qr_resque *r, const char *job_id, const void *data, size_t len, long ttl_s,
                      qr_error *err) QR_WUR;
/* The stored log bytes (malloc'd). Errors: source-not-found (none or expired). */
int qr_resque_log_get(char **data, size_t *len, qr_resque *r, const char *job_id,
                      qr_error *err) QR_WUR;
/* HGETALL <ns>:quire:job:<job_id> as a JSON object ({} when none). */
int qr_resque_job_get(struct json_t **out, qr_resque *r, const char *job_id, qr_error *err) QR_WUR;
/* HSET <ns>:quire:job:<job_id> with the pairs, EXPIRE ttl_s: a job's live state. */
int qr_resque_job_state(qr_resque *r, const char *job_id, const char *const *kv, size_t npairs,
                        long ttl_s, qr_error *err) QR_WUR;

/* ---- the HTTP intake's keys (intake.c; `quire serve`, docs/internals/serve.md) ---- */

/* GET <ns>:quire:api:idem:<idem>: the job id that first claimed the key, or *job_id NULL. */
int qr_resque_intake_first(char **job_id, qr_resque *r, const char *idem, qr_error *err) QR_WUR;
/*
 * One Lua script: unless <ns>:quire:api:idem:<idem> exists (then *pushed is
 * false and *job_id is the first job's id), SET it to `new_id`, push
 * `payload` exactly as qr_resque_push does, and write the job's record
 * <ns>:quire:api:job:<new_id> ({job_id, book_id, queue, payload, created})
 * and <ns>:quire:api:book:<book_id> = new_id, all expiring after ttl_s.
 * *job_id is malloc'd.
 */
int qr_resque_intake_submit(char **job_id, bool *pushed, qr_resque *r, const char *idem,
                            const char *queue, const char *payload, const char *new_id,
                            const char *book_id, long ttl_s, qr_error *err) QR_WUR;
/* The record of job `job_id` as a JSON object, or *out NULL when none. */
int qr_resque_intake_job(struct json_t **out, qr_resque *r, const char *job_id,
                         qr_error *err) QR_WUR;
/* The newest job id submitted for `book_id`, or *job_id NULL. */
int qr_resque_intake_book(char **job_id, qr_resque *r, const char *book_id, qr_error *err) QR_WUR;
/* LPOS <ns>:queue:<queue> payload: whether the exact payload still waits. */
int qr_resque_intake_queued(bool *queued, qr_resque *r, const char *queue, const char *payload,
                            qr_error *err) QR_WUR;
/* LREM <ns>:queue:<queue> 1 payload: *removed when the exact payload was there. */
int qr_resque_intake_cancel(bool *removed, qr_resque *r, const char *queue, const char *payload,
                            qr_error *err) QR_WUR;
/* SET <ns>:quire:api:sig:<nonce> NX EX ttl_s: *fresh false when it was already used. */
int qr_resque_intake_nonce(bool *fresh, qr_resque *r, const char *nonce, long ttl_s,
                           qr_error *err) QR_WUR;

/* What qr_resque_alert_claim decided for one alert. */
typedef enum qr_resque_alert_verdict {
    QR_RESQUE_ALERT_SUPPRESSED = 0, /* this book alerted within the period: nothing to send */
    QR_RESQUE_ALERT_SEND,           /* send it now, singly */
    QR_RESQUE_ALERT_DIGEST          /* over the window's burst: added to the digest */
} qr_resque_alert_verdict;

/*
 * One Lua script (src/queue/alert.c): SET <ns>:quire:alert:<book_id> NX EX
 * period_s, or SUPPRESSED; then the fleet-wide window counter (created
 * with EX window_s, INCR): the first `burst` alerts of a window are SEND,
 * the rest DIGEST (`entry`, the alert's JSON, is appended to
 * <ns>:quire:alert-digest, at most 100, and the digest is due when the
 * window ends, by Redis's clock).
 */
int qr_resque_alert_claim(qr_resque_alert_verdict *out, qr_resque *r, const char *book_id,
                          long period_s, long window_s, long burst, const char *entry,
                          qr_error *err) QR_WUR;
/*
 * Once the digest is due: takes (reads and deletes, atomically) its
 * entries (*entries: NULL-terminated, qr_resque_strv_free) and how many
 * were over its cap; *n 0 when nothing is due. Any worker may call it: the
 * one whose call takes the list sends it.
 */
int qr_resque_alert_digest_take(char ***entries, size_t *n, size_t *dropped, qr_resque *r,
                                qr_error *err) QR_WUR;

/* LLEN <ns>:queue:<queue>. */
int qr_resque_llen(long long *out, qr_resque *r, const char *queue, qr_error *err) QR_WUR;

/*
 * The enqueue time (Unix seconds) of the job at the head of <ns>:queue:<queue>
 * (the one waiting longest), from its payload (qr_payload_enqueued_at);
 * 0 when the queue is empty or the payload says nothing.
 */
int qr_resque_oldest(double *out, qr_resque *r, const char *queue, qr_error *err) QR_WUR;

/* Pushes a payload as Resque.enqueue does: SADD <ns>:queues + RPUSH <ns>:queue:<q>. */
int qr_resque_push(qr_resque *r, const char *queue, const char *payload, size_t len,
                   qr_error *err) QR_WUR;

/*
 * Reserves the next job, trying `queues` (already expanded) in order. One Lua
 * script, atomically: if a processing list of this worker for one of these
 * queues already holds a job (its reply was lost, or the worker restarted
 * with the same id) that job is returned with `resumed` set; otherwise the
 * head of the first non-empty queue moves to the tail of
 * <ns>:quire:processing:<queue>:<id> (LPOP + RPUSH, FIFO like Ruby's LPOP)
 * and the list is indexed in <ns>:quire:processing. Then SET <ns>:worker:<id>
 * {"queue","run_at","payload"} shows the job in resque-web.
 * *out is NULL when every queue is empty. Free with qr_resque_job_free.
 * Requires qr_resque_set_worker.
 */
int qr_resque_reserve(qr_resque_job **out, qr_resque *r, const char *const *queues, size_t nqueues,
                      qr_error *err) QR_WUR;

/*
 * Records the result of `job` and only then forgets it, in one Lua script:
 * with `failure` set, RPUSH <ns>:failed the seven-field entry and INCRBY
 * stat:failed and stat:failed:<id>; always DEL worker:<id>, INCRBY
 * stat:processed and stat:processed:<id>, LREM the job from the processing
 * list and clear its attempt counter. If the job is no longer in the
 * processing list (this is a repeat after a lost reply, or a sweeper took
 * it) nothing is counted twice.
 */
int qr_resque_done(qr_resque *r, const qr_resque_job *job, const qr_resque_failure *failure,
                   qr_error *err) QR_WUR;

/*
 * Gives `job` back: moves it from this worker's processing list to the head
 * of its queue (drain, or a child that died). With max_attempts > 0 the job's
 * counter in <ns>:quire:attempts is incremented first, and when it reaches
 * max_attempts the job becomes a failure entry built from `poison` (or a
 * default "Quire::PoisonPill" one) instead. *poisoned (nullable) says which.
 */
int qr_resque_release(qr_resque *r, const qr_resque_job *job, unsigned max_attempts,
                      const qr_resque_failure *poison, bool *poisoned, qr_error *err) QR_WUR;

/*
 * Resque's prune_dead_workers checks, for the workers of its own host,
 * whether their process still exists. quire does so when both sides say
 * they are on the same machine: `machine` is a tag that is equal only
 * between processes that see the same PIDs (qr_worker: the kernel's
 * boot_id and the PID namespace), which the worker also publishes in its
 * info key as "machine". A worker whose id has this worker's host, whose
 * info carries the same tag, and whose PID `alive` says is gone, is dead
 * at once, whatever its heartbeat. Ids of other hosts, Ruby workers (no
 * info) and other PID namespaces keep the heartbeat rule. NULL `machine`
 * turns the check off.
 */
typedef bool (*qr_resque_alive_fn)(long pid, void *ud);
int qr_resque_set_local(qr_resque *r, const char *machine, qr_resque_alive_fn alive, void *ud,
                        qr_error *err) QR_WUR;

/*
 * Recovers the jobs of dead workers. A worker owning a processing list is
 * dead when it is not in <ns>:workers, or has no heartbeat, or its heartbeat
 * is older than `prune_after_s` by Redis TIME, or (qr_resque_set_local) it
 * ran on this machine and its process is gone. Each of its jobs goes back to
 * the head of its queue, preserving order, unless it has now been interrupted
 * `max_attempts` times (0 = never poison), in which case it becomes a
 * "Quire::PoisonPill" failure entry. The dead worker's Resque keys are then
 * removed as unregister_worker would. Safe to run from many workers at once.
 * `stats` is nullable.
 */
int qr_resque_sweep(qr_resque_sweep_stats *stats, qr_resque *r, long prune_after_s,
                    unsigned max_attempts, qr_error *err) QR_WUR;

/*
 * Start-up recovery for this worker's own id. Worker ids repeat across
 * restarts (a container's pid 1 on a kept hostname), and a job left in this
 * id's processing lists was interrupted by the previous incarnation: it goes
 * back to the head of its queue with an attempt counted (or becomes a
 * poison-pill failure), exactly as the sweep treats a dead worker's jobs.
 * Call it before qr_resque_register; without it reserve would resume such a
 * job without counting, and a job that kills its worker would loop.
 */
int qr_resque_recover_own(qr_resque_sweep_stats *stats, qr_resque *r, unsigned max_attempts,
                          qr_error *err) QR_WUR;

void qr_resque_job_free(qr_resque_job *job);

/* Operator views and actions (src/queue/status.c, failures.c): what resque-web shows and does. */

struct json_t;

/*
 * redis://[[user]:password@]host[:port][/db] into opts->host, port,
 * password and db (other fields untouched). The strings point into *buf,
 * which the caller frees (free()) after the last use of opts.
 * Errors: `invalid-argument`, `out-of-memory`.
 */
int qr_resque_opts_parse_url(qr_resque_opts *opts, char **buf, const char *url,
                             qr_error *err) QR_WUR;

/*
 * A snapshot (separate reads, not a transaction) as a new JSON object (*out,
 * json_decref): namespace, server_time, queues [{name, depth}] and workers
 * [{id, started, heartbeat, heartbeat_age_s, job: null | {queue, run_at,
 * class, book_id, elapsed_s}}] sorted by name, processing [{queue, worker,
 * key, length}] (quire's processing lists), processed, failed (stat
 * counters), failed_entries (LLEN failed) and recent_failures, the newest
 * `nfailures` entries newest first [{index, failed_at, exception, error,
 * queue, worker, retried_at, class, book_id}]. Ages use Redis TIME.
 */
int qr_resque_status(struct json_t **out, qr_resque *r, size_t nfailures, qr_error *err) QR_WUR;

/*
 * Entries start..start+count-1 of <ns>:failed (0 = oldest, as resque-web
 * numbers them) as a new JSON array of {index, entry}; entry is the parsed
 * failure object, or a string when it is not JSON. *total = LLEN.
 */
int qr_resque_failures(struct json_t **out, long long *total, qr_resque *r, long long start,
                       long long count, qr_error *err) QR_WUR;

/*
 * Resque::Failure::Redis.requeue(index): in one script, and only if entry
 * `index` is still what was read, LSET it with "retried_at" ("%Y/%m/%d
 * %H:%M:%S", local time) appended, and SADD queues + RPUSH the payload to
 * the tail of the entry's queue, re-encoded as Job.create does
 * ({"class","args"}; a payload stored as a string goes back verbatim).
 * *queue_out (malloc'ed) names the queue. Errors: `invalid-argument` (no such
 * entry, or it changed meanwhile), `job-payload-invalid` (no queue or
 * payload in the entry).
 */
int qr_resque_failure_retry(char **queue_out, qr_resque *r, long long index, qr_error *err) QR_WUR;

/*
 * Resque::Failure::Redis.remove(index): LSET the entry to a unique sentinel
 * and LREM it, in one script and only if the entry is still what was read.
 * Errors: `invalid-argument` (no such entry, or it changed meanwhile).
 */
int qr_resque_failure_remove(qr_resque *r, long long index, qr_error *err) QR_WUR;

/*
 * Among the registered workers (<ns>:workers) whose id starts with
 * "<host>:", *nworkers counts them and *age_s is the age in seconds (Redis
 * TIME) of the freshest parseable heartbeat, or -1 when none has one.
 */
int qr_resque_host_heartbeat(long long *age_s, size_t *nworkers, qr_resque *r, const char *host,
                             qr_error *err) QR_WUR;

/*
 * The hiredis loaded at run time, which has no version call: the version in
 * its file name ("0.14" from libhiredis.so.0.14), or "unknown".
 */
void qr_resque_library_version(char *out, size_t n);

#endif
