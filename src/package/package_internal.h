/* Shared between the files of src/package (not part of the public API). */
#ifndef QR_PACKAGE_INTERNAL_H
#define QR_PACKAGE_INTERNAL_H

#include <jansson.h>

#include "qr/compress.h"
#include "qr/epub.h"
#include "qr/package.h"
#include "qr/pdf.h"
#include "qr/slice.h"

/* Names fixed by the format (docs/format.md). */
#define QR_PKG_ROLE_SLICES "urn:quire:slices"
#define QR_PKG_SLICE_TYPE "application/vnd.quire.slice"
#define QR_PKG_SLICE_ALG "urn:quire:alg:xchacha20-poly1305-slice"
#define QR_PKG_SCHEME "urn:quire:package"
#define QR_PKG_POSITIONS_ALG "deflate6/1024"
#define QR_PKG_MANIFEST "manifest.json"
#define QR_PKG_SIGNATURE "manifest.json.sig"
#define QR_PKG_KEY "key.json"
#define QR_PKG_POSITIONS "positions.json"
/* PDF packages (docs/format.md, "PDF packages"). */
#define QR_PKG_PDF_PROFILE "https://readium.org/webpub-manifest/profiles/pdf"
#define QR_PKG_PDF_HREF "publication.pdf"
#define QR_PKG_PDF_TYPE "application/pdf"
#define QR_PKG_PAGES_SOURCE_PDF "pdf"
/* A manifest, key.json or positions.json larger than this is refused. */
#define QR_PKG_MAX_JSON (UINT64_C(64) << 20)

/* One sealed slice, as the manifest records it. */
typedef struct qr_package__slice {
    char href[32];      /* "slices/0000.qs" */
    uint64_t size;      /* bytes of the slice file */
    uint64_t plain_len; /* bytes of the slice ZIP before sealing */
    char sha256[65];
} qr_package__slice;

/* What every manifest carries besides the book itself. */
typedef struct qr_package__manifest_common {
    const qr_package__slice *slices; /* as sealed, one per slice */
    size_t nslices;
    const char *book_id;
    const char *revision;
    const char *kek_id;
    const char *source_sha256; /* 64 hex digits of the source file, or NULL */
    const char *cover_href;    /* "cover.jpg", or NULL */
    const char *cover_type;
    uint64_t slice_target;
    uint32_t slice_pages; /* PDF: fixed pages per slice, or 0 */
} qr_package__manifest_common;

/* What the EPUB manifest is made of. */
typedef struct qr_package__manifest_in {
    const qr_epub *orig;       /* metadata, navigation, page list */
    const qr_epub *comp;       /* the compressed book: entries, sizes, types */
    const qr_slice_plan *plan; /* over `comp` */
    const qr_positions *positions;
    const qr_pages *pages;
    const qr_package__manifest_common *c;
} qr_package__manifest_in;

/* What the PDF manifest is made of. */
typedef struct qr_package__pdf_manifest_in {
    const qr_pdf_info *info;    /* pages, title, author, outline, labels (compression keeps them) */
    const qr_pdf_range *ranges; /* one per slice, 0-based pages */
    const qr_package__manifest_common *c;
} qr_package__pdf_manifest_in;

/* The PDF manifest (Readium PDF profile); new reference. Errors: out-of-memory. */
int qr_package__pdf_manifest_build(json_t **out, const qr_package__pdf_manifest_in *in,
                                   qr_error *err);

/* positions.json of a PDF of `pages` pages: one Locator per page. NULL when out of memory. */
json_t *qr_package__pdf_positions(uint32_t pages);

/*
 * Plans the page ranges of a PDF of `pages` pages: `fixed` pages per slice
 * when nonzero, else greedily toward `target` bytes using the per-page
 * estimates `page_bytes` (a page that does not fit closes the slice; every
 * slice has at least one page). *out is malloc'd (*n ranges).
 * Errors: invalid-argument (no pages), out-of-memory.
 */
int qr_package__pdf_plan(qr_pdf_range **out, size_t *n, const uint64_t *page_bytes, uint32_t pages,
                         uint64_t target, uint32_t fixed, qr_error *err);

/* ---- writing objects (process.c) ---- */

/* Puts `data` as prefix + name; on failure err->context names the key. */
int qr_package__put(const qr_store *store, const char *prefix, const char *name, const void *data,
                    size_t len, qr_error *err);
/* Puts `j` serialised compactly (ASCII). */
int qr_package__put_json(const qr_store *store, const char *prefix, const char *name,
                         const json_t *j, qr_error *err);

/* ---- the publish loop and its per-format drivers (process.c, book_epub.c, book_pdf.c) ---- */

/* What the format-neutral loop gives a driver while it prepares the book. */
typedef struct qr_package__run {
    const qr_process_opts *o;
    qr_process_report *rep; /* stage times, sizes, counts; rep->warnings collects warnings */
    const char *workdir;    /* private to this run; the loop removes it */
    const char *compressed; /* the compressed book the loop wrote there */
    uint64_t slice_target;  /* opts->slice_target, or the slicer's default */
} qr_package__run;

/*
 * One format's part of `quire process`. The loop (process.c) opens the book,
 * names the package, checks whether it is already published, compresses it,
 * then calls prepare, slice for each slice, positions, cover and manifest,
 * and seals and publishes what they return in the order of the commit
 * protocol.
 */
