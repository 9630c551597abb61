/* Shared between the files of src/package (not part of the public API). */
#ifndef QR_PACKAGE_INTERNAL_H
#define QR_PACKAGE_INTERNAL_H

#include <jansson.h>

#include "qr/epub.h"
#include "qr/package.h"
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
/* A manifest, key.json or positions.json larger than this is refused. */
#define QR_PKG_MAX_JSON (UINT64_C(64) << 20)

/* One sealed slice, as the manifest records it. */
typedef struct qr_package__slice {
    char href[32];      /* "slices/0000.qs" */
    uint64_t size;      /* bytes of the slice file */
    uint64_t plain_len; /* bytes of the slice ZIP before sealing */
    char sha256[65];
} qr_package__slice;

typedef struct qr_package__manifest_in {
    const qr_epub *orig;       /* metadata, navigation, page list */
    const qr_epub *comp;       /* the compressed book: entries, sizes, types */
    const qr_slice_plan *plan; /* over `comp` */
    const qr_package__slice *slices;
    const qr_positions *positions;
    const qr_pages *pages;
    const char *book_id;
    const char *revision;
    const char *kek_id;
    const char *cover_href; /* "cover.jpg", or NULL */
    const char *cover_type;
    uint64_t slice_target;
} qr_package__manifest_in;

/* Builds the RWPM manifest (new reference in *out). Errors: out-of-memory. */
int qr_package__manifest_build(json_t **out, const qr_package__manifest_in *in, qr_error *err);

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
 * Errors: manifest-invalid, manifest-signature-invalid, wrong-key, io.
 */
int qr_package__open(qr_package__reader **out, const qr_store *store, const char *prefix,
                     const qr_keyring *k, const qr_limits *limits, qr_error *err);
void qr_package__close(qr_package__reader *r);
size_t qr_package__count(const qr_package__reader *r);
const char *qr_package__book_id(const qr_package__reader *r);
const char *qr_package__revision(const qr_package__reader *r);
/* The resources the manifest lists for slice i (container paths, decoded). */
size_t qr_package__nresources(const qr_package__reader *r, size_t i);
/*
 * Fetches slice i, checks size and SHA-256, opens it under its binding and
 * checks that the plaintext is a ZIP holding exactly the listed resources.
 * The plaintext goes to `plain` (reset first). Errors: slice-missing,
 * slice-hash-mismatch, slice-truncated, slice-invalid, slice-auth-failed, io.
 */
int qr_package__read_slice(qr_buf *plain, uint64_t *sealed_len, const qr_package__reader *r,
                           size_t i, qr_error *err);

#endif
