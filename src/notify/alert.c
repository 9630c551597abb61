/*
 * Alert mails and webhooks (qr/alert.h): building a message nobody's data
 * can break out of, and handing it to an SMTP relay with libcurl.
 * docs/operations/monitoring.md ("Alerts").
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "qr/alert.h"
#include "qr/buf.h"
#include "qr/http.h"

#define STAGE "alert"
/* RFC 5322: at most 998 bytes a line; quire folds body lines at this many. */
#define BODY_LINE_MAX 900
/* Longest header value kept (before encoding). */
#define HEADER_VALUE_MAX 300
/* Log lines quoted in a mail. */
#define MAIL_LOG_LINES 20

/* A mail is never larger than this. */
#define MAIL_MAX ((size_t)1 << 20)

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Appending to a bounded buffer: -1 on any failure (memory, the cap). */
static int bput(qr_buf *b, const void *d, size_t n)
{
    qr_error e = QR_ERROR_INIT;
    return qr_buf_append(b, d, n, &e) < 0 ? -1 : 0;
}

static int bstr(qr_buf *b, const char *s)
{
    return bput(b, s, strlen(s));
}

static int bfmt(qr_buf *b, const char *fmt, ...) QR_PRINTF(2, 3);
static int bfmt(qr_buf *b, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    return bput(b, tmp, (size_t)n);
}

bool qr_alert_address_ok(const char *a)
{
    if (!a || !*a || strlen(a) > 254)
        return false;
    const char *at = strchr(a, '@');
    if (!at || at == a || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("<>,;:\"()[]\\", *p))
            return false;
    return true;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t want;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        want = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        want = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        want = 4;
    else
        return 0;
    if (n < want)
        return 0;
    for (size_t i = 1; i < want; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (want == 3 && s[0] == 0xe0 && s[1] < 0xa0)
        return 0;
    if (want == 3 && s[0] == 0xed && s[1] >= 0xa0)
        return 0;
    if (want == 4 && s[0] == 0xf0 && s[1] < 0x90)
        return 0;
    if (want == 4 && s[0] == 0xf4 && s[1] >= 0x90)
        return 0;
    return want;
}

/*
 * `s` as one header-safe line into `out` (cap bytes): every control byte
 * (CR and LF included) becomes a space, invalid UTF-8 '?', cut at a
 * character boundary.
 */
static void header_clean(char *out, size_t cap, const char *s)
{
    size_t o = 0, n = strlen(nz(s));
    const unsigned char *p = (const unsigned char *)nz(s);
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(p + i, n - i);
        if (l == 0) {
            if (o + 1 >= cap)
                break;
            out[o++] = '?';
            i++;
            continue;
        }
        if (o + l >= cap)
            break;
        if (l == 1)
            out[o++] = (p[i] < 0x20 || p[i] == 0x7f) ? ' ' : (char)p[i];
        else
            memcpy(out + o, p + i, l), o += l;
        i += l;
    }
    out[o] = '\0';
}

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/*
 * "Subject: <s>\r\n": ASCII as is; otherwise RFC 2047 "B" encoded words of
 * whole characters, each at most 75 bytes, on folded lines.
 */
static int put_subject(qr_buf *b, const char *s)
{
    if (is_ascii(s))
        return bfmt(b, "Subject: %s\r\n", s);
    if (bstr(b, "Subject:") < 0)
        return -1;
    /* "=?UTF-8?B?" + base64 + "?=" <= 75: base64 <= 63, so at most 45 bytes of text a word. */
    const size_t chunk_max = 45;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n) {
            size_t l = utf8_len((const unsigned char *)s + j, n - j);
            if (l == 0)
                l = 1;
            if (j + l - i > chunk_max)
                break;
            j += l;
        }
        char b64[sodium_base64_ENCODED_LEN(45, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)s + i, j - i,
                          sodium_base64_VARIANT_ORIGINAL);
        if (bfmt(b, "%s=?UTF-8?B?%s?=", i ? "\r\n " : " ", b64) < 0)
            return -1;
        i = j;
    }
    return bstr(b, "\r\n");
}

/*
 * One body line from `s` (len bytes, no newline): control bytes but TAB
 * become spaces, invalid UTF-8 '?', folded every BODY_LINE_MAX bytes at a
 * character boundary, CRLF after each piece.
 */
