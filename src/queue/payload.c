/* Resque job payloads (plain and ActiveJob-wrapped) <-> qr_job. Pure: no I/O. */
#include "qr/payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define STAGE "payload"

static int set_str(char **dst, const char *s, qr_error *err)
{
    *dst = strdup(s);
    if (!*dst)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory copying a job field");
    return 0;
}

/*
 * Reads one field of the job object. Strings are taken as they are;
 * `allow_int` also accepts a JSON integer (Ruby apps enqueue ids as Integer).
 * Absent and null leave *dst NULL; `required` turns that into an error.
 */
static int take_field(char **dst, const json_t *obj, const char *key, bool required, bool allow_int,
                      qr_error *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE, "job arguments lack \"%s\"",
                                key);
        return 0;
    }
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (n == 0)
            return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE, "\"%s\" is empty", key);
        if (n > QR_PAYLOAD_MAX_FIELD)
            return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE,
                                "\"%s\" is %zu bytes, over the %d byte limit", key, n,
                                QR_PAYLOAD_MAX_FIELD);
        return set_str(dst, json_string_value(v), err);
    }
    if (allow_int && json_is_integer(v)) {
        char num[32];
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return set_str(dst, num, err);
    }
    if (json_is_object(v) &&
        (json_object_get(v, "_aj_globalid") || json_object_get(v, "_aj_serialized")))
        return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE,
                            "\"%s\" is an ActiveJob-serialised object; pass a plain %s", key,
                            allow_int ? "string or integer" : "string");
    return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE, "\"%s\" must be a %s", key,
                        allow_int ? "string or integer" : "string");
}

/* Fills the book fields of `job` from the argument object (markers are simply not read). */
static int read_book_args(qr_job *job, const json_t *a, qr_error *err)
{
    int rc;
    if (!json_is_object(a))
        return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE,
                            "the first job argument must be an object");
    if ((rc = take_field(&job->book_id, a, "book_id", true, true, err)) < 0 ||
        (rc = take_field(&job->source, a, "source", true, false, err)) < 0 ||
        (rc = take_field(&job->callback_url, a, "callback_url", false, false, err)) < 0 ||
        (rc = take_field(&job->profile, a, "profile", false, false, err)) < 0 ||
        (rc = take_field(&job->revision, a, "revision", false, true, err)) < 0 ||
        (rc = take_field(&job->job_id, a, "job_id", false, false, err)) < 0)
        return rc;
    return 0;
}

/* The first element of an `args`/`arguments` array, or an error naming it. */
static int first_arg(const json_t **out, const json_t *arr, const char *what, qr_error *err)
{
    *out = NULL;
    if (!json_is_array(arr))
        return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE, "\"%s\" must be an array",
                            what);
    if (json_array_size(arr) == 0)
        return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE, "\"%s\" is empty", what);
    *out = json_array_get(arr, 0);
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS[.f...](Z|+00:00)" → Unix seconds; 0 when not that form. */
static double parse_utc(const char *s)
{
    int y, mo, d, h, mi, n = 0;
    double sec;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return 0;
    const char *z = s + n;
    if (strcmp(z, "Z") != 0 && strcmp(z, "+00:00") != 0 && strcmp(z, "UTC") != 0)
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || !(sec >= 0 && sec < 61))
        return 0;
    return (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 + h * 3600.0 +
           mi * 60.0 + sec;
}

/* A plausible enqueue time: after 2000 and not in the future by more than a day. */
static double plausible(double t)
{
    double now = (double)time(NULL);
    return t > 946684800.0 && t < now + 86400.0 ? t : 0;
}

static int parse_activejob(qr_job *job, const json_t *args, const char *expected, qr_error *err)
{
    const json_t *data = NULL, *a = NULL;
    int rc;
    if ((rc = first_arg(&data, args, "args", err)) < 0)
        return rc;
    if (!json_is_object(data))
        return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE,
                            "ActiveJob wrapper args[0] must be an object");
    const json_t *jc = json_object_get(data, "job_class");
    if (!json_is_string(jc))
        return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE,
                            "ActiveJob wrapper lacks a string \"job_class\"");
    if (strcmp(json_string_value(jc), expected) != 0)
        return qr_error_set(err, QR_ERR_JOB_UNKNOWN_CLASS, STAGE,
                            "ActiveJob job_class \"%.100s\" is not \"%.100s\"",
                            json_string_value(jc), expected);
    if ((rc = take_field(&job->active_job_id, data, "job_id", false, false, err)) < 0)
        return rc;
    job->enqueued_at =
        plausible(parse_utc(json_string_value(json_object_get(data, "enqueued_at"))));
    if ((rc = first_arg(&a, json_object_get(data, "arguments"), "arguments", err)) < 0)
        return rc;
    job->active_job = true;
    if ((rc = set_str(&job->job_class, expected, err)) < 0)
        return rc;
    return read_book_args(job, a, err);
}