typedef struct qr_package__driver {
    const char *name;         /* "epub", "pdf": also the compressed file's extension */
    bool needs_source_sha256; /* the default book id or the manifest uses it */
    /* A driver over the open book (borrowed: it outlives the driver). */
    int (*create)(void **self, qr_book *book, qr_error *err);
    /* The book id when none is given (65 bytes); `src` is the source's SHA-256 or NULL. */
    void (*default_book_id)(const void *self, const char *src, char out[65]);
    /*
     * Reads back once the compressed book the loop wrote (run->compressed)
     * and plans the slices; fills rep's t_positions, t_slice (reading back
     * and planning), pages, positions and pages_source.
     */
    int (*prepare)(void *self, qr_package__run *run, qr_error *err);
    size_t (*count)(const void *self);
    /* The plaintext of slice i (appended to `plain`, which the loop resets). */
    int (*slice)(void *self, size_t i, qr_buf *plain, qr_error *err);
    /* positions.json as a new reference; NULL when out of memory. */
    json_t *(*positions)(const void *self);
    /*
     * Optional (NULL: no cover): the cover image in clear into `out`, its
     * extension ("jpg") and media type; leaves `out` empty when there is none.
     */
    int (*cover)(const void *self, qr_buf *out, char ext[8], char type[64], qr_error *err);
    /* The manifest as a new reference in *out. Errors: out-of-memory. */
    int (*manifest)(const void *self, json_t **out, const qr_package__manifest_common *c,
                    qr_error *err);
    void (*destroy)(void *self);
} qr_package__driver;

extern const qr_package__driver qr_package__epub_driver;
extern const qr_package__driver qr_package__pdf_driver;

/* Builds the RWPM manifest (new reference in *out). Errors: out-of-memory. */
int qr_package__manifest_build(json_t **out, const qr_package__manifest_in *in, qr_error *err);

/* json_object_set_new / json_array_append_new that remember a failure in *ok (jansson fails
 * only on ENOMEM); a NULL value is a failure too. */
void qr_package__json_put(bool *ok, json_t *o, const char *k, json_t *v);
void qr_package__json_push(bool *ok, json_t *a, json_t *v);

/* Deepest nesting kept in a toc; deeper entries hang at this depth. */
#define QR_PKG_NAV_MAXD 32

/* Builds nested RWPM links (toc with "children") from links given in document order. */
typedef struct qr_package__nest {
    json_t *root; /* the top-level array (owned by the caller once built) */
    json_t *last[QR_PKG_NAV_MAXD];
    int top;
} qr_package__nest;

/* Starts a nest; root NULL and *ok false on ENOMEM. */
void qr_package__nest_init(qr_package__nest *n, bool *ok);
/*
 * Adds `link` (a new reference, taken) at `depth` (0 = top level), clamped so a level never
 * skips one below its parent.
 */
void qr_package__nest_add(qr_package__nest *n, json_t *link, int depth, bool *ok);

/* Percent-encodes a container path (and keeps one '#fragment') as a URI reference; malloc'd. */
char *qr_package__href(const char *path);

/* prefix + name, with a '/' between when the prefix lacks one; malloc'd, NULL on ENOMEM. */
char *qr_package__key(const char *prefix, const char *name);

/* A book id or revision: [A-Za-z0-9._-]{1,64}, not starting with '.'. */
bool qr_package__valid_name(const char *s);

/* The package as read back and checked up to (not including) its slices. */
typedef struct qr_package__reader qr_package__reader;

/*
 * Loads manifest.json, checks its signature against `k`, unwraps key.json.
 * PDF slices are checked through temporary files in a work directory made
 * under `work_parent` (NULL: /tmp) on first use, removed by
 * qr_package__close. Errors: manifest-invalid, manifest-signature-invalid,
 * wrong-key, io.
 */
int qr_package__open(qr_package__reader **out, const qr_store *store, const char *prefix,
                     const qr_keyring *k, const qr_limits *limits, const char *work_parent,
                     qr_error *err);
void qr_package__close(qr_package__reader *r);
size_t qr_package__count(const qr_package__reader *r);
const char *qr_package__book_id(const qr_package__reader *r);
const char *qr_package__revision(const qr_package__reader *r);
/* True for a PDF package: every slice is a PDF (and none lists resources). */
bool qr_package__is_pdf(const qr_package__reader *r);
/* The resources the manifest lists for slice i (container paths, decoded); 0 for a PDF. */
size_t qr_package__nresources(const qr_package__reader *r, size_t i);
/* PDF: the pages of slice i (lastPage - firstPage + 1); 0 for an EPUB. */
uint32_t qr_package__npages(const qr_package__reader *r, size_t i);
/*
 * Fetches slice i, checks size and SHA-256, opens it under its binding and
 * checks its content: a ZIP holding exactly the listed resources, or a PDF
 * with the listed page count. The plaintext goes to `plain` (reset first).
 * A PDF slice is checked from a file: `pdf_path` when not NULL (left there
 * on success), else a temporary file removed at once.
 * Errors: slice-missing, slice-hash-mismatch, slice-truncated,
 * slice-invalid, slice-auth-failed, io.
 */
int qr_package__read_slice(qr_buf *plain, uint64_t *sealed_len, qr_package__reader *r, size_t i,
                           const char *pdf_path, qr_error *err);

#endif
