/* Format detection by content, never by file name. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "qr/compress.h"

qr_format qr_detect_format_buffer(const void *data, size_t len)
{
    const unsigned char *p = data;
    /* A ZIP local header or an empty archive's end record: EPUB candidates. */
    if (len >= 4 && p[0] == 'P' && p[1] == 'K' &&
        ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6)))
        return QR_FORMAT_EPUB;
    /* PDF readers accept the header anywhere in the first 1024 bytes. */
    size_t scan = len < 1024 ? len : 1024;
    for (size_t i = 0; i + 5 <= scan; i++)
        if (memcmp(p + i, "%PDF-", 5) == 0)
            return QR_FORMAT_PDF;
    return QR_FORMAT_UNKNOWN;
}

int qr_detect_format(qr_format *out, const char *path, qr_error *err)
{
    *out = QR_FORMAT_UNKNOWN;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return qr_error_set_cause(err, e == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, e,
                                  "detect", "cannot open %s: %s", path, strerror(e));
    }
    unsigned char head[1024];
    size_t got = 0;
    while (got < sizeof(head)) {
        ssize_t n = read(fd, head + got, sizeof(head) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return qr_error_set_cause(err, QR_ERR_IO, e, "detect", "cannot read %s: %s", path,
                                      strerror(e));
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *out = qr_detect_format_buffer(head, got);
    return 0;
}

const char *qr_format_str(qr_format f)
{
    switch (f) {
    case QR_FORMAT_EPUB:
        return "epub";
    case QR_FORMAT_PDF:
        return "pdf";
    default:
        return "unknown";
    }
}
