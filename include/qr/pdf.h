/*
 * PDF books through libqpdf's C API: open (repairing what qpdf can repair),
 * read metadata, outline and page labels, compress under a profile, cut into
 * standalone page-range PDFs and join them again. docs/internals/pdf.md
 * explains the code.
 *
 * One qr_pdf is used by one thread at a time; separate qr_pdf objects (even
 * on the same file) may be used from different threads.
 */
#ifndef QR_PDF_H
#define QR_PDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/config.h"
#include "qr/error.h"
#include "qr/warn.h"

typedef struct qr_pdf qr_pdf;

/* One outline (bookmark) entry, in document order (depth first). */
typedef struct qr_pdf_outline {
    char *title;  /* UTF-8 */
    int level;    /* 0 for top-level entries */
    int32_t page; /* 0-based page index; -1 when the destination does not resolve to a page */
} qr_pdf_outline;

typedef struct qr_pdf_info {
    uint64_t file_bytes; /* size of the input as opened */
    uint32_t pages;
    char version[8]; /* "1.5" */
    char *title;     /* Info /Title, else XMP dc:title; UTF-8; NULL when absent */
    char *author;    /* Info /Author, else XMP dc:creator; UTF-8; NULL when absent */
    bool encrypted;  /* opened with the empty user password */
    bool linearized;
    qr_pdf_outline *outline;
    size_t noutline;
    char **page_labels; /* `pages` UTF-8 labels from /PageLabels; NULL when the file has none */
} qr_pdf_info;

/*
 * Opens the PDF at `path`. Damage qpdf can repair (broken xref, bad stream
 * lengths, loops) is repaired, with warning `pdf-repaired` carrying qpdf's
 * first messages. A file encrypted with an empty user password is opened
 * (warning `pdf-encrypted-empty-password`). Errors: source-not-found, io,
 * input-too-large (limits->max_input_bytes), unsupported-format (no PDF
 * header), drm-protected (a password is needed), pdf-damaged (qpdf cannot
 * recover it, or it has no pages), out-of-memory.
 */
int qr_pdf_open(qr_pdf **out, const char *path, const qr_limits *limits, qr_warnings *w,
                qr_error *err) QR_WUR;
/*
 * As qr_pdf_open, over `len` bytes in memory (copied; the caller keeps its
 * buffer). `name` (may be NULL) names the input in messages.
 */
int qr_pdf_open_buffer(qr_pdf **out, const void *data, size_t len, const char *name,
                       const qr_limits *limits, qr_warnings *w, qr_error *err) QR_WUR;
/*
 * As qr_pdf_open for page-level work only (page sizes, the split): the
 * header, repairs, passwords and the page tree are checked as there, but
 * the metadata, outline and page labels are not read (qr_pdf_info_get
 * reports the page count, version and flags; title, author, outline and
 * labels are empty).
 */
int qr_pdf_open_pages(qr_pdf **out, const char *path, const qr_limits *limits, qr_warnings *w,
                      qr_error *err) QR_WUR;
/*
 * A second, independent handle on the document `p` reads, for cutting
 * slices (qr_pdf_cut) on another thread while `p` cuts others: it reads the
 * very bytes `p` reads (its buffer or its mapping of the file, not the path
 * again), so `p` must outlive it, and repeats the images
 * qr_pdf_compress_open replaced in `p`. Its qr_pdf_info holds the page
 * count, size, version and flags only. The two cut the same slice from the
 * same range, byte for byte but for the trailer /ID. When
 * qr_pdf_twin_reads_original(p) (images were replaced), it reads them from
 * `p`'s handle, so no other thread may use `p` meanwhile; otherwise it
 * reads only what `p` fixed at open and may run beside a cut on `p`.
 * Possible while qr_pdf_can_twin(p): `p` is no twin, was
 * opened from a regular file or a buffer, and qpdf took every replacement.
 * Errors: invalid-argument (not possible for `p`), out-of-memory, internal
 * (the second reading found another page count), pdf-damaged (a replaced
 * image could not be repeated), and those of reading.
 */
bool qr_pdf_can_twin(const qr_pdf *p);
bool qr_pdf_twin_reads_original(const qr_pdf *p);
int qr_pdf_twin(qr_pdf **out, const qr_pdf *p, qr_error *err) QR_WUR;

/*
 * Frees the parsed document but keeps the facts read at open: afterwards
 * only qr_pdf_info_get and qr_pdf_close may be called. For a document that
 * has been written and is no longer needed but for its outline and labels.
 */
void qr_pdf_drop_document(qr_pdf *p);
void qr_pdf_close(qr_pdf *p);

