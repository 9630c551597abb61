/*
 * The job-result callback: once a job has published its book (or failed),
 * quire POSTs a JSON result to the job's `callback_url`, signed with
 * HMAC-SHA256 over "<timestamp>.<body>" under a shared secret, carrying an
 * idempotency key that is the same for every delivery of the same job, and
 * retried with exponential backoff and jitter. A callback that never gets a
 * 2xx fails with `callback-failed`; it is never dropped silently.
 *
 * The wire contract (body, headers, how a receiver verifies them) is in
 * docs/operations/callbacks.md; docs/internals/notify.md explains the code.
 *
 * The body builder, the signature and the idempotency key are pure (no I/O,
 * no clock). qr_callback_deliver does the HTTP through qr_http_perform
 * (include/qr/http.h). libsodium must have been initialised
 * (qr_crypt_global_init) and libcurl too (qr_http_global_init).
 */
#ifndef QR_NOTIFY_H
#define QR_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/error.h"
#include "qr/http.h"
#include "qr/payload.h"
#include "qr/warn.h"

/* Longest idempotency key, NUL included: an ActiveJob job_id (at most 128 bytes) or 64 hex. */
#define QR_CALLBACK_KEY_MAX 129
/* "t=<unix seconds>,v1=<64 hex>" and its NUL. */
#define QR_CALLBACK_SIGNATURE_MAX 96
/* Shortest shared secret accepted (bytes). */
#define QR_CALLBACK_SECRET_MIN 16

/*
 * What a job produced, as the callback reports it. Plain data: every pointer
 * is borrowed and must outlive the calls that use it. Fill it with
 * qr_callback_result_from_report (success), qr_callback_result_from_error
 * (failure), or by hand.
 */
typedef struct qr_callback_result {
    bool published;           /* true: "book.published"; false: "book.failed" */
    const char *book_id;      /* required */
    const char *revision;     /* NULL: null (a failure before the revision was known) */
    const char *profile;      /* profile name; NULL: null */
    const char *manifest_url; /* where the manifest is (s3://..., https://...); NULL: null */
    bool already_published;   /* the package was already in the store: nothing rewritten */
    uint32_t pages;
    uint32_t positions;
    uint64_t slices;
    uint64_t bytes_in;           /* the source file */
    uint64_t bytes_out;          /* the sealed slices */
    double duration_s;           /* wall time of the job */
    const qr_warnings *warnings; /* NULL: [] */
    /* Failure only (published == false). */
    qr_errid error;            /* the error id; QR_ERR_NONE on success */
    const char *error_stage;   /* NULL: null */
    const char *error_message; /* NULL: "" */
} qr_callback_result;

#define QR_CALLBACK_RESULT_INIT                                                                    \
    {                                                                                              \
        .published = false, .book_id = NULL, .revision = NULL, .profile = NULL,                    \
        .manifest_url = NULL, .already_published = false, .pages = 0, .positions = 0, .slices = 0, \
        .bytes_in = 0, .bytes_out = 0, .duration_s = 0.0, .warnings = NULL, .error = QR_ERR_NONE,  \
        .error_stage = NULL, .error_message = NULL                                                 \
    }

struct qr_process_report;

/*
 * Fills `out` from a successful qr_process_book report: published, book id,
 * revision, profile name, counts, bytes (source and sealed), total seconds
 * and the warnings. `manifest_url` is left NULL for the caller, which knows
 * the store. `out` borrows from `rep`.
 */
void qr_callback_result_from_report(qr_callback_result *out, const struct qr_process_report *rep);

/*
 * Fills `out` for a failed job: book id, revision and profile from `job`
 * (revision/profile NULL when the job did not name them), the error id,
 * stage and message from `e`, and `warnings` (may be NULL: the warnings
 * recorded before the failure). Counts are 0; duration_s is 0 for the caller
 * to set. `out` borrows from its arguments.
 */
void qr_callback_result_from_error(qr_callback_result *out, const qr_job *job, const qr_error *e,
                                   const qr_warnings *warnings);

/*
 * The idempotency key of `job`, into `out` (QR_CALLBACK_KEY_MAX bytes):
 *  - the ActiveJob job_id when the job has one (it must be 1 to 128 bytes of
 *    [A-Za-z0-9._:-]; anything else could not be a header value);
 *  - else the job_id carried in args[0] (`quire serve` sets it), same rule;
 *  - otherwise the lowercase hex SHA-256 of the canonical form
 *      "quire-job-v1\n" then, for each of book_id, source, revision,
 *      profile, callback_url in this order that is present,
 *      "<name>:<length in bytes of value>:<value>\n"
 *    (absent fields are skipped; integers are in decimal, as qr_job keeps
 *    them), which a Rails app can compute (docs/operations/callbacks.md).
 * The same job, re-run after a failure, gets the same key.
 * Errors: invalid-argument (no book_id or source), job-payload-invalid (an
 * ActiveJob job_id that is not a token), out-of-memory.
 */
int qr_callback_idempotency_key(char out[QR_CALLBACK_KEY_MAX], const qr_job *job,
                                qr_error *err) QR_WUR;

