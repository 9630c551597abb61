/* Image format detection by content (magic bytes), never by media type. */
#include <string.h>

#include "image/image_internal.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Bounded substring search (memmem is not POSIX). */
static bool contains(const uint8_t *in, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (memcmp(in + i, needle, n) == 0)
            return true;
    return false;
}

/*
 * SVG is text: an optional BOM and whitespace, then `<svg`, or an XML
 * declaration / comment / doctype followed by an svg root early on.
 */
static bool is_svg(const uint8_t *in, size_t len)
{
    size_t i = 0;
    if (len >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF)
        i = 3;
    while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n'))
        i++;
    if (len - i >= 4 && memcmp(in + i, "<svg", 4) == 0)
        return true;
    if (len - i < 2 || in[i] != '<' || (in[i + 1] != '?' && in[i + 1] != '!'))
        return false;
    /* The root element comes after the prolog, well within the first 4 KiB. */
    size_t window = len - i < 4096 ? len - i : 4096;
    return contains(in + i, window, "<svg");
}

static void sniff_png(qr_image__sniff *out, const uint8_t *in, size_t len)
{
    size_t p = 8;
    out->png_color_type = -1;
    if (len >= 33 && memcmp(in + 12, "IHDR", 4) == 0) {
        out->png_bit_depth = in[24];
        out->png_color_type = in[25];
    }
    /*
     * Every chunk up to IEND. An acTL chunk before the first IDAT makes it an
     * APNG. A chunk other than IDAT whose declared length is more than the
     * input holds is an overrun: libpng allocates and clears a buffer of the
     * declared length before reading it (an 80-byte file declaring a 1.6 GB
     * zTXt chunk cost 1.6 GB and seconds), so such a PNG is not handed to it.
     * A cut IDAT (a truncated image) is read as a stream, not allocated.
     */
    bool seen_idat = false;
    while (len >= 12 && p <= len - 12) {
        uint32_t clen = be32(in + p);
        const uint8_t *type = in + p + 4;
        if (memcmp(type, "IEND", 4) == 0)
            return;
        if (memcmp(type, "IDAT", 4) == 0)
            seen_idat = true;
        else if (!seen_idat && memcmp(type, "tRNS", 4) == 0)
            out->png_trns = true;
        else if (!seen_idat && memcmp(type, "acTL", 4) == 0)
            out->png_animated = true;
        if (clen > len - p - 12) {
            if (memcmp(type, "IDAT", 4) != 0) {
                out->png_overrun = true;
                memcpy(out->png_overrun_type, type, 4);
                for (size_t k = 0; k < 4; k++)
                    if (out->png_overrun_type[k] < 0x20 || out->png_overrun_type[k] > 0x7e)
                        out->png_overrun_type[k] = '?';
                out->png_overrun_type[4] = 0;
                out->png_overrun_len = clen;
            }
            return;
        }
        p += 12 + (size_t)clen;
    }
}

static void sniff_webp(qr_image__sniff *out, const uint8_t *in, size_t len)
{
    size_t p = 12;
    while (len >= 8 && p <= len - 8) {
        uint32_t clen = le32(in + p + 4);
        if (memcmp(in + p, "VP8L", 4) == 0) {
            out->webp_lossless = true;
            return;
        }
        if (memcmp(in + p, "VP8 ", 4) == 0)
            return;
        if (clen > len - p - 8)
            return;
        p += 8 + (size_t)clen + (clen & 1);
    }
}

void qr_image__sniff_buffer(qr_image__sniff *out, const uint8_t *in, size_t len)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    memset(out, 0, sizeof(*out));
    out->png_color_type = -1;
    if (!in)
        return;
    if (len >= 3 && in[0] == 0xFF && in[1] == 0xD8 && in[2] == 0xFF) {
        out->format = QR_IMAGE_FMT_JPEG;
    } else if (len >= 8 && memcmp(in, png_sig, 8) == 0) {
        out->format = QR_IMAGE_FMT_PNG;
        sniff_png(out, in, len);
    } else if (len >= 6 && (memcmp(in, "GIF87a", 6) == 0 || memcmp(in, "GIF89a", 6) == 0)) {
        out->format = QR_IMAGE_FMT_GIF;
    } else if (len >= 12 && memcmp(in, "RIFF", 4) == 0 && memcmp(in + 8, "WEBP", 4) == 0) {
        out->format = QR_IMAGE_FMT_WEBP;
        sniff_webp(out, in, len);
    } else if (is_svg(in, len)) {
        out->format = QR_IMAGE_FMT_SVG;
    }
}

const char *qr_image__format_name(qr_image__format f)
{
    switch (f) {
    case QR_IMAGE_FMT_JPEG:
        return "jpeg";
    case QR_IMAGE_FMT_PNG:
        return "png";
    case QR_IMAGE_FMT_GIF:
        return "gif";
    case QR_IMAGE_FMT_WEBP:
        return "webp";
    case QR_IMAGE_FMT_SVG:
        return "svg";
    case QR_IMAGE_FMT_UNKNOWN:
        break;
    }
    return "unknown";
}
