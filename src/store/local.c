/*
 * The local store: objects are files below a root directory. Each put goes
 * through qr_fs_write_atomic (temporary file, fsync, rename), so a reader
 * sees either the old object or the new one, never half of one; put_file
 * streams a local file the same way (temporary file, fsync, rename).
 * Deferred puts skip the fsync and the folder check when the folder is the
 * last one made; one syncfs (local_sync) makes them all durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qr/fs.h"
#include "qr/store.h"

typedef struct local_store {
    char *root;
    char *made_dir; /* the folder the last deferred put made or found */
    bool dirty;     /* deferred puts not yet synced */
} local_store;

/* Refuses keys that could leave the root: absolute, empty, "." or ".." components. */
static int check_key(const char *key, qr_error *err)
{
    if (!key[0] || key[0] == '/')
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "bad object key '%s'", key);
    const char *p = key;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "bad object key '%s'", key);
        p += n;
        if (*p == '/')
            p++;
    }
    return 0;
}

static int object_path(char **out, const local_store *ls, const char *key, qr_error *err)
{
    *out = NULL;
    int rc = check_key(key, err);
    if (rc < 0)
        return rc;
    size_t n = strlen(ls->root) + strlen(key) + 2;
    char *p = malloc(n);
    if (!p)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "store", "out of memory");
    snprintf(p, n, "%s/%s", ls->root, key);
    *out = p;
    return 0;
}

/*
 * Makes the folder of object file `path` (mkdir -p), skipped when it is the
 * one the last call made (`ls->made_dir`, when `remember`).
 */
static int make_parent(local_store *ls, char *path, bool remember, qr_error *err)
{
    char *slash = strrchr(path, '/');
    *slash = '\0';
    int rc = 0;
    if (!remember || !ls->made_dir || strcmp(ls->made_dir, path) != 0) {
        rc = qr_fs_mkdirs(path, 0755, err);
        free(ls->made_dir);
        ls->made_dir = rc == 0 && remember ? strdup(path) : NULL;
    }
    *slash = '/';
    return rc;
}

static int put(local_store *ls, const char *key, const void *data, size_t len, bool deferred,
               qr_error *err)
{
    char *path = NULL;
    int rc = object_path(&path, ls, key, err);
    if (rc < 0)
        goto out;
    if ((rc = make_parent(ls, path, deferred, err)) < 0)
        goto out;
    if (!deferred) {
        rc = qr_fs_write_atomic(path, data, len, 0644, err);
    } else {
        ls->dirty = true;
        rc = qr_fs_write_replace(path, data, len, 0644, err);
        /* The remembered folder was removed meanwhile: make it again, once. */
        if (rc < 0 && err->cause == ENOENT && (rc = make_parent(ls, path, false, err)) == 0)
            rc = qr_fs_write_replace(path, data, len, 0644, err);
    }
    if (rc < 0)
        qr_error_set_context(err, "%s", path);
out:
    free(path);
    return rc;
}

static int local_put(void *ctx, const char *key, const void *data, size_t len, qr_error *err)
{
    return put(ctx, key, data, len, false, err);
}

/* Written and renamed into place, but synced once for all by local_sync. */
static int local_put_deferred(void *ctx, const char *key, const void *data, size_t len,
                              qr_error *err)
{
    return put(ctx, key, data, len, true, err);
}

/* One syncfs for every deferred put since the last: their data and their renames. */
static int local_sync(void *ctx, qr_error *err)
{
    local_store *ls = ctx;
    if (!ls->dirty)
        return 0;
    int rc = qr_fs_sync_fs(ls->root, err);
    if (rc == 0)
        ls->dirty = false;
    return rc;
}

static int local_get(void *ctx, const char *key, qr_buf *out, qr_error *err)
{
    char *path = NULL;
    int rc = object_path(&path, ctx, key, err);
    if (rc < 0)
        goto out;
    /* A missing object is source-not-found (qr_buf_read_file maps ENOENT). */
    rc = qr_buf_read_file(out, path, "store", err);
    if (rc < 0)
        qr_error_set_context(err, "%s", key);
out:
    free(path);
    return rc;
}

