/*
 * The dashboard under /ui (`quire serve --ui`): server-rendered HTML, one
 * small stylesheet, no script. Every string that comes from Redis goes
 * through html_put (escaped). Retry and Remove of a failure are POST forms
 * carrying the process's CSRF token, compared in constant time.
 */
#define _GNU_SOURCE /* asprintf */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "serve_int.h"

#define STAGE QR_SERVE_STAGE

static const char CSS[] =
    "body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}"
    "header{background:#234;color:#fff;padding:.6em 1em}header a{color:#fff;margin-right:1em}"
    "main{padding:1em;max-width:60em}h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}"
    "table{border-collapse:collapse;width:100%;margin:.5em 0}"
    "td,th{border-bottom:1px solid #ddd;padding:.3em .4em;text-align:left;vertical-align:top}"
    "td{overflow-wrap:anywhere}th{background:#eee;white-space:nowrap}"
    ".small{font-size:.8em;color:#555}"
    ".num{text-align:right}.bad{color:#a00}form{display:inline}"
    "button{font:inherit;padding:.2em .6em;margin:.1em;white-space:nowrap}.wrap{overflow-x:auto}"
    "svg{max-width:100%;height:auto}pre{white-space:pre-wrap;overflow-wrap:anywhere}";

typedef struct page {
    char *buf;
    size_t len, cap;
    bool oom;
} page;

static void put(page *p, const char *s, size_t n)
{
    if (p->oom)
        return;
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (p->len + n + 1 > cap)
            cap *= 2;
        char *nb = realloc(p->buf, cap);
        if (!nb) {
            p->oom = true;
            return;
        }
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

/* Markup written by this file (never data). */
static void raw(page *p, const char *fmt, ...) QR_PRINTF(2, 3);
static void raw(page *p, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(p, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Data: escaped for text and attribute values alike. */
static void esc(page *p, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            put(p, "&amp;", 5);
            break;
        case '<':
            put(p, "&lt;", 4);
            break;
        case '>':
            put(p, "&gt;", 4);
            break;
        case '"':
            put(p, "&quot;", 6);
            break;
        case '\'':
            put(p, "&#39;", 5);
            break;
        default:
            put(p, s, 1);
        }
    }
}

static void esc_json(page *p, const json_t *v)
{
    char num[64];
    if (json_is_string(v))
        esc(p, json_string_value(v));
    else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        put(p, num, strlen(num));
    } else if (json_is_real(v)) {
        snprintf(num, sizeof(num), "%.3f", json_real_value(v));
        put(p, num, strlen(num));
    } else if (!v || json_is_null(v))
        put(p, "–", strlen("–"));
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        esc(p, s);
        free(s);
    }
}

