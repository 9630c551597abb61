/*
 * The S3 client: every request is built here (URL in the configured
 * addressing style, SigV4 headers from the provider's credentials) and sent
 * through qr_http_perform, which retries 5xx/429/SlowDown with backoff.
 * Bodies stream from files with pread and responses stream into files, so
 * memory stays bounded whatever the object size.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/aws_internal.h"
#include "qr/log.h"
#include "qr/s3.h"

#define RESP_MAX (1u << 20) /* XML answers and error documents */
#define ERRBODY_MAX (64u * 1024u)
#define MAX_PARTS 10000u
#define MIB (1024ull * 1024ull)

struct qr_s3_client {
    qr_aws_config cfg; /* endpoint, region and S3 settings; credential fields empty */
    qr_aws_provider *prov;
    qr_http_opts http;
};

/* One request: what to send and where the answer goes. */
typedef struct s3_req {
    const char *op; /* for messages: "GET", "PUT", "UploadPart", ... */
    const char *method;
    const char *bucket;
    const char *key;
    const char *query; /* URI-encoded, or NULL */
    const qr_http_header *hs;
    size_t nh;
    const void *body;
    int body_fd;
    uint64_t body_off;
    uint64_t body_len;
    const char *payload_hash;
    qr_buf *sink;
    int sink_fd;
    uint64_t max_body;
} s3_req;

static int dupstr(char **dst, const char *s)
{
    *dst = NULL;
    if (!s)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : -1;
}

int qr_s3_client_new(qr_s3_client **out, const qr_aws_config *cfg, const qr_s3_client_opts *opts,
                     qr_error *err)
{
    *out = NULL;
    if (!cfg || !cfg->region)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "no AWS configuration");
    qr_s3_client *c = calloc(1, sizeof(*c));
    if (!c)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    qr_http_opts h = QR_HTTP_OPTS_INIT;
    c->http = opts && opts->http ? *opts->http : h;
    /* The operator's endpoint is trusted; S3 never redirects a signed request usefully. */
    c->http.policy = NULL;
    c->http.max_redirects = 0;
    c->cfg.path_style = cfg->path_style;
    c->cfg.part_size = cfg->part_size ? cfg->part_size : 8 * MIB;
    c->cfg.multipart_threshold = cfg->multipart_threshold ? cfg->multipart_threshold : 16 * MIB;
    if (dupstr(&c->cfg.profile, cfg->profile) | dupstr(&c->cfg.region, cfg->region) |
        dupstr(&c->cfg.endpoint_url, cfg->endpoint_url) |
        dupstr(&c->cfg.cache_control, cfg->cache_control)) {
        qr_s3_client_free(c);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    }
    int rc = qr_aws_provider_new(&c->prov, cfg, opts ? opts->provider : NULL, err);
    if (rc < 0) {
        qr_s3_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void qr_s3_client_free(qr_s3_client *c)
{
    if (!c)
        return;
    qr_aws_provider_free(c->prov);
    qr_aws_config_free(&c->cfg);
    free(c);
}

const qr_aws_config *qr_s3_client_config(const qr_s3_client *c)
{
    return c ? &c->cfg : NULL;
}

/* ---- s3:// URLs ---- */

bool qr_s3_bucket_valid(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
        return false;
    if (strncmp(b, "xn--", 4) == 0 || strstr(b, ".."))
        return false;
    bool ip = true;
    unsigned dots = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b[i];
        if (!(islower(ch) || isdigit(ch) || ch == '.' || ch == '-'))
            return false;
        if (ch == '.')
            dots++;
        else if (!isdigit(ch))
            ip = false;
    }
    return !(ip && dots == 3); /* not formatted as an IPv4 address */
}

int qr_s3_url_parse(char **bucket, char **key, const char *url, qr_error *err)
{
    *bucket = *key = NULL;
    if (!url || strncmp(url, "s3://", 5) != 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "not an s3:// URL");
    const char *b = url + 5;
    const char *slash = strchr(b, '/');
    if (!slash)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "%.200s: no object key", url);
    *bucket = strndup(b, (size_t)(slash - b));
    if (!*bucket)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    const char *k = slash + 1;
    int rc = 0;
    if (!qr_s3_bucket_valid(*bucket))
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3",
                          "%.200s: '%.63s' is not a valid S3 bucket name", url, *bucket);
    else if (!k[0])
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "%.200s: empty object key", url);
    else if (strlen(k) > 1024)
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3",
                          "%.200s: object key longer than 1024 bytes", url);
    else if (!(*key = strdup(k)))
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    if (rc < 0) {
        free(*bucket);
        *bucket = NULL;
    }
    return rc;
}

