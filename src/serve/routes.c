/*
 * The /v1 routes of `quire serve`: POST /v1/books (a source URL as JSON, or
 * the book streamed in the body), GET /v1/books/{id}, GET and DELETE
 * /v1/jobs/{id}. A job is pushed with qr_payload_serialize, as `quire
 * enqueue` pushes it, in the one script that claims its idempotency key.
 */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "qr/config.h"
#include "qr/payload.h"
#include "serve_int.h"

#define STAGE QR_SERVE_STAGE
#define MAX_IDEM 255

static const char *queue_of(const qr_serve *s)
{
    return s->o.queue ? s->o.queue : "books";
}

/* ---- POST /v1/books: the first call ---- */

static bool content_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static enum MHD_Result check_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    (void)value;
    static const char *const known[] = {"book_id", "revision", "profile", "callback_url"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(key, known[i]) == 0)
            return MHD_YES;
    snprintf(cls, 64, "%.60s", key);
    return MHD_NO;
}

enum MHD_Result qr_serve__post_begin(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q,
                                     bool *answered)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    char unknown[64] = "";
    *answered = true;
    if (content_type_is(ct, "application/json")) {
        q->body = QR_SERVE_BODY_JSON;
        if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0)
            return qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT,
                                   "a JSON request takes no query parameters");
        if (cl && strtoull(cl, NULL, 10) > s->o.max_json_bytes)
            return qr_serve__error(c, 413, QR_ERR_INPUT_TOO_LARGE,
                                   "the JSON body is over %zu bytes", s->o.max_json_bytes);
        *answered = false;
        return MHD_YES;
    }
    if (content_type_is(ct, "application/epub+zip"))
        q->ext = "epub";
    else if (content_type_is(ct, "application/pdf"))
        q->ext = "pdf";
    else
        return qr_serve__error(c, 415, QR_ERR_UNSUPPORTED_FORMAT,
                               "Content-Type must be application/json, application/epub+zip or "
                               "application/pdf");
    q->body = QR_SERVE_BODY_UPLOAD;
    if (!s->o.store || !s->o.upload_base)
        return qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT,
                               "uploads are not enabled (no --store)");
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_query, unknown);
    if (unknown[0])
        return qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT, "unknown query parameter '%s'",
                               unknown);
    const char *book = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "book_id");
    if (!qr_serve_book_id_ok(book))
        return qr_serve__error(
            c, 400, QR_ERR_INVALID_ARGUMENT,
            "book_id (query) must be 1-128 bytes of [A-Za-z0-9._-], not starting "
            "with '.'");
    /* Without a Content-Length (chunked) the limit is enforced as the body streams in. */
    if (cl) {
        char *end = NULL;
        unsigned long long len = strtoull(cl, &end, 10);
        if (!*cl || *end)
            return qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT,
                                   "Content-Length is not a number");
        if (len > s->o.max_upload_bytes)
            return qr_serve__error(c, 413, QR_ERR_INPUT_TOO_LARGE,
                                   "the book is %llu bytes, over %llu", len,
                                   (unsigned long long)s->o.max_upload_bytes);
        if (len == 0)
            return qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT, "the body is empty");
    }
    const char *dir = s->o.spool_dir ? s->o.spool_dir : getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    if (asprintf(&q->tmp_path, "%s/quire-upload.XXXXXX", dir) < 0) {
        q->tmp_path = NULL;
        return qr_serve__error(c, 500, QR_ERR_OUT_OF_MEMORY, "out of memory");
    }
    q->fd = mkstemp(q->tmp_path);
    if (q->fd < 0) {
        free(q->tmp_path);
        q->tmp_path = NULL;
        return qr_serve__error(c, 500, QR_ERR_IO, "cannot create a spool file");
    }
    crypto_hash_sha256_init(&q->sha);
    *answered = false;
    return MHD_YES;
}

/* ---- POST /v1/books: the whole request ---- */

