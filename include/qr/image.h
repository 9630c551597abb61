/*
 * Image compression with libvips under a named profile (docs/profiles.md).
 *
 * One call handles one image held in memory and is safe to run from many
 * threads at once. The format and file name never change (except under the
 * -jpeg profiles, see qr_image_result.to_jpeg); the result is
 * kept only when it is smaller. Animated images, SVG and anything that is not
 * JPEG, PNG, GIF or WebP are left byte-identical.
 */
#ifndef QR_IMAGE_H
#define QR_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/config.h"
#include "qr/error.h"

typedef enum qr_image_outcome {
    QR_IMAGE_CHANGED = 0, /* *out holds smaller bytes of the same format */
    QR_IMAGE_NOT_SMALLER, /* re-encoding did not pay: keep the original */
    QR_IMAGE_SKIPPED,     /* not touched on purpose (animated, SVG, unknown format, ...) */
} qr_image_outcome;

typedef struct qr_image_result {
    qr_image_outcome outcome;
    const char *format; /* "jpeg", "png", "gif", "webp", "svg", "unknown" (static) */
    const char *reason; /* static, why it was skipped or kept: "animated", "svg", ... or "" */
    int width, height;  /* as decoded (0 if not decoded) */
    int out_width, out_height;  /* after resizing (== width/height if not resized) */
    size_t in_bytes, out_bytes; /* out_bytes == in_bytes unless CHANGED */
    /* CHANGED under a png_photo_to_jpeg profile: a PNG photograph now JPEG bytes. The caller
     * renames the entry and rewrites its references (docs/profiles.md). */
    bool to_jpeg;
} qr_image_result;

typedef struct qr_image_opts {
    const qr_profile *profile; /* NULL: tablet */
    uint64_t max_pixels;       /* refuse to decode images declaring more (decompression bombs) */
} qr_image_opts;

#define QR_IMAGE_OPTS_INIT                                                                         \
    {                                                                                              \
        .profile = NULL, .max_pixels = UINT64_C(200000000)                                         \
    }

/*
 * Compresses one image. On QR_IMAGE_CHANGED `out` holds the new bytes; on any
 * other outcome `out` is left empty and the caller keeps the original.
 * `media_type` is the declared type (may be NULL); detection is by content.
 *
 * Errors (ids): image-too-large (declared pixels over max_pixels),
 * image-decode (corrupt or truncated data), image-encode, out-of-memory.
 * Errors concern this image only; callers keep the original bytes and warn.
 */
int qr_image_compress(qr_buf *out, qr_image_result *res, const uint8_t *in, size_t in_len,
                      const char *media_type, const qr_image_opts *opts, qr_error *err) QR_WUR;

typedef struct qr_image_info {
    const char *format; /* static, as in qr_image_result */
    int width, height;
    int bands;
    int pages; /* frames for animated GIF/WebP, 1 otherwise */
} qr_image_info;

/* Reads the header only (no pixel decode). Errors: image-decode. */
int qr_image_probe(qr_image_info *out, const uint8_t *in, size_t in_len, qr_error *err) QR_WUR;

/*
 * Process-wide libvips set-up, called by main (and by each forked child):
 * VIPS_INIT without libvips' loadable modules (unless VIPSHOME is set),
 * cache off, per-operation threading. Call it while the process has one
 * thread: it sets VIPSHOME for the duration of VIPS_INIT.
 */
int qr_image_global_init(const char *argv0, qr_error *err) QR_WUR;
void qr_image_global_shutdown(void);

/*
 * The `quire` binary loads libvips (the module quire-vips.so) on the first
 * call that needs pixels (src/vipsmod/vipsmod_load.c); a stage calls this
 * before starting its threads, so that happens on its own thread and a module
 * that cannot be loaded fails the stage once, not each image. Where libvips
 * is linked in (the static library: tests, fuzzers) it returns 0.
 * Errors: internal (the module is missing, from another build, or libvips
 * failed to start; the message says which).
 */
int qr_image_ready(qr_error *err) QR_WUR;

/* The version of the libvips loaded at run time ("8.14.1"). */
const char *qr_image_library_version(void);

#endif
