/* The store interface: a thin dispatcher over an ops table (local, S3). */
#include <stdlib.h>

#include "qr/store.h"

struct qr_store {
    const qr_store_ops *ops;
    void *ctx;
};

qr_store *qr_store_new(const qr_store_ops *ops, void *ctx)
{
    qr_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ops = ops;
    s->ctx = ctx;
    return s;
}

void qr_store_free(qr_store *s)
{
    if (!s)
        return;
    if (s->ops && s->ops->free)
        s->ops->free(s->ctx);
    free(s);
}

int qr_store_put(const qr_store *s, const char *key, const void *data, size_t len, qr_error *err)
{
    if (!s || !key)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no store or key");
    return s->ops->put(s->ctx, key, data, len, err);
}

int qr_store_get(const qr_store *s, const char *key, qr_buf *out, qr_error *err)
{
    if (!s || !key || !out)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no store, key or buffer");
    return s->ops->get(s->ctx, key, out, err);
}

int qr_store_exists(const qr_store *s, const char *key, bool *out, qr_error *err)
{
    if (!s || !key || !out)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no store, key or result");
    return s->ops->exists(s->ctx, key, out, err);
}

int qr_store_remove(const qr_store *s, const char *key, qr_error *err)
{
    if (!s || !key)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no store or key");
    return s->ops->remove(s->ctx, key, err);
}

int qr_store_put_file(const qr_store *s, const char *key, const char *path, size_t max_bytes,
                      qr_error *err)
{
    if (!s || !key || !path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no store, key or file");
    if (s->ops->put_file)
        return s->ops->put_file(s->ctx, key, path, err);
    qr_buf b = QR_BUF_INIT(max_bytes);
    int rc = qr_buf_read_file(&b, path, "store", err);
    if (rc == 0)
        rc = s->ops->put(s->ctx, key, b.data, b.len, err);
    qr_buf_free(&b);
    return rc;
}

int qr_store_put_deferred(const qr_store *s, const char *key, const void *data, size_t len,
                          qr_error *err)
{
    if (!s || !key)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no store or key");
    if (s->ops->put_deferred)
        return s->ops->put_deferred(s->ctx, key, data, len, err);
    return s->ops->put(s->ctx, key, data, len, err);
}

int qr_store_sync(const qr_store *s, qr_error *err)
{
    if (!s)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no store");
    return s->ops->sync ? s->ops->sync(s->ctx, err) : 0;
}