static int put_body_line(qr_buf *b, const char *s, size_t len)
{
    size_t col = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t l = utf8_len(p + i, len - i);
        char c[4];
        size_t cl = 1;
        if (l == 0) {
            c[0] = '?';
            l = 1;
        } else if (l == 1) {
            c[0] = (p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f ? ' ' : (char)p[i];
        } else {
            memcpy(c, p + i, l);
            cl = l;
        }
        if (col + cl > BODY_LINE_MAX) {
            if (bstr(b, "\r\n") < 0)
                return -1;
            col = 0;
        }
        if (bput(b, c, cl) < 0)
            return -1;
        col += cl;
        i += l;
    }
    return bstr(b, "\r\n");
}

/* Text that may hold newlines: each line through put_body_line, `indent` first. */
static int put_body_text(qr_buf *b, const char *indent, const char *s)
{
    const char *p = nz(s);
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && p[n - 1] == '\r')
            n--;
        if (bstr(b, indent) < 0 || put_body_line(b, p, n) < 0)
            return -1;
        p += n;
        if (*p == '\r')
            p++;
        if (*p == '\n')
            p++;
    }
    return 0;
}

/* One line of the body from data that must stay one line (control bytes become spaces). */
static int put_line(qr_buf *b, const char *s)
{
    char clean[1200];
    header_clean(clean, sizeof(clean), s);
    return put_body_line(b, clean, strlen(clean));
}

static int put_field(qr_buf *b, const char *name, const char *value)
{
    char line[1200];
    snprintf(line, sizeof(line), "%-10s %s", name, nz(value));
    return put_line(b, line);
}

/* The headers every alert mail has; `subject` is raw (cleaned and encoded here). */
static int put_headers(qr_buf *b, const qr_alert_smtp *smtp, const char *subject, int64_t now)
{
    char clean[HEADER_VALUE_MAX], date[64], host[128] = "quire.invalid";
    unsigned char rnd[8];
    char rhex[17];
    struct tm tm;
    time_t t = (time_t)now;
    if (!gmtime_r(&t, &tm) || strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
        snprintf(date, sizeof(date), "Thu, 01 Jan 1970 00:00:00 +0000");
    const char *at = strchr(smtp->from, '@');
    if (at)
        header_clean(host, sizeof(host), at + 1);
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(rhex, sizeof(rhex), rnd, sizeof(rnd));
    if (bfmt(b, "From: quire <%s>\r\nTo: ", smtp->from) < 0)
        return -1;
    for (size_t i = 0; i < smtp->nto; i++)
        if (bfmt(b, "%s%s", i ? ", " : "", smtp->to[i]) < 0)
            return -1;
    header_clean(clean, sizeof(clean), subject);
    if (bstr(b, "\r\n") < 0 || put_subject(b, clean) < 0)
        return -1;
    return bfmt(b,
                "Date: %s\r\n"
                "Message-ID: <quire-alert.%lld.%s@%s>\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=UTF-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n"
                "Auto-Submitted: auto-generated\r\n"
                "X-Quire-Event: quire.alert\r\n"
                "\r\n",
                date, (long long)now, rhex, host);
}

static int check_smtp(const qr_alert_smtp *smtp, qr_error *err)
{
    if (!smtp || !qr_alert_address_ok(smtp->from) || smtp->nto == 0 || smtp->nto > QR_ALERT_MAX_TO)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "an alert mail needs a From address and 1 to %d recipients",
                            QR_ALERT_MAX_TO);
    for (size_t i = 0; i < smtp->nto; i++)
        if (!qr_alert_address_ok(smtp->to[i]))
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "not a mail address: '%.100s'",
                                smtp->to[i]);
    return 0;
}

static const char *kind_text(const char *kind)
{
    if (strcmp(nz(kind), "crashed") == 0)
        return "crashed: the job's process died without a result";
    if (strcmp(nz(kind), "killed") == 0)
        return "killed by the worker: over its memory or wall-clock limit";
    if (strcmp(nz(kind), "poisoned") == 0)
        return "poison-pilled: it crashed at its last attempt and is now a failure";
    return "failed";
}

static void iso8601(char *out, size_t n, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, n, "1970-01-01T00:00:00Z");
}

static int finish(char **out, size_t *len, qr_buf *b, int rc, qr_error *err)
{
    if (rc < 0) {
        qr_buf_free(b);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    }
    *out = (char *)qr_buf_detach(b, len);
    if (!*out)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    return 0;
}