/*
 * The compact JSON body of one attempt (*out, NUL-terminated, free(); *len
 * without the NUL). Keys, in this order: event, job_id (= `key`), book_id,
 * revision, status, profile, manifest_url, already_published, pages,
 * positions, slices, bytes_in, bytes_out, duration_s (milliseconds
 * precision), warnings [{code, stage, context, message}], warnings_dropped,
 * error (null or {code, stage, message, transient}), attempt (1-based),
 * sent_at (ISO 8601 UTC of `sent_at`, the signature's timestamp). Bytes that
 * are not UTF-8 in any string become '?'.
 * Errors: invalid-argument (no book_id or key), out-of-memory.
 */
int qr_callback_body(char **out, size_t *len, const qr_callback_result *r, const char *key,
                     unsigned attempt, int64_t sent_at, qr_error *err) QR_WUR;

/*
 * The X-Quire-Signature value "t=<t>,v1=<hex>" into `out`
 * (QR_CALLBACK_SIGNATURE_MAX bytes), where hex is the lowercase hex
 * HMAC-SHA256 under `secret` (the bytes of the string, not decoded) of
 * "<t>.<body>", t in decimal. Errors: invalid-argument (secret shorter than
 * QR_CALLBACK_SECRET_MIN, negative t).
 */
int qr_callback_sign(char out[QR_CALLBACK_SIGNATURE_MAX], const char *secret, int64_t t,
                     const char *body, size_t body_len, qr_error *err) QR_WUR;

/* Clock and sleep, for tests. NULL members: time() and nanosleep. */
typedef struct qr_callback_clock {
    int64_t (*now)(void *ud);                /* unix seconds */
    void (*sleep)(double seconds, void *ud); /* wait between attempts */
    void *ud;
} qr_callback_clock;

typedef struct qr_callback_opts {
    const char *secret;             /* HMAC key (QUIRE_CALLBACK_SECRET); NULL: see allow_unsigned */
    bool allow_unsigned;            /* with no secret, send without X-Quire-Signature;
                                       false (default): no secret is invalid-argument */
    const qr_net_policy *policy;    /* SSRF guard for the URL; NULL: the default policy
                                       (public https only), never "trusted" */
    unsigned max_attempts;          /* QUIRE_CALLBACK_ATTEMPTS; 0: 5 */
    double timeout_s;               /* QUIRE_CALLBACK_TIMEOUT, per attempt; 0: 10 */
    double backoff_base_s;          /* wait before the 2nd attempt is in [base/2, base]; 0: 1 */
    double backoff_max_s;           /* cap of one wait; 0: 60 */
    const char *ca_file;            /* NULL: the system store */
    const qr_callback_clock *clock; /* NULL: the real clock */
} qr_callback_opts;

#define QR_CALLBACK_OPTS_INIT                                                                      \
    {                                                                                              \
        .secret = NULL, .allow_unsigned = false, .policy = NULL, .max_attempts = 0,                \
        .timeout_s = 0, .backoff_base_s = 0, .backoff_max_s = 0, .ca_file = NULL, .clock = NULL    \
    }

/* What a delivery did, for the job record. Filled on success and on failure. */
typedef struct qr_callback_report {
    bool delivered;                /* a 2xx was received */
    unsigned attempts;             /* HTTP requests made (0: refused before sending) */
    long last_status;              /* status of the last response; 0: none */
    const char *last_error;        /* id of the last attempt's failure (static), NULL if none */
    char key[QR_CALLBACK_KEY_MAX]; /* the idempotency key sent */
} qr_callback_report;

/*
 * POSTs the result `r` of `job` to job->callback_url. Every attempt is a
 * single qr_http_perform try (its own retries off) with a fresh timestamp,
 * signature, X-Quire-Delivery id and body (attempt, sent_at); between
 * attempts it waits an exponential backoff with jitter (and at least a
 * Retry-After, capped). 2xx: delivered. 408, 429, 5xx, timeouts and
 * transport failures: retried. Any other status (redirects are not
 * followed): the receiver refused it, not retried.
 *
 * `out` (may be NULL) is filled in every case. Errors:
 *   callback-failed   no 2xx after opts->max_attempts, or refused; the
 *                     message names the redacted URL, the last status and
 *                     the attempts (never the secret); err->cause = the last
 *                     status;
 *   source-forbidden  the URL's scheme or address is refused by the policy
 *                     (nothing was sent);
 *   invalid-argument  no callback_url, no secret while unsigned callbacks
 *                     are not allowed, a secret too short, a malformed URL;
 *   job-payload-invalid, out-of-memory (from the key and the body).
 */
int qr_callback_deliver(qr_callback_report *out, const qr_job *job, const qr_callback_result *r,
                        const qr_callback_opts *opts, qr_error *err) QR_WUR;

/* Builds the body of attempt `attempt` (1-based) sent at `sent_at` (*out: free()). */
typedef int (*qr_notify_body_fn)(char **out, size_t *len, unsigned attempt, int64_t sent_at,
                                 void *ud, qr_error *err);

/*
 * The delivery qr_callback_deliver makes, for any signed JSON event: POSTs
 * the body `build` makes for each attempt to `url` with the same headers
 * (Content-Type, Idempotency-Key = `key`, X-Quire-Delivery, X-Quire-Event =
 * `event`, X-Quire-Signature), the same signature, policy, retries and
 * errors. The alerts' webhook (qr/alert.h) goes through it.
 */
int qr_notify_post(qr_callback_report *out, const char *url, const char *key, const char *event,
                   qr_notify_body_fn build, void *ud, const qr_callback_opts *opts,
                   qr_error *err) QR_WUR;

#endif
