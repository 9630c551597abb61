/* qr_http_fetch_file: a GET into a private temporary file, renamed into place on success. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net_internal.h"

/* Makes `dir` of `path` durable after the rename (best effort where unsupported). */
static int sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r == 0 || errno == EINVAL ? 0 : -1;
}

int qr_http_fetch_file(const qr_http_opts *opts, const char *url, const char *path,
                       uint64_t *bytes_out, qr_error *err)
{
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    char *tmp = NULL, *copy = NULL, *redacted = NULL;
    int fd = -1, rc = 0;

    if (bytes_out)
        *bytes_out = 0;
    if (!url || !path || !*path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net", "fetch needs a URL and a path");
    if (!(copy = strdup(path))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
        goto out;
    }
    /* Next to the target so the final rename stays within one filesystem. */
    size_t len = strlen(path) + 16;
    if (!(tmp = malloc(len))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
        goto out;
    }
    char *slash = strrchr(copy, '/');
    if (slash)
        snprintf(tmp, len, "%.*s/.%s.XXXXXX", (int)(slash - copy), copy, slash + 1);
    else
        snprintf(tmp, len, ".%s.XXXXXX", copy);
    /* mkstemp creates the file 0600. */
    if ((fd = mkstemp(tmp)) < 0) {
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "net",
                                "cannot create a temporary file next to %s: %s", path,
                                strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    req.method = "GET";
    req.url = url;
    resp.body_fd = fd;
    if ((rc = qr_http_perform(opts, &req, &resp, err)) < 0)
        goto out;
    if (resp.status < 200 || resp.status > 299) {
        if (!(redacted = qr_http_redact_url(url))) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
            goto out;
        }
        qr_errid id = QR_ERR_REMOTE_ERROR;
        if (resp.status == 404 || resp.status == 410)
            id = QR_ERR_SOURCE_NOT_FOUND;
        else if (resp.status == 401 || resp.status == 403)
            id = QR_ERR_ACCESS_DENIED;
        rc = qr_error_set(err, id, "net", "GET %s: HTTP %ld (final URL %s) after %u attempts",
                          redacted, resp.status, resp.final_url ? resp.final_url : redacted,
                          resp.attempts);
        goto out;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "net", "cannot write %s: %s", path,
                                strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "net", "cannot rename into %s: %s",
                                path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    if (sync_dir(path) < 0) {
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, errno, "net",
                                "cannot sync the directory of %s: %s", path, strerror(errno));
        goto out;
    }
    if (bytes_out)
        *bytes_out = resp.body_bytes;
out:
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
    free(tmp);
    free(redacted);
    free(copy);
    qr_http_response_free(&resp);
    return rc;
}