/* The accepted body: only these keys, each a string (book_id and revision may be integers). */
static int job_from_json(qr_job *job, json_t *root, char **owned, qr_error *err)
{
    static const struct {
        const char *key;
        bool required, integer;
    } fields[] = {{"book_id", true, true},
                  {"source", true, false},
                  {"profile", false, false},
                  {"callback_url", false, false},
                  {"revision", false, true}};
    char **slots[] = {&job->book_id, &job->source, &job->profile, &job->callback_url,
                      &job->revision};
    const char *key;
    json_t *v;
    if (!json_is_object(root))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "the body must be a JSON object");
    json_object_foreach(root, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < 5; i++)
            known |= strcmp(key, fields[i].key) == 0;
        if (!known)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "unknown field \"%.60s\"",
                                key);
    }
    for (size_t i = 0; i < 5; i++) {
        v = json_object_get(root, fields[i].key);
        if (!v || json_is_null(v)) {
            if (fields[i].required)
                return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "\"%s\" is required",
                                    fields[i].key);
            continue;
        }
        if (json_is_string(v)) {
            if (json_string_length(v) == 0 || json_string_length(v) > QR_PAYLOAD_MAX_FIELD ||
                strlen(json_string_value(v)) != json_string_length(v))
                return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                                    "\"%s\" must be 1-%d bytes without NUL", fields[i].key,
                                    QR_PAYLOAD_MAX_FIELD);
            *slots[i] = (char *)(uintptr_t)json_string_value(v);
        } else if (fields[i].integer && json_is_integer(v) && json_integer_value(v) >= 0) {
            if (asprintf(&owned[i], "%lld", (long long)json_integer_value(v)) < 0) {
                owned[i] = NULL;
                return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
            }
            *slots[i] = owned[i];
        } else {
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "\"%s\" must be a %s",
                                fields[i].key,
                                fields[i].integer ? "string or a non-negative integer" : "string");
        }
    }
    return 0;
}

static int check_fields(const qr_serve *s, const qr_job *job, qr_error *err)
{
    if (!qr_serve_book_id_ok(job->book_id))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "book_id must be 1-128 bytes of [A-Za-z0-9._-], not starting with '.'");
    if (job->revision && !qr_serve_book_id_ok(job->revision))
        return qr_error_set(
            err, QR_ERR_INVALID_ARGUMENT, STAGE,
            "revision must be 1-128 bytes of [A-Za-z0-9._-], not starting with '.'");
    if (job->profile && !qr_profile_get(job->profile))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "unknown profile '%.64s' (one of: %s)", job->profile,
                            qr_profile_names());
    if (job->callback_url) {
        bool http = s->o.policy && s->o.policy->allow_http;
        if (strncmp(job->callback_url, "https://", 8) != 0 &&
            !(http && strncmp(job->callback_url, "http://", 7) == 0))
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                                "callback_url must be an https:// URL");
    }
    return 0;
}

/* A job view's first fields: what POST answers. */
static json_t *accepted(const char *job_id, const char *book_id, bool duplicate)
{
    char url[200];
    snprintf(url, sizeof(url), "/v1/jobs/%s", job_id);
    return json_pack("{s:s,s:s,s:s,s:s,s:b}", "job_id", job_id, "book_id", book_id, "status",
                     "queued", "status_url", url, "duplicate", duplicate);
}

static enum MHD_Result fail(struct MHD_Connection *c, const qr_error *e)
{
    return qr_serve__error(c, qr_serve__status_for(e->errid), e->errid, "%s", e->msg);
}

/* "<prefix>sha256(<parts joined by \n>)" in hex. */
static void idem_key(char out[80], const char *kind, const char *a, const char *b)
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)a, strlen(a));
    if (b) {
        crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
        crypto_hash_sha256_update(&st, (const unsigned char *)b, strlen(b));
    }
    crypto_hash_sha256_final(&st, d);
    size_t n = (size_t)snprintf(out, 80, "%s:", kind);
    sodium_bin2hex(out + n, 80 - n, d, sizeof(d));
}

/* Idempotency: the client's key, else the book and the source (a URL, or the upload's hash). */
static bool pick_idem(char out[80], struct MHD_Connection *c, const char *book,
                      const char *source_id, enum MHD_Result *res)
{
    const char *k = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (k) {
        size_t n = strlen(k);
        bool ok = n > 0 && n <= MAX_IDEM;
        for (size_t i = 0; ok && i < n; i++)
            ok = k[i] > 0x20 && k[i] < 0x7f;
        if (!ok) {
            *res = qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT,
                                   "Idempotency-Key must be 1-%d printable ASCII bytes", MAX_IDEM);
            return false;
        }
        idem_key(out, "key", k, NULL);
    } else {
        idem_key(out, "book", book, source_id);
    }
    return true;
}

