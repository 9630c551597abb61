/*
 * AWS Signature Version 4 for S3 (payload SHA-256 through qr_sha256,
 * HMAC-SHA256 from libsodium).
 * The canonical URI is the path exactly as sent: S3 neither normalises nor
 * double-encodes it, so callers encode each key once (qr_aws_uri_encode).
 * tests/data/sigv4 holds vectors computed by botocore; test_sigv4.c checks
 * every byte of the canonical request, string to sign and Authorization.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "aws/aws_internal.h"
#include "qr/aws.h"
#include "qr/buf.h"
#include "qr/crypt.h"

#define SIGV4_MAX (1u << 20) /* any canonical request of ours is far smaller */
#define MAX_SIGNED_HEADERS 32

static const char hexd[] = "0123456789abcdef";

static void hex_encode(char *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[in[i] >> 4];
        out[2 * i + 1] = hexd[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void qr_aws_sha256_hex(char out[65], const void *data, size_t len)
{
    qr_crypt_sha256_hex(out, data, len);
}

int qr_aws_sha256_fd_hex(char out[65], int fd, uint64_t off, uint64_t len, qr_error *err)
{
    enum { CHUNK = 1 << 16 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    qr_sha256_ctx st;
    qr_sha256_init(&st);
    uint64_t done = 0;
    int rc = 0;
    while (done < len) {
        size_t want = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
        ssize_t n = pread(fd, buf, want, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = qr_error_set_cause(err, QR_ERR_IO, n < 0 ? errno : 0, "s3",
                                    "cannot read the file to upload: %s",
                                    n < 0 ? strerror(errno) : "it shrank");
            break;
        }
        qr_sha256_update(&st, buf, (size_t)n);
        done += (uint64_t)n;
    }
    uint8_t h[QR_SHA256_BYTES];
    qr_sha256_final(&st, h);
    if (rc == 0)
        qr_sha256_to_hex(out, h);
    free(buf);
    return rc;
}

char *qr_aws_uri_encode(const char *s, bool keep_slash)
{
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/')) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = "0123456789ABCDEF"[c >> 4];
            *o++ = "0123456789ABCDEF"[c & 15];
        }
    }
    *o = '\0';
    return out;
}

int qr_aws__url_split(qr_aws_url_parts *out, const char *url, qr_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *sep = strstr(url, "://");
    if (!sep || sep == url || sep - url > 5)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "malformed URL (no scheme)");
    size_t slen = (size_t)(sep - url);
    memcpy(out->scheme, url, slen);
    for (size_t i = 0; i < slen; i++)
        out->scheme[i] = (char)tolower((unsigned char)out->scheme[i]);
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    if (alen == 0 || alen >= sizeof(out->host))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "malformed URL (host)");
    /* host[:port] or [v6][:port] */
    const char *hend = auth + alen;
    const char *colon = NULL;
    if (auth[0] == '[') {
        const char *rb = memchr(auth, ']', alen);
        if (!rb)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "malformed URL (IPv6 host)");
        if (rb + 1 < hend && rb[1] == ':')
            colon = rb + 1;
        else if (rb + 1 != hend)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "malformed URL (IPv6 host)");
    } else {
        colon = memchr(auth, ':', alen);
    }
    size_t hlen = colon ? (size_t)(colon - auth) : alen;
    if (hlen == 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "malformed URL (host)");
    for (size_t i = 0; i < hlen; i++)
        out->host[i] = (char)tolower((unsigned char)auth[i]);
    out->host[hlen] = '\0';
    out->port = 0;
    if (colon) {
        unsigned long port = 0;
        const char *p = colon + 1;
        if (p == hend)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "malformed URL (port)");
        for (; p < hend; p++) {
            if (!isdigit((unsigned char)*p) ||
                (port = port * 10 + (unsigned long)(*p - '0')) > 65535)
                return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "malformed URL (port)");
        }
        out->port = (unsigned)port;
    }
    unsigned defport = strcmp(out->scheme, "https") == 0  ? 443
                       : strcmp(out->scheme, "http") == 0 ? 80
                                                          : 0;
    if (out->port && out->port != defport)
        snprintf(out->host_header, sizeof(out->host_header), "%s:%u", out->host, out->port);
    else
        snprintf(out->host_header, sizeof(out->host_header), "%s", out->host);
    const char *rest = auth + alen;
    size_t plen = strcspn(rest, "?#");
    out->path = rest;
    out->path_len = plen;
    out->query = "";
    out->query_len = 0;
    if (rest[plen] == '?') {
        out->query = rest + plen + 1;
        out->query_len = strcspn(out->query, "#");
    }
    return 0;
}

