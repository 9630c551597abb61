/*
 * The photograph criterion of the tablet-jpeg and phone-jpeg profiles
 * (docs/profiles.md): cheap statistics over the pixels already decoded for
 * the PNG encode, one pass, no allocation beyond a 4 KB bitmap.
 */
#include <string.h>

#include "image/image_internal.h"

void qr_image__photo_measure(qr_image__photo_stats *out, const uint8_t *px, int width, int height,
                             int bands, size_t stride)
{
    uint8_t seen[32768 / 8];
    uint64_t equal = 0, total = 0;
    int colour_bands = bands >= 3 ? 3 : 1;
    bool has_alpha = bands == 2 || bands == 4;

    memset(out, 0, sizeof(*out));
    memset(seen, 0, sizeof(seen));
    out->opaque = true;
    if (!px || width <= 0 || height <= 0 || bands < 1 || bands > 4)
        return;
    for (int y = 0; y < height; y++) {
        const uint8_t *row = px + (size_t)y * stride;
        for (int x = 0; x < width; x++) {
            const uint8_t *p = row + (size_t)x * (size_t)bands;
            if (has_alpha && p[bands - 1] != 255)
                out->opaque = false;
            if (x > 0 && memcmp(p, p - bands, (size_t)bands) == 0)
                equal++;
            unsigned key;
            if (colour_bands == 3)
                key = ((unsigned)(p[0] >> 3) << 10) | ((unsigned)(p[1] >> 3) << 5) |
                      (unsigned)(p[2] >> 3);
            else
                key = p[0]; /* grey: 256 levels */
            if (!(seen[key >> 3] & (1u << (key & 7)))) {
                seen[key >> 3] |= (uint8_t)(1u << (key & 7));
                out->colours15++;
            }
            total++;
        }
    }
    out->grey = colour_bands == 1;
    out->equal_left = total ? (double)equal / (double)total : 1.0;
}

const char *qr_image__photo_verdict(const qr_image__photo_stats *st, int width, int height)
{
    if (!st->opaque)
        return "transparent";
    if ((uint64_t)width * (uint64_t)height < QR_PHOTO_MIN_PIXELS)
        return "small";
    if (st->equal_left > QR_PHOTO_MAX_EQUAL_LEFT)
        return "flat-areas";
    if (st->colours15 < (st->grey ? QR_PHOTO_MIN_GREYS : QR_PHOTO_MIN_COLOURS15))
        return "few-colours";
    return "";
}