static enum MHD_Result submit(qr_serve *s, struct MHD_Connection *c, qr_job *job, const char *idem)
{
    unsigned char rnd[16];
    char new_id[2 * sizeof(rnd) + 1], *payload = NULL, *job_id = NULL;
    bool pushed = false;
    qr_error e = QR_ERROR_INIT;
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(new_id, sizeof(new_id), rnd, sizeof(rnd));
    job->job_id = new_id;
    qr_payload_stamp(job);
    if (qr_payload_serialize(&payload, job, &e) < 0 ||
        qr_resque_intake_submit(&job_id, &pushed, s->o.redis, idem, queue_of(s), payload, new_id,
                                job->book_id,
                                s->o.idempotency_ttl_s ? s->o.idempotency_ttl_s : 86400, &e) < 0) {
        job->job_id = NULL;
        free(payload);
        return fail(c, &e);
    }
    job->job_id = NULL;
    free(payload);
    char loc[200];
    snprintf(loc, sizeof(loc), "/v1/jobs/%s", job_id);
    enum MHD_Result r = qr_serve__json(
        c, pushed ? 202 : 200, accepted(job_id, job->book_id, !pushed), "Location", loc, NULL);
    free(job_id);
    return r;
}

/* The first job of `idem` when there is one: answered (200) and true. */
static bool replay(qr_serve *s, struct MHD_Connection *c, const char *idem, const char *book,
                   enum MHD_Result *res)
{
    char *first = NULL;
    qr_error e = QR_ERROR_INIT;
    if (qr_resque_intake_first(&first, s->o.redis, idem, &e) < 0) {
        *res = fail(c, &e);
        return true;
    }
    if (!first)
        return false;
    char loc[200];
    snprintf(loc, sizeof(loc), "/v1/jobs/%s", first);
    *res = qr_serve__json(c, 200, accepted(first, book, true), "Location", loc, NULL);
    free(first);
    return true;
}

static enum MHD_Result post_json(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q)
{
    qr_job job;
    char *owned[5] = {NULL, NULL, NULL, NULL, NULL};
    char idem[80];
    json_error_t jerr;
    qr_error e = QR_ERROR_INIT;
    enum MHD_Result res;
    char cls[] = QR_PAYLOAD_DEFAULT_CLASS;
    memset(&job, 0, sizeof(job));
    json_t *root = json_loadb(q->buf ? q->buf : "", q->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        res = qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT,
                              "the body is not JSON: %s at byte %d", jerr.text, jerr.position);
        goto out;
    }
    if (job_from_json(&job, root, owned, &e) < 0 || check_fields(s, &job, &e) < 0 ||
        qr_serve_check_source(job.source, s->o.policy, &e) < 0) {
        res = fail(c, &e);
        goto out;
    }
    if (!pick_idem(idem, c, job.book_id, job.source, &res) || replay(s, c, idem, job.book_id, &res))
        goto out;
    job.job_class = s->o.job_class ? (char *)(uintptr_t)s->o.job_class : cls;
    res = submit(s, c, &job, idem);
out:
    for (size_t i = 0; i < 5; i++)
        free(owned[i]);
    json_decref(root);
    return res;
}

static enum MHD_Result post_upload(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q)
{
    qr_job job;
    char idem[80], hex[2 * crypto_hash_sha256_BYTES + 1], head[5] = {0};
    unsigned char d[crypto_hash_sha256_BYTES];
    char *key = NULL, *source = NULL;
    qr_error e = QR_ERROR_INIT;
    enum MHD_Result res;
    char cls[] = QR_PAYLOAD_DEFAULT_CLASS;
    memset(&job, 0, sizeof(job));
    job.book_id =
        (char *)(uintptr_t)MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "book_id");
    job.revision =
        (char *)(uintptr_t)MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "revision");
    job.profile =
        (char *)(uintptr_t)MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "profile");
    job.callback_url =
        (char *)(uintptr_t)MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "callback_url");
    if (check_fields(s, &job, &e) < 0)
        return fail(c, &e);
    if (q->total == 0)
        return qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT, "the body is empty");
    if (pread(q->fd, head, 4, 0) != 4 ||
        memcmp(head, strcmp(q->ext, "pdf") == 0 ? "%PDF" : "PK\003\004", 4) != 0)
        return qr_serve__error(c, 415, QR_ERR_UNSUPPORTED_FORMAT, "the body is not an %s file",
                               strcmp(q->ext, "pdf") == 0 ? "PDF" : "EPUB (ZIP)");
    crypto_hash_sha256_final(&q->sha, d);
    sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
    char sid[80];
    snprintf(sid, sizeof(sid), "sha256:%s", hex);
    if (!pick_idem(idem, c, job.book_id, sid, &res) || replay(s, c, idem, job.book_id, &res))
        return res;
    const char *pre = s->o.upload_prefix ? s->o.upload_prefix : "uploads/";
    if (asprintf(&key, "%s%s%s/%s.%s", pre, pre[0] && pre[strlen(pre) - 1] != '/' ? "/" : "",
                 job.book_id, hex, q->ext) < 0 ||
        asprintf(&source, "%s%s", s->o.upload_base, key) < 0) {
        res = qr_serve__error(c, 500, QR_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    if (fsync(q->fd) != 0 || qr_store_put_file(s->o.store, key, q->tmp_path, 0, &e) < 0) {
        if (!e.errid)
            qr_error_set(&e, QR_ERR_IO, STAGE, "cannot sync the spooled upload");
        res = fail(c, &e);
        goto out;
    }
    job.source = source;
    job.job_class = s->o.job_class ? (char *)(uintptr_t)s->o.job_class : cls;
    res = submit(s, c, &job, idem);
out:
    free(key);
    free(source);
    return res;
}

enum MHD_Result qr_serve__post_book(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q)
{
    return q->body == QR_SERVE_BODY_UPLOAD ? post_upload(s, c, q) : post_json(s, c, q);
}

/* ---- GET /v1/jobs/{id}, /v1/books/{id} ---- */

static void iso8601(char *out, size_t n, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, n, "1970-01-01T00:00:00Z");
}

