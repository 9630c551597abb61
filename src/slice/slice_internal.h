/*
 * Internals of the slice module (src/slice/). Not installed: only the
 * slice module and its tests include this header.
 */
#ifndef QR_SLICE_INTERNAL_H
#define QR_SLICE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "qr/slice.h"

#define QR_SLICE_STAGE "slice"

/* A growable, deduplicated list of entry indices. */
typedef struct qr_slice__set {
    size_t *v;
    size_t n, cap;
} qr_slice__set;

/* Adds `x` unless present. Errors: out-of-memory. */
int qr_slice__set_add(qr_slice__set *s, size_t x, qr_error *err);
bool qr_slice__set_has(const qr_slice__set *s, size_t x);
void qr_slice__set_free(qr_slice__set *s);

/* What one content document refers to, as entry indices of the book. */
typedef struct qr_slice__refs {
    qr_slice__set res;   /* embedded resources: img, image, link, script, media, object, iframe */
    qr_slice__set links; /* a[href] targets (used to attach non-linear spine items) */
} qr_slice__refs;

/*
 * Parses entry `entry` of `e` (XHTML, HTML or SVG) with libxml2's tolerant
 * HTML reader (no network, no DTD, no entity declarations) and resolves every
 * reference against the document's container path. Remote, unsafe or
 * unresolvable references are skipped; a document over the XML size limit or
 * that does not parse gives no references (its resources then fall to the
 * base slice). Errors: corrupt-archive (reading the entry), out-of-memory.
 */
int qr_slice__refs_collect(qr_slice__refs *out, const qr_epub *e, size_t entry, qr_error *err);
void qr_slice__refs_free(qr_slice__refs *r);

#endif
