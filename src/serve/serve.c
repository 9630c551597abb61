/*
 * qr_serve (qr/serve.h): libmicrohttpd with one internal polling thread.
 * Every request gets a state from the URI log callback (which sees the
 * request target as sent, query included, for the HMAC); the handler checks
 * the limits and the credentials on its first call, takes the body in
 * chunks on the next ones, and answers on the last. routes.c holds the
 * routes; docs/internals/serve.md explains the flow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qr/httpd.h"
#include "qr/notify.h"
#include "serve_int.h"

#define STAGE QR_SERVE_STAGE
#define DEFAULT_LISTEN "127.0.0.1:9188"

/* ---- responses ---- */

enum MHD_Result qr_serve__json(struct MHD_Connection *c, unsigned status, json_t *body, ...)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return MHD_NO;
    size_t n = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_add_response_header(resp, "Content-Type", "application/json");
    if (ok == MHD_YES)
        ok = MHD_add_response_header(resp, "Cache-Control", "no-store");
    va_list ap;
    va_start(ap, body);
    const char *name;
    while (ok == MHD_YES && (name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        ok = MHD_add_response_header(resp, name, value);
    }
    va_end(ap);
    if (ok == MHD_YES)
        ok = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

enum MHD_Result qr_serve__error(struct MHD_Connection *c, unsigned status, qr_errid id,
                                const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Messages quote client input: keep them valid UTF-8 for jansson. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    json_t *body = json_pack("{s:{s:s,s:s}}", "error", "id", qr_errid_str(id), "message", msg);
    if (status == 401)
        return qr_serve__json(c, status, body, "WWW-Authenticate", "Bearer realm=\"quire\"", NULL);
    if (status == 429)
        return qr_serve__json(c, status, body, "Retry-After", "1", NULL);
    return qr_serve__json(c, status, body, NULL);
}

unsigned qr_serve__status_for(qr_errid id)
{
    switch (id) {
    case QR_ERR_REDIS_UNAVAILABLE:
        return 503;
    case QR_ERR_INVALID_ARGUMENT:
    case QR_ERR_JOB_PAYLOAD_INVALID:
        return 400;
    case QR_ERR_SOURCE_FORBIDDEN:
    case QR_ERR_ACCESS_DENIED:
        return 403;
    case QR_ERR_SOURCE_NOT_FOUND:
        return 404;
    case QR_ERR_INPUT_TOO_LARGE:
        return 413;
    case QR_ERR_UNSUPPORTED_FORMAT:
        return 415;
    case QR_ERR_FETCH_FAILED:
        return 422;
    default:
        return 500;
    }
}

bool qr_serve__token_ok(const char *id, size_t max)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

bool qr_serve_book_id_ok(const char *id)
{
    return qr_serve__token_ok(id, 128) && id[0] != '.' && !strchr(id, ':');
}

/* ---- limits ---- */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A token bucket per client address (a small table; the stalest slot is reused). */
static bool rate_ok(qr_serve *s, struct MHD_Connection *c)
{
    double rate = s->o.rate == 0 ? 50.0 : s->o.rate;
    if (rate < 0)
        return true;
    unsigned char addr[16] = {0};
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        else if (sa->sa_family == AF_INET6)
            memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    }
    double now = mono_s(), burst = rate * 2 < 1 ? 1 : rate * 2;
    qr_serve__bucket *b = NULL, *oldest = &s->rate[0];
    for (size_t i = 0; i < QR_SERVE_RATE_SLOTS; i++) {
        qr_serve__bucket *x = &s->rate[i];
        if (x->used && memcmp(x->addr, addr, sizeof(addr)) == 0) {
            b = x;
            break;
        }
        if (!x->used || (oldest->used && x->last < oldest->last))
            oldest = x;
    }
    if (!b) {
        b = oldest;
        memcpy(b->addr, addr, sizeof(addr));
        b->tokens = burst;
        b->last = now;
        b->used = true;
    }
    b->tokens += (now - b->last) * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last = now;
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

static enum MHD_Result add_len(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* ---- authentication ---- */

/* Constant-time equality of two strings of any lengths (their SHA-256 are compared). */
static bool secret_eq(const char *a, const char *b)
{
    unsigned char ha[crypto_hash_sha256_BYTES], hb[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(ha, (const unsigned char *)a, strlen(a));
    crypto_hash_sha256(hb, (const unsigned char *)b, strlen(b));
    return sodium_memcmp(ha, hb, sizeof(ha)) == 0;
}

/*
 * Checks the credentials a request carries before its body is read. A
 * bearer token is decided here; a signature's timestamp too, its MAC once
 * the body is in (verify_hmac). Answers and returns false on a refusal.
 */
static bool auth_begin(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q, const char *method,
                       enum MHD_Result *res)
{
    if (s->o.open) {
        q->auth = QR_SERVE_AUTH_OPEN;
        return true;
    }
    const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Quire-Signature");
    if (authz) {
        if (strncmp(authz, "Bearer ", 7) != 0 || s->o.ntokens == 0) {
            *res = qr_serve__error(c, 401, QR_ERR_ACCESS_DENIED,
                                   "Authorization is not a Bearer token");
            return false;
        }
        bool ok = false;
        for (size_t i = 0; i < s->o.ntokens; i++) /* no early exit: every token is compared */
            ok |= secret_eq(authz + 7, s->o.tokens[i]);
        if (!ok) {
            *res =
                qr_serve__error(c, 401, QR_ERR_ACCESS_DENIED, "the bearer token is not accepted");
            return false;
        }
        q->auth = QR_SERVE_AUTH_TOKEN;
        return true;
    }
    if (sig) {
        long long t = 0;
        char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
        int n = 0;
        if (!s->o.hmac_secret || sscanf(sig, "t=%18lld,v1=%64[0-9a-f]%n", &t, hex, &n) != 2 ||
            sig[n] != '\0' || strlen(hex) != 2 * crypto_auth_hmacsha256_BYTES ||
            sodium_hex2bin(q->mac, sizeof(q->mac), hex, strlen(hex), NULL, NULL, NULL) != 0) {
            *res = qr_serve__error(c, 401, QR_ERR_ACCESS_DENIED,
                                   "X-Quire-Signature is not t=<unix seconds>,v1=<64 hex>");
            return false;
        }
        long tol = s->o.hmac_tolerance_s > 0 ? s->o.hmac_tolerance_s : 300;
        long long now = (long long)time(NULL);
        if (t < now - tol || t > now + tol) {
            *res = qr_serve__error(c, 403, QR_ERR_ACCESS_DENIED,
                                   "the signature's timestamp is more than %ld s away", tol);
            return false;
        }
        char head[64];
        int hn = snprintf(head, sizeof(head), "%lld.", t);
        crypto_auth_hmacsha256_init(&q->hmac, (const unsigned char *)s->o.hmac_secret,
                                    strlen(s->o.hmac_secret));
        crypto_auth_hmacsha256_update(&q->hmac, (const unsigned char *)head,
                                      (unsigned long long)hn);
        crypto_auth_hmacsha256_update(&q->hmac, (const unsigned char *)method, strlen(method));
        crypto_auth_hmacsha256_update(&q->hmac, (const unsigned char *)" ", 1);
        crypto_auth_hmacsha256_update(&q->hmac, (const unsigned char *)q->uri, strlen(q->uri));
        crypto_auth_hmacsha256_update(&q->hmac, (const unsigned char *)"\n", 1);
        q->auth = QR_SERVE_AUTH_HMAC;
        return true;
    }
    *res = qr_serve__error(c, 401, QR_ERR_CREDENTIALS_MISSING,
                           "no Authorization: Bearer token and no X-Quire-Signature");
    return false;
}

/* The dashboard's credentials: a bearer token, or HTTP Basic whose password is one. */
static bool ui_auth_ok(qr_serve *s, struct MHD_Connection *c)
{
    const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    char decoded[512];
    const char *given = NULL;
    size_t n = 0;
    if (!authz)
        return false;
    if (strncmp(authz, "Bearer ", 7) == 0) {
        given = authz + 7;
    } else if (strncmp(authz, "Basic ", 6) == 0 &&
               sodium_base642bin((unsigned char *)decoded, sizeof(decoded) - 1, authz + 6,
                                 strlen(authz + 6), NULL, &n, NULL,
                                 sodium_base64_VARIANT_ORIGINAL) == 0) {
        decoded[n] = '\0';
        given = strchr(decoded, ':');
        given = given ? given + 1 : NULL;
    }
    bool ok = false;
    for (size_t i = 0; given && i < s->o.ntokens; i++)
        ok |= secret_eq(given, s->o.tokens[i]);
    sodium_memzero(decoded, sizeof(decoded));
    return ok;
}

/* The MAC over everything hashed, then the signature may be used once. */
static bool verify_hmac(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q,
                        enum MHD_Result *res)
{
    if (q->auth != QR_SERVE_AUTH_HMAC)
        return true;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&q->hmac, mac);
    if (sodium_memcmp(mac, q->mac, sizeof(mac)) != 0) {
        *res =
            qr_serve__error(c, 401, QR_ERR_ACCESS_DENIED, "the request signature does not match");
        return false;
    }
    char hex[2 * sizeof(mac) + 1];
    sodium_bin2hex(hex, sizeof(hex), q->mac, sizeof(q->mac));
    long tol = s->o.hmac_tolerance_s > 0 ? s->o.hmac_tolerance_s : 300;
    bool fresh = false;
    qr_error e = QR_ERROR_INIT;
    if (qr_resque_intake_nonce(&fresh, s->o.redis, hex, 2 * tol + 1, &e) < 0) {
        *res = qr_serve__error(c, qr_serve__status_for(e.errid), e.errid, "%s", e.msg);
        return false;
    }
    if (!fresh) {
        *res = qr_serve__error(c, 403, QR_ERR_ACCESS_DENIED, "this signature was already used");
        return false;
    }
    return true;
}

/* ---- dispatch ---- */

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    qr_serve__req *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->fd = -1;
    q->uri = strdup(uri ? uri : "");
    return q;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    qr_serve__req *q = *con_cls;
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    if (q->tmp_path) {
        unlink(q->tmp_path);
        free(q->tmp_path);
    }
    free(q->buf);
    free(q->uri);
    sodium_memzero(&q->hmac, sizeof(q->hmac));
    free(q);
    *con_cls = NULL;
}

/* What path names: the route and its {id}. */
enum { R_NONE, R_HEALTH, R_BOOKS, R_BOOK, R_JOB, R_UI };

static int route(const char *url, const char **id)
{
    *id = NULL;
    if (strcmp(url, "/healthz") == 0)
        return R_HEALTH;
    if (strcmp(url, "/v1/books") == 0)
        return R_BOOKS;
    if (strcmp(url, "/ui") == 0 || strncmp(url, "/ui/", 4) == 0)
        return R_UI;
    if (strncmp(url, "/v1/books/", 10) == 0) {
        *id = url + 10;
        return R_BOOK;
    }
    if (strncmp(url, "/v1/jobs/", 9) == 0) {
        *id = url + 9;
        return R_JOB;
    }
    return R_NONE;
}

static void fail_later(qr_serve__req *q, unsigned status, qr_errid id, const char *msg)
{
    if (q->fail_status)
        return;
    q->fail_status = status;
    q->fail_id = id;
    snprintf(q->fail_msg, sizeof(q->fail_msg), "%s", msg);
}

/* Takes one chunk of the body. */
static enum MHD_Result take_chunk(qr_serve *s, qr_serve__req *q, const char *data, size_t n)
{
    if (q->fail_status) {
        q->discarded += n;
        /* A sender that keeps going long after its refusal is cut off. */
        return q->discarded > ((uint64_t)1 << 20) + (q->body == QR_SERVE_BODY_UPLOAD
                                                         ? s->o.max_upload_bytes
                                                         : s->o.max_json_bytes)
                   ? MHD_NO
                   : MHD_YES;
    }
    if (q->auth == QR_SERVE_AUTH_HMAC)
        crypto_auth_hmacsha256_update(&q->hmac, (const unsigned char *)data, n);
    if (q->body == QR_SERVE_BODY_UPLOAD) {
        if (q->total + n > s->o.max_upload_bytes) {
            fail_later(q, 413, QR_ERR_INPUT_TOO_LARGE, "the book is over the upload limit");
            return MHD_YES;
        }
        crypto_hash_sha256_update(&q->sha, (const unsigned char *)data, n);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(q->fd, data + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                fail_later(q, errno == ENOSPC ? 507 : 500,
                           errno == ENOSPC ? QR_ERR_DISK_FULL : QR_ERR_IO,
                           "cannot spool the upload");
                return MHD_YES;
            }
            off += (size_t)w;
        }
        q->total += n;
        return MHD_YES;
    }
    if (q->body == QR_SERVE_BODY_JSON) {
        if (q->len + n > s->o.max_json_bytes) {
            fail_later(q, 413, QR_ERR_INPUT_TOO_LARGE, "the JSON body is over the limit");
            return MHD_YES;
        }
        char *nb = realloc(q->buf, q->len + n + 1);
        if (!nb) {
            fail_later(q, 500, QR_ERR_OUT_OF_MEMORY, "out of memory");
            return MHD_YES;
        }
        q->buf = nb;
        memcpy(q->buf + q->len, data, n);
        q->len += n;
        q->buf[q->len] = '\0';
        return MHD_YES;
    }
    fail_later(q, 400, QR_ERR_INVALID_ARGUMENT, "this request takes no body");
    return MHD_YES;
}

