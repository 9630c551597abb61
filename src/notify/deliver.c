/*
 * Delivering the callback: an outer loop of attempts, each one a single
 * qr_http_perform try, so that every attempt carries its own timestamp,
 * signature and delivery id (a retry after a long backoff stays inside the
 * receiver's tolerance window). docs/internals/notify.md.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "qr/log.h"
#include "qr/notify.h"

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_TIMEOUT_S 10.0
#define DEFAULT_BASE_S 1.0
#define DEFAULT_MAX_S 60.0
/* The receiver's answer is read and dropped; a receiver may not make us read more. */
#define RESPONSE_MAX_BYTES (64 * 1024)

static int64_t clock_now(const qr_callback_clock *c)
{
    if (c && c->now)
        return c->now(c->ud);
    return (int64_t)time(NULL);
}

static void clock_sleep(const qr_callback_clock *c, double s)
{
    if (c && c->sleep) {
        c->sleep(s, c->ud);
        return;
    }
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

/*
 * Wait before attempt `next` (2, 3, ...): d = min(max, base * 2^(next-2)),
 * then a uniform draw in [d/2, d] ("equal jitter": spreads a fleet of
 * retries without ever retrying at once). A Retry-After (seconds) raises it,
 * still capped at `max`.
 */
static double backoff(unsigned next, double base, double max, double retry_after)
{
    double d = base * ldexp(1.0, (int)(next > 40 ? 38 : next - 2));
    if (d > max)
        d = max;
    double w = d / 2.0 + (d / 2.0) * ((double)randombytes_uniform(1000001) / 1e6);
    if (retry_after > w)
        w = retry_after > max ? max : retry_after;
    return w;
}

/* Retry-After in delta-seconds form; 0 when absent or an HTTP date. */
static double retry_after_s(const qr_http_response *resp)
{
    const char *v = qr_http_response_header(resp, "Retry-After");
    char *end = NULL;
    if (!v)
        return 0;
    errno = 0;
    unsigned long s = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0')
        return 0;
    return (double)(s > 86400 ? 86400 : s);
}

static bool status_retryable(long s)
{
    return s == 408 || s == 429 || s >= 500;
}

/* Copies an attempt's error into the caller's (first error wins). */
static int pass_error(qr_error *err, const qr_error *e)
{
    if (err && err->code == 0)
        *err = *e;
    return e->code;
}

/* The callback's body for one attempt (qr_notify_post's builder). */
typedef struct callback_body_ud {
    const qr_callback_result *r;
    const char *key;
} callback_body_ud;

static int callback_body(char **out, size_t *len, unsigned attempt, int64_t sent_at, void *ud,
                         qr_error *err)
{
    const callback_body_ud *c = ud;
    return qr_callback_body(out, len, c->r, c->key, attempt, sent_at, err);
}

int qr_callback_deliver(qr_callback_report *out, const qr_job *job, const qr_callback_result *r,
                        const qr_callback_opts *opts, qr_error *err)
{
    qr_callback_report rep;
    memset(&rep, 0, sizeof(rep));
    if (!job || !job->callback_url || !*job->callback_url || !r) {
        if (out)
            *out = rep;
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "notify", "no callback URL");
    }
    int rc = qr_callback_idempotency_key(rep.key, job, err);
    if (rc < 0) {
        if (out)
            *out = rep;
        return rc;
    }
    callback_body_ud ud = {r, rep.key};
    return qr_notify_post(out, job->callback_url, rep.key,
                          r->published ? "book.published" : "book.failed", callback_body, &ud,
                          opts, err);
}