/* ---- requests ---- */

static char *build_url(const qr_s3_client *c, const char *bucket, const char *key,
                       const char *query)
{
    char *enc = qr_aws_uri_encode(key ? key : "", true);
    if (!enc)
        return NULL;
    const char *ep = c->cfg.endpoint_url;
    const char *region = c->cfg.region;
    /* Dotted bucket names do not match the endpoint's TLS wildcard: path-style. */
    bool path = c->cfg.path_style || strchr(bucket, '.');
    size_t n = strlen(enc) + strlen(bucket) + strlen(region) + (ep ? strlen(ep) : 0) +
               (query ? strlen(query) : 0) + 64;
    char *url = malloc(n);
    if (url) {
        const char *q = query ? "?" : "", *qs = query ? query : "";
        if (path && ep)
            snprintf(url, n, "%s/%s/%s%s%s", ep, bucket, enc, q, qs);
        else if (path)
            snprintf(url, n, "https://s3.%s.amazonaws.com/%s/%s%s%s", region, bucket, enc, q, qs);
        else if (ep) {
            const char *sep = strstr(ep, "://");
            snprintf(url, n, "%.*s://%s.%s/%s%s%s", (int)(sep - ep), ep, bucket, sep + 3, enc, q,
                     qs);
        } else
            snprintf(url, n, "https://%s.s3.%s.amazonaws.com/%s%s%s", bucket, region, enc, q, qs);
    }
    free(enc);
    return url;
}

/* Sends one signed request; the caller reads resp->status. */
static int s3_send(qr_s3_client *c, const s3_req *r, qr_http_response *resp, qr_error *err)
{
    qr_aws_creds cr = QR_AWS_CREDS_INIT;
    qr_aws_sigv4 sig = QR_AWS_SIGV4_INIT;
    char *url = build_url(c, r->bucket, r->key, r->query);
    qr_http_header hs[16];
    int rc = 0;
    if (!url) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
        goto out;
    }
    if (r->nh > 10) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "too many headers");
        goto out;
    }
    if ((rc = qr_aws_provider_get(c->prov, &cr, err)) < 0)
        goto out;
    qr_aws_sigv4_request sr = {r->method,       url,           r->hs, r->nh,
                               r->payload_hash, c->cfg.region, "s3",  time(NULL)};
    if ((rc = qr_aws_sigv4_sign(&sig, &sr, &cr, err)) < 0)
        goto out;
    size_t nh = 0;
    for (size_t i = 0; i < r->nh; i++)
        hs[nh++] = r->hs[i];
    hs[nh++] = (qr_http_header){"x-amz-date", sig.amz_date};
    hs[nh++] = (qr_http_header){"x-amz-content-sha256", r->payload_hash};
    if (cr.session_token)
        hs[nh++] = (qr_http_header){"x-amz-security-token", cr.session_token};
    hs[nh++] = (qr_http_header){"Authorization", sig.authorization};

    qr_http_opts o = c->http;
    o.max_body_bytes = r->max_body;
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    req.method = r->method;
    req.url = url;
    req.headers = hs;
    req.nheaders = nh;
    req.body = r->body;
    req.body_fd = r->body_fd;
    req.body_off = r->body_off;
    req.body_len = r->body_len;
    resp->body = r->sink;
    resp->body_fd = r->sink_fd;
    rc = qr_http_perform(&o, &req, resp, err);
out:
    if (rc < 0)
        qr_error_set_context(err, "s3://%.100s/%.140s", r->bucket, r->key ? r->key : "");
    qr_aws_sigv4_free(&sig);
    qr_aws_creds_clear(&cr);
    free(url);
    return rc;
}

