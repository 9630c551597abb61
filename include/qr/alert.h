/*
 * Alerts: a mail (through an SMTP relay, libcurl) and, optionally, a signed
 * webhook when a job crashes, is killed by the worker (memory or wall-clock
 * limit) or is poison-pilled (failed at its last attempt); with
 * `failures`, on every failure. The worker decides when (src/worker/alert.c)
 * and limits how often through Redis (qr_resque_alert_claim); this module
 * only builds and sends. docs/operations/monitoring.md ("Alerts") has the
 * semantics, docs/cli.md the flags.
 *
 * Message building is pure (no I/O, no clock): every header value is
 * cleaned of control characters (a CR/LF in a book id cannot add a header),
 * a non-ASCII Subject is an RFC 2047 encoded word, body lines are CRLF and
 * at most 998 bytes, bytes that are not UTF-8 become '?'.
 */
#ifndef QR_ALERT_H
#define QR_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/error.h"
#include "qr/notify.h"

/* Most recipients of one mail. */
#define QR_ALERT_MAX_TO 16

/* One alert: what happened to one job. Every pointer is borrowed; NULL: "". */
typedef struct qr_alert {
    const char *kind;    /* "crashed", "killed", "poisoned", "failed" */
    const char *book_id; /* required */
    const char *revision;
    const char *error_id; /* quire's error id (docs/errors.md) */
    const char *message;
    const char *stage;
    const char *worker; /* Resque worker id host:pid:queues */
    const char *host;
    const char *queue;
    const char *job_id; /* the job id `quire logs` takes */
    const char *log;    /* the last lines of the child's log, '\n'-separated */
    bool final;         /* the job is a failure entry now (no attempt left) */
    int64_t at;         /* unix seconds */
} qr_alert;

#define QR_ALERT_INIT                                                                              \
    {                                                                                              \
        .kind = NULL, .book_id = NULL, .revision = NULL, .error_id = NULL, .message = NULL,        \
        .stage = NULL, .worker = NULL, .host = NULL, .queue = NULL, .job_id = NULL, .log = NULL,   \
        .final = false, .at = 0                                                                    \
    }

/* Where and how mails go. */
typedef struct qr_alert_smtp {
    const char *url;  /* smtp://host[:port] or smtps://host[:port]; NULL: no mail */
    const char *from; /* envelope and From: address (bare addr@host) */
    const char *to[QR_ALERT_MAX_TO];
    size_t nto;
    const char *user;     /* AUTH; NULL: none */
    const char *password; /* QUIRE_ALERT_SMTP_PASSWORD(_FILE) */
    bool tls_optional;    /* smtp://: STARTTLS when offered (default: required) */
    const char *ca_file;  /* NULL: the system store */
    double timeout_s;     /* whole conversation; 0: 30 */
} qr_alert_smtp;

/* The alerting options of a worker (qr_worker_opts.alert). */
typedef struct qr_alert_opts {
    qr_alert_smtp smtp;
    const char *webhook; /* signed JSON POST (qr_notify_post); NULL: none */
    long period_s;       /* at most one alert per book per period; 0: 3600 */
    long window_s;       /* the digest window; 0: 300 */
    long burst;          /* alerts sent singly per window; 0: 5 */
    bool failures;       /* every failure, not only crashes, kills and poison pills */
} qr_alert_opts;

/* True when `a` looks like addr@host with no space, control, '<', '>', ',' or quote. */
bool qr_alert_address_ok(const char *a);

/*
 * The mail for one alert (*out, NUL-terminated, CRLF lines, free()):
 * From, To, Subject ("[quire] <kind>: book <id>: <error id> at <stage>"),
 * Date (of `now`), Message-ID (<quire-alert.<now>.<random>@<host>>),
 * MIME-Version, Content-Type text/plain UTF-8, 8bit, Auto-Submitted; the
 * body names the book, revision, error id and message, stage, worker,
 * host, job, the last log lines and the `quire logs <job id>` command.
 * Errors: invalid-argument (no book id, a bad address), out-of-memory.
 */
int qr_alert_mail(char **out, size_t *len, const qr_alert *a, const qr_alert_smtp *smtp,
                  int64_t now, qr_error *err) QR_WUR;

/*
 * The digest mail listing `n` alerts (each a JSON object as
 * qr_alert_json makes), with how many were left out (`dropped`).
 */
int qr_alert_digest_mail(char **out, size_t *len, const char *const *entries, size_t n,
                         size_t dropped, const qr_alert_smtp *smtp, int64_t now,
                         qr_error *err) QR_WUR;

/*
 * The alert as compact JSON (*out, free()): event "quire.alert", kind,
 * book_id, revision, error {code, message, stage}, worker, host, queue,
 * job_id, final, at (ISO 8601 UTC), log (array of lines), logs_command.
 * With attempt > 0 also attempt and sent_at (the webhook's body).
 */
int qr_alert_json(char **out, size_t *len, const qr_alert *a, unsigned attempt, int64_t sent_at,
                  qr_error *err) QR_WUR;

/*
 * Sends `msg` through smtp->url: STARTTLS required on smtp:// unless
 * tls_optional, AUTH when a user is set, one MAIL FROM and a RCPT TO per
 * recipient. Errors: alert-failed (the relay refused, or could not be
 * reached; the message names the relay, never the password),
 * invalid-argument.
 */
int qr_alert_smtp_send(const qr_alert_smtp *smtp, const char *msg, size_t len,
                       qr_error *err) QR_WUR;

/*
 * POSTs the alert's JSON to `url`, signed and retried as callbacks are
 * (qr_notify_post, event "quire.alert", Idempotency-Key `key`).
 */
int qr_alert_webhook(const char *url, const char *key, const qr_alert *a,
                     const qr_callback_opts *opts, qr_error *err) QR_WUR;

#endif