static enum MHD_Result health(qr_serve *s, struct MHD_Connection *c)
{
    qr_error e = QR_ERROR_INIT;
    if (qr_resque_ping(s->o.redis, &e) < 0)
        return qr_serve__error(c, 503, e.errid, "%s", e.msg);
    return qr_serve__json(c, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    qr_serve *s = cls;
    qr_serve__req *q = *con_cls;
    const char *id = NULL;
    int r = route(url, &id);
    enum MHD_Result res = MHD_YES;
    (void)version;
    if (!q || !q->uri)
        return MHD_NO; /* out of memory in uri_log */
    if (q->answered)
        return MHD_YES;
    if (!q->started) {
        q->started = true;
        size_t hdr = strlen(q->uri);
        MHD_get_connection_values(c, MHD_HEADER_KIND, add_len, &hdr);
        bool is_post = strcmp(method, "POST") == 0;
        if (hdr > s->o.max_header_bytes) {
            q->answered = true;
            return qr_serve__error(c, 431, QR_ERR_INPUT_TOO_LARGE,
                                   "request headers are over %zu bytes", s->o.max_header_bytes);
        }
        if (!rate_ok(s, c)) {
            q->answered = true;
            return qr_serve__error(c, 429, QR_ERR_ACCESS_DENIED, "over the request rate limit");
        }
        if (r == R_NONE) {
            q->answered = true;
            return qr_serve__error(c, 404, QR_ERR_SOURCE_NOT_FOUND, "no route %.200s", url);
        }
        if (r == R_UI) {
            if (!s->o.ui) {
                q->answered = true;
                return qr_serve__error(c, 404, QR_ERR_SOURCE_NOT_FOUND,
                                       "the dashboard is off (quire serve --ui)");
            }
            if (s->ui_auth && !ui_auth_ok(s, c)) {
                q->answered = true;
                return qr_serve__json(
                    c, 401,
                    json_pack("{s:{s:s,s:s}}", "error", "id", "access-denied", "message",
                              "the dashboard needs a token (HTTP Basic password or Bearer)"),
                    "WWW-Authenticate", "Basic realm=\"quire\", charset=\"UTF-8\"", NULL);
            }
            if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
                q->answered = true;
                return qr_serve__error(c, 405, QR_ERR_INVALID_ARGUMENT, "GET or POST");
            }
            q->body = strcmp(method, "POST") == 0 ? QR_SERVE_BODY_JSON : QR_SERVE_BODY_NONE;
            q->auth = QR_SERVE_AUTH_OPEN;
            return MHD_YES;
        }
        if (r != R_HEALTH && !auth_begin(s, c, q, method, &res)) {
            q->answered = true;
            return res;
        }
        bool allowed =
            (r == R_HEALTH && strcmp(method, "GET") == 0) || (r == R_BOOKS && is_post) ||
            (r == R_BOOK && strcmp(method, "GET") == 0) ||
            (r == R_JOB && (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0));
        if (!allowed) {
            q->answered = true;
            return qr_serve__error(c, 405, QR_ERR_INVALID_ARGUMENT,
                                   "%.16s is not allowed on %.200s", method, url);
        }
        if (r == R_BOOKS) {
            bool answered = false;
            res = qr_serve__post_begin(s, c, q, &answered);
            if (answered)
                q->answered = true;
            return res;
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        res = take_chunk(s, q, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return res;
    }
    /* The whole request is in. */
    q->answered = true;
    if (q->fail_status)
        return qr_serve__error(c, q->fail_status, q->fail_id, "%s", q->fail_msg);
    if (r != R_HEALTH && r != R_UI && !verify_hmac(s, c, q, &res))
        return res;
    switch (r) {
    case R_HEALTH:
        return health(s, c);
    case R_UI:
        return qr_serve__ui(s, c, q, method, url);
    case R_BOOKS:
        return qr_serve__post_book(s, c, q);
    case R_BOOK:
        return qr_serve__get_job(s, c, id, true);
    case R_JOB:
        return strcmp(method, "DELETE") == 0 ? qr_serve__delete_job(s, c, id)
                                             : qr_serve__get_job(s, c, id, false);
    default:
        return qr_serve__error(c, 404, QR_ERR_SOURCE_NOT_FOUND, "no route");
    }
}

int qr_serve_start(qr_serve **out, const qr_serve_opts *opts, qr_error *err)
{
    struct sockaddr_in sa;
    *out = NULL;
    if (!opts || !opts->redis)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "serve needs a Redis context");
    if (!opts->open && opts->ntokens == 0 && !opts->hmac_secret)
        return qr_error_set(
            err, QR_ERR_INVALID_ARGUMENT, STAGE,
            "no bearer token and no HMAC secret: every /v1 request would be refused");
    for (size_t i = 0; i < opts->ntokens; i++)
        if (!opts->tokens[i] || strlen(opts->tokens[i]) < 16)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                                "bearer token %zu is shorter than 16 bytes", i + 1);
    if (opts->hmac_secret && strlen(opts->hmac_secret) < QR_CALLBACK_SECRET_MIN)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "the HMAC secret is shorter than %d bytes", QR_CALLBACK_SECRET_MIN);
    const char *listen = opts->listen ? opts->listen : DEFAULT_LISTEN;
    int rc = qr_httpd_parse_listen(&sa, listen, STAGE, err);
    if (rc < 0)
        return rc;
    qr_serve *s = calloc(1, sizeof(*s));
    if (!s)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    s->o = *opts;
    if (!s->o.max_json_bytes)
        s->o.max_json_bytes = 64 * 1024;
    if (!s->o.max_upload_bytes)
        s->o.max_upload_bytes = (uint64_t)512 << 20;
    if (!s->o.max_header_bytes)
        s->o.max_header_bytes = 8 * 1024;
    if (!s->o.max_connections)
        s->o.max_connections = 256;
    /* libmicrohttpd's own bound on what it buffers per connection: headers and a read window. */
    size_t pool = s->o.max_header_bytes * 2 + 32 * 1024;
    s->ui_auth = (ntohl(sa.sin_addr.s_addr) >> 24) != 127;
    if (s->o.ui && s->ui_auth && s->o.ntokens == 0) {
        free(s);
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "the dashboard on a non-loopback address needs bearer tokens");
    }
    unsigned char rnd[32];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(s->csrf, sizeof(s->csrf), rnd, sizeof(rnd));
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, ntohs(sa.sin_port), NULL, NULL, handle, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, s->o.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
        MHD_OPTION_URI_LOG_CALLBACK, uri_log, (void *)s, MHD_OPTION_NOTIFY_COMPLETED, completed,
        (void *)s, MHD_OPTION_END);
    if (!s->daemon) {
        free(s);
        return qr_error_set(err, QR_ERR_IO, STAGE, "cannot listen on %s", listen);
    }
    *out = s;
    return 0;
}

void qr_serve_stop(qr_serve *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    free(s);
}