static int set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, v && *v ? json_string(v) : json_null());
}

/* Fills `view` from the job's live state and its history records. */
static int job_view(qr_serve *s, json_t *view, const char *id, const json_t *rec, qr_error *err)
{
    json_t *state = NULL, *hist = NULL;
    const char *queue = json_string_value(json_object_get(rec, "queue"));
    const char *payload = json_string_value(json_object_get(rec, "payload"));
    int rc;
    if ((rc = qr_resque_job_get(&state, s->o.redis, id, err)) < 0)
        return rc;
    const char *st = json_string_value(json_object_get(state, "state"));
    const char *book = json_string_value(json_object_get(rec, "book_id"));
    if (!book)
        book = json_string_value(json_object_get(state, "book_id"));
    const char *status = "queued";
    bool queued = false;
    if (!st && queue && payload &&
        (rc = qr_resque_intake_queued(&queued, s->o.redis, queue, payload, err)) < 0)
        goto out;
    if (!st)
        status = queued || !payload ? "queued" : "running";
    else if (strcmp(st, "running") == 0)
        status = "running";
    else if (strcmp(st, "succeeded") == 0)
        status = "published";
    else if (strcmp(st, "failed") == 0)
        status = "failed";
    else if (strcmp(st, "deleted") == 0)
        status = "deleted";
    else
        status = "queued"; /* requeued, crashed: back in the queue for another attempt */
    char url[200], when[32];
    snprintf(url, sizeof(url), "/v1/jobs/%s", id);
    json_int_t created = json_integer_value(json_object_get(rec, "created"));
    iso8601(when, sizeof(when), created);
    if (set_str(view, "job_id", id) || set_str(view, "book_id", book) ||
        set_str(view, "status", status) || set_str(view, "status_url", url) ||
        set_str(view, "queue", queue) ||
        json_object_set_new(view, "created_at", created ? json_string(when) : json_null()))
        goto oom;
    if (strcmp(status, "running") == 0) {
        const char *upd = json_string_value(json_object_get(state, "updated"));
        long long since = upd ? strtoll(upd, NULL, 10) : 0;
        long long el = since ? (long long)time(NULL) - since : 0;
        if (set_str(view, "stage", json_string_value(json_object_get(state, "stage"))) ||
            set_str(view, "worker", json_string_value(json_object_get(state, "worker"))) ||
            json_object_set_new(view, "elapsed_s", json_integer(el < 0 ? 0 : el)))
            goto oom;
    }
    if (!st || strcmp(st, "running") == 0 || strcmp(st, "deleted") == 0)
        goto out;
    /* Finished at least once: the newest history record of this job, and how many there are. */
    if ((rc = qr_resque_history_read(&hist, s->o.redis, 0, 1000, err)) < 0)
        goto out;
    json_t *last = NULL, *h;
    size_t i, attempts = 0;
    json_array_foreach(hist, i, h)
    {
        const char *jid = json_string_value(json_object_get(h, "job_id"));
        if (jid && strcmp(jid, id) == 0) {
            attempts++;
            if (!last)
                last = h;
        }
    }
    if (json_object_set_new(view, "attempt", json_integer((json_int_t)attempts)))
        goto oom;
    if (!last)
        goto out;
    const char *rev = json_string_value(json_object_get(last, "revision"));
    const char *sec = json_string_value(json_object_get(last, "seconds"));
    if (set_str(view, "revision", rev) ||
        json_object_set_new(view, "duration_s", json_real(sec ? strtod(sec, NULL) : 0.0)))
        goto oom;
    if (strcmp(status, "published") == 0) {
        char prefix[300], *m = NULL;
        snprintf(prefix, sizeof(prefix), "books/%s/%s/", book ? book : "", rev ? rev : "");
        if (s->o.remote && s->o.store_spec && book && rev)
            m = qr_remote_manifest_url(s->o.remote, s->o.store_spec, prefix);
        rc = set_str(view, "manifest_url", m);
        free(m);
        if (rc)
            goto oom;
    } else if (strcmp(status, "failed") == 0) {
        const char *eid = json_string_value(json_object_get(last, "error"));
        json_t *e = json_pack("{s:s,s:s,s:s?}", "id", eid && *eid ? eid : "internal", "message",
                              json_string_value(json_object_get(last, "message"))
                                  ? json_string_value(json_object_get(last, "message"))
                                  : "",
                              "stage", json_string_value(json_object_get(last, "stage")));
        if (!e || json_object_set_new(view, "error", e))
            goto oom;
    }
    goto out;
oom:
    rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
out:
    json_decref(state);
    json_decref(hist);
    return rc;
}

