/*
 * Internals of the EPUB ingest (src/parse/epub*.c). Not installed: only the
 * parse module and its tests include this header.
 *
 * A qr_epub owns every string reachable from it through a string pool
 * (qr_epub__strdup); arrays grow with qr_epub__grow, bounded by the limits.
 */
#ifndef QR_EPUB_INTERNAL_H
#define QR_EPUB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <zip.h>

#include "qr/epub.h"

#define QR_EPUB_STAGE "epub"

/* Well-known container paths. */
#define QR_EPUB_CONTAINER "META-INF/container.xml"
#define QR_EPUB_ENCRYPTION "META-INF/encryption.xml"
#define QR_EPUB_RIGHTS "META-INF/rights.xml"
#define QR_EPUB_LCPL "META-INF/license.lcpl"
#define QR_EPUB_DISPLAY_OPTIONS "META-INF/com.apple.ibooks.display-options.xml"

#define QR_OBF_IDPF_URI "http://www.idpf.org/2008/embedding"
#define QR_OBF_ADOBE_URI "http://ns.adobe.com/pdf/enc#RC"

struct qr_epub {
    /* The source: exactly one of src_path / src_data. */
    char *src_path;
    const void *src_data;
    size_t src_len;

    qr_limits limits;
    qr_warnings *warnings;

    qr_epub_entry *entries;
    size_t n_entries, cap_entries;
    size_t *by_path; /* entry indexes sorted by path (non-duplicates only) */
    size_t n_by_path;
    /* NFC form of each entry's path where it differs from the path, else NULL (pooled). */
    const char **nfc_paths;
    bool nfc_any;     /* some entry's path is not in NFC */
    bool *nfc_warned; /* per entry: href-nfc-mismatch already recorded */

    qr_epub_item *items;
    size_t n_items, cap_items;
    qr_epub_itemref *spine;
    size_t n_spine, cap_spine;
    qr_epub_navpoint *toc;
    size_t n_toc, cap_toc;
    qr_epub_navpoint *pages;
    size_t n_pages, cap_pages;

    qr_epub_info info;

    /* Font obfuscation keys, derived from the unique identifier. */
    uint8_t idpf_key[20];
    uint8_t adobe_key[16];
    bool has_adobe_key;
    const char *uuid_identifier; /* first dc:identifier that is a urn:uuid, or NULL */

    /* String pool: every const char * above points into one of these. */
    char **pool;
    size_t n_pool, cap_pool;
    bool oom; /* a pool allocation failed: the open fails with out-of-memory */
};

/* ---- epub.c: allocation helpers ---- */

/* A new empty qr_epub with `opts` (or defaults) copied in. NULL on ENOMEM. */
qr_epub *qr_epub__new(const qr_epub_opts *opts);
/* Copies `len` bytes of `s` (NUL added) into the pool. NULL on ENOMEM. */
const char *qr_epub__strndup(qr_epub *e, const char *s, size_t len);
const char *qr_epub__strdup(qr_epub *e, const char *s);
/* Takes over a malloc'd string (freed with the epub, or now on failure). */
const char *qr_epub__take(qr_epub *e, char *s);
/* Grows *arr (of elem-sized items) to hold one more, bounded by `max`. */
int qr_epub__grow(void **arr, size_t *cap, size_t len, size_t elem, size_t max, qr_error *err);

/* ---- epub_zip.c ---- */

/* Opens a fresh libzip handle over the epub's source (path or buffer). */
int qr_epub__zip_open(zip_t **out, const qr_epub *e, qr_error *err);
/* Builds e->entries from `za`, enforcing every ZIP safety limit. */
int qr_epub__zip_scan(qr_epub *e, zip_t *za, qr_error *err);
/*
 * Appends the bytes of entry `i` to `out`, never more than `cap` bytes:
 * the declared size is checked first and the inflated bytes are counted
 * while reading, so a lying header cannot exceed it.
 */
int qr_epub__zip_read(qr_buf *out, const qr_epub *e, zip_t *za, size_t i, uint64_t cap,
                      qr_errid too_big, qr_error *err);
/* How a lookup matched: exactly (0) or only leniently. */
enum {
    QR_MATCH_CASE = 1 << 0, /* ignoring ASCII case */
    QR_MATCH_NFC = 1 << 1   /* after Unicode NFC normalisation of both names */
};
/*
 * Entry for a normalised path. With `how` NULL the match is exact; otherwise
 * an exact match is tried first, then the NFC forms, then ASCII case on the
 * path and on the NFC forms, and *how says which (QR_MATCH_*, 0 for exact).
 * The entry's own name is what is returned: hrefs take the archive's bytes.
 */
int qr_epub__lookup_how(const qr_epub *e, const char *path, unsigned *how);
/* The same, with *lenient set when the match was not exact (any QR_MATCH_*). */
int qr_epub__lookup(const qr_epub *e, const char *path, bool *lenient);
/*
 * Records href-nfc-mismatch (once per entry) or href-case-mismatch for a
 * lenient match of `ref` (as written, at `context`) to entry `i`.
 */
void qr_epub__warn_match(qr_epub *e, int i, unsigned how, const char *ref, const char *context);

/* ---- epub_href.c ---- */

enum {
    QR_HREF_PERCENT = 1 << 0,   /* percent-escapes were decoded */
    QR_HREF_BACKSLASH = 1 << 1, /* '\' separators were turned into '/' */
    QR_HREF_FRAGMENT = 1 << 2,  /* a '#fragment' was present */
    QR_HREF_REMOTE = 1 << 3,    /* has a URL scheme: not a container path */
    QR_HREF_DOTSEG = 1 << 4     /* '.' / '..' / empty segments were normalised */
};

