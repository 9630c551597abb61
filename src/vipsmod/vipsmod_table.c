/* The module side of the boundary (vipsmod.h): the table the binary looks up. */
#include "vipsmod/vipsmod.h"

#include "qr_build.h"

__attribute__((visibility("default"))) extern const qr_vipsmod qr_vipsmod_table;

const qr_vipsmod qr_vipsmod_table = {
    .build_id = QR_VIPSMOD_BUILD_ID(QR_VERSION, QR_BUILD_COMMIT),
    .sizeof_opts = sizeof(qr_image_opts),
    .sizeof_result = sizeof(qr_image_result),
    .sizeof_error = sizeof(qr_error),
    .global_init = qr_image_global_init,
    .global_shutdown = qr_image_global_shutdown,
    .library_version = qr_image_library_version,
    .compress = qr_image_compress,
    .probe = qr_image_probe,
    .draw_images = qr_sample__draw_images,
};
