/* Limits validation and the built-in compression profiles (docs/profiles.md). */
#include "qr/config.h"

#include <string.h>

int qr_limits_validate(const qr_limits *l, qr_error *err)
{
    if (!l)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "config", "no limits given");
#define QR_CHECK_POSITIVE(f)                                                                       \
    if (l->f == 0)                                                                                 \
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "config", "limit %s must be > 0", #f);
    QR_CHECK_POSITIVE(max_input_bytes)
    QR_CHECK_POSITIVE(max_entries)
    QR_CHECK_POSITIVE(max_entry_bytes)
    QR_CHECK_POSITIVE(max_total_bytes)
    QR_CHECK_POSITIVE(max_ratio)
    QR_CHECK_POSITIVE(max_xml_bytes)
    QR_CHECK_POSITIVE(max_image_pixels)
    QR_CHECK_POSITIVE(max_path_bytes)
#undef QR_CHECK_POSITIVE
    if (l->max_entry_bytes > l->max_total_bytes)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "config",
                            "max_entry_bytes exceeds max_total_bytes");
    return 0;
}

/*
 * tablet: long edge 2560 px (a 10-12" retina tablet page), JPEG q82.
 * phone: long edge 1600 px, JPEG q75, PNG quantised to a palette.
 * lossless: no resizing, no pixel changes; JPEGs are only re-encoded
 * losslessly where possible, PNGs recompressed with zlib level 7.
 *
 * zlib level 9 with adaptive filtering costs ~13x the time of level 6 on a
 * 2560x1440 photograph (39 s against 3 s) for 6% less output, and level 4
 * half the time of level 6 for 4.6% more: the lossy profiles use level 4
 * (docs/profiles.md has the measurements).
 *
 * tablet-jpeg, phone-jpeg: tablet and phone, plus opaque PNG photographs
 * turned into JPEGs at the profile's quality (src/image/photo.c).
 */
static const qr_profile profiles[] = {
    {QR_PROFILE_TABLET, "tablet", 2560, 82, true, 4, 4, false, true, true, false},
    {QR_PROFILE_PHONE, "phone", 1600, 75, true, 4, 4, true, true, true, false},
    {QR_PROFILE_LOSSLESS, "lossless", 0, 0, false, 7, 6, false, false, true, false},
    {QR_PROFILE_TABLET_JPEG, "tablet-jpeg", 2560, 82, true, 4, 4, false, true, true, true},
    {QR_PROFILE_PHONE_JPEG, "phone-jpeg", 1600, 75, true, 4, 4, true, true, true, true},
};

const qr_profile *qr_profile_get(const char *name)
{
    if (!name)
        return &profiles[0];
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    return NULL;
}

const qr_profile *qr_profile_by_id(qr_profile_id id)
{
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
        if (profiles[i].id == id)
            return &profiles[i];
    return &profiles[0];
}

const char *qr_profile_names(void)
{
    return "tablet, phone, lossless, tablet-jpeg, phone-jpeg";
}
