/*
 * EPUB ingest: OCF container, OPF package, navigation (EPUB 3 nav, EPUB 2
 * NCX), page list and encryption.xml, read with libzip and libxml2.
 *
 * Lenient where a good reading system is (every repair is recorded as a
 * warning), strict where the book is unsafe or undeliverable (an error with
 * a stable id). XML is parsed with no network and no external entities.
 *
 * Ownership: a qr_epub owns everything reachable from it; every const pointer
 * returned by an accessor is borrowed and lives as long as the qr_epub.
 * A qr_epub is read-only after qr_epub_open and may be shared by threads as
 * long as each thread reads entries through its own qr_epub_reader.
 */
#ifndef QR_EPUB_H
#define QR_EPUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/config.h"
#include "qr/error.h"
#include "qr/warn.h"

typedef struct qr_epub qr_epub;
/* libzip's archive handle (zip.h), for the raw-copy helpers below. */
typedef struct zip zip_t;

typedef enum qr_obfuscation {
    QR_OBF_NONE = 0,
    QR_OBF_IDPF = 1, /* http://www.idpf.org/2008/embedding, 1040 bytes, SHA-1 key */
    QR_OBF_ADOBE = 2 /* http://ns.adobe.com/pdf/enc#RC, 1024 bytes, UUID key */
} qr_obfuscation;

typedef enum qr_layout { QR_LAYOUT_REFLOWABLE = 0, QR_LAYOUT_FIXED = 1 } qr_layout;

/* One ZIP entry, in central-directory order. */
typedef struct qr_epub_entry {
    const char *name;     /* the name as stored (UTF-8, may hold '\' when repaired = false) */
    const char *path;     /* normalised name: '/' separators */
    uint64_t index;       /* libzip index */
    uint64_t size;        /* uncompressed bytes (checked against limits) */
    uint64_t comp_size;   /* compressed bytes */
    uint16_t comp_method; /* ZIP_CM_STORE (0) or ZIP_CM_DEFLATE (8), others are rejected */
    uint32_t crc;
    uint32_t mtime;     /* DOS time as time_t */
    int item;           /* index into the manifest items, or -1 */
    qr_obfuscation obf; /* from encryption.xml */
    bool is_dir;        /* directory entry (ignored by the pipeline) */
    bool is_duplicate;  /* a later entry with the same path exists; this one is shadowed */
} qr_epub_entry;

/* One OPF manifest item. */
typedef struct qr_epub_item {
    const char *id;
    const char *href; /* as written in the OPF */
    const char *path; /* resolved container path (decoded, normalised), NULL if unresolvable */
    const char *media_type; /* as declared ("" if none) */
    const char *properties; /* space-separated, "" if none */
    const char *fallback;   /* id or NULL */
    int entry;              /* index into entries, or -1 when missing from the ZIP */
    int spine;              /* position in the spine, or -1 */
    bool linear;            /* spine item with linear != "no" */
} qr_epub_item;

typedef struct qr_epub_itemref {
    int item; /* index into items */
    bool linear;
    const char *properties; /* "" if none (page-spread-left, ...) */
} qr_epub_itemref;

/* A flattened navigation tree (toc) or list (page list, landmarks). */
typedef struct qr_epub_navpoint {
    const char *title;
    const char *href; /* resolved container path plus "#fragment", relative to the root */
    int depth;        /* 0 for top level */
} qr_epub_navpoint;

typedef struct qr_epub_info {
    uint64_t file_bytes; /* size of the input as opened (qr_epub_open; the buffer's length) */
    int version_major;   /* 2 or 3 (from package@version; 0 if absent) */
    int version_minor;
    const char *version;           /* package@version as written, "" if absent */
    const char *opf_path;          /* container path of the OPF */
    const char *unique_identifier; /* the dc:identifier named by package@unique-identifier */
    const char *title;
    const char *language;         /* "" if none */
    const char *creator;          /* first dc:creator, "" if none */
    const char *publisher;        /* "" if none */
    const char *modified;         /* dcterms:modified, "" if none */
    qr_layout layout;             /* rendition:layout (or display-options fixed-layout) */
    const char *page_progression; /* "ltr", "rtl" or "" */
    int cover_item;               /* item index of the cover image, or -1 */
    int nav_item;                 /* EPUB 3 nav document item, or -1 */
    int ncx_item;                 /* NCX item, or -1 */
    int declared_pages;           /* schema:numberOfPages, or 0 */
    const char *page_source;      /* pageBreakSource / dc:source source-of pagination, or "" */
    bool has_encryption_xml;
    size_t obfuscated_fonts;
} qr_epub_info;

