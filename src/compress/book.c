/*
 * An opened book (qr/compress.h): the format found by content, then one
 * parse of that format. Every stage after this reads the book from the
 * object; nothing opens the input again.
 */
#include <stdlib.h>
#include <string.h>

#include "qr/compress.h"
#include "qr/log.h"

struct qr_book {
    char *path;
    qr_format format;
    uint64_t size;
    qr_epub *epub;
    qr_pdf *pdf;
};

int qr_book_open(qr_book **out, const char *path, const qr_book_opts *opts, qr_error *err)
{
    qr_book_opts def = QR_BOOK_OPTS_INIT;
    qr_book *b = NULL;
    int rc = 0;
    *out = NULL;
    if (!opts)
        opts = &def;
    if (!path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "detect", "no input");
    b = calloc(1, sizeof(*b));
    if (!b || !(b->path = strdup(path))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "detect", "out of memory");
        goto out;
    }
    rc = qr_detect_format(&b->format, path, err);
    if (rc < 0)
        goto out;
    if (b->format == QR_FORMAT_UNKNOWN ||
        (opts->want != QR_FORMAT_UNKNOWN && b->format != opts->want)) {
        rc = qr_error_set(err, QR_ERR_UNSUPPORTED_FORMAT, "detect", "%s is %s", path,
                          b->format == QR_FORMAT_UNKNOWN ? "neither an EPUB nor a PDF"
                          : opts->want == QR_FORMAT_EPUB ? "a PDF, not an EPUB"
                                                         : "an EPUB, not a PDF");
        goto out;
    }
    if (b->format == QR_FORMAT_EPUB) {
        qr_epub_opts eo = QR_EPUB_OPTS_INIT;
        eo.limits = opts->limits;
        eo.warnings = opts->warnings;
        rc = qr_epub_open(&b->epub, path, &eo, err);
        if (rc == 0)
            b->size = qr_epub_get_info(b->epub)->file_bytes;
    } else {
        rc = qr_pdf_open(&b->pdf, path, &opts->limits, opts->warnings, err);
        if (rc == 0)
            b->size = qr_pdf_info_get(b->pdf)->file_bytes;
    }
    if (rc < 0)
        goto out;
    *out = b;
    b = NULL;
out:
    qr_book_free(b);
    return rc;
}

void qr_book_free(qr_book *b)
{
    if (!b)
        return;
    qr_epub_free(b->epub);
    qr_pdf_close(b->pdf);
    free(b->path);
    free(b);
}

qr_format qr_book_format(const qr_book *b)
{
    return b ? b->format : QR_FORMAT_UNKNOWN;
}

const char *qr_book_path(const qr_book *b)
{
    return b ? b->path : NULL;
}

uint64_t qr_book_size(const qr_book *b)
{
    return b ? b->size : 0;
}

const qr_epub *qr_book_epub(const qr_book *b)
{
    return b ? b->epub : NULL;
}

qr_pdf *qr_book_pdf(qr_book *b)
{
    return b ? b->pdf : NULL;
}
