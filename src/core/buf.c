/* Bounded growable buffer. */
#include "qr/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void qr_buf_init(qr_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void qr_buf_free(qr_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void qr_buf_reset(qr_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

int qr_buf_reserve(qr_buf *b, size_t extra, qr_error *err)
{
    if (extra > b->max || b->len > b->max - extra)
        return qr_error_set(err, QR_ERR_ENTRY_TOO_LARGE, "buf",
                            "buffer would exceed its limit of %zu bytes", b->max);
    size_t need = b->len + extra + 1; /* room for the trailing NUL */
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    uint8_t *n = realloc(b->data, ncap);
    if (!n)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "buf", "cannot grow buffer to %zu bytes",
                            ncap);
    b->data = n;
    b->cap = ncap;
    return 0;
}

int qr_buf_append(qr_buf *b, const void *data, size_t len, qr_error *err)
{
    int rc = qr_buf_reserve(b, len, err);
    if (rc < 0)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int qr_buf_appendf(qr_buf *b, qr_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return qr_error_set(err, QR_ERR_INTERNAL, "buf", "bad format string");
    int rc = qr_buf_reserve(b, (size_t)n, err);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

uint8_t *qr_buf_detach(qr_buf *b, size_t *len_out)
{
    uint8_t *d = b->data;
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return d;
}

int qr_buf_read_file(qr_buf *b, const char *path, const char *stage, qr_error *err)
{
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return qr_error_set_cause(err, e == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, e, stage,
                                  "cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if ((uint64_t)st.st_size > b->max - b->len) {
            rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, stage,
                              "%s is %lld bytes, over the limit of %zu", path,
                              (long long)st.st_size, b->max);
            goto out;
        }
        rc = qr_buf_reserve(b, (size_t)st.st_size, err);
        if (rc < 0)
            goto out;
    }
    for (;;) {
        uint8_t chunk[65536];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            rc = qr_error_set_cause(err, QR_ERR_IO, e, stage, "cannot read %s: %s", path,
                                    strerror(e));
            goto out;
        }
        if (n == 0)
            break;
        /* Pipes, devices and files that grow while read are held to the same limit. */
        if ((size_t)n > b->max - b->len) {
            rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, stage,
                              "%s is larger than the limit of %zu bytes", path, b->max);
            goto out;
        }
        rc = qr_buf_append(b, chunk, (size_t)n, err);
        if (rc < 0)
            goto out;
    }
out:
    close(fd);
    return rc;
}
