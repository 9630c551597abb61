/*
 * Repackaging an EPUB: `mimetype` first, stored, with no extra field, then
 * every other entry in its original order. Entries that did not change are
 * copied raw (their compressed bytes untouched, so positions computed from
 * entry lengths stay the same); replaced entries are deflated (or stored for
 * already-compressed media: JPEG, PNG, GIF, WebP, audio, video).
 */
#ifndef QR_REPACK_H
#define QR_REPACK_H

#include <stddef.h>
#include <stdint.h>

#include "qr/epub.h"

/* New bytes for one entry: either in memory (`data`, `len`) or in a file (`path`). */
typedef struct qr_repack_replacement {
    size_t entry;        /* index into the qr_epub's entries */
    const uint8_t *data; /* new uncompressed bytes (borrowed), or NULL */
    size_t len;
    const char *path;    /* file holding the new bytes (borrowed), or NULL */
} qr_repack_replacement;

typedef struct qr_repack_stats {
    uint64_t entries_copied;   /* raw copies */
    uint64_t entries_replaced; /* re-encoded */
    uint64_t entries_dropped;  /* shadowed duplicates, directories, the old mimetype */
    uint64_t out_bytes;        /* size of the written file */
} qr_repack_stats;

/*
 * Writes `e` with the given replacements to `out_path` (atomically: a
 * temporary file beside it, renamed into place on success).
 * Errors (ids): write-failed, io, corrupt-archive, out-of-memory.
 */
int qr_repack_write(qr_repack_stats *stats, const char *out_path, const qr_epub *e,
                    const qr_repack_replacement *repl, size_t nrepl, qr_error *err) QR_WUR;

#endif
