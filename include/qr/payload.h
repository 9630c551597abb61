/*
 * Resque job payloads: JSON <-> qr_job. Pure (no I/O, no clock).
 *
 * Two shapes are accepted (reference/resque.md §1):
 *
 *   plain Resque:  {"class":"Quire::ProcessBook","args":[{"book_id":1,"source":"s3://b/k.epub"}]}
 *   ActiveJob:     {"class":"ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper",
 *                   "args":[{"job_class":"Quire::ProcessBook","job_id":"<uuid>",
 *                            "arguments":[{"book_id":1,"source":"...",
 *                                          "_aj_ruby2_keywords":["book_id","source"]}], ...}]}
 *
 * The job object carries `book_id` (string or integer) and `source` (string),
 * and optionally `callback_url`, `profile` (strings) and `revision` (string or
 * integer), and `job_id` (string), the id a producer gave the job. `null` counts as absent for the
 * optional fields. Unknown keys are ignored, as are ActiveJob's marker keys (`_aj_symbol_keys`,
 * `_aj_ruby2_keywords`, `_aj_hash_with_indifferent_access`). A value that
 * ActiveJob serialised as an object (`_aj_globalid`, `_aj_serialized`) is not
 * a usable book id or string and is rejected.
 *
 * Error ids: `job-unknown-class` (the class, or the ActiveJob job_class, is not
 * the expected one), `job-payload-invalid` (not JSON, not an object, missing
 * or mistyped fields, a field over QR_PAYLOAD_MAX_FIELD bytes),
 * `input-too-large` (payload over opts->max_bytes), `out-of-memory`.
 */
#ifndef QR_PAYLOAD_H
#define QR_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "qr/error.h"

#define QR_PAYLOAD_DEFAULT_CLASS "Quire::ProcessBook"
#define QR_PAYLOAD_ACTIVEJOB_WRAPPER "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper"
/* Longest accepted value of any one string field (a URL or a path). */
#define QR_PAYLOAD_MAX_FIELD 8192

typedef struct qr_payload_opts {
    const char *job_class; /* expected class; NULL = QR_PAYLOAD_DEFAULT_CLASS */
    size_t max_bytes;      /* largest payload accepted; 0 = 1 MiB */
} qr_payload_opts;

#define QR_PAYLOAD_OPTS_INIT                                                                       \
    {                                                                                              \
        .job_class = NULL, .max_bytes = 0                                                          \
    }

/* A decoded job. Every string is owned by the job; optional ones are NULL when absent. */
typedef struct qr_job {
    char *job_class;     /* the class that runs: "Quire::ProcessBook" */
    char *book_id;       /* integers are kept in decimal form */
    char *source;        /* URL or local path, as enqueued */
    char *callback_url;  /* optional */
    char *profile;       /* optional */
    char *revision;      /* optional; integers in decimal form */
    char *active_job_id; /* ActiveJob's job_id; NULL for a plain Resque job */
    /*
     * The job id a producer chose, carried in args[0] as "job_id" (`quire
     * serve`, `quire enqueue --job-id`); NULL when the payload has none.
     */
    char *job_id;
    bool active_job; /* true when the payload was the ActiveJob wrapper */
    /*
     * When the job was enqueued (Unix seconds; 0: the payload does not say):
     * ActiveJob's "enqueued_at" (ISO 8601, UTC), else a top-level
     * "timestamp" number that some Resque add-ons put in the payload.
     */
    double enqueued_at;
} qr_job;

/*
 * Parses `len` bytes of payload JSON (need not be NUL-terminated) into a new
 * job (*out, free with qr_job_free). On failure *out is NULL and `err` holds
 * one of the ids listed above, with the class name or field in its message.
 */
int qr_payload_parse_buffer(qr_job **out, const char *data, size_t len, const qr_payload_opts *opts,
                            qr_error *err) QR_WUR;

/*
 * Serialises `job` as a plain Resque payload, exactly what
 * `Resque.enqueue(Quire::ProcessBook, {...})` pushes: compact JSON
 * `{"class":...,"args":[{"book_id":...,"source":...,...}]}` with the optional
 * fields (callback_url, profile, revision, job_id, in this order) only when set, and a
 * top-level "timestamp" (Unix seconds) when enqueued_at is set: Resque ignores extra keys,
 * qr_payload reads it. `book_id` and `revision` are written as strings. *out is a
 * NUL-terminated string owned by the caller (free()). Errors: `invalid-argument` (no class,
 * book_id or source), `out-of-memory`.
 */
int qr_payload_serialize(char **out, const qr_job *job, qr_error *err) QR_WUR;

/*
 * Stamps `job` as enqueued now (enqueued_at, Unix seconds to the
 * millisecond): what `quire enqueue` and `quire serve` do before
 * qr_payload_serialize, so the worker can tell how long it waited.
 */
void qr_payload_stamp(qr_job *job);

/*
 * What an operator view shows of any payload, without validating it: the
 * class that runs (for the ActiveJob wrapper, its job_class) into *cls, and
 * the job's arguments object (args[0], or for the wrapper
 * args[0].arguments[0]) as the return value. Both are borrowed from
 * `payload` and NULL when absent; `payload` may be any JSON value.
 */
const struct json_t *qr_payload_peek(const struct json_t *payload, const char **cls);

/*
 * The enqueue time a payload carries (Unix seconds, as qr_job.enqueued_at
 * reads it: ActiveJob's enqueued_at, else a top-level "timestamp"), without
 * validating the rest; 0 when it has none.
 */
double qr_payload_enqueued_at(const char *data, size_t len);

/* Frees a job and its strings. NULL-safe. */
void qr_job_free(qr_job *job);

#endif