/*
 * Resolves `href` against directory `base` (a container path ending in '/',
 * or "" for the root): percent-decoding, '\' accepted, '.'/'..' normalised.
 * *path gets a malloc'd container path (NULL for remote hrefs), *frag the
 * fragment without '#' (malloc'd, NULL if none). Absolute hrefs, drive
 * letters, NUL bytes or '..' above the root fail with unsafe-path.
 * `decode` = false keeps percent-escapes (used for the literal fallback).
 */
int qr_epub__href_resolve(char **path, char **frag, unsigned *flags, const char *base,
                          const char *href, bool decode, qr_error *err);
/* Normalises a ZIP entry name into a container path (same rules, no decoding). */
int qr_epub__name_normalise(char **path, unsigned *flags, const char *name, qr_error *err);
/* The directory part of a container path including the trailing '/', malloc'd. */
char *qr_epub__dirname(const char *path);
/*
 * Resolves an href and finds its entry with every lenient fallback, recording
 * warnings against `context`. *path gets the pooled resolved path (NULL for
 * remote), *entry the entry index or -1. Fails only with unsafe-path / ENOMEM.
 */
int qr_epub__href_find(const char **path, const char **frag, int *entry, qr_epub *e,
                       const char *base, const char *href, const char *context, qr_error *err);

/* ---- epub_nfc.c ---- */

/*
 * *out = the Unicode NFC form of the UTF-8 string `s` (malloc'd), or NULL
 * when `s` is already in NFC, is ASCII, or is not valid UTF-8 (compared as
 * bytes then). Errors: out-of-memory.
 */
int qr_epub__nfc(char **out, const char *s, qr_error *err);

/* ---- epub_xml.c ---- */

/* One-time process-wide libxml2 setup (init + deny-all external loader). */
void qr_epub__xml_init(void);
/*
 * Parses an XML document safely: size capped (entry-too-large), any
 * <!ENTITY declaration refused (xml-limit), HTML named entities substituted
 * (warning xml-html-entity), no network, no DTD loading, no entity
 * substitution, recovery on malformed input (warning xml-recovered).
 * Returns NULL *out with `invalid` (an error id) when nothing usable parsed.
 */
int qr_epub__xml_parse(xmlDoc **out, qr_epub *e, const char *data, size_t len, const char *context,
                       qr_errid invalid, qr_error *err);
/*
 * For optional documents (nav, NCX, display options): a hostile or limit
 * error held in `local` (xml-limit, entry-too-large, unsafe-path,
 * out-of-memory, too-many-entries) is passed on to `err` and returned;
 * anything else becomes warning `code` and 0 is returned.
 */
int qr_epub__soften(qr_epub *e, const qr_error *local, int rc, const char *code,
                    const char *context, qr_error *err);
/* True if `n` is an element whose local name is `name` (namespace ignored). */
bool qr_epub__xml_is(const xmlNode *n, const char *name);
/* Attribute by local name: no-namespace first, then any namespace. Pooled, NULL if absent. */
const char *qr_epub__xml_attr(qr_epub *e, const xmlNode *n, const char *name);
/* Attribute in a namespace-ish sense: any attribute `name` that has a namespace. */
const char *qr_epub__xml_attr_ns(qr_epub *e, const xmlNode *n, const char *name);
/* Text content with whitespace collapsed and trimmed, pooled ("" if none). */
const char *qr_epub__xml_text(qr_epub *e, const xmlNode *n);
/* First child element with local name `name`, or NULL. */
xmlNode *qr_epub__xml_child(const xmlNode *n, const char *name);
/* True if the space-separated list `list` contains `token`. */
bool qr_epub__has_token(const char *list, const char *token);

/* ---- epub_container.c ---- */

/* mimetype checks (warnings only). */
void qr_epub__check_mimetype(qr_epub *e, zip_t *za);
/* rights.xml / license.lcpl → drm-protected. */
int qr_epub__check_drm_files(qr_epub *e, qr_error *err);
/* Parses container.xml text into the pooled OPF path (info.opf_path). */
int qr_epub__parse_container(qr_epub *e, const char *xml, size_t len, qr_error *err);
/* Parses encryption.xml text: DRM detection, obfuscation marks. */
int qr_epub__parse_encryption(qr_epub *e, const char *xml, size_t len, qr_error *err);
/* Apple display-options fixed-layout flag (EPUB 2 fixed layout). */
int qr_epub__parse_display_options(qr_epub *e, const char *xml, size_t len, qr_error *err);
/* Derives the font-obfuscation keys from the unique identifier. */
int qr_epub__derive_keys(qr_epub *e, qr_error *err);

/* ---- epub_opf.c ---- */

/*
 * Parses the OPF text at container path info.opf_path. With `with_entries`
 * the manifest is resolved against e->entries (missing-resource warnings,
 * itemrefs without an entry dropped); without, only hrefs are resolved.
 */
int qr_epub__parse_opf(qr_epub *e, const char *xml, size_t len, bool with_entries, qr_error *err);

/* ---- epub_nav.c ---- */

/* Parses an EPUB 3 nav document at container path `path` into toc/pages. */
int qr_epub__parse_nav(qr_epub *e, const char *xml, size_t len, const char *path, qr_error *err);
/* Parses an EPUB 2 NCX at `path`; fills toc / pages only where still empty. */
int qr_epub__parse_ncx(qr_epub *e, const char *xml, size_t len, const char *path, qr_error *err);

/* ---- epub_sha1.c ---- */

void qr_epub__sha1(uint8_t digest[20], const void *data, size_t len);

#endif
