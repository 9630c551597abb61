/*
 * Internals of the image stage (docs/internals/image.md). Only the files of src/image/
 * and the image unit tests include this. libvips' varargs calls stay inside
 * src/image/: these typed helpers are the only way in.
 */
#ifndef QR_IMAGE_INTERNAL_H
#define QR_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/config.h"
#include "qr/error.h"
#include "qr/image.h"

#define QR_IMAGE_STAGE "image"

typedef enum qr_image__format {
    QR_IMAGE_FMT_UNKNOWN = 0,
    QR_IMAGE_FMT_JPEG,
    QR_IMAGE_FMT_PNG,
    QR_IMAGE_FMT_GIF,
    QR_IMAGE_FMT_WEBP,
    QR_IMAGE_FMT_SVG
} qr_image__format;

/* What the first bytes say, read without any decoder (detect.c). */
typedef struct qr_image__sniff {
    qr_image__format format;
    int png_bit_depth;  /* IHDR bit depth, 0 if not PNG or no IHDR */
    int png_color_type; /* IHDR colour type (3 = palette), -1 if unknown */
    bool png_animated;  /* APNG: acTL chunk before the first IDAT */
    bool png_trns;      /* a tRNS chunk (transparency without an alpha channel) */
    /* A chunk other than IDAT that declares more bytes than the input holds
     * (png_overrun_type names it, png_overrun_len is its declared length). */
    bool png_overrun;
    char png_overrun_type[5];
    uint32_t png_overrun_len;
    bool webp_lossless; /* the WebP bitstream is VP8L */
} qr_image__sniff;

/* Fills `out` from the magic bytes; never fails (unknown is a format too). */
void qr_image__sniff_buffer(qr_image__sniff *out, const uint8_t *in, size_t len);
/* Static name as reported in qr_image_result.format. */
const char *qr_image__format_name(qr_image__format f);

/*
 * Translates the libvips error buffer into `err` (id `id`, message `what:
 * <vips text>`), then clears it. The buffer is process-global: under
 * concurrency its text may include another thread's message, which is
 * accepted; it is copied under libvips' lock so reading it never races.
 */
int qr_image__error_from_vips(qr_error *err, qr_errid id, const char *what);

/* Header facts beyond qr_image_info that the encoders need. */
typedef struct qr_image__header {
    qr_image_info info;
    bool cmyk; /* 4-band CMYK (JPEG): must not go through vips_thumbnail */
} qr_image__header;

/*
 * Reads the header only (sequential access, no pixel decode) of a JPEG,
 * PNG, GIF or WebP whose format `sniff` already established.
 * Errors: image-decode.
 */
int qr_image__read_header(qr_image__header *out, const qr_image__sniff *sniff, const uint8_t *in,
                          size_t len, qr_error *err);

/* Encoded bytes owned by libvips or libjpeg glue: release with qr_image__blob_free. */
typedef struct qr_image__blob {
    void *data; /* g_malloc'd */
    size_t len;
    int width, height; /* of the encoded image */
    bool to_jpeg;      /* a PNG photograph encoded as JPEG (png_photo_to_jpeg profiles) */
    /* How a lossy encode resized (encode.c, for the tests): the 8-bit path of a nearly opaque
     * alpha PNG rather than vips_thumbnail's premultiplied float path. */
    bool resized_opaque;
    /* PNG trial (encode.c): the filter written, and true when the encode was skipped because
     * the trial estimated the result at more than QR_PNG_SKIP_RATIO of the source (then
     * `data` is NULL). */
    int png_filter;
    bool png_estimated;
} qr_image__blob;

/*
 * An 8-bit PNG with an alpha band whose smallest alpha is at least this is resized as
 * 8-bit samples without premultiplying (docs/internals/image.md): the colour error of
 * not premultiplying is below (255-a)/a * 255 * sum|w| < 4 levels for lanczos3, less than
 * the 8-bit path's own rounding.
 */
#define QR_IMAGE_NEARLY_OPAQUE 252

void qr_image__blob_free(qr_image__blob *b);

/*
 * Lossy re-encode (encode.c): shrink so the long edge fits the profile,
 * apply EXIF orientation, encode in the same format at the profile's
 * quality. CMYK JPEGs stay CMYK. Errors: image-decode, image-encode.
 */
int qr_image__encode_lossy(qr_image__blob *out, const qr_image__sniff *sniff,
                           const qr_image__header *hdr, const qr_profile *profile,
                           const uint8_t *in, size_t len, qr_error *err);