/* The facts read at open (owned by `p`). */
const qr_pdf_info *qr_pdf_info_get(const qr_pdf *p);

/*
 * An estimate of the bytes each page adds to a slice (its content streams,
 * and the images, fonts and forms it is the first page to use), for planning
 * slices toward a size. `out` has info->pages entries.
 * Errors: pdf-damaged, out-of-memory.
 */
int qr_pdf_page_bytes(qr_pdf *p, uint64_t *out, qr_error *err) QR_WUR;

typedef struct qr_pdf_compress_report {
    uint64_t in_bytes;
    uint64_t out_bytes;
    size_t images_seen;         /* image XObjects */
    size_t images_recompressed; /* re-encoded and kept because smaller */
    size_t images_failed;       /* could not be re-encoded: kept as is, warning pdf-image-kept */
    uint32_t pages;
    bool kept_input; /* the rewrite was larger: the output is a copy of the input */
} qr_pdf_compress_report;

/*
 * Writes a compressed copy of the open PDF `p` to `out_path` (atomically):
 * object streams, Flate streams recompressed, unreferenced objects dropped,
 * and, when opts->profile is lossy, large JPEG (DCTDecode) images re-encoded
 * with libvips at the profile's long edge and quality where that makes them
 * smaller, on opts->threads workers (0: one per online CPU); the images are
 * replaced in `p` itself, so `p` shows the compressed document afterwards.
 * With `out_path` NULL nothing is written (out_bytes 0): the caller cuts
 * slices from `p` (qr_pdf_cut) instead of reading a rewrite back.
 * `lossless` changes no pixels. The output is unencrypted.
 * Only 8-bit DCTDecode images in DeviceGray, DeviceRGB or 1/3-component
 * ICCBased colour without /Decode, /Matte or colour-key /Mask are touched;
 * CMYK JPEGs are left as they are. When the rewrite of an undamaged,
 * unencrypted file comes out larger, the input bytes are copied instead.
 * Warnings (to `w`): pdf-repaired (damage met while writing),
 * pdf-image-kept; those of opening were recorded by qr_pdf_open.
 * `rep` (may be NULL) is filled on success and, as far as known, on failure.
 * Errors: invalid-argument, write-failed, disk-full, io, out-of-memory.
 */
int qr_pdf_compress_open(qr_pdf_compress_report *rep, qr_pdf *p, const char *out_path,
                         const qr_compress_opts *opts, qr_warnings *w, qr_error *err) QR_WUR;

/*
 * Opens the PDF at `in_path` (qr_pdf_open, warnings to `w`) and compresses
 * it into `out_path` (qr_pdf_compress_open). Errors: those of both.
 */
int qr_pdf_compress(qr_pdf_compress_report *rep, const char *in_path, const char *out_path,
                    const qr_compress_opts *opts, qr_warnings *w, qr_error *err) QR_WUR;

/* Pages [first, first + count) of a document, 0-based. */
typedef struct qr_pdf_range {
    uint32_t first;
    uint32_t count;
} qr_pdf_range;

/*
 * Pages `r` of `p` (opened with qr_pdf_open or qr_pdf_open_pages) as one
 * standalone PDF appended to `out`, cut from the document already open, in
 * memory: only the objects its pages reach (a resource dictionary shared by
 * several pages keeps, for each page, only the names its content uses),
 * with the document's Info title/author and its pages' labels. Output is
 * the same for the same input and range but for the trailer's /ID, which
 * is fresh per write (a deterministic /ID hashes the whole output: half the
 * cut's time on large files); merged files (qr_pdf_merge) have
 * deterministic IDs. The first
 * cut reads the labels and resource sharing once; pages that share a
 * resource dictionary have theirs pruned in `p` (its pages keep drawing the
 * same). Not for two threads at once on one `p`. Errors: invalid-argument
 * (a range outside the document, a dropped document), pdf-damaged,
 * write-failed, out-of-memory.
 */
struct qr_buf;
int qr_pdf_cut(qr_pdf *p, const qr_pdf_range *r, struct qr_buf *out, qr_error *err) QR_WUR;

/*
 * Joins the PDFs `in_paths` (slices, in order) into one PDF at `out_path`
 * (atomically, fsynced), with the first input's Info title/author and the
 * inputs' page labels renumbered. Errors: those of qr_pdf_open,
 * invalid-argument, write-failed, disk-full, io, out-of-memory.
 */
int qr_pdf_merge(const char *const *in_paths, size_t n, const char *out_path,
                 const qr_limits *limits, qr_error *err) QR_WUR;

/* The version of the libqpdf loaded at run time ("11.3.0"). */
const char *qr_pdf_library_version(void);

#endif
