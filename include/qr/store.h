/*
 * Object stores: where packages are published and read back. A store is an
 * ops table over a context, so the local directory store (src/store/) and
 * the S3 store (src/aws/s3_store.c) sit behind the same calls. The package
 * layer (qr/package.h) writes and reads packages through these calls only;
 * docs/internals/store.md explains the code and the commit protocol's
 * requirements on a store.
 */
#ifndef QR_STORE_H
#define QR_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "qr/buf.h"
#include "qr/error.h"

/*
 * The operations of an object store, so an S3 store can sit behind the same
 * table as the local one. Keys are '/'-separated relative names. Every op
 * returns 0 or a negative class code with `err` set.
 *   put:    writes the whole object; readers never see a partial object.
 *   get:    appends the object to `out` (bounded by out->max); a missing
 *           object fails with source-not-found.
 *   exists: *out = whether the object exists.
 *   remove: deletes the object; a missing object is not an error.
 *   free:   releases `ctx` (may be NULL).
 *   put_file: optional (NULL: qr_store_put_file reads the file and calls
 *           put): writes the whole local file at `path` as the object,
 *           streamed, with put's guarantees.
 */
typedef struct qr_store_ops {
    int (*put)(void *ctx, const char *key, const void *data, size_t len, qr_error *err);
    int (*get)(void *ctx, const char *key, qr_buf *out, qr_error *err);
    int (*exists)(void *ctx, const char *key, bool *out, qr_error *err);
    int (*remove)(void *ctx, const char *key, qr_error *err);
    void (*free)(void *ctx);
    int (*put_file)(void *ctx, const char *key, const char *path, qr_error *err);
    /* Optional: a put that is durable only after `sync` (both or neither). */
    int (*put_deferred)(void *ctx, const char *key, const void *data, size_t len, qr_error *err);
    int (*sync)(void *ctx, qr_error *err);
} qr_store_ops;

typedef struct qr_store qr_store;

/* A store over `ops` (borrowed, must outlive the store); it owns `ctx`. NULL when out of memory. */
qr_store *qr_store_new(const qr_store_ops *ops, void *ctx);
/*
 * A store over the local directory `root` (created when missing). Objects are
 * files written atomically (temporary file, fsync, rename); directories are
 * made as needed. Keys holding "..", "." or empty components, or starting
 * with '/', are refused (invalid-argument). Errors: io, invalid-argument.
 */
int qr_store_local_new(qr_store **out, const char *root, qr_error *err) QR_WUR;
void qr_store_free(qr_store *s);

int qr_store_put(const qr_store *s, const char *key, const void *data, size_t len,
                 qr_error *err) QR_WUR;
int qr_store_get(const qr_store *s, const char *key, qr_buf *out, qr_error *err) QR_WUR;
int qr_store_exists(const qr_store *s, const char *key, bool *out, qr_error *err) QR_WUR;
int qr_store_remove(const qr_store *s, const char *key, qr_error *err) QR_WUR;
/*
 * Writes the local file at `path` as object `key`: streamed through the
 * store's put_file when it has one (S3: multipart for large files), else read
 * into memory (at most `max_bytes`, input-too-large beyond) and put.
 * Errors: those of put, io, input-too-large.
 */
int qr_store_put_file(const qr_store *s, const char *key, const char *path, size_t max_bytes,
                      qr_error *err) QR_WUR;
/*
 * A put whose object may be lost in a crash until the next qr_store_sync:
 * for objects nothing refers to until a later put (a package's slices,
 * before its manifest). A store whose puts are durable anyway (S3) puts.
 */
int qr_store_put_deferred(const qr_store *s, const char *key, const void *data, size_t len,
                          qr_error *err) QR_WUR;
/* Makes every earlier qr_store_put_deferred durable; a no-op for stores without deferral. */
int qr_store_sync(const qr_store *s, qr_error *err) QR_WUR;

#endif