int qr_payload_parse_buffer(qr_job **out, const char *data, size_t len, const qr_payload_opts *opts,
                            qr_error *err)
{
    json_t *root = NULL;
    qr_job *job = NULL;
    const json_t *a = NULL;
    json_error_t jerr;
    int rc = 0;
    const char *expected = opts && opts->job_class ? opts->job_class : QR_PAYLOAD_DEFAULT_CLASS;
    size_t max = opts && opts->max_bytes ? opts->max_bytes : (size_t)1 << 20;

    *out = NULL;
    if (!data && len)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "NULL payload");
    if (len > max)
        return qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, STAGE,
                            "payload is %zu bytes, over the %zu byte limit", len, max);
    root = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE,
                          "payload is not JSON: %s at byte %d", jerr.text, jerr.position);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE, "payload is not a JSON object");
        goto out;
    }
    const json_t *cls = json_object_get(root, "class");
    if (!json_is_string(cls) || json_string_length(cls) == 0) {
        rc = qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, STAGE,
                          "payload lacks a string \"class\"");
        goto out;
    }
    job = calloc(1, sizeof(*job));
    if (!job) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
        goto out;
    }
    const char *cname = json_string_value(cls);
    if (strcmp(cname, QR_PAYLOAD_ACTIVEJOB_WRAPPER) == 0 &&
        strcmp(expected, QR_PAYLOAD_ACTIVEJOB_WRAPPER) != 0) {
        rc = parse_activejob(job, json_object_get(root, "args"), expected, err);
        goto out;
    }
    if (strcmp(cname, expected) != 0) {
        rc = qr_error_set(err, QR_ERR_JOB_UNKNOWN_CLASS, STAGE,
                          "job class \"%.100s\" is not \"%.100s\"", cname, expected);
        goto out;
    }
    if ((rc = set_str(&job->job_class, cname, err)) < 0)
        goto out;
    if ((rc = first_arg(&a, json_object_get(root, "args"), "args", err)) < 0)
        goto out;
    rc = read_book_args(job, a, err);
out:
    /* Other keys are ignored; an add-on's "timestamp" is the enqueue time when nothing else says.
     */
    if (rc == 0 && job && job->enqueued_at == 0) {
        const json_t *ts = json_object_get(root, "timestamp");
        if (json_is_number(ts))
            job->enqueued_at = plausible(json_number_value(ts));
    }
    json_decref(root);
    if (rc < 0) {
        qr_job_free(job);
        return rc;
    }
    *out = job;
    return 0;
}

double qr_payload_enqueued_at(const char *data, size_t len)
{
    json_t *root = json_loadb(data, len, 0, NULL);
    double t = 0;
    const json_t *ts = json_object_get(root, "timestamp");
    const json_t *args = json_object_get(root, "args");
    const json_t *a0 = json_is_array(args) ? json_array_get(args, 0) : NULL;
    /* ActiveJob's wrapper first, as the parser reads it. */
    if (json_is_object(a0) && json_is_string(json_object_get(a0, "job_class")))
        t = plausible(parse_utc(json_string_value(json_object_get(a0, "enqueued_at"))));
    if (t == 0 && json_is_number(ts))
        t = plausible(json_number_value(ts));
    json_decref(root);
    return t;
}

/* Adds `key` = `val` to `obj` when `val` is set. */
static int put_opt(json_t *obj, const char *key, const char *val)
{
    if (!val)
        return 0;
    return json_object_set_new(obj, key, json_string(val));
}

int qr_payload_serialize(char **out, const qr_job *job, qr_error *err)
{
    json_t *root = NULL, *args = NULL, *a = NULL;
    int rc = 0;

    *out = NULL;
    if (!job || !job->job_class || !job->book_id || !job->source)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "a job needs a class, a book_id and a source");
    root = json_object();
    args = json_array();
    a = json_object();
    if (!root || !args || !a || json_object_set_new(root, "class", json_string(job->job_class)) ||
        put_opt(a, "book_id", job->book_id) || put_opt(a, "source", job->source) ||
        put_opt(a, "callback_url", job->callback_url) || put_opt(a, "profile", job->profile) ||
        put_opt(a, "revision", job->revision) || put_opt(a, "job_id", job->job_id)) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory building a payload");
        goto out;
    }
    /* json_array_append_new and json_object_set_new take their reference even on failure. */
    rc = json_array_append_new(args, a);
    a = NULL;
    if (rc == 0) {
        rc = json_object_set_new(root, "args", args);
        args = NULL;
    }
    /* The enqueue time, as the add-ons' top-level "timestamp" Resque ignores. */
    if (rc == 0 && job->enqueued_at > 0)
        rc = json_object_set_new(root, "timestamp", json_real(job->enqueued_at));
    if (rc) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory building a payload");
        goto out;
    }
    *out = json_dumps(root, JSON_COMPACT);
    if (!*out)
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory dumping a payload");
out:
    json_decref(a);
    json_decref(args);
    json_decref(root);
    return rc;
}

void qr_job_free(qr_job *job)
{
    if (!job)
        return;
    free(job->job_class);
    free(job->book_id);
    free(job->source);
    free(job->callback_url);
    free(job->profile);
    free(job->revision);
    free(job->active_job_id);
    free(job->job_id);
    free(job);
}

const json_t *qr_payload_peek(const json_t *payload, const char **cls)
{
    const char *c = json_string_value(json_object_get(payload, "class"));
    const json_t *a0 = json_array_get(json_object_get(payload, "args"), 0);
    *cls = c;
    if (c && strcmp(c, QR_PAYLOAD_ACTIVEJOB_WRAPPER) == 0 && json_is_object(a0)) {
        const char *jc = json_string_value(json_object_get(a0, "job_class"));
        if (jc)
            *cls = jc;
        return json_array_get(json_object_get(a0, "arguments"), 0);
    }
    return a0;
}

void qr_payload_stamp(qr_job *job)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    job->enqueued_at = (double)now.tv_sec + (double)(now.tv_nsec / 1000000) / 1000.0;
}