/* Turns a non-2xx answer (its body in `xml`) into the documented error. */
static int s3_fail(const s3_req *r, long status, const char *xml, size_t len, qr_error *err)
{
    char code[64], msg[128];
    qr_s3__parse_error(code, sizeof(code), msg, sizeof(msg), xml, len);
    qr_errid id = qr_s3__errid(status, code);
    int rc = qr_error_set(err, id, "s3", "%s s3://%.60s/%.80s: HTTP %ld%s%s%s%s%s", r->op,
                          r->bucket, r->key ? r->key : "", status, code[0] ? " " : "", code,
                          msg[0] ? " (" : "", msg, msg[0] ? ")" : "");
    qr_error_set_context(err, "s3://%.100s/%.140s", r->bucket, r->key ? r->key : "");
    return rc;
}

static bool ok_status(long s)
{
    return s >= 200 && s <= 299;
}

/* Sends `r` with a small in-memory sink and fails on a non-2xx answer. */
static int s3_simple(qr_s3_client *c, s3_req *r, qr_buf *answer, qr_http_response *resp,
                     qr_error *err)
{
    r->sink = answer;
    r->sink_fd = -1;
    r->max_body = RESP_MAX;
    int rc = s3_send(c, r, resp, err);
    if (rc < 0)
        return rc;
    if (!ok_status(resp->status))
        return s3_fail(r, resp->status, (const char *)answer->data, answer->len, err);
    return 0;
}

/*
 * An error status whose document overflowed the caller's cap: the status is
 * what matters, so the input-too-large is cleared and reported as the S3 error.
 */
static bool error_body_too_large(const qr_http_response *resp, qr_error *err)
{
    if (!err || err->errid != QR_ERR_INPUT_TOO_LARGE || resp->status < 300)
        return false;
    qr_error_clear(err);
    return true;
}

static s3_req req_init(const char *op, const char *method, const char *bucket, const char *key)
{
    s3_req r;
    memset(&r, 0, sizeof(r));
    r.op = op;
    r.method = method;
    r.bucket = bucket;
    r.key = key;
    r.body_fd = -1;
    r.sink_fd = -1;
    r.payload_hash = QR_AWS_EMPTY_SHA256;
    return r;
}

static int check_args(const qr_s3_client *c, const char *bucket, const char *key, qr_error *err)
{
    if (!c || !bucket || !key || !key[0])
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "no client, bucket or key");
    if (!qr_s3_bucket_valid(bucket))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3",
                            "'%.63s' is not a valid S3 bucket name", bucket);
    return 0;
}

int qr_s3_get(qr_s3_client *c, const char *bucket, const char *key, qr_buf *out, qr_error *err)
{
    int rc = check_args(c, bucket, key, err);
    if (rc < 0)
        return rc;
    if (!out)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "no buffer");
    s3_req r = req_init("GET", "GET", bucket, key);
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    size_t start = out->len;
    r.sink = out;
    rc = s3_send(c, &r, &resp, err);
    if (rc < 0 && error_body_too_large(&resp, err)) {
        out->len = start;
        rc = s3_fail(&r, resp.status, NULL, 0, err);
    } else if (rc == 0 && !ok_status(resp.status)) {
        rc = s3_fail(&r, resp.status, (const char *)out->data + start, out->len - start, err);
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    qr_http_response_free(&resp);
    return rc;
}