int qr_notify_post(qr_callback_report *out, const char *target, const char *key, const char *event,
                   qr_notify_body_fn build, void *ud, const qr_callback_opts *opts, qr_error *err)
{
    static const qr_net_policy strict = QR_NET_POLICY_INIT;
    qr_callback_report rep;
    qr_callback_opts o = QR_CALLBACK_OPTS_INIT;
    qr_http_opts hopts = QR_HTTP_OPTS_INIT;
    char *url = NULL, *body = NULL;
    size_t body_len = 0;
    char sig[QR_CALLBACK_SIGNATURE_MAX], delivery[33];
    unsigned char rnd[16];
    qr_error e = QR_ERROR_INIT;
    bool refused = false;
    int rc = 0;

    memset(&rep, 0, sizeof(rep));
    if (opts)
        o = *opts;
    if (o.max_attempts == 0)
        o.max_attempts = DEFAULT_ATTEMPTS;
    if (!(o.timeout_s > 0))
        o.timeout_s = DEFAULT_TIMEOUT_S;
    if (!(o.backoff_base_s > 0))
        o.backoff_base_s = DEFAULT_BASE_S;
    if (!(o.backoff_max_s > 0))
        o.backoff_max_s = DEFAULT_MAX_S;

    if (!target || !*target || !key || strlen(key) >= sizeof(rep.key) || !event || !build) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "notify", "no URL, key or event");
        goto out;
    }
    if (!o.secret && !o.allow_unsigned) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "notify",
                          "no callback secret (QUIRE_CALLBACK_SECRET) and unsigned callbacks "
                          "are not allowed");
        goto out;
    }
    if (o.secret && strlen(o.secret) < QR_CALLBACK_SECRET_MIN) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "notify",
                          "callback secret must be at least %d bytes", QR_CALLBACK_SECRET_MIN);
        goto out;
    }
    snprintf(rep.key, sizeof(rep.key), "%s", key);
    url = qr_http_redact_url(target);
    if (!url) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "notify", "redacting the callback URL");
        goto out;
    }

    hopts.policy = o.policy ? o.policy : &strict;
    hopts.timeout_s = o.timeout_s;
    hopts.connect_timeout_s = o.timeout_s < 10.0 ? o.timeout_s : 10.0;
    hopts.max_attempts = 1;
    hopts.max_redirects = 0;
    hopts.max_body_bytes = RESPONSE_MAX_BYTES;
    hopts.ca_file = o.ca_file;
    hopts.user_agent = "quire/" QR_VERSION;

    for (unsigned attempt = 1; attempt <= o.max_attempts; attempt++) {
        qr_http_response resp = QR_HTTP_RESPONSE_INIT;
        qr_http_header h[6];
        qr_http_request req = QR_HTTP_REQUEST_INIT;
        size_t nh = 0;
        int64_t now = clock_now(o.clock);
        double wait_hint = 0;

        free(body);
        body = NULL;
        if ((rc = build(&body, &body_len, attempt, now, ud, err)) < 0)
            goto out;
        randombytes_buf(rnd, sizeof(rnd));
        sodium_bin2hex(delivery, sizeof(delivery), rnd, sizeof(rnd));
        h[nh++] = (qr_http_header){"Content-Type", "application/json"};
        h[nh++] = (qr_http_header){"Idempotency-Key", rep.key};
        h[nh++] = (qr_http_header){"X-Quire-Delivery", delivery};
        h[nh++] = (qr_http_header){"X-Quire-Event", event};
        if (o.secret) {
            if ((rc = qr_callback_sign(sig, o.secret, now, body, body_len, err)) < 0)
                goto out;
            h[nh++] = (qr_http_header){"X-Quire-Signature", sig};
        }
        req.method = "POST";
        req.url = target;
        req.headers = h;
        req.nheaders = nh;
        req.body = body;
        req.body_len = body_len;

        qr_error_clear(&e);
        int hrc = qr_http_perform(&hopts, &req, &resp, &e);
        rep.attempts = attempt;
        rep.last_status = resp.status;
        rep.last_error = NULL;
        /* An answer too long to read still answered: its status counts. */
        bool answered = hrc == 0 || (e.errid == QR_ERR_INPUT_TOO_LARGE && resp.status > 0);
        bool retry;
        if (answered && resp.status >= 200 && resp.status <= 299) {
            rep.delivered = true;
            qr_http_response_free(&resp);
            qr_log(QR_LOG_INFO, "notify", "callback %s delivered to %s (status %ld, attempt %u)",
                   rep.key, url, rep.last_status, attempt);
            break;
        }
        if (answered) {
            retry = status_retryable(resp.status);
            refused = !retry;
        } else if (e.errid == QR_ERR_FETCH_FAILED || e.errid == QR_ERR_TIMEOUT) {
            retry = true;
            rep.last_error = e.id;
        } else {
            /* The policy, a malformed URL, memory: the same on every attempt, and
             * refused before anything was sent. */
            rep.last_error = e.id;
            rep.attempts = attempt - 1;
            qr_http_response_free(&resp);
            rc = pass_error(err, &e);
            goto out;
        }
        if (resp.status == 429 || resp.status == 503)
            wait_hint = retry_after_s(&resp);
        qr_http_response_free(&resp);
        if (!retry || attempt == o.max_attempts)
            break;
        double w = backoff(attempt + 1, o.backoff_base_s, o.backoff_max_s, wait_hint);
        if (rep.last_status)
            qr_log(QR_LOG_WARN, "notify",
                   "callback %s to %s: status %ld on attempt %u/%u; retrying in %.2f s", rep.key,
                   url, rep.last_status, attempt, o.max_attempts, w);
        else
            qr_log(QR_LOG_WARN, "notify",
                   "callback %s to %s: %s on attempt %u/%u; retrying in %.2f s", rep.key, url,
                   rep.last_error, attempt, o.max_attempts, w);
        clock_sleep(o.clock, w);
    }

    if (!rep.delivered) {
        if (refused)
            rc = qr_error_set(err, QR_ERR_CALLBACK_FAILED, "notify",
                              "callback to %.150s refused with status %ld after %u attempt(s)", url,
                              rep.last_status, rep.attempts);
        else if (rep.last_status)
            rc = qr_error_set(
                err, QR_ERR_CALLBACK_FAILED, "notify",
                "callback to %.150s not delivered after %u attempt(s): last status %ld", url,
                rep.attempts, rep.last_status);
        else
            rc = qr_error_set(
                err, QR_ERR_CALLBACK_FAILED, "notify",
                "callback to %.150s not delivered after %u attempt(s): last status none (%s)", url,
                rep.attempts, rep.last_error ? rep.last_error : "no response");
        if (err && err->errid == QR_ERR_CALLBACK_FAILED) {
            err->cause = (int)rep.last_status;
            qr_error_set_context(err, "%s", rep.key);
        }
    }
out:
    free(body);
    free(url);
    if (out)
        *out = rep;
    return rc;
}
