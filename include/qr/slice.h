/*
 * Reading positions, page counts and the slice plan of an EPUB.
 *
 * Positions follow the Readium toolkits (docs/format.md): walk the linear
 * spine; a fixed-layout item gets one position; a reflowable item gets
 * max(1, ceil(L / 1024)) where L is the raw-deflate (zlib level 6) length of
 * the publisher's original bytes. Computed from the ORIGINAL book.
 *
 * Slices cut on spine boundaries, never inside a document: slice 0 is the
 * base (OPF, nav/NCX, CSS, fonts with encryption.xml, cover, everything used
 * from more than one slice, META-INF), then consecutive linear spine items
 * packed up to a target size, each with the resources only its items use;
 * an image larger than the target gets a slice of its own right after its
 * text; non-linear items go with the slice that links them, else the base.
 */
#ifndef QR_SLICE_H
#define QR_SLICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/epub.h"

/* ---- positions ---- */

typedef struct qr_position {
    size_t spine;       /* index into qr_epub spine */
    uint32_t position;  /* 1-based, book-wide */
    double progression; /* within the resource, 0..1 */
    double total_progression;
} qr_position;

typedef struct qr_positions {
    qr_position *list;
    size_t count;
    /* For each spine index: its first position and count (0 for non-linear items). */
    uint32_t *first;
    uint32_t *span;
    size_t nspine;
} qr_positions;

/* Errors: corrupt-archive (reading an entry), out-of-memory, input-too-large
 * (over 2^32 positions), internal (zlib). Free with qr_positions_free. */
int qr_positions_compute(qr_positions **out, const qr_epub *e, qr_error *err) QR_WUR;
void qr_positions_free(qr_positions *p);
/* The Readium positions list {"total", "positions": [Locator...]}; hrefs are
 * the percent-encoded container paths. New reference, NULL when out of memory. */
json_t *qr_positions_json(const qr_positions *p, const qr_epub *e);

typedef enum qr_page_source {
    QR_PAGES_PRINT = 0,    /* EPUB 3 page-list nav or EPUB 2 NCX pageList */
    QR_PAGES_DECLARED = 1, /* schema:numberOfPages */
    QR_PAGES_SYNTHETIC = 2 /* the number of positions */
} qr_page_source;

typedef struct qr_pages {
    uint32_t count;
    qr_page_source source;
} qr_pages;

void qr_pages_compute(qr_pages *out, const qr_epub *e, const qr_positions *p);
const char *qr_page_source_str(qr_page_source s); /* "print", "declared", "synthetic" */

/* ---- slice plan ---- */

typedef struct qr_slice_opts {
    uint64_t target_bytes; /* target compressed size of a slice (default 256 KiB) */
} qr_slice_opts;

#define QR_SLICE_OPTS_INIT                                                                         \
    {                                                                                              \
        .target_bytes = UINT64_C(262144)                                                           \
    }

typedef struct qr_slice_info {
    uint32_t index;
    bool is_base;
    size_t *entries; /* entry indices of the qr_epub, in archive order */
    size_t nentries;
    long first_spine; /* first/last linear spine index covered, -1 for the base */
    long last_spine;
    uint32_t first_position; /* 0 for the base */
    uint32_t last_position;
    uint64_t stored_bytes; /* sum of the entries' compressed sizes */
} qr_slice_info;

typedef struct qr_slice_plan qr_slice_plan;

/*
 * Plans the slices of `e` (the compressed book). `p` are the positions of
 * the original book (same spine). Every entry except `mimetype` and
 * directory entries (and shadowed duplicates) lands in exactly one slice.
 * Errors: invalid-argument, corrupt-archive (reading a spine document),
 * out-of-memory. Rules: docs/internals/slice.md.
 */
int qr_slice_plan_new(qr_slice_plan **out, const qr_epub *e, const qr_positions *p,
                      const qr_slice_opts *opts, qr_error *err) QR_WUR;
void qr_slice_plan_free(qr_slice_plan *plan);
size_t qr_slice_plan_count(const qr_slice_plan *plan);
const qr_slice_info *qr_slice_plan_get(const qr_slice_plan *plan, size_t i);

/*
 * Writes slice `i` as a small ZIP of its entries under their original paths
 * (entries copied raw, compressed bytes untouched) appended to `out`, bounded
 * by out->max. Errors: invalid-argument, corrupt-archive (reopening the
 * book), write-failed, input-too-large (over out->max), out-of-memory.
 */
int qr_slice_write(qr_buf *out, const qr_epub *e, const qr_slice_plan *plan, size_t i,
                   qr_error *err) QR_WUR;

#endif
