/*
 * The boundary between the `quire` binary and quire-vips.so, the module that
 * holds every call into libvips (docs/internals/vipsmod.md).
 *
 * libvips links about 90 shared libraries (Pango, Cairo, HDF5, OpenEXR,
 * librsvg, ...); mapping and relocating them costs ~25 ms of every start,
 * more than quire's whole run on a small PDF. The binary therefore does not
 * link libvips: src/vipsmod/vipsmod_load.c implements the image API
 * (qr/image.h) and the sample book's drawing by loading the module on the
 * first call that needs pixels, and forwarding through the table below.
 * Tests and fuzzers link the whole static library and never load it.
 */
#ifndef QR_VIPSMOD_H
#define QR_VIPSMOD_H

#include "qr/error.h"
#include "qr/image.h"

/*
 * The sample book's drawing (src/sample/sample_image.c, declared in its
 * internal header, which another module may not include): the same
 * prototype, with the picture list as an incomplete type.
 */
struct qr_sample_picture;
int qr_sample__draw_images(const char *dir, const struct qr_sample_picture *pics, int n,
                           int threads, qr_error *err);

/* The one symbol the module exports. */
#define QR_VIPSMOD_SYMBOL "qr_vipsmod_table"
/* The module's file name, next to the binary (build tree) or in lib/quire. */
#define QR_VIPSMOD_FILE "quire-vips.so"

/*
 * Identifies the build on both sides: the binary refuses a module built from
 * another version or commit, or with other struct layouts.
 */
#define QR_VIPSMOD_BUILD_ID(version, commit)                                                   \
    version "+" commit "/" QR_VIPSMOD_STR(QR_VIPSMOD_LAYOUT)
#define QR_VIPSMOD_STR2(x) #x
#define QR_VIPSMOD_STR(x) QR_VIPSMOD_STR2(x)
#define QR_VIPSMOD_LAYOUT 1

typedef struct qr_vipsmod {
    const char *build_id;
    size_t sizeof_opts;   /* sizeof(qr_image_opts) */
    size_t sizeof_result; /* sizeof(qr_image_result) */
    size_t sizeof_error;  /* sizeof(qr_error) */
    int (*global_init)(const char *argv0, qr_error *err);
    void (*global_shutdown)(void);
    const char *(*library_version)(void);
    int (*compress)(qr_buf *out, qr_image_result *res, const uint8_t *in, size_t in_len,
                    const char *media_type, const qr_image_opts *opts, qr_error *err);
    int (*probe)(qr_image_info *out, const uint8_t *in, size_t in_len, qr_error *err);
    int (*draw_images)(const char *dir, const struct qr_sample_picture *pics, int n, int threads,
                       qr_error *err);
} qr_vipsmod;

#endif
