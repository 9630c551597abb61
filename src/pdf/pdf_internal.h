/*
 * Internals of the PDF module (docs/internals/pdf.md). Only src/pdf/ and the
 * PDF unit tests include this. Every qpdf call of quire lives in src/pdf/.
 *
 * qpdf's C API reports failures of object-handle calls through the handle's
 * error slot rather than return values; the helpers here check and drain it
 * so that one bad object never leaks an error into an unrelated later call.
 */
#ifndef QR_PDF_INTERNAL_H
#define QR_PDF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qpdf/qpdf-c.h>

#include "qr/config.h"
#include "qr/error.h"
#include "qr/pdf.h"
#include "qr/warn.h"

#define QR_PDF_STAGE "pdf"

/* Walk bounds for hostile files. */
#define QR_PDF_MAX_DEPTH 64          /* outline / name tree / number tree / form nesting */
#define QR_PDF_MAX_OUTLINE 100000    /* outline entries read */
#define QR_PDF_MAX_TREE_NODES 200000 /* nodes visited in one name or number tree walk */
#define QR_PDF_MAX_LABEL_RANGES 100000
#define QR_PDF_MAX_PAGES 1000000

/*
 * A file mapped read-only for qpdf to read from memory. Read through a FILE,
 * qpdf seeks before nearly every object it reads: one lseek system call each
 * (438,000 for the 1,151 slices of a 1,151-page book), where a mapping costs
 * page faults only. The file must not shrink while mapped (SIGBUS): quire
 * maps only its inputs and its own work files.
 */
typedef struct qr_pdf__map {
    void *addr; /* NULL: nothing mapped (an empty file is read as a file) */
    size_t len;
} qr_pdf__map;

struct qr_pdf {
    qpdf_data q;
    char *path; /* the file, or the name given to qr_pdf_open_buffer */
    void *mem;  /* the input of qr_pdf_open_buffer, which qpdf reads lazily */
    qr_pdf__map map; /* the input file, mapped */
    qr_limits limits;
    qr_pdf_info info;
    bool repaired; /* qpdf repaired the file while reading it */
    bool twin;     /* made by qr_pdf_twin: map and mem are its original's */
    /* Images qr_pdf_compress_open replaced in q, which a twin replays. */
    struct qr_pdf__objgen {
        int id, gen;
    } *replaced;
    size_t nreplaced;
    bool unreplayable; /* q changed in a way a twin cannot repeat (a replace qpdf refused) */
    struct qr_pdf__cutter *cutter; /* qr_pdf_cut's state, made at the first cut */
};

/* What opening a file found besides the handle. */
typedef struct qr_pdf__open_facts {
    bool repaired;       /* qpdf reported warnings while reading */
    bool empty_password; /* encrypted, opened with the empty user password */
    char first_warning[200];
    size_t nwarnings;
    uint64_t bytes; /* size of the input */
} qr_pdf__open_facts;

/*
 * Opens `path` into a fresh qpdf handle (errors silenced, warnings kept):
 * size limit, header sniff, read with recovery, password check, at least one
 * page; the file is read through *map, which must outlive the handle (close
 * both with qr_pdf__handle_close). *out is NULL and *map empty on failure.
 * Error ids as for qr_pdf_open.
 */
int qr_pdf__handle_open(qpdf_data *out, qr_pdf__map *map, qr_pdf__open_facts *facts,
                        const char *path, const qr_limits *limits, qr_error *err);
/*
 * Repeats in the twin `t` the image replacements compress made in `p`
 * (p->replaced), reading the new data from `p`'s handle: no other thread
 * may use `p` meanwhile. Errors: pdf-damaged (qpdf refused), out-of-memory.
 */
int qr_pdf__replay_images(qr_pdf *t, const qr_pdf *p, qr_error *err);

/* Frees the handle, then the mapping it read from; both may be empty. */
void qr_pdf__handle_close(qpdf_data *q, qr_pdf__map *map);

/* Moves qpdf's pending warnings into facts (count, first text) and clears them. */
void qr_pdf__drain_warnings(qpdf_data q, qr_pdf__open_facts *facts);

/* True (and the error cleared) when the last object-handle call failed. */
bool qr_pdf__failed(qpdf_data q);

/* Translates qpdf's pending error into `err` with id `id` (drains it). */
int qr_pdf__error_from_qpdf(qr_error *err, qpdf_data q, qr_errid id, const char *what);

/*
 * Writes `q` to `out_path` atomically (temp file, rename; fsync first when
 * `durable`): object streams generated, streams compressed, unencrypted;
 * a deterministic /ID when `durable` (work files get a fresh one: hashing
 * the whole output costs too much there). Errors: write-failed (id), io.
 */
int qr_pdf__write(qpdf_data q, const char *out_path, bool durable, qr_error *err);
/*
 * Writes `q` into `out` (appended) as a work file: the same options, a fresh
 * /ID. `large`: the output is expected to reach QR_PDF__MEMFD_FROM bytes,
 * and goes through an anonymous memory file instead of qpdf's own buffer
 * (util.c says why).
 */
