/*
 * qr_process_source: the one way a book gets from where it is to a
 * published package, used by `quire process` and by the worker's child.
 * A local path is checked against the source directory; an s3:// or
 * https:// source is fetched into its own work directory first (free space
 * checked, streamed, under the remote's network policy); the book is
 * processed (process.c); what was fetched is removed whatever the outcome.
 */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "package_internal.h"
#include "qr/fs.h"
#include "qr/http.h"
#include "qr/log.h"

/*
 * A local source: as given, or with a source directory, its real path,
 * which must lie inside that directory (symbolic links resolved, so a link
 * cannot lead out). *path is malloc'd.
 */
static int local_source(char **path, const char *source, const char *source_dir, qr_error *err)
{
    if (!source_dir) {
        *path = strdup(source);
        return *path ? 0 : qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "fetch", "out of memory");
    }
    char *real = realpath(source, NULL);
    if (!real)
        return qr_error_set_cause(err, QR_ERR_SOURCE_NOT_FOUND, errno, "fetch",
                                  "cannot open the source %s: %s", source, strerror(errno));
    char *root = realpath(source_dir, NULL);
    size_t n = root ? strlen(root) : 0;
    bool inside =
        root && strncmp(real, root, n) == 0 && (real[n] == '/' || (n == 1 && root[0] == '/'));
    free(root);
    if (!inside) {
        free(real);
        return qr_error_set(err, QR_ERR_UNSAFE_PATH, "fetch",
                            "the source %s is outside the source directory %s", source, source_dir);
    }
    *path = real;
    return 0;
}

int qr_process_source(qr_process_report **out, const char *source, qr_remote *remote,
                      const qr_store *store, const char *prefix, const qr_keyring *k,
                      const qr_process_opts *opts, qr_warnings **warnings_on_error, qr_error *err)
{
    qr_process_opts def = QR_PROCESS_OPTS_INIT;
    const qr_process_opts *o = opts ? opts : &def;
    char *path = NULL, *fetch_dir = NULL;
    uint64_t fetched = 0;
    int rc = 0;
    *out = NULL;
    if (warnings_on_error)
        *warnings_on_error = NULL;
    if (!source)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fetch", "no source");
    qr_remote_kind kind = qr_remote_classify(source);
    if (kind == QR_REMOTE_LOCAL) {
        rc = local_source(&path, source, o->source_dir, err);
    } else if (!remote || kind == QR_REMOTE_OTHER) {
        char *safe = qr_http_redact_url(source);
        rc = qr_error_set(
            err, QR_ERR_SOURCE_FORBIDDEN, "fetch", "%s sources are not fetched here: %s",
            kind == QR_REMOTE_OTHER ? "such" : "remote", safe ? safe : "(unprintable URL)");
        free(safe);
    } else {
        rc = qr_workdir_create(&fetch_dir, o->work_parent, "fetch", err);
        if (rc == 0)
            rc = qr_remote_fetch(remote, source, fetch_dir, &path, &fetched, err);
        if (rc == 0)
            qr_log(QR_LOG_INFO, "fetch", "fetched %llu bytes", (unsigned long long)fetched);
    }
    if (rc == 0)
        rc = qr_process_book(out, path, store, prefix, k, o, warnings_on_error, err);
    if (fetch_dir) {
        qr_error we = QR_ERROR_INIT;
        if (qr_workdir_remove(fetch_dir, &we) < 0)
            qr_log(QR_LOG_WARN, "fetch", "%s", we.msg);
    }
    free(fetch_dir);
    free(path);
    return rc;
}
