/*
 * Header-only probing and the libvips error adapter. Loading with
 * sequential access makes libvips parse the header and stop: no pixel is
 * decoded until something asks for a region, which nothing here does.
 */
#include <string.h>

#include <vips/vips.h>

#include "image/image_internal.h"

int qr_image__error_from_vips(qr_error *err, qr_errid id, const char *what)
{
    /* vips_error_buffer_copy() takes libvips' lock, copies and clears. */
    char *text = vips_error_buffer_copy();
    const char *t = text ? text : "";
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == ' '))
        n--;
    int rc = qr_error_set(err, id, QR_IMAGE_STAGE, "%s: %.*s", what, (int)n,
                          n ? t : "no detail from libvips");
    g_free(text);
    return rc;
}

/* libvips takes `void *` for buffers it only reads. */
static void *unconst(const uint8_t *p)
{
    return (void *)(uintptr_t)p;
}

int qr_image__read_header(qr_image__header *out, const qr_image__sniff *sniff, const uint8_t *in,
                          size_t len, qr_error *err)
{
    VipsImage *img = NULL;
    int rc = 0, vrc = -1;

    memset(out, 0, sizeof(*out));
    out->info.format = qr_image__format_name(sniff->format);
    switch (sniff->format) {
    case QR_IMAGE_FMT_JPEG:
        vrc = vips_jpegload_buffer(unconst(in), len, &img, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
        break;
    case QR_IMAGE_FMT_PNG:
        if (sniff->png_overrun)
            return qr_error_set(err, QR_ERR_IMAGE_DECODE, QR_IMAGE_STAGE,
                                "PNG chunk %s declares %lu bytes, more than the %zu-byte file "
                                "holds",
                                sniff->png_overrun_type, (unsigned long)sniff->png_overrun_len,
                                len);
        vrc = vips_pngload_buffer(unconst(in), len, &img, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
        break;
    case QR_IMAGE_FMT_GIF:
        vrc = vips_gifload_buffer(unconst(in), len, &img, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
        break;
    case QR_IMAGE_FMT_WEBP:
        vrc = vips_webpload_buffer(unconst(in), len, &img, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
        break;
    case QR_IMAGE_FMT_SVG:
    case QR_IMAGE_FMT_UNKNOWN:
        return qr_error_set(err, QR_ERR_IMAGE_DECODE, QR_IMAGE_STAGE,
                            "no header reader for %s images", out->info.format);
    }
    if (vrc != 0) {
        rc = qr_image__error_from_vips(err, QR_ERR_IMAGE_DECODE, "cannot read image header");
        goto out;
    }
    out->info.width = vips_image_get_width(img);
    out->info.height = vips_image_get_height(img);
    out->info.bands = vips_image_get_bands(img);
    out->info.pages = vips_image_get_n_pages(img);
    if (out->info.pages < 1)
        out->info.pages = 1;
    out->cmyk = vips_image_get_interpretation(img) == VIPS_INTERPRETATION_CMYK;
out:
    VIPS_UNREF(img);
    return rc;
}

int qr_image_probe(qr_image_info *out, const uint8_t *in, size_t in_len, qr_error *err)
{
    qr_image__sniff sniff;
    qr_image__header hdr;

    if (!out || (!in && in_len))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_IMAGE_STAGE,
                            "qr_image_probe: NULL argument");
    memset(out, 0, sizeof(*out));
    qr_image__sniff_buffer(&sniff, in, in_len);
    out->format = qr_image__format_name(sniff.format);
    if (sniff.format == QR_IMAGE_FMT_SVG || sniff.format == QR_IMAGE_FMT_UNKNOWN)
        return qr_error_set(err, QR_ERR_IMAGE_DECODE, QR_IMAGE_STAGE,
                            "not a JPEG, PNG, GIF or WebP image (%s)", out->format);
    int rc = qr_image__read_header(&hdr, &sniff, in, in_len, err);
    if (rc < 0)
        return rc;
    *out = hdr.info;
    return 0;
}