int qr_alert_mail(char **out, size_t *len, const qr_alert *a, const qr_alert_smtp *smtp,
                  int64_t now, qr_error *err)
{
    qr_buf b = QR_BUF_INIT(MAIL_MAX);
    char subject[HEADER_VALUE_MAX], when[32], cmd[200];
    int rc;
    *out = NULL;
    *len = 0;
    if (!a || !a->book_id || !*a->book_id)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "an alert needs a book id");
    if ((rc = check_smtp(smtp, err)) < 0)
        return rc;
    snprintf(subject, sizeof(subject), "[quire] %s: book %s: %s at %s", nz(a->kind), a->book_id,
             a->error_id ? a->error_id : "internal", a->stage && *a->stage ? a->stage : "start");
    iso8601(when, sizeof(when), a->at ? a->at : now);
    snprintf(cmd, sizeof(cmd), "quire logs %s", a->job_id && *a->job_id ? a->job_id : a->book_id);
    rc = put_headers(&b, smtp, subject, now);
    /* The first line goes through the cleaner too: the book id is data. */
    if (rc >= 0) {
        char first[HEADER_VALUE_MAX + 100];
        snprintf(first, sizeof(first), "Book %s %s.", a->book_id, kind_text(a->kind));
        rc = put_line(&b, first) < 0 || bstr(&b, "\r\n") < 0 ? -1 : 0;
    }
    if (rc >= 0)
        rc = (put_field(&b, "Book:", a->book_id) < 0 ||
              put_field(&b, "Revision:", a->revision) < 0 ||
              put_field(&b, "Outcome:", a->kind) < 0 ||
              put_field(&b, "Error:", a->error_id ? a->error_id : "internal") < 0 ||
              put_field(&b, "Message:", a->message) < 0 || put_field(&b, "Stage:", a->stage) < 0 ||
              put_field(&b, "Final:",
                        a->final ? "yes: a failure entry, no attempt left"
                                 : "no: back in its queue for another attempt") < 0 ||
              put_field(&b, "Queue:", a->queue) < 0 || put_field(&b, "Worker:", a->worker) < 0 ||
              put_field(&b, "Host:", a->host) < 0 || put_field(&b, "Job:", a->job_id) < 0 ||
              put_field(&b, "When:", when) < 0)
                 ? -1
                 : 0;
    if (rc >= 0 && a->log && *a->log) {
        /* The last MAIL_LOG_LINES lines. */
        const char *p = a->log + strlen(a->log);
        size_t lines = 0;
        while (p > a->log) {
            if (p[-1] == '\n' && p[0] && ++lines > MAIL_LOG_LINES)
                break;
            p--;
        }
        rc = bstr(&b, "\r\nLast log lines:\r\n") < 0 || put_body_text(&b, "  ", p) < 0 ? -1 : 0;
    }
    if (rc >= 0)
        rc = bstr(&b, "\r\nThe whole log of the job, from any machine with the Redis "
                      "URL:\r\n") < 0 ||
                     put_body_text(&b, "  ", cmd) < 0
                 ? -1
                 : 0;
    return finish(out, len, &b, rc, err);
}

int qr_alert_digest_mail(char **out, size_t *len, const char *const *entries, size_t n,
                         size_t dropped, const qr_alert_smtp *smtp, int64_t now, qr_error *err)
{
    qr_buf b = QR_BUF_INIT(MAIL_MAX);
    char subject[120];
    int rc;
    *out = NULL;
    *len = 0;
    if ((rc = check_smtp(smtp, err)) < 0)
        return rc;
    snprintf(subject, sizeof(subject), "[quire] digest: %zu more books crashed or failed",
             n + dropped);
    rc = put_headers(&b, smtp, subject, now);
    if (rc >= 0)
        rc = bfmt(&b,
                  "%zu more alerts came within the alert window, after the ones "
                  "mailed singly:\r\n\r\n",
                  n + dropped);
    for (size_t i = 0; rc >= 0 && i < n; i++) {
        json_t *o = json_loads(entries[i], 0, NULL);
        char line[1200];
        json_t *e = json_object_get(o, "error");
        snprintf(line, sizeof(line), "- book %s (%s): %s at %s on %s; quire logs %s",
                 nz(json_string_value(json_object_get(o, "book_id"))),
                 nz(json_string_value(json_object_get(o, "kind"))),
                 nz(json_string_value(json_object_get(e, "code"))),
                 nz(json_string_value(json_object_get(e, "stage"))),
                 nz(json_string_value(json_object_get(o, "host"))),
                 nz(json_string_value(json_object_get(o, "job_id"))));
        if (put_line(&b, line) < 0)
            rc = -1;
        snprintf(line, sizeof(line), "    %s",
                 nz(json_string_value(json_object_get(e, "message"))));
        if (rc >= 0 && put_line(&b, line) < 0)
            rc = -1;
        json_decref(o);
    }
    if (rc >= 0 && dropped)
        rc = bfmt(&b, "- and %zu more not listed\r\n", dropped);
    return finish(out, len, &b, rc, err);
}

