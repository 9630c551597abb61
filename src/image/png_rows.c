/*
 * How many compressed bytes a PNG spends on given rows (docs/internals/image.md, "PNG
 * trial"): the IDAT stream is inflated one row at a time and zlib's input count read at the
 * row boundaries. No libvips: a plain parse of the chunks, bounded by the input.
 */
#include <string.h>

#include <zlib.h>

#include "image/image_internal.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int channels_of(int colour_type)
{
    switch (colour_type) {
    case 0:
    case 3:
        return 1;
    case 2:
        return 3;
    case 4:
        return 2;
    case 6:
        return 4;
    default:
        return 0;
    }
}

int qr_image__png_strip_bytes(size_t *strip_bytes, size_t *idat_bytes, const uint8_t *in,
                              size_t len, const int *y0, int nstrips, int rows)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    z_stream z;
    uint8_t row[4096];
    int rc = -1;

    *idat_bytes = 0;
    if (nstrips < 1 || rows < 1 || len < 33 || memcmp(in, sig, 8) != 0 ||
        memcmp(in + 12, "IHDR", 4) != 0)
        return -1;
    uint32_t w = be32(in + 16), h = be32(in + 20);
    int depth = in[24], channels = channels_of(in[25]), interlace = in[28];
    if (!channels || interlace != 0 || w == 0 || h == 0 || depth < 1 || depth > 16 ||
        w > (1u << 24))
        return -1;
    uint64_t rowbytes = 1 + ((uint64_t)w * (uint64_t)channels * (uint64_t)depth + 7) / 8;
    for (int k = 0; k < nstrips; k++) {
        strip_bytes[k] = 0;
        if (y0[k] < 0 || (uint64_t)y0[k] + (uint64_t)rows > h || (k && y0[k] < y0[k - 1] + rows))
            return -1;
    }
    for (size_t p = 8; p + 12 <= len;) {
        uint32_t clen = be32(in + p);
        if (clen > len - p - 12)
            break;
        if (memcmp(in + p + 4, "IDAT", 4) == 0)
            *idat_bytes += clen;
        p += 12 + (size_t)clen;
    }

    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        return -1;
    /* Row `r` (0-based) is being inflated; `left` of its bytes are still to come. */
    uint64_t r = 0, left = rowbytes, start = 0;
    int k = 0;
    uint64_t last = (uint64_t)y0[nstrips - 1] + (uint64_t)rows;
    for (size_t p = 8; p + 12 <= len && r < last;) {
        uint32_t clen = be32(in + p);
        if (clen > len - p - 12)
            goto out;
        if (memcmp(in + p + 4, "IDAT", 4) == 0) {
            z.next_in = (Bytef *)(uintptr_t)(in + p + 8);
            z.avail_in = clen;
            while (z.avail_in > 0 && r < last) {
                z.next_out = row;
                z.avail_out = left < sizeof(row) ? (uInt)left : (uInt)sizeof(row);
                uInt asked = z.avail_out;
                int zr = inflate(&z, Z_NO_FLUSH);
                if (zr != Z_OK && zr != Z_STREAM_END)
                    goto out;
                left -= asked - z.avail_out;
                if (left == 0) {
                    /* Row r is complete: strip boundaries are read here. */
                    if (k < nstrips && r + 1 == (uint64_t)y0[k])
                        start = z.total_in;
                    if (k < nstrips && r + 1 == (uint64_t)y0[k] + (uint64_t)rows) {
                        strip_bytes[k] = (size_t)(z.total_in - start);
                        k++;
                        if (k < nstrips && r + 1 == (uint64_t)y0[k])
                            start = z.total_in;
                    }
                    r++;
                    left = rowbytes;
                }
                if (zr == Z_STREAM_END)
                    break;
            }
        }
        p += 12 + (size_t)clen;
    }
    rc = k == nstrips ? 0 : -1;
out:
    inflateEnd(&z);
    return rc;
}
