/*
 * Books as inputs, and their compression: format detection by content, the
 * opened book (parsed once, its warnings kept), and the EPUB and PDF
 * compressors (`quire compress`, and the first stage of `quire process`).
 * docs/internals/compress.md explains the code.
 */
#ifndef QR_COMPRESS_H
#define QR_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "qr/config.h"
#include "qr/epub.h"
#include "qr/error.h"
#include "qr/pdf.h"
#include "qr/warn.h"

typedef enum qr_format { QR_FORMAT_UNKNOWN = 0, QR_FORMAT_EPUB = 1, QR_FORMAT_PDF = 2 } qr_format;

/*
 * Detects the format of the file at `path` by content (ZIP with an EPUB
 * mimetype or container.xml → EPUB; "%PDF-" within the first 1024 bytes →
 * PDF). Errors: source-not-found, io. An unrecognised file is not an error
 * here: *out is QR_FORMAT_UNKNOWN.
 */
int qr_detect_format(qr_format *out, const char *path, qr_error *err) QR_WUR;
/* Detection over the first bytes of a file. */
qr_format qr_detect_format_buffer(const void *data, size_t len);
const char *qr_format_str(qr_format f);

/* ---- an opened book ---- */

typedef struct qr_book qr_book;

typedef struct qr_book_opts {
    qr_limits limits;
    qr_format want;        /* QR_FORMAT_UNKNOWN: EPUB or PDF; else only that format */
    qr_warnings *warnings; /* borrowed; receives what the parse repairs (may be NULL) */
} qr_book_opts;

#define QR_BOOK_OPTS_INIT                                                                          \
    {                                                                                              \
        .limits = QR_LIMITS_INIT, .want = QR_FORMAT_UNKNOWN, .warnings = NULL                      \
    }

/*
 * Opens the book at `path` once: its size, its format by content, then the
 * whole parse of that format (qr_epub_open or qr_pdf_open), whose warnings go
 * to opts->warnings. Every later stage reads the book from this object.
 * Errors: source-not-found, io, input-too-large (limits.max_input_bytes),
 * unsupported-format (neither an EPUB nor a PDF, or not opts->want), and
 * every id of qr_epub_open or qr_pdf_open.
 */
int qr_book_open(qr_book **out, const char *path, const qr_book_opts *opts, qr_error *err) QR_WUR;
void qr_book_free(qr_book *b);

qr_format qr_book_format(const qr_book *b);
const char *qr_book_path(const qr_book *b);
/* Size of the file in bytes, as found at open. */
uint64_t qr_book_size(const qr_book *b);
/* The parsed EPUB (borrowed), or NULL for a PDF. */
const qr_epub *qr_book_epub(const qr_book *b);
/*
 * The open PDF (borrowed), or NULL for an EPUB. Not const: compressing a
 * PDF rewrites its images in place (qr_pdf_compress_open).
 */
qr_pdf *qr_book_pdf(qr_book *b);

/* ---- compression ---- */

/* Bytes by media type; sizes are as stored in the ZIP (compressed). */
typedef struct qr_type_stats {
    char type[96];
    uint64_t count;
    uint64_t changed;
    uint64_t bytes_in;
    uint64_t bytes_out;
} qr_type_stats;

/* One text entry rewritten because images it refers to were renamed. */
typedef struct qr_compress_rewrite {
    char *path;  /* entry name */
    size_t refs; /* references rewritten in it */
} qr_compress_rewrite;

