/*
 * Byte-level metadata filtering of encoded images. libvips 8.14 can only
 * strip everything (ICC included) and always writes a fresh EXIF block to
 * JPEG and WebP; filtering the encoder's output gives the same result on
 * every libvips version: no EXIF, XMP, IPTC, comments or text chunks, ICC
 * profile kept.
 */
#include <string.h>

#include "image/image_internal.h"

static int malformed(qr_error *err, const char *what)
{
    return qr_error_set(err, QR_ERR_IMAGE_ENCODE, QR_IMAGE_STAGE,
                        "cannot filter metadata: malformed %s structure", what);
}

static bool jpeg_keep_segment(uint8_t marker, const uint8_t *data, size_t dlen)
{
    switch (marker) {
    case 0xE0: /* APP0: JFIF / JFXX only */
        return dlen >= 5 && (memcmp(data, "JFIF\0", 5) == 0 || memcmp(data, "JFXX\0", 5) == 0);
    case 0xE2: /* APP2: ICC profile only (not FlashPix / MPF) */
        return dlen >= 12 && memcmp(data, "ICC_PROFILE\0", 12) == 0;
    case 0xEE: /* APP14 Adobe: colour transform, needed to decode CMYK/YCCK */
        return true;
    case 0xFE: /* COM */
        return false;
    default:
        /* Every other APPn (EXIF/XMP in APP1, IPTC in APP13, ...) is metadata. */
        return marker < 0xE0 || marker > 0xEF;
    }
}

static int strip_jpeg(qr_buf *out, const uint8_t *in, size_t len, qr_error *err)
{
    int rc;
    size_t p = 2;
    if (len < 4)
        return malformed(err, "JPEG");
    if ((rc = qr_buf_append(out, in, 2, err)) < 0)
        return rc;
    while (p < len) {
        if (in[p] != 0xFF || p + 1 >= len)
            return malformed(err, "JPEG");
        uint8_t m = in[p + 1];
        if (m == 0xFF) { /* fill byte */
            p++;
            continue;
        }
        /* From the first scan on (or at EOI) everything is image data. */
        if (m == 0xDA || m == 0xD9)
            return qr_buf_append(out, in + p, len - p, err);
        if (len - p < 4)
            return malformed(err, "JPEG");
        size_t seg = (size_t)in[p + 2] << 8 | in[p + 3];
        if (seg < 2 || seg > len - p - 2)
            return malformed(err, "JPEG");
        if (jpeg_keep_segment(m, in + p + 4, seg - 2) &&
            (rc = qr_buf_append(out, in + p, seg + 2, err)) < 0)
            return rc;
        p += seg + 2;
    }
    return malformed(err, "JPEG");
}

static bool png_drop_chunk(const uint8_t *type)
{
    static const char *const drop[] = {"eXIf", "tEXt", "zTXt", "iTXt", "tIME"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (memcmp(type, drop[i], 4) == 0)
            return true;
    return false;
}

static int strip_png(qr_buf *out, const uint8_t *in, size_t len, qr_error *err)
{
    int rc;
    size_t p = 8;
    if (len < 8)
        return malformed(err, "PNG");
    if ((rc = qr_buf_append(out, in, 8, err)) < 0)
        return rc;
    while (p < len) {
        if (len - p < 12)
            return malformed(err, "PNG");
        size_t clen = (size_t)in[p] << 24 | (size_t)in[p + 1] << 16 | (size_t)in[p + 2] << 8 |
                      in[p + 3];
        if (clen > len - p - 12)
            return malformed(err, "PNG");
        if (!png_drop_chunk(in + p + 4) && (rc = qr_buf_append(out, in + p, clen + 12, err)) < 0)
            return rc;
        p += clen + 12;
    }
    return 0;
}

static void put_le32(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)((v >> 8) & 0xFF);
    p[2] = (uint8_t)((v >> 16) & 0xFF);
    p[3] = (uint8_t)((v >> 24) & 0xFF);
}

static int strip_webp(qr_buf *out, const uint8_t *in, size_t len, qr_error *err)
{
    int rc;
    size_t p = 12, start = out->len, vp8x_flags = 0;
    bool have_vp8x = false;
    if (len < 12 || len - 8 > UINT32_MAX)
        return malformed(err, "WebP");
    if ((rc = qr_buf_append(out, in, 12, err)) < 0)
        return rc;
    while (p < len) {
        if (len - p < 8)
            return malformed(err, "WebP");
        size_t clen = (size_t)in[p + 7] << 24 | (size_t)in[p + 6] << 16 |
                      (size_t)in[p + 5] << 8 | in[p + 4];
        size_t total = clen + (clen & 1);
        if (clen > len - p - 8 || total > len - p - 8)
            return malformed(err, "WebP");
        bool drop = memcmp(in + p, "EXIF", 4) == 0 || memcmp(in + p, "XMP ", 4) == 0;
        if (!drop) {
            if (memcmp(in + p, "VP8X", 4) == 0 && clen >= 1) {
                have_vp8x = true;
                vp8x_flags = out->len + 8;
            }
            if ((rc = qr_buf_append(out, in + p, total + 8, err)) < 0)
                return rc;
        }
        p += total + 8;
    }
    /* VP8X announces EXIF (0x08) and XMP (0x04) chunks: they are gone. */
    if (have_vp8x)
        out->data[vp8x_flags] &= (uint8_t)~0x0Cu;
    put_le32(out->data + start + 4, out->len - start - 8);
    return 0;
}

int qr_image__strip_metadata(qr_buf *out, qr_image__format f, const uint8_t *in, size_t len,
                             qr_error *err)
{
    switch (f) {
    case QR_IMAGE_FMT_JPEG:
        return strip_jpeg(out, in, len, err);
    case QR_IMAGE_FMT_PNG:
        return strip_png(out, in, len, err);
    case QR_IMAGE_FMT_WEBP:
        return strip_webp(out, in, len, err);
    case QR_IMAGE_FMT_GIF:
    case QR_IMAGE_FMT_SVG:
    case QR_IMAGE_FMT_UNKNOWN:
        break;
    }
    return qr_buf_append(out, in, len, err);
}