static void head(page *p, const char *title)
{
    raw(p, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
    esc(p, title);
    raw(p,
        " · quire</title><style>%s</style></head><body><header><a href=\"/ui\">overview</a>"
        "<a href=\"/ui/history\">history</a></header><main><h1>",
        CSS);
    esc(p, title);
    raw(p, "</h1>");
}

static enum MHD_Result send_page(struct MHD_Connection *c, unsigned status, page *p)
{
    raw(p, "</main></body></html>");
    if (p->oom) {
        free(p->buf);
        return qr_serve__error(c, 500, QR_ERR_OUT_OF_MEMORY, "out of memory");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(p->len, p->buf, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(p->buf);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    if (ok == MHD_YES)
        ok = MHD_add_response_header(resp, "Content-Security-Policy",
                                     "default-src 'none'; style-src 'unsafe-inline'; "
                                     "form-action 'self'; frame-ancestors 'none'");
    if (ok == MHD_YES)
        ok = MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (ok == MHD_YES)
        ok = MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (ok == MHD_YES)
        ok = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result fail_page(struct MHD_Connection *c, unsigned status, const qr_error *e)
{
    page p = {0};
    head(&p, "error");
    raw(&p, "<p class=\"bad\">");
    esc(&p, e->id);
    raw(&p, ": ");
    esc(&p, e->msg);
    raw(&p, "</p>");
    return send_page(c, status, &p);
}

static void age(page *p, long long s)
{
    if (s < 0)
        raw(p, "–");
    else if (s < 120)
        raw(p, "%llds", s);
    else if (s < 7200)
        raw(p, "%lldm", s / 60);
    else
        raw(p, "%lldh", s / 3600);
}

/* ---- overview ---- */

static void queues_table(qr_serve *s, page *p, const json_t *snap)
{
    const json_t *q;
    size_t i;
    raw(p, "<h2>Queues</h2><div class=\"wrap\"><table><tr><th>queue</th><th class=\"num\">depth"
           "</th><th class=\"num\">oldest</th></tr>");
    json_array_foreach(json_object_get(snap, "queues"), i, q)
    {
        const char *name = json_string_value(json_object_get(q, "name"));
        long long oldest = -1;
        double at = 0;
        qr_error e = QR_ERROR_INIT;
        /* The head's enqueue time, which quire enqueue, quire serve and ActiveJob stamp. */
        if (name && qr_resque_oldest(&at, s->o.redis, name, &e) == 0 && at > 0)
            oldest = (long long)time(NULL) - (long long)at;
        raw(p, "<tr><td>");
        esc(p, name);
        raw(p, "</td><td class=\"num\">");
        esc_json(p, json_object_get(q, "depth"));
        raw(p, "</td><td class=\"num\">");
        age(p, oldest);
        raw(p, "</td></tr>");
    }
    raw(p, "</table></div>");
}

static void workers_table(page *p, const json_t *snap)
{
    const json_t *w;
    size_t i;
    raw(p, "<h2>Workers</h2><div class=\"wrap\"><table><tr><th>host</th><th>job</th><th>"
           "elapsed</th><th>heartbeat</th><th>versions</th></tr>");
    json_array_foreach(json_object_get(snap, "workers"), i, w)
    {
        const char *id = json_string_value(json_object_get(w, "id"));
        const json_t *job = json_object_get(w, "job");
        const json_t *info = json_object_get(w, "info");
        raw(p, "<tr><td>");
        esc(p, id);
        raw(p, "</td><td>");
        if (json_is_object(job)) {
            const json_t *b = json_object_get(job, "book_id");
            if (json_is_string(b)) {
                raw(p, "<a href=\"/ui/books/");
                esc(p, json_string_value(b));
                raw(p, "\">");
                esc(p, json_string_value(b));
                raw(p, "</a>");
            } else {
                esc_json(p, b);
            }
        } else {
            raw(p, "idle");
        }
        raw(p, "</td><td class=\"num\">");
        esc_json(p, json_is_object(job) ? json_object_get(job, "elapsed_s") : NULL);
        raw(p, "</td><td class=\"num\">");
        esc_json(p, json_object_get(w, "heartbeat_age_s"));
        raw(p, "</td><td>");
        if (json_is_object(info)) {
            raw(p, "quire ");
            esc_json(p, json_object_get(info, "version"));
            const json_t *libs = json_object_get(info, "libraries"), *lv;
            const char *name;
            raw(p, "<br><span class=\"small\">");
            json_object_foreach((json_t *)(uintptr_t)libs, name, lv)
            {
                esc(p, name);
                raw(p, " ");
                esc_json(p, json_is_object(lv) ? json_object_get(lv, "version") : lv);
                raw(p, " ");
            }
            raw(p, "</span>");
        }
        raw(p, "</td></tr>");
    }
    raw(p, "</table></div>");
}

static void failures_table(qr_serve *s, page *p, const json_t *snap)
{
    const json_t *f;
    size_t i;
    raw(p, "<h2>Failures (");
    esc_json(p, json_object_get(snap, "failed_entries"));
    raw(p, ")</h2><div class=\"wrap\"><table><tr><th>when</th><th>book</th><th>error</th>"
           "<th>queue</th><th></th></tr>");
    json_array_foreach(json_object_get(snap, "recent_failures"), i, f)
    {
        long long idx = (long long)json_integer_value(json_object_get(f, "index"));
        const json_t *b = json_object_get(f, "book_id");
        raw(p, "<tr><td>");
        esc_json(p, json_object_get(f, "failed_at"));
        raw(p, "</td><td>");
        if (json_is_string(b)) {
            raw(p, "<a href=\"/ui/books/");
            esc(p, json_string_value(b));
            raw(p, "\">");
            esc(p, json_string_value(b));
            raw(p, "</a>");
        } else {
            esc_json(p, b);
        }
        raw(p, "</td><td class=\"bad\">");
        esc_json(p, json_object_get(f, "exception"));
        raw(p, ": ");
        esc_json(p, json_object_get(f, "error"));
        raw(p, "</td><td>");
        esc_json(p, json_object_get(f, "queue"));
        raw(p,
            "</td><td><form method=\"post\" action=\"/ui/failures/%lld/retry\">"
            "<input type=\"hidden\" name=\"csrf\" value=\"%s\"><button>Retry</button></form>"
            "<form method=\"post\" action=\"/ui/failures/%lld/remove\">"
            "<input type=\"hidden\" name=\"csrf\" value=\"%s\"><button>Remove</button></form>"
            "</td></tr>",
            idx, s->csrf, idx, s->csrf);
    }
    raw(p, "</table></div>");
}

static enum MHD_Result overview(qr_serve *s, struct MHD_Connection *c)
{
    json_t *snap = NULL;
    qr_error e = QR_ERROR_INIT;
    if (qr_resque_status(&snap, s->o.redis, 50, &e) < 0)
        return fail_page(c, qr_serve__status_for(e.errid), &e);
    page p = {0};
    head(&p, "quire");
    queues_table(s, &p, snap);
    workers_table(&p, snap);
    failures_table(s, &p, snap);
    json_decref(snap);
    return send_page(c, 200, &p);
}

/* ---- a book ---- */

static const char *const STAGES[] = {"t_compress", "t_positions", "t_slice", "t_encrypt",
                                     "t_publish"};
#define NSTAGES 5

/*
 * The last lines of a job's log (qr_resque_log_get: "zlib:" + a deflate
 * stream, as the worker stores it): inflated through a window that keeps
 * the last TAIL_BYTES, at most LOG_MAX inflated, then the last TAIL_LINES.
 */
#define TAIL_BYTES 8192
#define TAIL_LINES 20
#define LOG_MAX ((size_t)64 << 20)

static void log_tail(qr_serve *s, page *p, const char *job_id)
{
    char *data = NULL, tail[TAIL_BYTES + 1];
    size_t len = 0, have = 0;
    qr_error e = QR_ERROR_INIT;
    if (qr_resque_log_get(&data, &len, s->o.redis, job_id, &e) < 0)
        return;
    raw(p, "<h2>Log tail</h2>");
    if (len >= 5 && memcmp(data, "zlib:", 5) == 0) {
        z_stream z;
        unsigned char buf[16384];
        size_t total = 0;
        int zr = Z_DATA_ERROR;
        memset(&z, 0, sizeof(z));
        if (inflateInit(&z) == Z_OK) {
            z.next_in = (Bytef *)data + 5;
            z.avail_in = (uInt)(len - 5);
            do {
                z.next_out = buf;
                z.avail_out = sizeof(buf);
                zr = inflate(&z, Z_NO_FLUSH);
                size_t got = sizeof(buf) - z.avail_out;
                total += got;
                if (got >= TAIL_BYTES) {
                    memcpy(tail, buf + got - TAIL_BYTES, TAIL_BYTES);
                    have = TAIL_BYTES;
                } else {
                    size_t keep = have + got > TAIL_BYTES ? TAIL_BYTES - got : have;
                    memmove(tail, tail + have - keep, keep);
                    memcpy(tail + keep, buf, got);
                    have = keep + got;
                }
            } while (zr == Z_OK && total < LOG_MAX);
            inflateEnd(&z);
        }
        if (zr != Z_STREAM_END && total < LOG_MAX)
            have = 0;
    } else {
        have = len > TAIL_BYTES ? TAIL_BYTES : len;
        memcpy(tail, data + len - have, have);
    }
    free(data);
    tail[have] = '\0';
    /* Back to the start of the last TAIL_LINES lines (a trailing newline does not count). */
    size_t start = have, lines = 0;
    while (start > 0) {
        if (tail[start - 1] == '\n' && start != have && ++lines >= TAIL_LINES)
            break;
        start--;
    }
    /* Bytes that are not UTF-8 would upset nothing here: they are escaped as they are. */
    raw(p, "<pre>");
    esc(p, tail + start);
    raw(p, "</pre><p class=\"small\">quire logs ");
    esc(p, job_id);
    raw(p, " prints all of it.</p>");
}

static enum MHD_Result book_page(qr_serve *s, struct MHD_Connection *c, const char *book)
{
    json_t *hist = NULL, *h;
    qr_error e = QR_ERROR_INIT;
    size_t i, n = 0;
    if (!qr_serve_book_id_ok(book)) {
        qr_error_set(&e, QR_ERR_INVALID_ARGUMENT, STAGE, "not a book id");
        return fail_page(c, 400, &e);
    }
    if (qr_resque_history_read(&hist, s->o.redis, 0, 1000, &e) < 0)
        return fail_page(c, qr_serve__status_for(e.errid), &e);
    page p = {0};
    head(&p, book);
    char *jid = NULL;
    if (qr_resque_intake_book(&jid, s->o.redis, book, &e) == 0 && jid) {
        json_t *st = NULL;
        raw(&p, "<p>latest job submitted here: <code>");
        esc(&p, jid);
        raw(&p, "</code>");
        if (qr_resque_job_get(&st, s->o.redis, jid, &e) == 0 && json_object_size(st)) {
            raw(&p, ", state <b>");
            esc_json(&p, json_object_get(st, "state"));
            raw(&p, "</b>, stage ");
            esc_json(&p, json_object_get(st, "stage"));
        }
        json_decref(st);
        raw(&p, "</p>");
    }
    free(jid);
    raw(&p, "<h2>Jobs</h2><div class=\"wrap\"><table><tr><th>job</th><th>outcome</th><th>"
            "revision</th><th class=\"num\">seconds</th><th>stages (s)</th><th>error</th></tr>");
    json_array_foreach(hist, i, h)
    {
        const char *b = json_string_value(json_object_get(h, "book_id"));
        if (!b || strcmp(b, book) != 0)
            continue;
        n++;
        raw(&p, "<tr><td><code>");
        esc_json(&p, json_object_get(h, "job_id"));
        raw(&p, "</code></td><td>");
        esc_json(&p, json_object_get(h, "outcome"));
        raw(&p, "</td><td>");
        esc_json(&p, json_object_get(h, "revision"));
        raw(&p, "</td><td class=\"num\">");
        esc_json(&p, json_object_get(h, "seconds"));
        raw(&p, "</td><td>");
        for (size_t k = 0; k < NSTAGES; k++) {
            raw(&p, "%s%s ", k ? " · " : "", STAGES[k] + 2);
            esc_json(&p, json_object_get(h, STAGES[k]));
        }
        raw(&p, "</td><td class=\"bad\">");
        esc_json(&p, json_object_get(h, "error"));
        raw(&p, " ");
        esc_json(&p, json_object_get(h, "message"));
        raw(&p, "</td></tr>");
    }
    raw(&p, "</table></div>");
    if (!n)
        raw(&p, "<p>No finished job of this book in the history.</p>");
    json_array_foreach(hist, i, h)
    {
        const char *b = json_string_value(json_object_get(h, "book_id"));
        const char *j = json_string_value(json_object_get(h, "job_id"));
        if (b && j && strcmp(b, book) == 0) {
            log_tail(s, &p, j);
            break;
        }
    }
    json_decref(hist);
    return send_page(c, 200, &p);
}

/* ---- history charts ---- */

static void bars(page *p, const char *title, const char *const *labels, const double *v, size_t n,
                 const char *unit)
{
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    raw(p, "<h2>%s</h2><svg viewBox=\"0 0 400 %zu\" role=\"img\">", title, n * 22 + 4);
    for (size_t i = 0; i < n; i++) {
        double w = max > 0 ? 250.0 * v[i] / max : 0;
        raw(p, "<text x=\"0\" y=\"%zu\" font-size=\"12\">", i * 22 + 16);
        esc(p, labels[i]);
        raw(p,
            "</text><rect x=\"110\" y=\"%zu\" width=\"%.1f\" height=\"16\" fill=\"#468\"/>"
            "<text x=\"%.1f\" y=\"%zu\" font-size=\"12\">%.2f %s</text>",
            i * 22 + 4, w, 114 + w, i * 22 + 16, v[i], unit);
    }
    raw(p, "</svg>");
}

static enum MHD_Result history_page(qr_serve *s, struct MHD_Connection *c)
{
    json_t *hist = NULL, *h;
    qr_error e = QR_ERROR_INIT;
    size_t i, nok = 0;
    double stage[NSTAGES] = {0};
    /* By size: <1 MB, 1-10 MB, 10-100 MB, >100 MB. */
    static const char *const sizes[] = {"< 1 MB", "1-10 MB", "10-100 MB", "> 100 MB"};
    double size_sum[4] = {0}, size_n[4] = {0}, size_mean[4] = {0};
    const char *err_names[16];
    double err_n[16];
    size_t nerr = 0;
    if (qr_resque_history_read(&hist, s->o.redis, 0, 1000, &e) < 0)
        return fail_page(c, qr_serve__status_for(e.errid), &e);
    json_array_foreach(hist, i, h)
    {
        const char *out = json_string_value(json_object_get(h, "outcome"));
        const char *eid = json_string_value(json_object_get(h, "error"));
        if (out && strcmp(out, "succeeded") == 0) {
            nok++;
            for (size_t k = 0; k < NSTAGES; k++) {
                const char *v = json_string_value(json_object_get(h, STAGES[k]));
                stage[k] += v ? strtod(v, NULL) : 0;
            }
            const char *bi = json_string_value(json_object_get(h, "bytes_in"));
            const char *sec = json_string_value(json_object_get(h, "seconds"));
            double mb = bi ? strtod(bi, NULL) / 1e6 : 0;
            size_t b = mb < 1 ? 0 : mb < 10 ? 1 : mb < 100 ? 2 : 3;
            size_sum[b] += sec ? strtod(sec, NULL) : 0;
            size_n[b]++;
        } else if (eid && *eid) {
            size_t k;
            for (k = 0; k < nerr && strcmp(err_names[k], eid) != 0; k++)
                ;
            if (k == nerr && nerr < 16) {
                err_names[nerr] = eid;
                err_n[nerr++] = 0;
            }
            if (k < nerr)
                err_n[k]++;
        }
    }
    page p = {0};
    head(&p, "history");
    raw(&p, "<p>%zu records, %zu published.</p>", json_array_size(hist), nok);
    if (nok) {
        const char *labels[NSTAGES];
        for (size_t k = 0; k < NSTAGES; k++) {
            labels[k] = STAGES[k] + 2;
            stage[k] /= (double)nok;
        }
        bars(&p, "Mean time by stage", labels, stage, NSTAGES, "s");
        for (size_t b = 0; b < 4; b++)
            size_mean[b] = size_n[b] ? size_sum[b] / size_n[b] : 0;
        bars(&p, "Mean time by book size", sizes, size_mean, 4, "s");
    }
    if (nerr)
        bars(&p, "Failures by error id", err_names, err_n, nerr, "");
    json_decref(hist);
    return send_page(c, 200, &p);
}

/* ---- actions ---- */

static enum MHD_Result action(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q,
                              const char *rest)
{
    long long idx = -1;
    char verb[16] = "";
    int n = 0;
    qr_error e = QR_ERROR_INIT;
    if (sscanf(rest, "%lld/%15[a-z]%n", &idx, verb, &n) != 2 || rest[n] || idx < 0) {
        qr_error_set(&e, QR_ERR_SOURCE_NOT_FOUND, STAGE, "no such action");
        return fail_page(c, 404, &e);
    }
    /* The form's body: csrf=<token> (and nothing this handler needs besides). */
    const char *tok = q->buf ? strstr(q->buf, "csrf=") : NULL;
    char got[80] = "";
    if (tok && (tok == q->buf || tok[-1] == '&'))
        snprintf(got, sizeof(got), "%.*s", (int)strcspn(tok + 5, "&"), tok + 5);
    if (strlen(got) != strlen(s->csrf) || sodium_memcmp(got, s->csrf, strlen(s->csrf)) != 0) {
        qr_error_set(&e, QR_ERR_ACCESS_DENIED, STAGE, "the form's CSRF token is missing or wrong");
        return fail_page(c, 403, &e);
    }
    int rc;
    char *queue = NULL;
    if (strcmp(verb, "retry") == 0)
        rc = qr_resque_failure_retry(&queue, s->o.redis, idx, &e);
    else if (strcmp(verb, "remove") == 0)
        rc = qr_resque_failure_remove(s->o.redis, idx, &e);
    else
        rc = qr_error_set(&e, QR_ERR_SOURCE_NOT_FOUND, STAGE, "no such action");
    free(queue);
    if (rc < 0)
        return fail_page(
            c, e.errid == QR_ERR_SOURCE_NOT_FOUND ? 404 : qr_serve__status_for(e.errid), &e);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    enum MHD_Result ok = MHD_add_response_header(resp, "Location", "/ui");
    if (ok == MHD_YES)
        ok = MHD_queue_response(c, 303, resp);
    MHD_destroy_response(resp);
    return ok;
}

enum MHD_Result qr_serve__ui(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q,
                             const char *method, const char *path)
{
    if (strcmp(method, "POST") == 0 && strncmp(path, "/ui/failures/", 13) == 0)
        return action(s, c, q, path + 13);
    if (strcmp(path, "/ui") == 0 || strcmp(path, "/ui/") == 0)
        return overview(s, c);
    if (strcmp(path, "/ui/history") == 0)
        return history_page(s, c);
    if (strncmp(path, "/ui/books/", 10) == 0)
        return book_page(s, c, path + 10);
    qr_error e = QR_ERROR_INIT;
    qr_error_set(&e, QR_ERR_SOURCE_NOT_FOUND, STAGE, "no such page");
    return fail_page(c, 404, &e);
}
