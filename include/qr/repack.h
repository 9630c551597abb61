/*
 * Repackaging an EPUB: `mimetype` first, stored, with no extra field, then
 * every other entry in its original order. Entries that did not change are
 * copied raw (their compressed bytes untouched, so positions computed from
 * entry lengths stay the same); replaced entries are deflated (or stored for
 * already-compressed media: JPEG, PNG, GIF, WebP, audio, video).
 */
#ifndef QR_REPACK_H
#define QR_REPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/epub.h"

/* New bytes for one entry: either in memory (`data`, `len`) or in a file (`path`). */
typedef struct qr_repack_replacement {
    size_t entry;        /* index into the qr_epub's entries */
    const uint8_t *data; /* new uncompressed bytes (borrowed), or NULL */
    size_t len;
    const char *path;    /* file holding the new bytes (borrowed), or NULL */
    const char *name;    /* new entry name (borrowed), or NULL to keep the name */
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

/* One renamed entry (a PNG photograph now a JPEG, docs/profiles.md). Paths as in the ZIP. */
typedef struct qr_repack_rename {
    const char *from; /* "OEBPS/images/photo.png" */
    const char *to;   /* "OEBPS/images/photo.jpg": `from` up to its last '.', a tail, ".jpg" */
} qr_repack_rename;

/*
 * Rewrites the references to renamed entries in one text document (OPF,
 * XHTML, SVG, CSS, NCX) named `doc_path` in the archive, byte for byte: a
 * reference is a run of bytes between delimiters (quotes, parentheses,
 * whitespace, commas, '<', '>', '=') that ends in the old extension, possibly
 * followed by a '#fragment' or '?query', and that resolves - percent-decoded,
 * relative to the document's own folder - to a renamed entry. Only the old
 * extension is replaced (by the tail of the new name), so everything else,
 * fragments and percent-encoding included, keeps its bytes. In the OPF
 * (`is_opf`), an image/png media-type in the same element becomes image/jpeg.
 * `*nrefs` counts the references rewritten; with none, `out` stays empty and
 * the document must be copied unchanged. Errors: those of qr_buf_append.
 */
int qr_repack_rewrite_refs(qr_buf *out, size_t *nrefs, const char *doc_path, bool is_opf,
                           const uint8_t *in, size_t len, const qr_repack_rename *ren,
                           size_t nren, qr_error *err) QR_WUR;

/*
 * The new name for `from` (ends in ".png", any case): the same stem with ".jpg", or with
 * "-2.jpg", "-3.jpg", ... when `taken(ud, name)` says a name is already used (by an entry of
 * the archive, in any case, or an earlier rename). Errors: invalid-argument, out-of-memory.
 */
int qr_repack_jpeg_name(char **out, const char *from, bool (*taken)(void *ud, const char *name),
                        void *ud, qr_error *err) QR_WUR;

#endif
