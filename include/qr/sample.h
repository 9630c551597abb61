/*
 * A sample book generated from nothing: text chapters, a navigation document,
 * an NCX, a stylesheet, and photographic JPEG and PNG images drawn with
 * libvips. Used by the README's first command and by tests that need a
 * realistic book without the shared corpus. Deterministic for given options.
 */
#ifndef QR_SAMPLE_H
#define QR_SAMPLE_H

#include <stdint.h>

#include "qr/error.h"

typedef struct qr_sample_opts {
    int chapters;    /* XHTML chapters (>= 1) */
    int images;      /* images spread over the chapters (JPEG and PNG alternate) */
    int image_width; /* pixel size of the generated images */
    int image_height;
    uint32_t seed; /* varies text and pictures */
    const char *title;
    const char *identifier; /* dc:identifier, e.g. "urn:uuid:..." */
    int threads;            /* pictures drawn at once; 0: one per online CPU (max 16).
                               The output bytes do not depend on it. */
} qr_sample_opts;

#define QR_SAMPLE_OPTS_INIT                                                                        \
    {                                                                                              \
        .chapters = 12, .images = 8, .image_width = 3200, .image_height = 2400, .seed = 1,         \
        .title = "The Quire Sample Book",                                                          \
        .identifier = "urn:uuid:6f1f3c2e-8a1d-4b8e-9a57-0c2d51b0a001", .threads = 0                \
    }

/*
 * Writes the EPUB to `path`, replacing any existing file atomically (libzip
 * writes a temporary file beside it and renames it). Pictures are drawn into
 * a temporary work directory beside `path`, removed before returning.
 * libvips must be initialised (qr_image_global_init).
 *
 * Limits: chapters 1..500, images 0..200, image sides 16..10000 pixels,
 * title and identifier non-empty, threads 0..16.
 * Errors: invalid-argument (options out of range), image-encode (libvips
 * failed), write-failed (libzip could not write the archive), io (the work
 * directory cannot be created or removed), out-of-memory.
 */
int qr_sample_book_write(const char *path, const qr_sample_opts *opts, qr_error *err) QR_WUR;

#endif
