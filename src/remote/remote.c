/*
 * Sources and stores by name: local paths, s3:// and https:// (qr/remote.h).
 * The S3 client is made on first use, so a run that never touches S3 never
 * resolves credentials.
 */
#define _GNU_SOURCE /* asprintf */
#include "qr/remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qr/fs.h"
#include "qr/s3.h"

#define DEFAULT_SOURCE_MAX (UINT64_C(4) << 30)
#define DEFAULT_REDIRECTS 5
/* Room left on the work file system after a download, for the compressed copy and slices. */
#define DISK_HEADROOM (UINT64_C(64) << 20)

struct qr_remote {
    const qr_remote_opts *o;
    qr_s3_client *s3;
};

int qr_remote_new(qr_remote **out, const qr_remote_opts *opts, qr_error *err)
{
    *out = NULL;
    qr_remote *r = calloc(1, sizeof(*r));
    if (!r)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "remote", "out of memory");
    r->o = opts;
    *out = r;
    return 0;
}

void qr_remote_free(qr_remote *r)
{
    if (!r)
        return;
    qr_s3_client_free(r->s3);
    free(r);
}

qr_remote_kind qr_remote_classify(const char *s)
{
    if (!s)
        return QR_REMOTE_LOCAL;
    if (strncasecmp(s, "s3://", 5) == 0)
        return QR_REMOTE_S3;
    if (strncasecmp(s, "https://", 8) == 0 || strncasecmp(s, "http://", 7) == 0)
        return QR_REMOTE_HTTP;
    const char *sep = strstr(s, "://");
    if (!sep)
        return QR_REMOTE_LOCAL;
    /* A scheme is letters, digits, '+', '-', '.' before "://"; anything else is a path. */
    for (const char *p = s; p < sep; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '+' || *p == '-' || *p == '.'))
            return QR_REMOTE_LOCAL;
    }
    return sep == s ? QR_REMOTE_LOCAL : QR_REMOTE_OTHER;
}

static int s3_client(qr_remote *r, const char *what, qr_error *err)
{
    if (r->s3)
        return 0;
    if (!r->o->aws)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "remote",
                            "%s is on S3, but S3 is not configured here", what);
    qr_http_opts http = QR_HTTP_OPTS_INIT;
    http.timeout_s = r->o->http_timeout_s;
    http.max_attempts = r->o->http_attempts;
    qr_s3_client_opts so = QR_S3_CLIENT_OPTS_INIT;
    so.http = &http;
    return qr_s3_client_new(&r->s3, r->o->aws, &so, err);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int fetch_s3(qr_remote *r, const char *url, const char *path, uint64_t cap, uint64_t room,
                    uint64_t *bytes, qr_error *err)
{
    char *bucket = NULL, *key = NULL;
    int rc = qr_s3_url_parse(&bucket, &key, url, err);
    if (rc == 0)
        rc = s3_client(r, url, err);
    bool exists = false;
    uint64_t size = 0;
    if (rc == 0)
        rc = qr_s3_head(r->s3, bucket, key, &exists, &size, err);
    if (rc == 0 && !exists)
        rc = qr_error_set(err, QR_ERR_SOURCE_NOT_FOUND, "fetch", "no object s3://%s/%s", bucket,
                          key);
    if (rc == 0 && size > cap)
        rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, "fetch",
                          "s3://%s/%s is %llu bytes, over the limit of %llu", bucket, key,
                          (unsigned long long)size, (unsigned long long)cap);
    if (rc == 0 && size > room)
        rc = qr_error_set(err, QR_ERR_DISK_FULL, "fetch",
                          "s3://%s/%s is %llu bytes; the work directory has %llu bytes to spare",
                          bucket, key, (unsigned long long)size, (unsigned long long)room);
    if (rc == 0)
        rc = qr_s3_get_file(r->s3, bucket, key, path, cap, bytes, err);
    free(bucket);
    free(key);
    return rc;
}

static int fetch_http(qr_remote *r, const char *url, const char *path, uint64_t cap, uint64_t room,
                      uint64_t *bytes, qr_error *err)
{
    qr_net_policy def = QR_NET_POLICY_INIT;
    qr_http_opts http = QR_HTTP_OPTS_INIT;
    http.policy = r->o->policy ? r->o->policy : &def;
    http.timeout_s = r->o->http_timeout_s;
    http.max_attempts = r->o->http_attempts;
    http.max_redirects = r->o->max_redirects ? r->o->max_redirects : DEFAULT_REDIRECTS;
    bool disk_bound = room < cap;
    http.max_body_bytes = disk_bound ? room : cap;
    int rc = qr_http_fetch_file(&http, url, path, bytes, err);
    if (rc < 0 && disk_bound && err->errid == QR_ERR_INPUT_TOO_LARGE) {
        char *safe = qr_http_redact_url(url);
        qr_error_clear(err);
        rc = qr_error_set(err, QR_ERR_DISK_FULL, "fetch",
                          "%s is larger than the %llu bytes the work directory has to spare",
                          safe ? safe : "the source", (unsigned long long)room);
        free(safe);
    }
    return rc;
}