typedef struct qr_epub_opts {
    qr_limits limits;
    /* Recorded warnings go here (borrowed; may be NULL to drop them). */
    qr_warnings *warnings;
} qr_epub_opts;

#define QR_EPUB_OPTS_INIT                                                                          \
    {                                                                                              \
        .limits = QR_LIMITS_INIT, .warnings = NULL                                                 \
    }

/*
 * Opens and fully validates the EPUB at `path`: ZIP safety (traversal,
 * absolute names, entry count, sizes, ratios), DRM detection, container,
 * OPF, nav/NCX, page list, encryption.xml.
 *
 * Errors (ids): source-not-found, unsupported-format (not a ZIP),
 * corrupt-archive, unsafe-path, zip-bomb, too-many-entries, entry-too-large,
 * input-too-large, container-missing, container-invalid, opf-missing,
 * opf-invalid, spine-empty, drm-protected, xml-limit, out-of-memory.
 * On failure *out is NULL.
 */
int qr_epub_open(qr_epub **out, const char *path, const qr_epub_opts *opts, qr_error *err) QR_WUR;

/*
 * The same over an in-memory book (for fuzzers and tests). The buffer is
 * borrowed and must outlive the qr_epub.
 */
int qr_epub_open_buffer(qr_epub **out, const void *data, size_t len, const qr_epub_opts *opts,
                        qr_error *err) QR_WUR;

/*
 * Parser entry points over one XML document, for fuzzers and tests. They
 * apply the same rules, limits and warnings as qr_epub_open but touch no
 * archive: nothing is looked up in a ZIP (manifest items get entry -1 and
 * no missing-resource warnings).
 *
 * qr_epub_parse_container_buffer: container.xml text -> malloc'd, normalised
 *   OPF path in *opf_path (free() it). Errors: container-invalid, xml-limit,
 *   entry-too-large, unsafe-path, out-of-memory.
 * qr_epub_parse_opf_buffer: OPF text found at container path `opf_path`
 *   (NULL: "package.opf") -> a partial qr_epub (info, items, spine; no
 *   entries, toc or page list; qr_epub_read_entry fails). Errors: opf-invalid,
 *   spine-empty, unsafe-path, xml-limit, entry-too-large, too-many-entries.
 * qr_epub_parse_nav_buffer: an EPUB 3 nav document (ncx = false) or an EPUB 2
 *   NCX (ncx = true) at container path `nav_path` -> a partial qr_epub with
 *   only toc and page list. Errors: unsafe-path, xml-limit, entry-too-large,
 *   too-many-entries. A document that cannot be parsed at all gives an empty
 *   toc and a nav-invalid warning, not an error (navigation is optional).
 * On failure *out / *opf_path is NULL.
 */
int qr_epub_parse_container_buffer(char **opf_path, const void *xml, size_t len,
                                   const qr_epub_opts *opts, qr_error *err) QR_WUR;
int qr_epub_parse_opf_buffer(qr_epub **out, const void *xml, size_t len, const char *opf_path,
                             const qr_epub_opts *opts, qr_error *err) QR_WUR;
int qr_epub_parse_nav_buffer(qr_epub **out, const void *xml, size_t len, const char *nav_path,
                             bool ncx, const qr_epub_opts *opts, qr_error *err) QR_WUR;

void qr_epub_free(qr_epub *e);

const qr_epub_info *qr_epub_get_info(const qr_epub *e);

size_t qr_epub_entry_count(const qr_epub *e);
const qr_epub_entry *qr_epub_get_entry(const qr_epub *e, size_t i);
/* Entry by normalised path, exact match; -1 if none. */
int qr_epub_find_entry(const qr_epub *e, const char *path);

