/*
 * qr_http_perform: one libcurl easy handle per call, redirects followed by
 * hand (each hop re-checked), retries with full-jitter backoff, a response
 * size cap, and the SSRF guard on the address actually connected to.
 * docs/internals/net.md describes the retry table and the guard.
 */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "net/net_internal.h"
#include "qr/clock.h"
#include "qr/log.h"

#define MAX_RESP_HEADERS 256
#define MAX_RESP_HEADER_BYTES (256 * 1024)

typedef enum abort_reason {
    ABORT_NONE = 0,
    ABORT_TOO_LARGE,  /* body or declared Content-Length past the cap */
    ABORT_SINK_IO,    /* the fd sink failed */
    ABORT_SINK_LIMIT, /* the qr_buf sink is full (body->max) */
    ABORT_BODY_IO     /* the request body file failed */
} abort_reason;

typedef struct xfer {
    const qr_http_opts *o;
    const qr_http_request *req;
    qr_http_response *resp;
    bool head;
    /* request body */
    uint64_t body_pos;
    /* response body */
    size_t buf_start;
    uint64_t got;
    uint64_t cap; /* 0: none */
    /* why a callback stopped the transfer */
    abort_reason abort;
    int abort_errno;
    uint64_t declared;
    /* the guard's refusal, if any, on this attempt */
    bool forbidden;
    char forbidden_addr[64];
    qr_net__class forbidden_class;
    /* response headers of the latest block */
    long block_status;
    uint64_t block_length;
    bool block_has_length;
    char **hdrs;
    size_t nhdrs;
    size_t hdr_bytes;
} xfer;

int qr_http_global_init(qr_error *err)
{
    CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (c != CURLE_OK)
        return qr_error_set_cause(err, QR_ERR_INTERNAL, (int)c, "net", "curl_global_init: %s",
                                  curl_easy_strerror(c));
    /* The backoff jitter comes from libsodium's generator. */
    if (sodium_init() < 0)
        return qr_error_set(err, QR_ERR_INTERNAL, "net", "sodium_init failed");
    return 0;
}

void qr_http_global_cleanup(void)
{
    curl_global_cleanup();
}

static void headers_clear(char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

void qr_http_response_free(qr_http_response *r)
{
    if (!r)
        return;
    free(r->final_url);
    r->final_url = NULL;
    headers_clear(&r->headers, &r->nheaders);
}

static const char *header_lookup(char *const *v, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (strncasecmp(v[i], name, nl) != 0 || v[i][nl] != ':')
            continue;
        const char *p = v[i] + nl + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        return p;
    }
    return NULL;
}

const char *qr_http_response_header(const qr_http_response *r, const char *name)
{
    if (!r || !name)
        return NULL;
    return header_lookup(r->headers, r->nheaders, name);
}

/* ---- callbacks ---------------------------------------------------------- */

static size_t read_cb(char *out, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    const qr_http_request *req = x->req;
    size_t want = size * nitems;
    uint64_t left = req->body_len - x->body_pos;
    if (want > left)
        want = (size_t)left;
    if (want == 0)
        return 0;
    if (req->body_fd >= 0) {
        ssize_t r;
        do
            r = pread(req->body_fd, out, want, (off_t)(req->body_off + x->body_pos));
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
            /* r == 0: the file is shorter than body_off + body_len. */
            x->abort = ABORT_BODY_IO;
            x->abort_errno = r < 0 ? errno : 0;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)r;
    } else {
        memcpy(out, (const uint8_t *)req->body + x->body_pos, want);
    }
    x->body_pos += want;
    return want;
}