int qr_s3_get_file(qr_s3_client *c, const char *bucket, const char *key, const char *path,
                   uint64_t max_bytes, uint64_t *bytes, qr_error *err)
{
    char *tmp = NULL;
    int fd = -1;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    if (bytes)
        *bytes = 0;
    int rc = check_args(c, bucket, key, err);
    if (rc < 0)
        return rc;
    if (!path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "no destination path");
    size_t n = strlen(path) + 16;
    if (!(tmp = malloc(n))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
        goto out;
    }
    snprintf(tmp, n, "%s.s3-XXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0) {
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "s3", "cannot create %s: %s", tmp,
                                strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    s3_req r = req_init("GET", "GET", bucket, key);
    r.sink_fd = fd;
    r.max_body = max_bytes;
    if ((rc = s3_send(c, &r, &resp, err)) < 0) {
        if (error_body_too_large(&resp, err))
            rc = s3_fail(&r, resp.status, NULL, 0, err);
        goto out;
    }
    if (!ok_status(resp.status)) {
        /* The error document went to the file: read its start back. */
        char xml[ERRBODY_MAX];
        ssize_t got = pread(fd, xml, sizeof(xml), 0);
        rc = s3_fail(&r, resp.status, xml, got > 0 ? (size_t)got : 0, err);
        goto out;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "s3", "cannot write %s: %s", path,
                                strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "s3", "cannot rename into %s: %s",
                                path, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    if (bytes)
        *bytes = resp.body_bytes;
out:
    if (fd >= 0)
        close(fd);
    if (tmp && tmp[0])
        unlink(tmp);
    free(tmp);
    qr_http_response_free(&resp);
    return rc;
}

int qr_s3_head(qr_s3_client *c, const char *bucket, const char *key, bool *exists, uint64_t *size,
               qr_error *err)
{
    *exists = false;
    if (size)
        *size = 0;
    int rc = check_args(c, bucket, key, err);
    if (rc < 0)
        return rc;
    s3_req r = req_init("HEAD", "HEAD", bucket, key);
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    r.max_body = RESP_MAX;
    rc = s3_send(c, &r, &resp, err);
    if (rc == 0 && resp.status == 404) {
        /* HEAD has no body: 404 is "no such key" (a missing bucket reads the same). */
    } else if (rc == 0 && !ok_status(resp.status)) {
        rc = s3_fail(&r, resp.status, NULL, 0, err);
    } else if (rc == 0) {
        *exists = true;
        const char *cl = qr_http_response_header(&resp, "Content-Length");
        if (size && cl)
            *size = strtoull(cl, NULL, 10);
    }
    qr_http_response_free(&resp);
    return rc;
}

static void put_headers(qr_http_header *hs, size_t *nh, const char *content_type,
                        const char *cache_control)
{
    *nh = 0;
    hs[(*nh)++] =
        (qr_http_header){"Content-Type", content_type ? content_type : "application/octet-stream"};
    if (cache_control && cache_control[0])
        hs[(*nh)++] = (qr_http_header){"Cache-Control", cache_control};
}

int qr_s3_put(qr_s3_client *c, const char *bucket, const char *key, const void *data, size_t len,
              const char *content_type, const char *cache_control, qr_error *err)
{
    int rc = check_args(c, bucket, key, err);
    if (rc < 0)
        return rc;
    char hash[65];
    qr_aws_sha256_hex(hash, data ? data : "", len);
    qr_http_header hs[2];
    s3_req r = req_init("PUT", "PUT", bucket, key);
    put_headers(hs, &r.nh, content_type, cache_control);
    r.hs = hs;
    /* An empty body still needs a non-NULL pointer to be sent as one. */
    r.body = data && len ? data : NULL;
    r.body_len = data ? len : 0;
    r.payload_hash = hash;
    qr_buf answer = QR_BUF_INIT(RESP_MAX);
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    rc = s3_simple(c, &r, &answer, &resp, err);
    qr_http_response_free(&resp);
    qr_buf_free(&answer);
    return rc;
}

int qr_s3_delete(qr_s3_client *c, const char *bucket, const char *key, qr_error *err)
{
    int rc = check_args(c, bucket, key, err);
    if (rc < 0)
        return rc;
    s3_req r = req_init("DELETE", "DELETE", bucket, key);
    qr_buf answer = QR_BUF_INIT(RESP_MAX);
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    rc = s3_simple(c, &r, &answer, &resp, err);
    /* Deleting what is not there is success in S3; some servers still say 404. */
    if (rc < 0 && resp.status == 404 && err && err->errid == QR_ERR_SOURCE_NOT_FOUND) {
        char code[64], msg[8];
        qr_s3__parse_error(code, sizeof(code), msg, sizeof(msg), (const char *)answer.data,
                           answer.len);
        if (strcmp(code, "NoSuchBucket") != 0) {
            qr_error_clear(err);
            rc = 0;
        }
    }
    qr_http_response_free(&resp);
    qr_buf_free(&answer);
    return rc;
}

/* ---- uploads from files ---- */

static int put_single(qr_s3_client *c, const char *bucket, const char *key, int fd, uint64_t size,
                      const char *ct, const char *cc, qr_error *err)
{
    char hash[65];
    int rc = qr_aws_sha256_fd_hex(hash, fd, 0, size, err);
    if (rc < 0)
        return rc;
    qr_http_header hs[2];
    s3_req r = req_init("PUT", "PUT", bucket, key);
    put_headers(hs, &r.nh, ct, cc);
    r.hs = hs;
    r.body_fd = size ? fd : -1;
    r.body_len = size;
    r.payload_hash = hash;
    qr_buf answer = QR_BUF_INIT(RESP_MAX);
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    rc = s3_simple(c, &r, &answer, &resp, err);
    qr_http_response_free(&resp);
    qr_buf_free(&answer);
    return rc;
}

/* Appends `s` with XML's five special characters escaped. */
static int xml_escape(qr_buf *b, const char *s, qr_error *err)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        switch (*s) {
        case '&':
            rc = qr_buf_appendf(b, err, "&amp;");
            break;
        case '<':
            rc = qr_buf_appendf(b, err, "&lt;");
            break;
        case '>':
            rc = qr_buf_appendf(b, err, "&gt;");
            break;
        case '"':
            rc = qr_buf_appendf(b, err, "&quot;");
            break;
        case '\'':
            rc = qr_buf_appendf(b, err, "&apos;");
            break;
        default:
            rc = qr_buf_append(b, s, 1, err);
        }
    }
    return rc;
}

