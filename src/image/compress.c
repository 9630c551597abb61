/*
 * qr_image_compress: detect, guard, re-encode, keep only if smaller.
 * One call touches only its own objects, so any number of threads may run
 * it at once (libvips itself is thread-safe; its error buffer is shared,
 * see qr_image__error_from_vips).
 */
#include <string.h>

#include <vips/vips.h>

#include "image/image_internal.h"

static void result_init(qr_image_result *res, size_t in_len)
{
    memset(res, 0, sizeof(*res));
    res->outcome = QR_IMAGE_SKIPPED;
    res->format = "unknown";
    res->reason = "";
    res->in_bytes = in_len;
    res->out_bytes = in_len;
}

static int skip(qr_image_result *res, qr_image_outcome outcome, const char *reason)
{
    res->outcome = outcome;
    res->reason = reason;
    return 0;
}

static bool have_gif_encoder(void)
{
    /* libvips >= 8.12 built with cgif has one; older or leaner builds not. */
    return vips_type_find("VipsOperation", "gifsave_buffer") != 0;
}

/* Encodes into `enc` (plain bytes, metadata already filtered). */
static int encode(qr_buf *enc, bool *exact, bool *to_jpeg, bool *estimated, int *ow, int *oh,
                  const qr_image__sniff *sniff,
                  const qr_image__header *hdr, const qr_profile *profile, const uint8_t *in,
                  size_t len, qr_error *err)
{
    qr_image__blob blob = {.data = NULL};
    int rc = 0;

    *exact = true;
    *to_jpeg = false;
    *estimated = false;
    *ow = hdr->info.width;
    *oh = hdr->info.height;
    if (!profile->lossy && sniff->format == QR_IMAGE_FMT_JPEG)
        return qr_image__jpeg_transcode(enc, in, len, profile->strip_metadata,
                                        profile->jpeg_progressive, err);
    if (profile->lossy) {
        rc = qr_image__encode_lossy(&blob, sniff, hdr, profile, in, len, err);
        *estimated = rc == 0 && blob.png_estimated && !blob.data;
    } else {
        rc = qr_image__encode_lossless(&blob, exact, sniff, hdr, profile, in, len, err);
    }
    if (rc < 0 || !blob.data)
        goto out;
    *ow = blob.width;
    *oh = blob.height;
    *to_jpeg = blob.to_jpeg;
    if (profile->strip_metadata)
        rc = qr_image__strip_metadata(enc, blob.to_jpeg ? QR_IMAGE_FMT_JPEG : sniff->format,
                                      blob.data, blob.len, err);
    else
        rc = qr_buf_append(enc, blob.data, blob.len, err);
out:
    qr_image__blob_free(&blob);
    return rc;
}

int qr_image_compress(qr_buf *out, qr_image_result *res, const uint8_t *in, size_t in_len,
                      const char *media_type, const qr_image_opts *opts, qr_error *err)
{
    qr_image__sniff sniff;
    qr_image__header hdr;
    /* Anything not strictly smaller is useless: cap the scratch buffer there. */
    qr_buf enc = QR_BUF_INIT(in_len > 0 ? in_len - 1 : 0);
    qr_error enc_err = QR_ERROR_INIT;
    bool exact = true, to_jpeg = false, estimated = false;
    int rc = 0, ow = 0, oh = 0;

    (void)media_type; /* detection is by content: a declared type can lie */
    if (!out || !res || !opts || (!in && in_len))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_IMAGE_STAGE,
                            "qr_image_compress: NULL argument");
    const qr_profile *profile = opts->profile ? opts->profile : qr_profile_by_id(QR_PROFILE_TABLET);
    result_init(res, in_len);
    qr_buf_reset(out);

    qr_image__sniff_buffer(&sniff, in, in_len);
    res->format = qr_image__format_name(sniff.format);
    if (sniff.format == QR_IMAGE_FMT_SVG)
        return skip(res, QR_IMAGE_SKIPPED, "svg");
    if (sniff.format == QR_IMAGE_FMT_UNKNOWN)
        return skip(res, QR_IMAGE_SKIPPED, "unknown-format");
    if (sniff.png_animated)
        return skip(res, QR_IMAGE_SKIPPED, "animated");

    if ((rc = qr_image__read_header(&hdr, &sniff, in, in_len, err)) < 0)
        return rc;
    res->width = res->out_width = hdr.info.width;
    res->height = res->out_height = hdr.info.height;
    if (hdr.info.pages > 1)
        return skip(res, QR_IMAGE_SKIPPED, "animated");
    /* The decompression-bomb guard, before a single pixel is decoded. */
    uint64_t pixels = (uint64_t)hdr.info.width * (uint64_t)hdr.info.height;
    if (hdr.info.width <= 0 || hdr.info.height <= 0 || pixels > opts->max_pixels)
        return qr_error_set(err, QR_ERR_IMAGE_TOO_LARGE, QR_IMAGE_STAGE,
                            "image declares %dx%d pixels, limit is %llu", hdr.info.width,
                            hdr.info.height, (unsigned long long)opts->max_pixels);
    if (sniff.format == QR_IMAGE_FMT_GIF && !have_gif_encoder())
        return skip(res, QR_IMAGE_SKIPPED, "no-encoder");
    if (!profile->lossy && sniff.format == QR_IMAGE_FMT_WEBP && !sniff.webp_lossless)
        /* Pixels of a lossy WebP cannot be re-encoded without loss in fewer bytes. */
        return skip(res, QR_IMAGE_NOT_SMALLER, "lossy-source");

    rc = encode(&enc, &exact, &to_jpeg, &estimated, &ow, &oh, &sniff, &hdr, profile, in, in_len,
                &enc_err);
    if (rc < 0) {
        /* Hitting the scratch cap only means "not smaller". */
        if (enc_err.errid == QR_ERR_ENTRY_TOO_LARGE) {
            rc = skip(res, QR_IMAGE_NOT_SMALLER, "not-smaller");
            goto out;
        }
        rc = qr_error_set(err, enc_err.errid, QR_IMAGE_STAGE, "%s", enc_err.msg);
        goto out;
    }
    if (!exact) {
        rc = skip(res, QR_IMAGE_NOT_SMALLER, "not-exact");
        goto out;
    }
    if (estimated) {
        /* The PNG trial said the result would not be smaller: no encode was made. */
        rc = skip(res, QR_IMAGE_NOT_SMALLER, "estimate");
        goto out;
    }
    if (enc.len == 0 || enc.len >= in_len) {
        rc = skip(res, QR_IMAGE_NOT_SMALLER, "not-smaller");
        goto out;
    }
    res->out_width = ow;
    res->out_height = oh;
    if (enc.len > out->max) {
        rc = qr_error_set(err, QR_ERR_ENTRY_TOO_LARGE, QR_IMAGE_STAGE,
                          "encoded image of %zu bytes exceeds the output limit of %zu", enc.len,
                          out->max);
        goto out;
    }
    /* The encoded bytes move into `out` rather than being copied: one output per thread. */
    qr_buf_free(out);
    out->data = enc.data;
    out->len = enc.len;
    out->cap = enc.cap;
    enc.data = NULL;
    enc.len = enc.cap = 0;
    res->outcome = QR_IMAGE_CHANGED;
    res->out_bytes = out->len;
    res->to_jpeg = to_jpeg;
out:
    qr_buf_free(&enc);
    return rc;
}
