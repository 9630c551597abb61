/*
 * The streaming package of a book: compress, slice, encrypt and publish
 * (`quire process`), and the reader side of the same format (`quire verify`,
 * `quire unpack`). The package layout, the manifest and the idempotency rule
 * are specified in docs/format.md; docs/internals/package.md explains the code.
 *
 * A package lives in a store under a prefix: `books/<book_id>/<revision>/`
 * in a shared store, or "" when a directory holds one package (`-o DIR`).
 * manifest.json is written last and is the commit point: a store never shows
 * a manifest whose objects are not all in place.
 */
#ifndef QR_PACKAGE_H
#define QR_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/config.h"
#include "qr/crypt.h"
#include "qr/error.h"
#include "qr/compress.h"
#include "qr/remote.h"
#include "qr/store.h"
#include "qr/warn.h"

/* ---- process ---- */

typedef struct qr_process_opts {
    const qr_profile *profile; /* NULL: tablet */
    qr_limits limits;
    int threads;             /* image workers and split threads; 0: one per online CPU */
    const char *book_id;     /* NULL: derived from the EPUB unique identifier */
    const char *revision;    /* NULL: derived from source bytes, profile, format version */
    uint64_t slice_target;   /* target slice size in bytes; 0: the slicer's default */
    const char *work_parent; /* parent of the work directories; NULL: /tmp */
    qr_progress_fn progress; /* image progress, as for qr_compress_book; may be NULL */
    void *progress_ud;
    uint32_t slice_pages; /* PDF: a fixed number of pages per slice; 0: sized toward slice_target */
    const char
        *source_dir; /* qr_process_source: local sources must resolve inside it (NULL: any) */
    /*
     * When *cancel becomes non-zero (a signal handler), the book stops at its
     * next safe point (an image, a stage, a slice): the work directory is
     * removed, nothing more is published and the call fails with `canceled`.
     */
    const volatile sig_atomic_t *cancel;
    /*
     * The process is quire's own (the command line, a worker's job child):
     * the publish loop may retune malloc for slices (qr_mem_tune_for_slices),
     * which lasts until the process ends. false in a process that embeds
     * the library for other work.
     */
    bool tune_malloc;
} qr_process_opts;

#define QR_PROCESS_OPTS_INIT                                                                       \
    {                                                                                              \
        .profile = NULL, .limits = QR_LIMITS_INIT, .threads = 0, .book_id = NULL,                  \
        .revision = NULL, .slice_target = 0, .work_parent = NULL, .progress = NULL,                \
        .progress_ud = NULL, .slice_pages = 0, .source_dir = NULL, .cancel = NULL,                 \
        .tune_malloc = false                                                                       \
    }

typedef struct qr_process_report {
    char book_id[65];
    char revision[65];
    char prefix[200]; /* where the package went in the store ("" for a directory) */
    const qr_profile *profile;
    bool already_published; /* a verified manifest was there: nothing was written */
    /* Wall seconds per stage. */
    size_t images_to_jpeg;  /* -jpeg profiles: PNG photographs now JPEG */
    size_t texts_rewritten; /* -jpeg profiles: text entries whose references were rewritten */
    double t_compress, t_positions, t_slice, t_encrypt, t_publish, t_total;
    uint64_t source_bytes;     /* the input file (as fetched, for a remote source) */
    uint64_t compressed_bytes; /* the compressed EPUB or PDF */
    uint64_t plain_bytes;      /* all slice ZIPs (or slice PDFs) before encryption */
    uint64_t sealed_bytes;     /* all slice files */
    size_t slices;
    uint32_t positions;
    uint32_t pages;
    const char *pages_source; /* "print", "declared", "synthetic", "pdf" (static) */
    uint64_t peak_rss_bytes;
    qr_warnings *warnings; /* owned by the report */
} qr_process_report;

void qr_process_report_free(qr_process_report *r);

/*
 * Processes the book (EPUB or PDF, detected by content) at `in_path` into
 * `store`. The book is opened and parsed once (qr_book_open) and every
 * stage reads it from there; what compression writes is read back once.
 *
 * EPUB: compress (into a private work directory, removed before returning),
 * positions and pages from the original, slice plan over the compressed
 * book, seal each slice, then publish slices, positions.json, cover.<ext>,
 * key.json, manifest.json.sig and, last, manifest.json.
 *
 * PDF: compress (qr_compress_book under the profile), plan page ranges over
 * the compressed file (opts->slice_pages pages each, else greedily toward
 * opts->slice_target with qr_pdf_page_bytes, at least one page per slice),
 * cut them into standalone PDFs (qr_pdf_cut, from the open document, one
 * thread cutting ahead of sealing), seal
 * and publish as for EPUB: slices, positions.json (one position per page),
 * key.json, the signature and the manifest (Readium PDF profile). No cover.
 *
 * `prefix` NULL publishes under "books/<book_id>/<revision>/"; "" writes the
 * package at the root of the store (a package directory). When a manifest is
 * already there and the package verifies against `k` (qr_package_verify), the
 * run succeeds without writing anything (report->already_published).
 * Otherwise the stale manifest is removed first, and every object rewritten.
 *
 * Book id: opts->book_id, else for an EPUB the unique identifier with every
 * byte outside [A-Za-z0-9._-] replaced by '-', else (empty, longer than 64
 * bytes or starting with '.') "id-" and 16 hex digits of its SHA-256; for a
 * PDF (which has no unique identifier) "pdf-" and the first 16 hex digits of
 * the SHA-256 of the source file. An explicit book id or revision must match
 * [A-Za-z0-9._-]{1,64} and not start with '.'.
 *
 * Errors: every id of qr_book_open (unsupported-format, drm-protected,
 * pdf-damaged, ...), of qr_compress_book and of qr_pdf_cut,
 * invalid-argument, wrong-key, write-failed, io, out-of-memory.
 * On success *out holds the report (qr_process_report_free), with every
 * warning of the parse and of each stage; on failure *out is NULL and, when
 * `warnings_on_error` is non-NULL, it receives the warnings recorded before
 * the failure (caller frees them).
 */