typedef struct mpu {
    char upload_id[1024];
    char *query; /* "uploadId=<encoded>" */
    char **etags;
    unsigned nparts;
} mpu;

static int mpu_create(qr_s3_client *c, mpu *m, const char *bucket, const char *key, const char *ct,
                      const char *cc, qr_error *err)
{
    qr_http_header hs[2];
    s3_req r = req_init("CreateMultipartUpload", "POST", bucket, key);
    put_headers(hs, &r.nh, ct, cc);
    r.hs = hs;
    r.query = "uploads";
    qr_buf answer = QR_BUF_INIT(RESP_MAX);
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    int rc = s3_simple(c, &r, &answer, &resp, err);
    if (rc == 0 && !qr_s3__parse_upload_id(m->upload_id, sizeof(m->upload_id),
                                           (const char *)answer.data, answer.len))
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "s3",
                          "CreateMultipartUpload s3://%.60s/%.80s: no UploadId in the answer",
                          bucket, key);
    if (rc == 0) {
        char *enc = qr_aws_uri_encode(m->upload_id, false);
        size_t n = enc ? strlen(enc) + 16 : 0;
        if (enc && (m->query = malloc(n)))
            snprintf(m->query, n, "uploadId=%s", enc);
        free(enc);
        if (!m->query)
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    }
    qr_http_response_free(&resp);
    qr_buf_free(&answer);
    return rc;
}

static int mpu_part(qr_s3_client *c, mpu *m, const char *bucket, const char *key, int fd,
                    unsigned part, uint64_t off, uint64_t len, qr_error *err)
{
    char hash[65];
    int rc = qr_aws_sha256_fd_hex(hash, fd, off, len, err);
    if (rc < 0)
        return rc;
    size_t qn = strlen(m->query) + 32;
    char *q = malloc(qn);
    if (!q)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    snprintf(q, qn, "partNumber=%u&%s", part, m->query);
    s3_req r = req_init("UploadPart", "PUT", bucket, key);
    r.query = q;
    r.body_fd = fd;
    r.body_off = off;
    r.body_len = len;
    r.payload_hash = hash;
    qr_buf answer = QR_BUF_INIT(RESP_MAX);
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    rc = s3_simple(c, &r, &answer, &resp, err);
    if (rc == 0) {
        const char *etag = qr_http_response_header(&resp, "ETag");
        if (!etag || !etag[0])
            rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "s3",
                              "UploadPart %u s3://%.60s/%.80s: no ETag in the answer", part, bucket,
                              key);
        else if (!(m->etags[part - 1] = strdup(etag)))
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    }
    qr_http_response_free(&resp);
    qr_buf_free(&answer);
    free(q);
    return rc;
}

