/*
 * Limits and compression profiles. Every stage gets only the options it
 * needs; these structs are built once by the binary (defaults, then file,
 * env, flags) and validated in one place. The library never calls getenv.
 */
#ifndef QR_CONFIG_H
#define QR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "qr/error.h"

/*
 * Hard limits on untrusted input. Every size read from an archive is checked
 * against these before anything is allocated; exceeding one is QR_ELIMIT.
 */
typedef struct qr_limits {
    uint64_t max_input_bytes;  /* size of the book file */
    uint64_t max_entries;      /* ZIP entries */
    uint64_t max_entry_bytes;  /* uncompressed size of one entry */
    uint64_t max_total_bytes;  /* uncompressed size of all entries */
    uint32_t max_ratio;        /* uncompressed/compressed, per entry and total */
    uint64_t ratio_min_bytes;  /* entries smaller than this skip the ratio check */
    uint64_t max_xml_bytes;    /* one XML document handed to the parser */
    uint64_t max_image_pixels; /* width*height an image may declare */
    uint32_t max_path_bytes;   /* one entry name */
} qr_limits;

#define QR_LIMITS_INIT                                                                             \
    {                                                                                              \
        .max_input_bytes = UINT64_C(4) << 30,                           /* 4 GiB input */          \
            .max_entries = 20000, .max_entry_bytes = UINT64_C(1) << 30, /* 1 GiB per entry */      \
            .max_total_bytes = UINT64_C(8) << 30,                       /* 8 GiB in all */         \
            .max_ratio = 1000,                                                                     \
        .ratio_min_bytes = UINT64_C(1) << 20,        /* ratio checked from 1 MiB up */             \
            .max_xml_bytes = UINT64_C(64) << 20,     /* 64 MiB per XML document */                 \
            .max_image_pixels = UINT64_C(200000000), /* 200 Mpx */                                 \
            .max_path_bytes = 1024                                                                 \
    }

/* Fails with QR_EINVAL (id invalid-argument) naming the bad field. */
int qr_limits_validate(const qr_limits *l, qr_error *err) QR_WUR;

typedef enum qr_profile_id {
    QR_PROFILE_TABLET = 0,
    QR_PROFILE_PHONE = 1,
    QR_PROFILE_LOSSLESS = 2,
    QR_PROFILE_TABLET_JPEG = 3, /* tablet + photographs stored as PNG become JPEG */
    QR_PROFILE_PHONE_JPEG = 4   /* phone + the same */
} qr_profile_id;

/* Image parameters of a named profile (docs/profiles.md). */
typedef struct qr_profile {
    qr_profile_id id;
    const char *name;
    uint32_t max_long_edge; /* 0: never resize */
    int jpeg_quality;       /* 0: keep JPEG pixels (lossless optimisation only) */
    bool lossy;             /* false: no pixel may change */
    int png_compression;    /* zlib level 0-9 for PNG */
    int png_effort;         /* libvips PNG filter search effort (0-10) */
    bool png_palette;       /* quantise PNGs to a palette (lossy) */
    bool strip_metadata;    /* drop EXIF/XMP/IPTC (ICC kept) */
    bool jpeg_progressive;  /* progressive JPEG scans (smaller above a few KB) */
    /* Opaque PNG photographs become JPEGs (renamed, references rewritten): the one exception
     * to "keep the format and the file name" (docs/profiles.md, docs/format.md). */
    bool png_photo_to_jpeg;
} qr_profile;

/* The built-in profile table. Returns NULL for an unknown name. */
const qr_profile *qr_profile_get(const char *name);
const qr_profile *qr_profile_by_id(qr_profile_id id);
/* Comma-separated list of profile names, for help text. */
const char *qr_profile_names(void);

/* Progress: `done` of `total` units (images) finished; `item` names the last one. */
typedef void (*qr_progress_fn)(void *ud, size_t done, size_t total, const char *item);

/* What the EPUB and the PDF compressors both take (qr/compress.h, qr/pdf.h). */
typedef struct qr_compress_opts {
    const qr_profile *profile; /* NULL: tablet */
    qr_limits limits;
    int threads;             /* image workers; 0: one per online CPU */
    const char *work_parent; /* where the per-job work directory goes; NULL: /tmp */
    qr_progress_fn progress; /* may be NULL; called from worker threads, serialised */
    void *progress_ud;
    /* Set (by a signal handler) to stop at the next image: the call fails with `canceled`. */
    const volatile sig_atomic_t *cancel;
} qr_compress_opts;

#define QR_COMPRESS_OPTS_INIT                                                                      \
    {                                                                                              \
        .profile = NULL, .limits = QR_LIMITS_INIT, .threads = 0, .work_parent = NULL,              \
        .progress = NULL, .progress_ud = NULL, .cancel = NULL                                      \
    }

#endif