static int seek_cb(void *ud, curl_off_t offset, int origin)
{
    xfer *x = ud;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->body_pos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *data, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    qr_http_response *resp = x->resp;
    size_t n = size * nitems;
    if (x->cap && x->got + n > x->cap) {
        x->abort = ABORT_TOO_LARGE;
        return 0;
    }
    if (resp->body) {
        if (x->buf_start + x->got + n > resp->body->max) {
            x->abort = ABORT_SINK_LIMIT;
            return 0;
        }
        if (qr_buf_append(resp->body, data, n, NULL) < 0) {
            x->abort = ABORT_SINK_IO;
            x->abort_errno = ENOMEM;
            return 0;
        }
    } else if (resp->body_fd >= 0) {
        size_t done = 0;
        while (done < n) {
            ssize_t w = pwrite(resp->body_fd, data + done, n - done, (off_t)(x->got + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                x->abort = ABORT_SINK_IO;
                x->abort_errno = w < 0 ? errno : EIO;
                return 0;
            }
            done += (size_t)w;
        }
    }
    x->got += n;
    return n;
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t n = size * nitems, len = n;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                   line[len - 1] == '\t'))
        len--;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (an interim 1xx, or the final one): start over. */
        headers_clear(&x->hdrs, &x->nhdrs);
        x->hdr_bytes = 0;
        x->block_has_length = false;
        const char *sp = memchr(line, ' ', len);
        x->block_status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return n;
    }
    if (len == 0) {
        /* End of a header block: refuse a declared body past the cap early. */
        if (x->block_status >= 200 && !x->head && x->cap && x->block_has_length &&
            x->block_length > x->cap) {
            x->abort = ABORT_TOO_LARGE;
            x->declared = x->block_length;
            return 0;
        }
        return n;
    }
    if (len > 15 && strncasecmp(line, "content-length:", 15) == 0) {
        char num[32];
        size_t i = 15, k = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        while (i < len && k < sizeof(num) - 1 && line[i] >= '0' && line[i] <= '9')
            num[k++] = line[i++];
        num[k] = 0;
        if (k > 0 && k < 20) {
            x->block_length = strtoull(num, NULL, 10);
            x->block_has_length = true;
        }
    }
    if (x->nhdrs >= MAX_RESP_HEADERS || x->hdr_bytes + len > MAX_RESP_HEADER_BYTES ||
        !memchr(line, ':', len))
        return n;
    char *copy = NULL;
    if ((!x->hdrs && !(x->hdrs = calloc(MAX_RESP_HEADERS, sizeof(char *)))) ||
        !(copy = strndup(line, len))) {
        x->abort = ABORT_SINK_IO;
        x->abort_errno = ENOMEM;
        return 0;
    }
    x->hdrs[x->nhdrs++] = copy;
    x->hdr_bytes += len;
    return n;
}

static curl_socket_t opensocket_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    xfer *x = ud;
    qr_net__addr addr;
    qr_net__class why = QR_NET__RESERVED;
    (void)purpose;
    if (x->o->policy) {
        bool known = qr_net__addr_from_sockaddr(&addr, &a->addr, a->addrlen);
        if (!known || !qr_net__allowed(x->o->policy, &addr, &why)) {
            /* Remember only the first refusal: curl may try several addresses. */
            if (!x->forbidden) {
                x->forbidden = true;
                x->forbidden_class = why;
                if (known)
                    qr_net__addr_str(x->forbidden_addr, sizeof(x->forbidden_addr), &addr);
                else
                    snprintf(x->forbidden_addr, sizeof(x->forbidden_addr), "(family %d)",
                             a->family);
            }
            return CURL_SOCKET_BAD;
        }
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* ---- helpers ------------------------------------------------------------ */

static double or_default(double v, double d)
{
    return v > 0 ? v : d;
}

static bool valid_method(const char *m)
{
    size_t n = m ? strlen(m) : 0;
    if (n == 0 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++)
        if (m[i] < 'A' || m[i] > 'Z')
            return false;
    return true;
}

static bool valid_header(const qr_http_header *h)
{
    if (!h->name || !h->value || !h->name[0])
        return false;
    for (const char *p = h->name; *p; p++)
        if (*p <= ' ' || *p == ':' || *p == 0x7f)
            return false;
    return strpbrk(h->value, "\r\n") == NULL;
}

static bool is_credential_header(const char *name)
{
    return strcasecmp(name, "authorization") == 0 || strcasecmp(name, "cookie") == 0 ||
           strcasecmp(name, "proxy-authorization") == 0;
}

/* Builds the request header list; `strip` drops credentials (cross-origin hop). */
static int build_headers(struct curl_slist **out, const qr_http_request *req, bool strip,
                         const char *what, qr_error *err)
{
    struct curl_slist *list = NULL;
    char *line = NULL;
    int rc = 0;
    *out = NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        const qr_http_header *h = &req->headers[i];
        if (!valid_header(h)) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net",
                              "%s: request header %zu has an invalid name or value", what, i);
            goto out;
        }
        if (strip && is_credential_header(h->name))
            continue;
        size_t len = strlen(h->name) + strlen(h->value) + 3;
        if (!(line = malloc(len))) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
            goto out;
        }
        /* curl sends "Name;" as a header with an empty value. */
        if (h->value[0])
            snprintf(line, len, "%s: %s", h->name, h->value);
        else
            snprintf(line, len, "%s;", h->name);
        struct curl_slist *nl = curl_slist_append(list, line);
        free(line);
        line = NULL;
        if (!nl) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
            goto out;
        }
        list = nl;
    }
    *out = list;
    list = NULL;
