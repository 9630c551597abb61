/* Internals shared by resque.c (connection, Resque's keys) and reliable.c (reserve, sweep). */
#ifndef QR_QUEUE_RESQUE_INT_H
#define QR_QUEUE_RESQUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

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

#endif
