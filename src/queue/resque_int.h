/* Internals shared by resque.c (connection, Resque's keys) and reliable.c (reserve, sweep). */
#ifndef QR_QUEUE_RESQUE_INT_H
#define QR_QUEUE_RESQUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <hiredis/hiredis.h>

#include "qr/resque.h"

#define QR_RESQUE_STAGE "redis"
/* Longest key quire builds; ids and queue names are validated well below it. */
#define QR_RESQUE_MAX_KEY 2048
/* Most queues one worker listens on (and one reserve script receives). */
#define QR_RESQUE_MAX_QUEUES 256

struct qr_resque {
    redisContext *c;
    char *host;
    char *password;
    char *ns;
    int port;
    int db;
    int connect_timeout_ms;
    int command_timeout_ms;
    int backoff_min_ms;
    int backoff_max_ms;
    int backoff_cur_ms;
    long long next_try_ms; /* monotonic ms before which no reconnect is tried; 0 = any time */
    qr_resque_clock_fn clock;
    void *clock_ud;
    char *id; /* worker id, NULL until qr_resque_set_worker */
    /* qr_resque_set_local: this machine's tag and a process-existence test; NULL: none. */
    char *machine;
    qr_resque_alive_fn alive;
    void *alive_ud;
};

/*
 * Runs one command (argv/lens as redisCommandArgv takes them). On success
 * *reply holds a non-error reply the caller frees with freeReplyObject.
 * Connection loss, timeouts and error replies become `redis-unavailable`.
 */
int qr_resque__cmd(redisReply **reply, qr_resque *r, int argc, const char **argv,
                   const size_t *lens, qr_error *err);
/* As qr_resque__cmd for NUL-terminated arguments, discarding the reply. */
int qr_resque__cmdv(qr_resque *r, qr_error *err, int argc, const char **argv);

/* "<ns>:<suffix built from fmt>" into buf (QR_RESQUE_MAX_KEY bytes). */
int qr_resque__key(char *buf, const qr_resque *r, qr_error *err, const char *fmt, ...)
    QR_PRINTF(4, 5);

/* Wall clock through the configured clock. */
time_t qr_resque__now(const qr_resque *r);
/* Redis server time (TIME), in seconds. */
int qr_resque__server_time(time_t *out, qr_resque *r, qr_error *err);

/* "2026/11/26 10:56:19 UTC": Resque's failed_at, local time. */
void qr_resque__fmt_failed_at(char *buf, size_t n, time_t t);
/* "2026-11-26T10:56:29Z": worker run_at, UTC. */
void qr_resque__fmt_run_at(char *buf, size_t n, time_t t);
/* "2026-11-26T10:56:31+00:00": heartbeat, local time with a colon offset. */
void qr_resque__fmt_heartbeat(char *buf, size_t n, time_t t);
/* Parses a heartbeat value (ISO 8601 with Z or +-HH:MM). */
int qr_resque__parse_iso8601(time_t *out, const char *s);

/*
 * Resque's failure entry, compact JSON with the seven fields in Resque's
 * order. The payload is embedded as JSON when it parses, as a string
 * otherwise. *out is malloc'ed.
 */
int qr_resque__failure_json(char **out, const qr_resque *r, const char *payload, size_t len,
                            const qr_resque_failure *f, const char *worker, const char *queue,
                            qr_error *err);

/* Deletes the Resque keys of worker `wid` as unregister_worker does. */
int qr_resque__forget_worker(qr_resque *r, const char *wid, qr_error *err);

/* Most entries one operator view reads from a set or list (members, failures). */
#define QR_RESQUE_MAX_LIST 10000

/* SMEMBERS of a key as a sorted array of borrowed strings (valid while *rep lives). */
int qr_resque__members(redisReply **rep, const char ***out, size_t *n, qr_resque *r,
                       const char *key, qr_error *err);
/* An integer reply (LLEN) or a string holding one (GET of a counter); 0 when nil. */
int qr_resque__get_int(long long *out, qr_resque *r, qr_error *err, const char *op,
                       const char *key);
/* Sets err to out-of-memory (stage "redis") and returns its code. */
int qr_resque__oom(qr_error *err);
/* Adds "class" and "book_id" (string, integer, or null), read leniently (qr_payload_peek). */
int qr_resque__payload_summary(json_t *obj, const json_t *payload, qr_error *err);
/* json_object_set_new that takes `v` and turns a NULL `v` or a failed set into out-of-memory. */
int qr_resque__json_set(json_t *obj, const char *k, json_t *v, qr_error *err);
/*
 * Runs a Lua script: argv[0..2] and lens[0..2] are filled here ("EVAL",
 * script, numkeys); a lens[i] of (size_t)-1 means strlen(argv[i]).
 */
int qr_resque__eval(redisReply **rep, qr_resque *r, const char *script, int nkeys, int argc,
                    const char **argv, size_t *lens, qr_error *err);

/*
 * Appends to `arr` the newest `n` entries of the failed list (which holds
 * `nfailed`), newest first, as status rows: index, failed_at, exception,
 * error, queue, worker, retried_at, class, book_id (failures.c).
 */
int qr_resque__recent_failures(json_t *arr, qr_resque *r, long long nfailed, size_t n,
                               qr_error *err);

#endif