int qr_pdf__write_mem(qpdf_data q, struct qr_buf *out, bool large, qr_error *err);
#define QR_PDF__MEMFD_FROM ((size_t)4 << 20)
/* qr_pdf_cut's state (split.c); NULL-safe. */
void qr_pdf__cutter_free(struct qr_pdf__cutter *c);

/* A set of indirect object ids (visited sets for loop detection). */
typedef struct qr_pdf__idset {
    uint64_t *slots;
    size_t cap; /* power of two */
    size_t len;
} qr_pdf__idset;

/* Returns 1 if added, 0 if already present, QR_ENOMEM. Direct objects (id 0) are never added. */
int qr_pdf__idset_add(qr_pdf__idset *s, qpdf_data q, qpdf_oh oh);
/* True when the indirect object `oh` is in the set. */
bool qr_pdf__idset_has(const qr_pdf__idset *s, qpdf_data q, qpdf_oh oh);
void qr_pdf__idset_free(qr_pdf__idset *s);

/* UTF-8 copy of a PDF text string (PDFDocEncoding or UTF-16BE), NUL-free and trimmed; NULL if not a
 * string or empty. */
char *qr_pdf__text(qpdf_data q, qpdf_oh oh);

/* Integer value of a number object, `dflt` when it is not one. */
long long qr_pdf__int(qpdf_data q, qpdf_oh oh, long long dflt);

/* 0-based index of a page object, -1 when it is not a page of this document. */
int32_t qr_pdf__page_index(qpdf_data q, qpdf_oh page);

/* Title and author: Info dictionary, else XMP. Out-params malloc'd or NULL. */
int qr_pdf__read_meta(char **title, char **author, qpdf_data q, const qr_limits *limits,
                      qr_error *err);

/* Outline entries in document order, bounded and loop-safe. */
int qr_pdf__read_outline(qr_pdf_outline **out, size_t *n, qpdf_data q, qr_error *err);
void qr_pdf__outline_free(qr_pdf_outline *o, size_t n);

/* One /PageLabels range: pages from `start` on use this style. */
typedef struct qr_pdf__label_range {
    uint32_t start;
    char style;   /* 'D', 'R', 'r', 'A', 'a' or 0 (prefix only) */
    char *prefix; /* UTF-8, NULL when absent */
    long long st; /* first number, >= 1 */
} qr_pdf__label_range;

/* The /PageLabels number tree as sorted, deduplicated ranges inside [0, npages). */
int qr_pdf__read_label_ranges(qr_pdf__label_range **out, size_t *n, qpdf_data q, uint32_t npages,
                              qr_error *err);
void qr_pdf__label_ranges_free(qr_pdf__label_range *r, size_t n);
/* One label per page from the ranges (npages strings). */
int qr_pdf__format_labels(char ***out, const qr_pdf__label_range *r, size_t n, uint32_t npages,
                          qr_error *err);
/*
 * Writes /PageLabels into `dst` for pages [first, first+count) of a document
 * with ranges `r`, renumbered from 0 at `dst_first` (ranges already written
 * to dst for earlier pages are passed in by the caller through `nums`).
 * `nums` is a direct array handle of dst collecting the number tree.
 */
void qr_pdf__labels_append(qpdf_data dst, qpdf_oh nums, const qr_pdf__label_range *r, size_t n,
                           uint32_t first, uint32_t count, uint32_t dst_first);
/* Installs `nums` as dst's /Root /PageLabels when it holds any entry. */
void qr_pdf__labels_install(qpdf_data dst, qpdf_oh nums);

/* Copies the Info /Title and /Author strings (raw bytes) of src into dst. */
void qr_pdf__copy_info(qpdf_data dst, qpdf_data src);

/*
 * Gives `page` (a page of q, inherited attributes already pushed down) a
 * direct /Resources whose XObject, Font, ExtGState, Pattern, Shading,
 * Properties and ColorSpace sub-dictionaries keep only the names its
 * content, its annotations' appearances and the forms and Type 3 fonts that
 * borrow its resources use (resources.c). Shared objects are not modified.
 * Returns 1 when pruned, 0 when left unchanged (no resources, content or
 * borrowing streams unreadable, a bound exceeded), QR_ENOMEM.
 */
int qr_pdf__prune_page_resources(qpdf_data q, qpdf_oh page);

/*
 * Fills `shared` with the resource dictionaries (a page's /Resources or one
 * of its name sub-dictionaries) that more than one page of q uses, after
 * the inherited attributes were pushed down. Errors: QR_ENOMEM.
 */
int qr_pdf__shared_resources(qr_pdf__idset *shared, qpdf_data q);
/*
 * True when `page` draws on a shared resource dictionary. Only such pages
 * are pruned: a page's own resource list is what its producer wrote for it
 * (qpdf --split-pages decides the same way), and pruning costs a decode of
 * the content.
 */
bool qr_pdf__page_resources_shared(const qr_pdf__idset *shared, qpdf_data q, qpdf_oh page);

#endif