/*
 * The photograph criterion of the -jpeg profiles (photo.c, docs/profiles.md),
 * measured on decoded 8-bit pixels (1-4 bands, interleaved, `stride` bytes a
 * row): the fraction of pixels equal to their left neighbour (runs) and the
 * number of distinct colours at 5 bits per channel (at most 32768).
 */
typedef struct qr_image__photo_stats {
    double equal_left; /* 0..1 */
    unsigned colours15;
    bool opaque; /* no alpha band, or alpha 255 everywhere */
    bool grey;   /* 1-2 bands: colours15 counts the 256 grey levels instead */
} qr_image__photo_stats;

#define QR_PHOTO_MAX_EQUAL_LEFT 0.25 /* above: flat areas (diagram, screenshot, line art) */
#define QR_PHOTO_MIN_COLOURS15 512   /* below: few colours (chart, drawing) */
#define QR_PHOTO_MIN_GREYS 96        /* the same for grey images (of 256 levels) */
#define QR_PHOTO_MIN_PIXELS 4096     /* smaller images stay PNG */
#define QR_PHOTO_MAX_JPEG_RATIO 0.70 /* the JPEG must be <= 70% of the best PNG */

void qr_image__photo_measure(qr_image__photo_stats *out, const uint8_t *px, int width,
                             int height, int bands, size_t stride);
/* The pixel half of the criterion (the trial encode is the other): "" if a photo, else why not. */
const char *qr_image__photo_verdict(const qr_image__photo_stats *st, int width, int height);

/*
 * Lossless re-encode of PNG, GIF or WebP (encode.c). `*exact` is false when
 * the only encoding tried could not reproduce every pixel (the blob is then
 * empty and the caller keeps the original). Errors: image-decode, image-encode.
 */
int qr_image__encode_lossless(qr_image__blob *out, bool *exact, const qr_image__sniff *sniff,
                              const qr_image__header *hdr, const qr_profile *profile,
                              const uint8_t *in, size_t len, qr_error *err);

/*
 * PNG trial (encode.c, docs/internals/image.md): QR_PNG_TRIAL_STRIPS strips of
 * QR_PNG_TRIAL_ROWS rows, spread evenly, are encoded with the SUB and PAETH filters and the
 * smaller wins for the whole image. When the pixels are the source's own (no resize), the
 * trial also estimates the whole result from the source's bytes for the same rows, and an
 * estimate above QR_PNG_SKIP_RATIO times the source skips the encode.
 */
#define QR_PNG_TRIAL_STRIPS 3
#define QR_PNG_TRIAL_ROWS 16
#define QR_PNG_SKIP_RATIO 1.10

/*
 * Compressed bytes the PNG `in` spends on rows [y0[k], y0[k] + rows) for each of `nstrips`
 * strips (ascending, not overlapping), into strip_bytes[k]; `*idat_bytes` gets the IDAT
 * total. Inflates the stream up to the last strip only. -1 (nothing else set) when `in` is
 * not a non-interlaced PNG holding those rows.
 */
int qr_image__png_strip_bytes(size_t *strip_bytes, size_t *idat_bytes, const uint8_t *in,
                              size_t len, const int *y0, int nstrips, int rows);

/*
 * Decodes `a` and `b` fully and compares every pixel value (bands, format
 * and dimensions included). Errors: image-decode.
 */
int qr_image__pixels_equal(bool *equal, const uint8_t *a, size_t alen, const uint8_t *b,
                           size_t blen, qr_error *err);

/*
 * Lossless JPEG transcode with libjpeg (jpeg_lossless.c): the DCT
 * coefficients are copied, Huffman tables optimised and, if `progressive`,
 * the scans made progressive. Every APPn/COM marker is copied unless
 * `strip`, which keeps only ICC (APP2), EXIF (APP1 "Exif", it carries the
 * orientation a lossless path cannot apply) and Adobe (APP14). Output is
 * capped at `out->max`. Warnings from libjpeg (truncated or corrupt data)
 * are errors here. Errors: image-decode, image-encode, out-of-memory.
 */
int qr_image__jpeg_transcode(qr_buf *out, const uint8_t *in, size_t len, bool strip,
                             bool progressive, qr_error *err);

/*
 * Copies an encoded JPEG, PNG or WebP into `out` without its EXIF, XMP,
 * IPTC, comment and text metadata, keeping the ICC profile and everything
 * needed to decode (JFIF, Adobe, palette, transparency, ...) (metadata.c).
 * Other formats are copied unchanged. Errors: image-encode (malformed
 * structure), and those of qr_buf_append.
 */
int qr_image__strip_metadata(qr_buf *out, qr_image__format f, const uint8_t *in, size_t len,
                             qr_error *err);

#endif
