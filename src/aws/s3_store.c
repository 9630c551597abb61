/*
 * The S3 store: qr_store_ops over qr_s3_client, objects under a prefix of
 * one bucket. A PUT is atomic in S3 (readers see the old object or the new
 * one), which is the store contract. Slices, covers and key.json never
 * change once written under their revision, so they are served as
 * immutable; manifest.json is the commit point and may be rewritten, so it
 * is "no-cache".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/aws_internal.h"
#include "qr/s3.h"

typedef struct s3_store {
    qr_s3_client *client; /* borrowed */
    char *bucket;
    char *prefix; /* "" or ending in '/' */
} s3_store;

const char *qr_s3_content_type(const char *key)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {{".json", "application/json"},
                 {".qs", "application/octet-stream"},
                 {".sig", "application/octet-stream"},
                 {".jpg", "image/jpeg"},
                 {".jpeg", "image/jpeg"},
                 {".png", "image/png"},
                 {".webp", "image/webp"},
                 {".gif", "image/gif"},
                 {".epub", "application/epub+zip"},
                 {".pdf", "application/pdf"}};
    const char *dot = key ? strrchr(key, '.') : NULL;
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static const char *cache_control(const s3_store *s, const char *key)
{
    size_t n = strlen(key);
    if (n >= 13 && strcmp(key + n - 13, "manifest.json") == 0 && (n == 13 || key[n - 14] == '/'))
        return "no-cache";
    return qr_s3_client_config(s->client)->cache_control;
}

/* prefix + key, after the checks the local store makes on keys. */
static int full_key(char **out, const s3_store *s, const char *key, qr_error *err)
{
    *out = NULL;
    bool bad = !key[0] || key[0] == '/';
    for (const char *p = key; *p && !bad;) {
        size_t n = strcspn(p, "/");
        bad = n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
        p += n;
        if (*p == '/')
            p++;
    }
    if (bad || key[strlen(key) - 1] == '/')
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "bad object key '%s'", key);
    size_t n = strlen(s->prefix) + strlen(key) + 1;
    if (n > 1025)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store",
                            "object key longer than 1024 bytes: %.100s...", key);
    if (!(*out = malloc(n)))
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "store", "out of memory");
    snprintf(*out, n, "%s%s", s->prefix, key);
    return 0;
}

static int s3s_put(void *ctx, const char *key, const void *data, size_t len, qr_error *err)
{
    s3_store *s = ctx;
    char *k = NULL;
    int rc = full_key(&k, s, key, err);
    if (rc == 0)
        rc = qr_s3_put(s->client, s->bucket, k, data, len, qr_s3_content_type(key),
                       cache_control(s, key), err);
    free(k);
    return rc;
}

static int s3s_put_file(void *ctx, const char *key, const char *path, qr_error *err)
{
    s3_store *s = ctx;
    char *k = NULL;
    int rc = full_key(&k, s, key, err);
    if (rc == 0)
        rc = qr_s3_put_file(s->client, s->bucket, k, path, qr_s3_content_type(key),
                            cache_control(s, key), err);
    free(k);
    return rc;
}

static int s3s_get(void *ctx, const char *key, qr_buf *out, qr_error *err)
{
    s3_store *s = ctx;
    char *k = NULL;
    int rc = full_key(&k, s, key, err);
    if (rc == 0)
        rc = qr_s3_get(s->client, s->bucket, k, out, err);
    free(k);
    return rc;
}

static int s3s_exists(void *ctx, const char *key, bool *out, qr_error *err)
{
    s3_store *s = ctx;
    char *k = NULL;
    *out = false;
    int rc = full_key(&k, s, key, err);
    if (rc == 0)
        rc = qr_s3_head(s->client, s->bucket, k, out, NULL, err);
    free(k);
    return rc;
}

static int s3s_remove(void *ctx, const char *key, qr_error *err)
{
    s3_store *s = ctx;
    char *k = NULL;
    int rc = full_key(&k, s, key, err);
    if (rc == 0)
        rc = qr_s3_delete(s->client, s->bucket, k, err);
    free(k);
    return rc;
}

static void s3s_free(void *ctx)
{
    s3_store *s = ctx;
    if (!s)
        return;
    free(s->bucket);
    free(s->prefix);
    free(s);
}

/* No deferred puts: a PUT is durable once S3 answers 200. */
static const qr_store_ops s3_ops = {.put = s3s_put,
                                   .get = s3s_get,
                                   .exists = s3s_exists,
                                   .remove = s3s_remove,
                                   .free = s3s_free,
                                   .put_file = s3s_put_file};

int qr_store_s3_new(qr_store **out, qr_s3_client *client, const char *bucket, const char *prefix,
                    qr_error *err)
{
    *out = NULL;
    if (!client)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no S3 client");
    if (!qr_s3_bucket_valid(bucket))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store",
                            "'%.63s' is not a valid S3 bucket name", bucket ? bucket : "");
    if (!prefix)
        prefix = "";
    while (prefix[0] == '/')
        prefix++;
    s3_store *s = calloc(1, sizeof(*s));
    size_t n = strlen(prefix);
    if (s) {
        s->client = client;
        s->bucket = strdup(bucket);
        s->prefix = malloc(n + 2);
    }
    if (!s || !s->bucket || !s->prefix) {
        s3s_free(s);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "store", "out of memory");
    }
    snprintf(s->prefix, n + 2, "%s%s", prefix, n && prefix[n - 1] != '/' ? "/" : "");
    *out = qr_store_new(&s3_ops, s);
    if (!*out) {
        s3s_free(s);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "store", "out of memory");
    }
    return 0;
}
