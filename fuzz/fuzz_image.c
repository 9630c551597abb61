/*
 * Fuzzes the image stage: content sniffing, header probe, the metadata
 * filter and a full compress (tablet, then lossless) with a small pixel
 * limit so that large declared sizes stop at the guard.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image_internal.h"
#include "qr/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libvips is process-wide; the harness (not the library) starts it once. */
    static bool started;
    qr_error err = QR_ERROR_INIT;
    if (!started) {
        if (qr_image_global_init("fuzz_image", &err) < 0)
            return 0;
        started = true;
    }

    qr_image__sniff sniff;
    qr_image__sniff_buffer(&sniff, data, size);
    qr_buf filtered = QR_BUF_INIT(size + 16);
    (void)qr_image__strip_metadata(&filtered, sniff.format, data, size, &err);
    qr_buf_free(&filtered);

    qr_image_info info;
    qr_error_clear(&err);
    if (qr_image_probe(&info, data, size, &err) == 0 && (info.width <= 0 || info.height <= 0))
        __builtin_trap();

    static const char *const profiles[] = {"tablet", "lossless"};
    for (size_t i = 0; i < 2; i++) {
        qr_image_opts o = QR_IMAGE_OPTS_INIT;
        qr_image_result res;
        qr_buf out = QR_BUF_INIT(size + 1);
        o.profile = qr_profile_get(profiles[i]);
        o.max_pixels = 1u << 20;
        qr_error_clear(&err);
        int rc = qr_image_compress(&out, &res, data, size, NULL, &o, &err);
        /* The contract: bytes only when CHANGED, and then strictly fewer. */
        bool changed = rc == 0 && res.outcome == QR_IMAGE_CHANGED;
        if ((changed && (out.len == 0 || out.len >= size || out.len != res.out_bytes)) ||
            (!changed && out.len != 0) || (rc < 0 && !err.id))
            __builtin_trap();
        qr_buf_free(&out);
    }
    return 0;
}
