/*
 * The callback's JSON body (jansson, compact, keys in a fixed order) and the
 * two ways of filling a qr_callback_result. Pure: the attempt number and the
 * timestamp come from the caller.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "qr/json.h"
#include "qr/notify.h"
#include "qr/package.h"

void qr_callback_result_from_report(qr_callback_result *out, const qr_process_report *rep)
{
    qr_callback_result r = QR_CALLBACK_RESULT_INIT;
    r.published = true;
    r.book_id = rep->book_id;
    r.revision = rep->revision;
    r.profile = rep->profile ? rep->profile->name : NULL;
    r.already_published = rep->already_published;
    r.pages = rep->pages;
    r.positions = rep->positions;
    r.slices = rep->slices;
    r.bytes_in = rep->source_bytes;
    r.bytes_out = rep->sealed_bytes;
    r.duration_s = rep->t_total;
    r.warnings = rep->warnings;
    *out = r;
}

void qr_callback_result_from_error(qr_callback_result *out, const qr_job *job, const qr_error *e,
                                   const qr_warnings *warnings)
{
    qr_callback_result r = QR_CALLBACK_RESULT_INIT;
    r.published = false;
    r.book_id = job ? job->book_id : NULL;
    r.revision = job ? job->revision : NULL;
    r.profile = job ? job->profile : NULL;
    r.warnings = warnings;
    r.error = (e && e->errid != QR_ERR_NONE) ? e->errid : QR_ERR_INTERNAL;
    r.error_stage = e ? e->stage : NULL;
    r.error_message = e ? e->msg : NULL;
    *out = r;
}

static json_t *uint_json(uint64_t v)
{
    return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v);
}

/* Adds `v` (taken) under `k`; false when `v` is NULL (out of memory) or the set failed. */
static bool put(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0;
}

static json_t *warnings_json(const qr_warnings *w)
{
    json_t *a = json_array();
    size_t n = w ? qr_warnings_count(w) : 0;
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const qr_warning *x = qr_warnings_get(w, i);
        json_t *o = json_object();
        if (!o || json_array_append_new(a, o) != 0 ||
            !put(o, "code", qr_json_string_or_null(x->code)) ||
            !put(o, "stage", qr_json_string_or_null(x->stage)) ||
            !put(o, "context", qr_json_string(x->context)) ||
            !put(o, "message", qr_json_string(x->msg))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *error_json(const qr_callback_result *r)
{
    if (r->published)
        return json_null();
    json_t *o = json_object();
    if (!o || !put(o, "code", json_string(qr_errid_str(r->error))) ||
        !put(o, "stage", qr_json_string_or_null(r->error_stage)) ||
        !put(o, "message", qr_json_string(r->error_message ? r->error_message : "")) ||
        !put(o, "transient", json_boolean(qr_errid_transient(r->error)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int qr_callback_body(char **out, size_t *len, const qr_callback_result *r, const char *key,
                     unsigned attempt, int64_t sent_at, qr_error *err)
{
    json_t *o = NULL;
    char *text = NULL;
    char stamp[32];
    struct tm tm;
    time_t t = (time_t)sent_at;
    int rc = 0;

    *out = NULL;
    if (len)
        *len = 0;
    if (!r || !r->book_id || !key || !*key)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "notify",
                            "callback body needs a book id and an idempotency key");
    if (sent_at < 0 || !gmtime_r(&t, &tm) ||
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "notify",
                            "callback timestamp %lld out of range", (long long)sent_at);

    /* Milliseconds are enough, and keep the number short in the JSON. */
    double duration =
        isfinite(r->duration_s) && r->duration_s > 0 ? round(r->duration_s * 1000.0) / 1000.0 : 0.0;

    o = json_object();
    if (!o || !put(o, "event", json_string(r->published ? "book.published" : "book.failed")) ||
        !put(o, "job_id", qr_json_string(key)) || !put(o, "book_id", qr_json_string(r->book_id)) ||
        !put(o, "revision", qr_json_string_or_null(r->revision)) ||
        !put(o, "status", json_string(r->published ? "published" : "failed")) ||
        !put(o, "profile", qr_json_string_or_null(r->profile)) ||
        !put(o, "manifest_url", qr_json_string_or_null(r->manifest_url)) ||
        !put(o, "already_published", json_boolean(r->already_published)) ||
        !put(o, "pages", json_integer(r->pages)) ||
        !put(o, "positions", json_integer(r->positions)) ||
        !put(o, "slices", uint_json(r->slices)) || !put(o, "bytes_in", uint_json(r->bytes_in)) ||
        !put(o, "bytes_out", uint_json(r->bytes_out)) ||
        !put(o, "duration_s", json_real(duration)) ||
        !put(o, "warnings", warnings_json(r->warnings)) ||
        !put(o, "warnings_dropped",
             uint_json(r->warnings ? qr_warnings_dropped(r->warnings) : 0)) ||
        !put(o, "error", error_json(r)) || !put(o, "attempt", json_integer(attempt)) ||
        !put(o, "sent_at", json_string(stamp))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "notify", "building the callback body");
        goto out;
    }
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (!text) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "notify", "serialising the callback body");
        goto out;
    }
    if (len)
        *len = strlen(text);
    *out = text;
    text = NULL;
out:
    free(text);
    json_decref(o);
    return rc;
}