static int mpu_complete(qr_s3_client *c, mpu *m, const char *bucket, const char *key, qr_error *err)
{
    qr_buf body = QR_BUF_INIT((size_t)m->nparts * 1200 + 256);
    qr_buf answer = QR_BUF_INIT(RESP_MAX);
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    int rc = qr_buf_appendf(&body, err, "<CompleteMultipartUpload>");
    for (unsigned i = 0; i < m->nparts && rc == 0; i++) {
        rc = qr_buf_appendf(&body, err, "<Part><PartNumber>%u</PartNumber><ETag>", i + 1);
        if (rc == 0)
            rc = xml_escape(&body, m->etags[i], err);
        if (rc == 0)
            rc = qr_buf_appendf(&body, err, "</ETag></Part>");
    }
    if (rc == 0)
        rc = qr_buf_appendf(&body, err, "</CompleteMultipartUpload>");
    if (rc < 0)
        goto out;
    char hash[65];
    qr_aws_sha256_hex(hash, body.data, body.len);
    qr_http_header hs[1] = {{"Content-Type", "application/xml"}};
    s3_req r = req_init("CompleteMultipartUpload", "POST", bucket, key);
    r.hs = hs;
    r.nh = 1;
    r.query = m->query;
    r.body = body.data;
    r.body_len = body.len;
    r.payload_hash = hash;
    if ((rc = s3_simple(c, &r, &answer, &resp, err)) < 0)
        goto out;
    /* S3 may answer 200 and still report an error in the body. */
    char code[64], msg[128];
    if (qr_s3__parse_error(code, sizeof(code), msg, sizeof(msg), (const char *)answer.data,
                           answer.len))
        rc = s3_fail(&r, resp.status, (const char *)answer.data, answer.len, err);
out:
    qr_http_response_free(&resp);
    qr_buf_free(&answer);
    qr_buf_free(&body);
    return rc;
}

static void mpu_abort(qr_s3_client *c, mpu *m, const char *bucket, const char *key)
{
    s3_req r = req_init("AbortMultipartUpload", "DELETE", bucket, key);
    r.query = m->query;
    qr_buf answer = QR_BUF_INIT(RESP_MAX);
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_error e = QR_ERROR_INIT;
    if (s3_simple(c, &r, &answer, &resp, &e) < 0)
        qr_log(QR_LOG_WARN, "s3",
               "aborting the multipart upload of s3://%s/%s failed (%s: %s); "
               "a lifecycle rule for incomplete uploads cleans it up",
               bucket, key, e.id, e.msg);
    qr_http_response_free(&resp);
    qr_buf_free(&answer);
}

static int put_multipart(qr_s3_client *c, const char *bucket, const char *key, int fd,
                         uint64_t size, const char *ct, const char *cc, qr_error *err)
{
    mpu m;
    memset(&m, 0, sizeof(m));
    uint64_t part = c->cfg.part_size;
    if ((size + part - 1) / part > MAX_PARTS)
        part = ((size + MAX_PARTS - 1) / MAX_PARTS + MIB - 1) / MIB * MIB;
    m.nparts = (unsigned)((size + part - 1) / part);
    m.etags = calloc(m.nparts, sizeof(*m.etags));
    if (!m.etags)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "s3", "out of memory");
    int rc = mpu_create(c, &m, bucket, key, ct, cc, err);
    if (rc < 0)
        goto out;
    qr_log(QR_LOG_DEBUG, "s3", "s3://%s/%s: %" PRIu64 " bytes in %u parts", bucket, key, size,
           m.nparts);
    for (unsigned i = 0; i < m.nparts && rc == 0; i++) {
        uint64_t off = (uint64_t)i * part;
        uint64_t len = size - off < part ? size - off : part;
        rc = mpu_part(c, &m, bucket, key, fd, i + 1, off, len, err);
    }
    if (rc == 0)
        rc = mpu_complete(c, &m, bucket, key, err);
    if (rc < 0)
        mpu_abort(c, &m, bucket, key);
out:
    for (unsigned i = 0; i < m.nparts; i++)
        free(m.etags[i]);
    free(m.etags);
    free(m.query);
    return rc;
}

int qr_s3_put_file(qr_s3_client *c, const char *bucket, const char *key, const char *path,
                   const char *content_type, const char *cache_control, qr_error *err)
{
    int rc = check_args(c, bucket, key, err);
    if (rc < 0)
        return rc;
    if (!path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "s3", "no file to upload");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qr_error_set_cause(err, errno == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, errno,
                                  "s3", "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = qr_error_set_cause(err, QR_ERR_IO, errno, "s3", "%s is not a readable file", path);
        goto out;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size > c->cfg.multipart_threshold)
        rc = put_multipart(c, bucket, key, fd, size, content_type, cache_control, err);
    else
        rc = put_single(c, bucket, key, fd, size, content_type, cache_control, err);
out:
    close(fd);
    return rc;
}