int qr_remote_fetch(qr_remote *r, const char *url, const char *dir, char **path_out,
                    uint64_t *bytes, qr_error *err)
{
    *path_out = NULL;
    qr_remote_kind kind = qr_remote_classify(url);
    if (kind == QR_REMOTE_LOCAL)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fetch", "not a URL: %s", url);
    if (kind == QR_REMOTE_OTHER) {
        char *safe = qr_http_redact_url(url);
        int rc = qr_error_set(err, QR_ERR_SOURCE_FORBIDDEN, "fetch",
                              "source scheme not allowed (s3:// and https:// are): %s",
                              safe ? safe : "(unprintable URL)");
        free(safe);
        return rc;
    }
    uint64_t cap = r->o->source_max_bytes ? r->o->source_max_bytes : DEFAULT_SOURCE_MAX;
    uint64_t avail = 0;
    int rc = qr_fs_free_bytes(&avail, dir, err);
    if (rc < 0)
        return rc;
    uint64_t room = avail > DISK_HEADROOM ? avail - DISK_HEADROOM : 0;
    char *path = join(dir, "source");
    if (!path)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "fetch", "out of memory");
    uint64_t got = 0;
    rc = kind == QR_REMOTE_S3 ? fetch_s3(r, url, path, cap, room, &got, err)
                              : fetch_http(r, url, path, cap, room, &got, err);
    if (rc < 0) {
        free(path);
        return rc;
    }
    if (bytes)
        *bytes = got;
    *path_out = path;
    return 0;
}

int qr_remote_store_open(qr_remote *r, const char *spec, qr_store **out, qr_error *err)
{
    *out = NULL;
    qr_remote_kind kind = qr_remote_classify(spec);
    if (kind == QR_REMOTE_LOCAL)
        return qr_store_local_new(out, spec, err);
    if (kind != QR_REMOTE_S3)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store",
                            "a store is a directory or s3://bucket[/prefix], not '%s'", spec);
    const char *rest = spec + 5;
    const char *slash = strchr(rest, '/');
    size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
    char bucket[64];
    if (blen == 0 || blen >= sizeof(bucket))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no valid bucket in '%s'", spec);
    memcpy(bucket, rest, blen);
    bucket[blen] = '\0';
    if (!qr_s3_bucket_valid(bucket))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store",
                            "'%s' is not a valid S3 bucket name", bucket);
    int rc = s3_client(r, spec, err);
    if (rc < 0)
        return rc;
    return qr_store_s3_new(out, r->s3, bucket, slash ? slash + 1 : "", err);
}

char *qr_remote_manifest_url(const qr_remote *r, const char *spec, const char *prefix)
{
    const char *pre = prefix ? prefix : "";
    const char *sep = pre[0] && pre[strlen(pre) - 1] != '/' ? "/" : "";
    const char *name = "manifest.json";
    char *out = NULL;
    int n;
    if (qr_remote_classify(spec) == QR_REMOTE_S3) {
        const char *rest = spec + 5;
        const char *slash = strchr(rest, '/');
        const char *sp = slash ? slash + 1 : "";
        const char *sp_sep = sp[0] && sp[strlen(sp) - 1] != '/' ? "/" : "";
        if (r->o->public_base_url) {
            const char *base = r->o->public_base_url;
            const char *bsep = base[0] && base[strlen(base) - 1] != '/' ? "/" : "";
            n = asprintf(&out, "%s%s%s%s%s%s%s", base, bsep, sp, sp_sep, pre, sep, name);
        } else {
            n = asprintf(&out, "s3://%.*s/%s%s%s%s%s",
                         (int)(slash ? slash - rest : (long)strlen(rest)), rest, sp, sp_sep, pre,
                         sep, name);
        }
    } else if (r->o->public_base_url) {
        const char *base = r->o->public_base_url;
        const char *bsep = base[0] && base[strlen(base) - 1] != '/' ? "/" : "";
        n = asprintf(&out, "%s%s%s%s%s", base, bsep, pre, sep, name);
    } else {
        const char *ssep = spec[0] && spec[strlen(spec) - 1] != '/' ? "/" : "";
        n = asprintf(&out, "%s%s%s%s%s", spec, ssep, pre, sep, name);
    }
    return n < 0 ? NULL : out;
}