/*
 * The entry a reference in a book document names: `href`, as written in the
 * document at container path `doc`, resolved the way the parser resolves
 * manifest hrefs (percent-decoded, '\' separators, '.' and '..' segments,
 * then matched exactly, else case-insensitively; a name that holds '%' is
 * tried with the escapes kept). *entry is -1 when it names nothing in the
 * book, remote and unsafe references included. Errors: out-of-memory.
 */
int qr_epub_resolve_ref(long *entry, const qr_epub *e, const char *doc, const char *href,
                        qr_error *err) QR_WUR;

/* The limits the book was opened with. */
const qr_limits *qr_epub_limits(const qr_epub *e);

/* True when the space-separated list `list` (OPF properties) holds `token`. */
bool qr_epub_has_token(const char *list, const char *token);

size_t qr_epub_item_count(const qr_epub *e);
const qr_epub_item *qr_epub_get_item(const qr_epub *e, size_t i);

size_t qr_epub_spine_count(const qr_epub *e);
const qr_epub_itemref *qr_epub_get_spine(const qr_epub *e, size_t i);

size_t qr_epub_toc_count(const qr_epub *e);
const qr_epub_navpoint *qr_epub_get_toc(const qr_epub *e, size_t i);
size_t qr_epub_pagelist_count(const qr_epub *e);
const qr_epub_navpoint *qr_epub_get_pagelist(const qr_epub *e, size_t i);

/*
 * Reads the uncompressed bytes of entry `i` into `out` (appended; bounded by
 * the limits and by out->max). Safe to call from several threads at once:
 * each call opens its own libzip handle over the same file or buffer.
 * Fails with corrupt-archive on CRC or inflate errors.
 */
int qr_epub_read_entry(qr_buf *out, const qr_epub *e, size_t i, qr_error *err) QR_WUR;

/*
 * Inflates entry `i` in chunks without keeping it and checks its size and
 * CRC-32, so an entry that will be copied raw is known to be intact.
 * Thread-safe like qr_epub_read_entry. Errors: corrupt-archive.
 */
int qr_epub_verify_entry(const qr_epub *e, size_t i, qr_error *err) QR_WUR;

/*
 * The source the qr_epub was opened from: exactly one of path / data is set.
 * The repackager uses it to copy unchanged entries raw.
 */
const char *qr_epub_source_path(const qr_epub *e);
const void *qr_epub_source_data(const qr_epub *e, size_t *len);

/*
 * Opens a new read-only libzip handle on the book's source (path or buffer);
 * zip_discard it. Errors: corrupt-archive, unsupported-format, io.
 */
int qr_epub_zip_open(zip_t **out, const qr_epub *e, qr_error *err) QR_WUR;

/*
 * Adds entry `ent` of `in` (a handle from qr_epub_zip_open) to `out` under
 * its normalised path, copied raw: compressed bytes, method, CRC and time
 * unchanged. Errors (at `stage`): write-failed.
 */
int qr_epub_zip_add_raw(zip_t *out, zip_t *in, const qr_epub_entry *ent, const char *stage,
                        qr_error *err) QR_WUR;

/* XORs `data` in place with the font-obfuscation key of `e` (self-inverse). */
int qr_epub_deobfuscate(const qr_epub *e, qr_obfuscation alg, uint8_t *data, size_t len,
                        qr_error *err) QR_WUR;

/* Media type helpers. */
bool qr_media_is_image(const char *media_type);
bool qr_media_is_font(const char *media_type);

/*
 * The versions of the libzip and libxml2 loaded at run time ("1.7.3",
 * "2.9.14"), into the caller's buffers of `n` bytes each; "unavailable" for
 * one that cannot be loaded.
 */
void qr_epub_library_versions(char *libzip, char *libxml2, size_t n);

/*
 * Make sure libzip, and libxml2, are there. The `quire` binary does not link
 * them: it loads each on first use (docs/internals/dlmod.md), and these load
 * it now; where they are linked (the library tests use) they do nothing.
 * Errors: internal, with the loader's reason ("cannot load libzip.so.4 ...").
 */
int qr_epub_zip_ready(qr_error *err) QR_WUR;
int qr_epub_xml_ready(qr_error *err) QR_WUR;

#endif