typedef struct kv {
    const char *k;
    size_t klen;
    const char *v;
    size_t vlen;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->k, y->k, n);
    if (c == 0 && x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    if (c != 0)
        return c;
    n = x->vlen < y->vlen ? x->vlen : y->vlen;
    c = memcmp(x->v, y->v, n);
    if (c == 0 && x->vlen != y->vlen)
        return x->vlen < y->vlen ? -1 : 1;
    return c;
}

/* key=value pairs sorted by key then value; a bare key gets "=". */
static int canonical_query(qr_buf *b, const char *q, size_t qlen, qr_error *err)
{
    if (qlen == 0)
        return 0;
    size_t n = 1;
    for (size_t i = 0; i < qlen; i++)
        n += q[i] == '&';
    kv *pairs = calloc(n, sizeof(*pairs));
    if (!pairs)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    size_t np = 0;
    const char *p = q, *end = q + qlen;
    while (p <= end && np < n) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        pairs[np].k = p;
        pairs[np].klen = eq ? (size_t)(eq - p) : (size_t)(e - p);
        pairs[np].v = eq ? eq + 1 : e;
        pairs[np].vlen = eq ? (size_t)(e - eq - 1) : 0;
        np++;
        p = e + 1;
    }
    qsort(pairs, np, sizeof(*pairs), kv_cmp);
    int rc = 0;
    for (size_t i = 0; i < np && rc == 0; i++)
        rc = qr_buf_appendf(b, err, "%s%.*s=%.*s", i ? "&" : "", (int)pairs[i].klen, pairs[i].k,
                            (int)pairs[i].vlen, pairs[i].v);
    free(pairs);
    return rc;
}

typedef struct sh {
    char name[64];
    const char *value;
} sh;

static int sh_cmp(const void *a, const void *b)
{
    return strcmp(((const sh *)a)->name, ((const sh *)b)->name);
}