int qr_alert_json(char **out, size_t *len, const qr_alert *a, unsigned attempt, int64_t sent_at,
                  qr_error *err)
{
    char when[32], cmd[200];
    *out = NULL;
    *len = 0;
    if (!a || !a->book_id)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "an alert needs a book id");
    iso8601(when, sizeof(when), a->at);
    snprintf(cmd, sizeof(cmd), "quire logs %s", a->job_id && *a->job_id ? a->job_id : a->book_id);
    json_t *log = json_array();
    const char *p = nz(a->log);
    while (log && *p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n)
            json_array_append_new(log, json_stringn_nocheck(p, n));
        p += n + (e ? 1 : 0);
    }
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:b, s:s, "
                  "s:o, s:s}",
                  "event", "quire.alert", "kind", nz(a->kind), "book_id", a->book_id, "revision",
                  nz(a->revision), "error", "code", a->error_id ? a->error_id : "internal",
                  "message", nz(a->message), "stage", nz(a->stage), "worker", nz(a->worker), "host",
                  nz(a->host), "queue", nz(a->queue), "job_id", nz(a->job_id), "final", a->final,
                  "at", when, "log", log, "logs_command", cmd);
    if (o && attempt > 0) {
        char sent[32];
        iso8601(sent, sizeof(sent), sent_at);
        json_object_set_new(o, "attempt", json_integer(attempt));
        json_object_set_new(o, "sent_at", json_string(sent));
    }
    /* Strings that are not UTF-8 are refused by json_pack: say so rather than send half. */
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "the alert of book %.80s is not valid UTF-8, or out of memory",
                            a->book_id);
    *out = s;
    *len = strlen(s);
    return 0;
}

/* ---- SMTP ---- */

typedef struct upload {
    const char *data;
    size_t len, off;
} upload;

static size_t read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    upload *u = ud;
    size_t n = size * nmemb;
    if (n > u->len - u->off)
        n = u->len - u->off;
    memcpy(ptr, u->data + u->off, n);
    u->off += n;
    return n;
}

int qr_alert_smtp_send(const qr_alert_smtp *smtp, const char *msg, size_t len, qr_error *err)
{
    int rc;
    if (!smtp || !smtp->url ||
        (strncmp(smtp->url, "smtp://", 7) != 0 && strncmp(smtp->url, "smtps://", 8) != 0))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "the alert relay must be smtp:// or smtps://");
    if ((rc = check_smtp(smtp, err)) < 0 || (rc = qr_http_ready(err)) < 0)
        return rc;
    CURL *c = curl_easy_init();
    if (!c)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "curl_easy_init failed");
    char from[300], errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *rcpt = NULL;
    upload u = {msg, len, 0};
    snprintf(from, sizeof(from), "<%s>", smtp->from);
    for (size_t i = 0; i < smtp->nto; i++) {
        char t[300];
        snprintf(t, sizeof(t), "<%s>", smtp->to[i]);
        struct curl_slist *n = curl_slist_append(rcpt, t);
        if (!n) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
            goto out;
        }
        rcpt = n;
    }
    double timeout = smtp->timeout_s > 0 ? smtp->timeout_s : 30.0;
    curl_easy_setopt(c, CURLOPT_URL, smtp->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &u);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     smtp->tls_optional ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_ALL);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 10 ? timeout * 1000 : 10000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (smtp->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, smtp->ca_file);
    if (smtp->user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, smtp->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, nz(smtp->password));
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        char *relay = qr_http_redact_url(smtp->url);
        char reply[16];
        snprintf(reply, sizeof(reply), "%ld", code);
        rc = qr_error_set(err, QR_ERR_ALERT_FAILED, STAGE, "mail to relay %.150s failed: %s%s%s",
                          relay ? relay : "?", errbuf[0] ? errbuf : curl_easy_strerror(cc),
                          code ? "; last reply " : "", code ? reply : "");
        if (code)
            err->cause = (int)code;
        free(relay);
    }
out:
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    return rc;
}

/* ---- the webhook ---- */

static int webhook_body(char **out, size_t *len, unsigned attempt, int64_t sent_at, void *ud,
                        qr_error *err)
{
    return qr_alert_json(out, len, ud, attempt, sent_at, err);
}

int qr_alert_webhook(const char *url, const char *key, const qr_alert *a,
                     const qr_callback_opts *opts, qr_error *err)
{
    qr_callback_report rep;
    qr_alert copy = *a;
    return qr_notify_post(&rep, url, key, "quire.alert", webhook_body, &copy, opts, err);
}
