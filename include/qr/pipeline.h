/*
 * The pipeline: the only place that orders stages. For this release it
 * detects the format and runs EPUB compression (ingest, images in parallel,
 * repackaging); slicing, encryption and publishing come with `quire process`.
 */
#ifndef QR_PIPELINE_H
#define QR_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "qr/config.h"
#include "qr/error.h"
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

/* Progress: `done` of `total` units (images) finished; `item` names the last one. */
typedef void (*qr_progress_fn)(void *ud, size_t done, size_t total, const char *item);

typedef struct qr_compress_opts {
    const qr_profile *profile; /* NULL: tablet */
    qr_limits limits;
    int threads;               /* image workers; 0: one per online CPU */
    const char *work_parent;   /* where the per-job work directory goes; NULL: /tmp */
    qr_progress_fn progress;   /* may be NULL; called from worker threads, serialised */
    void *progress_ud;
} qr_compress_opts;

#define QR_COMPRESS_OPTS_INIT {NULL, QR_LIMITS_INIT, 0, NULL, NULL, NULL}

/* Bytes by media type; sizes are as stored in the ZIP (compressed). */
typedef struct qr_type_stats {
    char type[96];
    uint64_t count;
    uint64_t changed;
    uint64_t bytes_in;
    uint64_t bytes_out;
} qr_type_stats;

typedef struct qr_compress_report {
    const qr_profile *profile;
    uint64_t file_bytes_in;   /* size of the input file */
    uint64_t file_bytes_out;  /* size of the output file */
    qr_type_stats *types;     /* sorted by bytes_in, descending */
    size_t ntypes;
    size_t images_total;      /* manifest images (by content or media type) */
    size_t images_changed;    /* re-encoded smaller */
    size_t images_kept;       /* re-encoding did not pay, or skipped on purpose */
    size_t images_failed;     /* could not be decoded/encoded: kept, with a warning */
    int threads;
    double wall_seconds;
    double image_seconds;     /* wall time of the parallel image stage */
    uint64_t peak_rss_bytes;
    qr_warnings *warnings;    /* owned by the report */
    qr_format format;         /* QR_FORMAT_EPUB or QR_FORMAT_PDF */
    uint32_t pages;           /* PDF: page count (0 for EPUB) */
} qr_compress_report;

void qr_compress_report_free(qr_compress_report *r);

/*
 * Compresses the EPUB at `in_path` into `out_path` (written atomically; an
 * existing file is replaced only on success; in_path == out_path is refused).
 * On success *out holds the report (free with qr_compress_report_free). On
 * failure *out is NULL and, when `warnings_on_error` is non-NULL, it receives
 * the warnings recorded before the failure (caller frees them).
 * Errors: every id of qr_epub_open, plus write-failed, disk-full, io,
 * unsupported-format (not an EPUB), invalid-argument.
 */
int qr_compress_epub(qr_compress_report **out, const char *in_path, const char *out_path,
                     const qr_compress_opts *opts, qr_warnings **warnings_on_error,
                     qr_error *err) QR_WUR;

/*
 * Compresses the PDF at `in_path` into `out_path` (qr_pdf_compress: object
 * streams, compressed streams, and under lossy profiles smaller JPEG
 * images), with the same report and failure contract as qr_compress_epub.
 * images_total counts image XObjects, images_changed the re-encoded ones,
 * images_failed those that could not be re-encoded (kept, with a warning);
 * `types` is empty. Errors: every id of qr_pdf_open (drm-protected,
 * pdf-damaged, unsupported-format ...), plus write-failed, disk-full, io,
 * invalid-argument.
 */
int qr_compress_pdf(qr_compress_report **out, const char *in_path, const char *out_path,
                    const qr_compress_opts *opts, qr_warnings **warnings_on_error,
                    qr_error *err) QR_WUR;

#endif