out:
    curl_slist_free_all(list);
    return rc;
}

/*
 * Checks one URL (the request's or a redirect target) before any
 * connection: parsable, scheme allowed, no userinfo for untrusted
 * destinations. Returns its origin ("scheme://host:port", malloc'd) and host.
 */
static int check_url(char **origin, char **host, const qr_http_opts *o, const char *url,
                     const char *what, qr_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL, *port = NULL, *user = NULL, *pass = NULL;
    int rc = 0;
    *origin = NULL;
    *host = NULL;
    if (!u)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net", "%s: malformed URL", what);
        goto out;
    }
    bool https = strcmp(scheme, "https") == 0, http = strcmp(scheme, "http") == 0;
    if (!https && !(http && (!o->policy || o->policy->allow_http))) {
        if (o->policy)
            rc = qr_error_set(err, QR_ERR_SOURCE_FORBIDDEN, "net",
                              "%s: scheme %s is not allowed (only https%s)", what, scheme,
                              o->policy->allow_http ? " and http" : "");
        else
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net",
                              "%s: scheme %s is not supported (http or https)", what, scheme);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net", "%s: malformed URL", what);
        goto out;
    }
    if (o->policy && (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
                      curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK)) {
        rc = qr_error_set(err, QR_ERR_SOURCE_FORBIDDEN, "net",
                          "%s: a URL carrying credentials (userinfo) is not allowed", what);
        goto out;
    }
    size_t len = strlen(scheme) + strlen(h) + strlen(port) + 5;
    if (!(*origin = malloc(len)) || !(*host = strdup(h))) {
        free(*origin);
        *origin = NULL;
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
        goto out;
    }
    snprintf(*origin, len, "%s://%s:%s", scheme, h, port);
out:
    curl_free(pass);
    curl_free(user);
    curl_free(port);
    curl_free(h);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

static bool retryable_status(long s)
{
    return s == 429 || (s >= 500 && s <= 599);
}

static bool redirect_status(long s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* Retry-After in seconds (delta or HTTP date), or -1 when absent or unusable. */
static double retry_after(char *const *hdrs, size_t n)
{
    const char *v = header_lookup(hdrs, n, "retry-after");
    if (!v || !*v)
        return -1;
    if (strspn(v, "0123456789") == strlen(v))
        return strlen(v) > 9 ? 1e9 : (double)strtol(v, NULL, 10);
    time_t t = curl_getdate(v, NULL);
    if (t < 0)
        return -1;
    double d = difftime(t, time(NULL));
    return d > 0 ? d : 0;
}

/* Full jitter: uniform in [0, min(max, base * 2^(retry-1))]; Retry-After wins, capped. */
static double backoff_s(const qr_http_opts *o, unsigned retry, double after)
{
    if (after >= 0)
        return fmin(after, o->backoff_max_s);
    double cap = o->backoff_base_s * ldexp(1.0, (int)(retry > 30 ? 30 : retry - 1));
    cap = fmin(cap, o->backoff_max_s);
    uint32_t ms = (uint32_t)(cap * 1000.0);
    return (double)randombytes_uniform(ms + 1) / 1000.0;
}

/* Resets what one attempt fills: the sinks, the body position, the headers. */
static int attempt_reset(xfer *x, const char *what, qr_error *err)
{
    qr_http_response *resp = x->resp;
    x->body_pos = 0;
    x->got = 0;
    x->abort = ABORT_NONE;
    x->abort_errno = 0;
    x->forbidden = false;
    x->block_status = 0;
    x->block_has_length = false;
    headers_clear(&x->hdrs, &x->nhdrs);
    x->hdr_bytes = 0;
    if (resp->body) {
        resp->body->len = x->buf_start;
        if (resp->body->data)
            resp->body->data[x->buf_start] = 0;
    } else if (resp->body_fd >= 0 && ftruncate(resp->body_fd, 0) < 0) {
        return qr_error_set_cause(err, QR_ERR_IO, errno, "net",
                                  "%s: cannot truncate the response file: %s", what,
                                  strerror(errno));
    }
    return 0;
}

static int set_common(CURL *h, const qr_http_opts *o, xfer *x, char *errbuf)
{
    CURLcode c = CURLE_OK;
    const char *protos = (!o->policy || o->policy->allow_http) ? "http,https" : "https";
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (c == CURLE_OK)                                                                         \
            c = curl_easy_setopt(h, opt, val);                                                     \
    } while (0)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_PROTOCOLS_STR, protos);
    SET(CURLOPT_REDIR_PROTOCOLS_STR, protos);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout_s * 1000.0));
    SET(CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000.0));
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(CURLOPT_LOW_SPEED_TIME, (long)ceil(o->stall_s));
    SET(CURLOPT_USERAGENT, o->user_agent ? o->user_agent : "quire/" QR_VERSION);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_READFUNCTION, read_cb);
    SET(CURLOPT_READDATA, x);
    SET(CURLOPT_SEEKFUNCTION, seek_cb);
    SET(CURLOPT_SEEKDATA, x);
    SET(CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
    SET(CURLOPT_OPENSOCKETDATA, x);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->ca_file)
        SET(CURLOPT_CAINFO, o->ca_file);
    if (o->policy)
        SET(CURLOPT_NOPROXY, "*"); /* a proxy from the environment must not bypass the guard */
    const qr_http_request *req = x->req;
    curl_off_t blen = (curl_off_t)req->body_len;
    if (strcmp(req->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, blen);
    } else if (strcmp(req->method, "PUT") == 0) {
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_INFILESIZE_LARGE, blen);
    } else if (req->body || req->body_fd >= 0) {
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_INFILESIZE_LARGE, blen);
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    } else {
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    }
#undef SET
    return (int)c;
}