/* 200 with the job's view (job_view), or the error that kept it from being built. */
static enum MHD_Result answer_view(qr_serve *s, struct MHD_Connection *c, const char *id,
                                   const json_t *rec)
{
    qr_error e = QR_ERROR_INIT;
    json_t *view = json_object();
    if (!view)
        qr_error_set(&e, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    if (!view || job_view(s, view, id, rec, &e) < 0) {
        json_decref(view);
        return fail(c, &e);
    }
    return qr_serve__json(c, 200, view, NULL);
}

enum MHD_Result qr_serve__get_job(qr_serve *s, struct MHD_Connection *c, const char *id,
                                  bool by_book)
{
    json_t *rec = NULL;
    char *jid = NULL;
    qr_error e = QR_ERROR_INIT;
    enum MHD_Result res;
    if (by_book ? !qr_serve_book_id_ok(id) : !qr_serve__token_ok(id, 128))
        return qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT, "not a %s id",
                               by_book ? "book" : "job");
    if (by_book) {
        if (qr_resque_intake_book(&jid, s->o.redis, id, &e) < 0)
            return fail(c, &e);
        if (!jid)
            return qr_serve__error(c, 404, QR_ERR_SOURCE_NOT_FOUND, "no job for book %s", id);
        id = jid;
    }
    if (qr_resque_intake_job(&rec, s->o.redis, id, &e) < 0) {
        res = fail(c, &e);
        goto out;
    }
    if (!rec) {
        res = qr_serve__error(c, 404, QR_ERR_SOURCE_NOT_FOUND, "no job %s", id);
        goto out;
    }
    res = answer_view(s, c, id, rec);
out:
    json_decref(rec);
    free(jid);
    return res;
}

enum MHD_Result qr_serve__delete_job(qr_serve *s, struct MHD_Connection *c, const char *id)
{
    json_t *rec = NULL;
    qr_error e = QR_ERROR_INIT;
    enum MHD_Result res;
    bool removed = false;
    if (!qr_serve__token_ok(id, 128))
        return qr_serve__error(c, 400, QR_ERR_INVALID_ARGUMENT, "not a job id");
    if (qr_resque_intake_job(&rec, s->o.redis, id, &e) < 0)
        return fail(c, &e);
    if (!rec)
        return qr_serve__error(c, 404, QR_ERR_SOURCE_NOT_FOUND, "no job %s", id);
    const char *queue = json_string_value(json_object_get(rec, "queue"));
    const char *payload = json_string_value(json_object_get(rec, "payload"));
    const char *book = json_string_value(json_object_get(rec, "book_id"));
    if (!queue || !payload) {
        res = qr_serve__error(c, 500, QR_ERR_INTERNAL, "the job's record is incomplete");
        goto out;
    }
    if (qr_resque_intake_cancel(&removed, s->o.redis, queue, payload, &e) < 0) {
        res = fail(c, &e);
        goto out;
    }
    if (!removed) {
        res = qr_serve__error(c, 409, QR_ERR_INVALID_ARGUMENT,
                              "job %s is not waiting in its queue: it ran or is running", id);
        goto out;
    }
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    const char *kv[] = {"state", "deleted", "book_id", book ? book : "", "updated", now};
    long ttl = s->o.idempotency_ttl_s ? s->o.idempotency_ttl_s : 86400;
    if (qr_resque_job_state(s->o.redis, id, kv, 3, ttl, &e) < 0) {
        res = fail(c, &e);
        goto out;
    }
    res = answer_view(s, c, id, rec);
out:
    json_decref(rec);
    return res;
}