/* Appends the value with surrounding blanks removed and inner runs of blanks collapsed. */
static int append_trimall(qr_buf *b, const char *v, qr_error *err)
{
    bool space = false, any = false;
    for (const char *p = v; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            space = any;
            continue;
        }
        if (space) {
            int rc = qr_buf_append(b, " ", 1, err);
            if (rc < 0)
                return rc;
        }
        space = false;
        any = true;
        int rc = qr_buf_append(b, p, 1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static bool blacklisted(const char *lname)
{
    return strcmp(lname, "expect") == 0 || strcmp(lname, "user-agent") == 0 ||
           strcmp(lname, "x-amzn-trace-id") == 0 || strcmp(lname, "authorization") == 0;
}

static void hmac(uint8_t out[32], const uint8_t *key, size_t klen, const char *msg, size_t mlen)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, mlen);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void qr_aws_sigv4_free(qr_aws_sigv4 *s)
{
    if (!s)
        return;
    if (s->canonical_request)
        sodium_memzero(s->canonical_request, strlen(s->canonical_request));
    free(s->canonical_request);
    free(s->string_to_sign);
    free(s->authorization);
    s->canonical_request = s->string_to_sign = s->authorization = NULL;
}

int qr_aws_sigv4_sign(qr_aws_sigv4 *out, const qr_aws_sigv4_request *req, const qr_aws_creds *c,
                      qr_error *err)
{
    qr_buf cr = QR_BUF_INIT(SIGV4_MAX), sts = QR_BUF_INIT(SIGV4_MAX), au = QR_BUF_INIT(SIGV4_MAX);
    qr_buf hb = QR_BUF_INIT(SIGV4_MAX);
    char *ksecret = NULL;
    uint8_t k[32];
    int rc = 0;
    memset(out, 0, sizeof(*out));
    if (!req || !req->method || !req->url || !req->payload_hash || !req->region || !req->service ||
        !c || !c->access_key_id || !c->secret_access_key)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "incomplete request to sign");
    if (req->nheaders > MAX_SIGNED_HEADERS - 4)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "too many headers to sign");
    qr_aws_url_parts u;
    rc = qr_aws__url_split(&u, req->url, err);
    if (rc < 0)
        return rc;

    struct tm tm;
    if (!gmtime_r(&req->when, &tm))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "bad signing time");
    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm);
    char date[9];
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';

    sh hs[MAX_SIGNED_HEADERS];
    size_t nh = 0;
    snprintf(hs[nh].name, sizeof(hs[nh].name), "host");
    hs[nh++].value = u.host_header;
    snprintf(hs[nh].name, sizeof(hs[nh].name), "x-amz-content-sha256");
    hs[nh++].value = req->payload_hash;
    snprintf(hs[nh].name, sizeof(hs[nh].name), "x-amz-date");
    hs[nh++].value = out->amz_date;
    if (c->session_token) {
        snprintf(hs[nh].name, sizeof(hs[nh].name), "x-amz-security-token");
        hs[nh++].value = c->session_token;
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *n = req->headers[i].name;
        size_t len = strlen(n);
        if (len == 0 || len >= sizeof(hs[0].name)) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "bad header name to sign");
            goto out;
        }
        for (size_t j = 0; j <= len; j++)
            hs[nh].name[j] = (char)tolower((unsigned char)n[j]);
        if (blacklisted(hs[nh].name))
            continue;
        hs[nh++].value = req->headers[i].value ? req->headers[i].value : "";
    }
    qsort(hs, nh, sizeof(hs[0]), sh_cmp);

    /* The canonical request. */
    rc = qr_buf_appendf(&cr, err, "%s\n", req->method);
    if (rc == 0 && u.path_len == 0)
        rc = qr_buf_append(&cr, "/", 1, err);
    if (rc == 0 && u.path_len)
        rc = qr_buf_append(&cr, u.path, u.path_len, err);
    if (rc == 0)
        rc = qr_buf_append(&cr, "\n", 1, err);
    if (rc == 0)
        rc = canonical_query(&cr, u.query, u.query_len, err);
    if (rc == 0)
        rc = qr_buf_append(&cr, "\n", 1, err);
    for (size_t i = 0; i < nh && rc == 0; i++) {
        /* Repeated names are one line, values joined by ','. */
        if (i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0) {
            rc = qr_buf_append(&cr, ",", 1, err);
        } else {
            if (i > 0)
                rc = qr_buf_append(&cr, "\n", 1, err);
            if (rc == 0)
                rc = qr_buf_appendf(&cr, err, "%s:", hs[i].name);
            if (rc == 0)
                rc = qr_buf_appendf(&hb, err, "%s%s", hb.len ? ";" : "", hs[i].name);
        }
        if (rc == 0)
            rc = append_trimall(&cr, hs[i].value, err);
    }
    if (rc == 0)
        rc = qr_buf_appendf(&cr, err, "\n\n%s\n%s", (const char *)hb.data, req->payload_hash);
    if (rc < 0)
        goto out;

    /* The string to sign. */
    char crhash[65];
    qr_aws_sha256_hex(crhash, cr.data, cr.len);
    rc = qr_buf_appendf(&sts, err, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", out->amz_date,
                        date, req->region, req->service, crhash);
    if (rc < 0)
        goto out;

    /* The signing key: HMAC chain over date, region, service, "aws4_request". */
    size_t slen = strlen(c->secret_access_key);
    ksecret = malloc(slen + 5);
    if (!ksecret) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
        goto out;
    }
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, c->secret_access_key, slen + 1);
    hmac(k, (const uint8_t *)ksecret, slen + 4, date, strlen(date));
    hmac(k, k, sizeof(k), req->region, strlen(req->region));
    hmac(k, k, sizeof(k), req->service, strlen(req->service));
    hmac(k, k, sizeof(k), "aws4_request", 12);
    uint8_t sig[32];
    hmac(sig, k, sizeof(k), (const char *)sts.data, sts.len);
    char sighex[65];
    hex_encode(sighex, sig, sizeof(sig));

    rc = qr_buf_appendf(&au, err,
                        "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                        "Signature=%s",
                        c->access_key_id, date, req->region, req->service, (const char *)hb.data,
                        sighex);
    if (rc < 0)
        goto out;
    out->canonical_request = (char *)qr_buf_detach(&cr, NULL);
    out->string_to_sign = (char *)qr_buf_detach(&sts, NULL);
    out->authorization = (char *)qr_buf_detach(&au, NULL);
out:
    sodium_memzero(k, sizeof(k));
    if (ksecret) {
        sodium_memzero(ksecret, strlen(ksecret));
        free(ksecret);
    }
    if (cr.data)
        sodium_memzero(cr.data, cr.len);
    qr_buf_free(&cr);
    qr_buf_free(&sts);
    qr_buf_free(&au);
    qr_buf_free(&hb);
    if (rc < 0)
        qr_aws_sigv4_free(out);
    return rc;
}