int qr_process_book(qr_process_report **out, const char *in_path, const qr_store *store,
                    const char *prefix, const qr_keyring *k, const qr_process_opts *opts,
                    qr_warnings **warnings_on_error, qr_error *err) QR_WUR;

/*
 * One book from wherever it is: the source named by `source` is a local
 * path (which must resolve inside opts->source_dir when that is set), or,
 * when `remote` is not NULL, an s3:// or https:// URL that is fetched first
 * into a work directory under opts->work_parent (qr_remote_fetch, under the
 * remote's network policy). The book is then processed into `store` as
 * qr_process_book does, and what was fetched is removed, whatever the
 * outcome. report->source_bytes is the size of what was processed.
 * Errors: source-forbidden (a URL with `remote` NULL, or another scheme),
 * source-not-found, unsafe-path (outside opts->source_dir), every id of
 * qr_remote_fetch and of qr_process_book.
 */
int qr_process_source(qr_process_report **out, const char *source, qr_remote *remote,
                      const qr_store *store, const char *prefix, const qr_keyring *k,
                      const qr_process_opts *opts, qr_warnings **warnings_on_error,
                      qr_error *err) QR_WUR;

/* ---- reading a package ---- */

typedef struct qr_verify_report {
    char book_id[65];
    char revision[65];
    size_t slices;
    size_t resources; /* entries across all slices (EPUB; 0 for a PDF package) */
    uint64_t sealed_bytes;
    uint64_t plain_bytes;
    bool pdf;       /* a PDF package (slices are PDFs) */
    uint32_t pages; /* PDF: pages across all slices */
} qr_verify_report;

/* Options of the reader side. */
typedef struct qr_read_opts {
    qr_limits limits;
    const char *work_parent; /* where decrypted slices wait (NULL: /tmp); removed after */
    const char *slices_dir;  /* unpack: also leave each decrypted slice here (NULL: no) */
} qr_read_opts;

#define QR_READ_OPTS_INIT                                                                          \
    {                                                                                              \
        .limits = QR_LIMITS_INIT, .work_parent = NULL, .slices_dir = NULL                          \
    }

/*
 * Verifies the package under `prefix` in `store` against the key file `k`:
 * the manifest's Ed25519 signature, key.json, and for every slice its size,
 * SHA-256, authenticated decryption under its binding, and its content: for
 * an EPUB package, that the decrypted ZIP holds exactly the resources the
 * manifest lists for it; for a PDF package, that the decrypted slice opens
 * as a PDF (qr_pdf_open, from a temporary file in a private work directory
 * under opts->work_parent) with as many pages as its range in the manifest.
 * Stops at the first failure; err->context names the object
 * ("slices/0003.qs").
 *
 * Errors, in the order they are checked: manifest-invalid (missing or not a
 * quire manifest; PDF page ranges that do not tile 1..numberOfPages),
 * manifest-signature-invalid (no .sig, or the manifest was edited),
 * wrong-key (the key file is not the one the package was made with: its key
 * id differs, or key.json does not unwrap), slice-missing,
 * slice-hash-mismatch (size or SHA-256 differs: flipped byte, truncation,
 * swapped slice), slice-truncated / slice-invalid / slice-auth-failed (from
 * decryption), slice-invalid (the plaintext is not the listed ZIP, or not a
 * PDF with the listed page count), io. `out` and `opts` may be NULL.
 */
int qr_package_verify_with(qr_verify_report *out, const qr_store *store, const char *prefix,
                           const qr_keyring *k, const qr_read_opts *opts, qr_error *err) QR_WUR;

/* qr_package_verify_with with `limits` (NULL: defaults) and the default work directory. */
int qr_package_verify(qr_verify_report *out, const qr_store *store, const char *prefix,
                      const qr_keyring *k, const qr_limits *limits, qr_error *err) QR_WUR;

/*
 * Verifies the package as qr_package_verify_with does and rebuilds one book
 * at `out_path` (atomically). EPUB: `mimetype` first and stored, then every
 * entry of every slice in slice order, its compressed bytes copied
 * untouched. PDF: the slice PDFs joined in order (qr_pdf_merge).
 * With opts->slices_dir (created when missing) each decrypted slice is also
 * left there as NNNN.zip or NNNN.pdf. Errors: those of qr_package_verify,
 * of qr_pdf_merge, write-failed, io.
 */
int qr_package_unpack_with(qr_verify_report *out, const qr_store *store, const char *prefix,
                           const qr_keyring *k, const char *out_path, const qr_read_opts *opts,
                           qr_error *err) QR_WUR;

/* qr_package_unpack_with with `limits` (NULL: defaults) and `work_parent`, no slices dir. */
int qr_package_unpack(qr_verify_report *out, const qr_store *store, const char *prefix,
                      const qr_keyring *k, const qr_limits *limits, const char *out_path,
                      const char *work_parent, qr_error *err) QR_WUR;

#endif