static int local_exists(void *ctx, const char *key, bool *out, qr_error *err)
{
    char *path = NULL;
    *out = false;
    int rc = object_path(&path, ctx, key, err);
    if (rc < 0)
        return rc;
    struct stat sb;
    if (stat(path, &sb) == 0) {
        *out = S_ISREG(sb.st_mode);
    } else if (errno != ENOENT && errno != ENOTDIR) {
        rc = qr_error_set_cause(err, QR_ERR_IO, errno, "store", "cannot stat %s: %s", key,
                                strerror(errno));
        qr_error_set_context(err, "%s", path);
    }
    free(path);
    return rc;
}

static int local_remove(void *ctx, const char *key, qr_error *err)
{
    char *path = NULL;
    int rc = object_path(&path, ctx, key, err);
    if (rc < 0)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT) {
        rc = qr_error_set_cause(err, QR_ERR_IO, errno, "store", "cannot remove %s: %s", key,
                                strerror(errno));
        qr_error_set_context(err, "%s", path);
    }
    free(path);
    return rc;
}

/* Streams `path` into the object: a temporary file beside it, fsync, rename. */
static int local_put_file(void *ctx, const char *key, const char *path, qr_error *err)
{
    char *dst = NULL, *tmp = NULL;
    char *buf = NULL;
    int in = -1, out = -1;
    int rc = object_path(&dst, ctx, key, err);
    if (rc < 0)
        goto out;
    char *slash = strrchr(dst, '/');
    *slash = '\0';
    rc = qr_fs_mkdirs(dst, 0755, err);
    *slash = '/';
    if (rc < 0)
        goto out;
    size_t n = strlen(dst) + 16;
    tmp = malloc(n);
    buf = malloc(1 << 16);
    if (!tmp || !buf) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "store", "out of memory");
        goto out;
    }
    snprintf(tmp, n, "%s.tmp-XXXXXX", dst);
    if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = qr_error_set_cause(err, errno == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, errno,
                                "store", "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if ((out = mkstemp(tmp)) < 0 || fchmod(out, 0644) != 0) {
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "store", "cannot create %s: %s",
                                tmp, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t r = read(in, buf, 1 << 16);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = qr_error_set_cause(err, QR_ERR_IO, errno, "store", "cannot read %s: %s", path,
                                    strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        for (ssize_t w = 0; w < r;) {
            ssize_t k = write(out, buf + w, (size_t)(r - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "store",
                                        "cannot write %s: %s", key, strerror(errno));
                goto out;
            }
            w += k;
        }
    }
    if (fsync(out) != 0 || close(out) != 0) {
        out = -1;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "store", "cannot write %s: %s",
                                key, strerror(errno));
        goto out;
    }
    out = -1;
    if (rename(tmp, dst) != 0)
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "store",
                                "cannot rename into %s: %s", key, strerror(errno));
out:
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    if (rc < 0 && tmp && tmp[0])
        unlink(tmp);
    if (rc < 0)
        qr_error_set_context(err, "%s", dst ? dst : key);
    free(buf);
    free(tmp);
    free(dst);
    return rc;
}

static void local_free(void *ctx)
{
    local_store *ls = ctx;
    if (!ls)
        return;
    free(ls->root);
    free(ls->made_dir);
    free(ls);
}

static const qr_store_ops local_ops = {.put = local_put,
                                       .get = local_get,
                                       .exists = local_exists,
                                       .remove = local_remove,
                                       .free = local_free,
                                       .put_file = local_put_file,
                                       .put_deferred = local_put_deferred,
                                       .sync = local_sync};

int qr_store_local_new(qr_store **out, const char *root, qr_error *err)
{
    local_store *ls = NULL;
    *out = NULL;
    if (!root || !root[0])
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "store", "no store directory");
    int rc = qr_fs_mkdirs(root, 0755, err);
    if (rc < 0) {
        qr_error_set_context(err, "%s", root);
        return rc;
    }
    ls = calloc(1, sizeof(*ls));
    if (ls)
        ls->root = strdup(root);
    if (!ls || !ls->root) {
        local_free(ls);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "store", "out of memory");
    }
    /* A trailing '/' would double in object paths. */
    size_t n = strlen(ls->root);
    while (n > 1 && ls->root[n - 1] == '/')
        ls->root[--n] = '\0';
    *out = qr_store_new(&local_ops, ls);
    if (!*out) {
        local_free(ls);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "store", "out of memory");
    }
    return 0;
}