typedef struct qr_compress_report {
    const qr_profile *profile;
    uint64_t file_bytes_in;  /* size of the input file */
    uint64_t file_bytes_out; /* size of the output file */
    qr_type_stats *types;    /* sorted by bytes_in, descending */
    size_t ntypes;
    size_t images_total;   /* manifest images (by content or media type) */
    size_t images_changed; /* re-encoded smaller */
    size_t images_kept;    /* re-encoding did not pay, or skipped on purpose */
    size_t images_estimated; /* of images_kept: not encoded, a trial said it would not pay */
    size_t images_failed;  /* could not be decoded/encoded: kept, with a warning */
    int threads;
    double wall_seconds;
    double image_seconds; /* wall time of the parallel image stage */
    uint64_t peak_rss_bytes;
    qr_warnings *warnings; /* owned by the report */
    qr_format format;      /* QR_FORMAT_EPUB or QR_FORMAT_PDF */
    uint32_t pages;        /* PDF: page count (0 for EPUB) */
    /* The -jpeg profiles (docs/profiles.md): PNG photographs now JPEG, and the text entries
     * whose references were rewritten (owned by the report). */
    size_t images_to_jpeg;
    qr_compress_rewrite *rewrites;
    size_t nrewrites;
} qr_compress_report;

void qr_compress_report_free(qr_compress_report *r);

/*
 * Compresses the open book `b` into `out_path` (written atomically; an
 * existing file is replaced only on success; the input file itself is
 * refused), checking first that the output's directory is writable and has
 * room for a book the size of the input. EPUB: every image recompressed on
 * opts->threads threads under the profile, kept only when smaller, then the
 * container rebuilt (qr_repack_write). PDF: qr_pdf_compress_open (object
 * streams, compressed streams, and under lossy profiles smaller JPEG
 * images; the open PDF is rewritten in place; with `out_path` NULL, allowed
 * for a PDF only, nothing is written and the caller works from the open
 * document, file_bytes_out 0). Warnings go to `w` (may be
 * NULL); the report's `warnings` is NULL. On success *out holds the report
 * (qr_compress_report_free). Errors: write-failed, disk-full, io,
 * invalid-argument, out-of-memory, and for a PDF those of
 * qr_pdf_compress_open.
 */
int qr_compress_book(qr_compress_report **out, qr_book *b, const char *out_path,
                     const qr_compress_opts *opts, qr_warnings *w, qr_error *err) QR_WUR;

/*
 * Opens the book at `in_path` (qr_book_open: `want`, or either format for
 * QR_FORMAT_UNKNOWN) and compresses it into `out_path` (qr_compress_book).
 * On success *out holds the report with every warning (the parse's and
 * compression's) in report->warnings. On failure *out is NULL and, when
 * `warnings_on_error` is non-NULL, it receives the warnings recorded before
 * the failure (caller frees them). Errors: those of qr_book_open and
 * qr_compress_book.
 */
int qr_compress_file(qr_compress_report **out, const char *in_path, const char *out_path,
                     qr_format want, const qr_compress_opts *opts, qr_warnings **warnings_on_error,
                     qr_error *err) QR_WUR;

/*
 * Opens the EPUB at `in_path` (qr_book_open, EPUB only) and compresses it
 * into `out_path` (qr_compress_book). On success *out holds the report with
 * every warning (ingest and images) in report->warnings. On failure *out is
 * NULL and, when `warnings_on_error` is non-NULL, it receives the warnings
 * recorded before the failure (caller frees them).
 * Errors: those of qr_book_open and qr_compress_book; unsupported-format for
 * a PDF or anything else.
 */
int qr_compress_epub(qr_compress_report **out, const char *in_path, const char *out_path,
                     const qr_compress_opts *opts, qr_warnings **warnings_on_error,
                     qr_error *err) QR_WUR;

/*
 * As qr_compress_epub for a PDF: images_total counts image XObjects,
 * images_changed the re-encoded ones, images_failed those that could not be
 * re-encoded (kept, with a warning); `types` is empty. Errors: those of
 * qr_book_open (drm-protected, pdf-damaged, unsupported-format ...) and
 * qr_compress_book.
 */
int qr_compress_pdf(qr_compress_report **out, const char *in_path, const char *out_path,
                    const qr_compress_opts *opts, qr_warnings **warnings_on_error,
                    qr_error *err) QR_WUR;

#endif