/* ---- the call ----------------------------------------------------------- */

int qr_http_perform(const qr_http_opts *opts, const qr_http_request *req, qr_http_response *resp,
                    qr_error *err)
{
    qr_http_opts o = QR_HTTP_OPTS_INIT;
    xfer x;
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL;
    char *url = NULL, *origin = NULL, *first_origin = NULL, *host = NULL, *what_url = NULL;
    char what[320];
    char errbuf[CURL_ERROR_SIZE];
    int rc = 0;

    memset(&x, 0, sizeof(x));
    if ((rc = qr_http_ready(err)) < 0)
        return rc;
    if (opts)
        o = *opts;
    o.connect_timeout_s = or_default(o.connect_timeout_s, 10);
    o.timeout_s = or_default(o.timeout_s, 600);
    o.stall_s = or_default(o.stall_s, 30);
    o.max_attempts = o.max_attempts ? o.max_attempts : 5;
    o.backoff_base_s = or_default(o.backoff_base_s, 0.5);
    o.backoff_max_s = or_default(o.backoff_max_s, 20);
    if (!resp)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net", "no response given");
    qr_http_response_free(resp);
    resp->status = 0;
    resp->body_bytes = 0;
    resp->attempts = 0;
    if (!req || !req->url || !valid_method(req->method) || (req->body && req->body_fd >= 0) ||
        (req->body_len && !req->body && req->body_fd < 0) || (resp->body && resp->body_fd >= 0))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net",
                            "malformed HTTP request (method, URL, body or sink)");

    x.o = &o;
    x.req = req;
    x.resp = resp;
    x.head = strcmp(req->method, "HEAD") == 0;
    x.cap = o.max_body_bytes;
    x.buf_start = resp->body ? resp->body->len : 0;
    bool follow = o.max_redirects > 0 && (x.head || strcmp(req->method, "GET") == 0);

    if (!(url = strdup(req->url)) || !(h = curl_easy_init())) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
        goto out;
    }
    errbuf[0] = 0;
    if (set_common(h, &o, &x, errbuf) != CURLE_OK) {
        rc = qr_error_set(err, QR_ERR_INTERNAL, "net", "libcurl refused an option");
        goto out;
    }

    for (unsigned hop = 0;; hop++) {
        free(what_url);
        if (!(what_url = qr_http_redact_url(url))) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
            goto out;
        }
        snprintf(what, sizeof(what), "%s %s", req->method, what_url);
        free(origin);
        free(host);
        origin = host = NULL;
        if ((rc = check_url(&origin, &host, &o, url, what, err)) < 0)
            goto out;
        if (!first_origin && !(first_origin = strdup(origin))) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
            goto out;
        }
        curl_slist_free_all(hdrs);
        hdrs = NULL;
        /* Credentials go only to the origin they were meant for. */
        if ((rc = build_headers(&hdrs, req, strcmp(origin, first_origin) != 0, what, err)) < 0)
            goto out;
        if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
            goto out;
        }

        long status = 0;
        for (unsigned attempt = 1;; attempt++) {
            if ((rc = attempt_reset(&x, what, err)) < 0)
                goto out;
            errbuf[0] = 0;
            CURLcode c = curl_easy_perform(h);
            resp->attempts++;
            status = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            resp->status = status;
            if (x.abort == ABORT_TOO_LARGE) {
                if (x.declared)
                    rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, "net",
                                      "%s: HTTP %ld declares %llu bytes, over the %llu-byte limit",
                                      what, status, (unsigned long long)x.declared,
                                      (unsigned long long)x.cap);
                else
                    rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, "net",
                                      "%s: HTTP %ld body exceeds the %llu-byte limit", what, status,
                                      (unsigned long long)x.cap);
                goto out;
            }
            if (x.abort == ABORT_SINK_LIMIT) {
                rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, "net",
                                  "%s: HTTP %ld body exceeds the buffer limit of %zu bytes", what,
                                  status, resp->body->max);
                goto out;
            }
            if (x.abort == ABORT_SINK_IO) {
                rc = qr_error_set_cause(
                    err, x.abort_errno == ENOMEM ? QR_ERR_OUT_OF_MEMORY : QR_ERR_IO, x.abort_errno,
                    "net", "%s: cannot store the response body: %s", what, strerror(x.abort_errno));
                goto out;
            }
            if (x.abort == ABORT_BODY_IO) {
                rc = qr_error_set_cause(err, QR_ERR_IO, x.abort_errno, "net",
                                        "%s: cannot read the request body: %s", what,
                                        x.abort_errno ? strerror(x.abort_errno)
                                                      : "file shorter than the body length");
                goto out;
            }
            if (c != CURLE_OK && x.forbidden) {
                rc = qr_error_set(err, QR_ERR_SOURCE_FORBIDDEN, "net",
                                  "%s: host %s is at %s, a %s address the network policy refuses",
                                  what, host, x.forbidden_addr,
                                  qr_net__class_str(x.forbidden_class));
                goto out;
            }
            bool retry;
            char reason[96];
            if (c == CURLE_OK) {
                retry = retryable_status(status);
                snprintf(reason, sizeof(reason), "HTTP %ld", status);
            } else {
                retry = qr_net__curl_transient(c);
                /* A status line may have arrived before a stall or a drop. */
                if (status > 0)
                    snprintf(reason, sizeof(reason), "HTTP %ld, then %s", status,
                             curl_easy_strerror(c));
                else
                    snprintf(reason, sizeof(reason), "%s", curl_easy_strerror(c));
            }
            if (!retry && c == CURLE_OK)
                break;
            if (!retry || attempt >= o.max_attempts) {
                qr_net__curl_failure f = {.what = what,
                                          .reason = reason,
                                          .attempt = attempt,
                                          .last = retry,
                                          .timeout_s = o.timeout_s,
                                          .stall_s = o.stall_s};
                /* CURLE_OK here is a retryable HTTP status with no attempt left. */
                rc = qr_error_from_curl(err, (int)c, &f);
                goto out;
            }
            double wait = backoff_s(&o, attempt, c == CURLE_OK ? retry_after(x.hdrs, x.nhdrs) : -1);
            qr_log(QR_LOG_WARN, "net", "%s: %s; attempt %u of %u, retrying in %.2f s", what, reason,
                   attempt, o.max_attempts, wait);
            qr_sleep(wait);
        }

        char *next = NULL;
        if (follow && redirect_status(status) &&
            curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &next) == CURLE_OK && next) {
            if (hop >= o.max_redirects) {
                rc = qr_error_set(err, QR_ERR_TOO_MANY_REDIRECTS, "net",
                                  "%s: HTTP %ld redirects again after %u redirects (the limit)",
                                  what, status, hop);
                goto out;
            }
            char *copy = strdup(next);
            if (!copy) {
                rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
                goto out;
            }
            free(url);
            url = copy;
            continue;
        }
        break;
    }

out:
    if (resp) {
        resp->body_bytes = x.got;
        if (what_url && !resp->final_url)
            resp->final_url = what_url, what_url = NULL;
        resp->headers = x.hdrs;
        resp->nheaders = x.nhdrs;
        x.hdrs = NULL;
        x.nhdrs = 0;
    }
    headers_clear(&x.hdrs, &x.nhdrs);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(what_url);
    free(host);
    free(first_origin);
    free(origin);
    free(url);
    return rc;
}

const char *qr_http_library_version(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v && v->version ? v->version : "unavailable";
}
