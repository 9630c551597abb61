/*
 * Splitting a PDF into standalone page-range PDFs, and joining them again.
 *
 * A slice is an empty document into which qpdf copies the range's pages
 * (qpdf_add_page: a foreign-object copy of everything each page reaches,
 * shared objects copied once per slice), plus the Info title/author and the
 * page labels of those pages. A page that draws on a resource dictionary
 * shared with other pages first gets its own, naming only what it uses
 * (resources.c), so a slice does not carry the whole book's images.
 *
 * Slices are cut from the document already open (qr_pdf_cut), one range at
 * a time, into memory; a qpdf handle is never used by two threads at once.
 */
#include <stdlib.h>
#include <string.h>

#include "pdf/pdf_internal.h"
#include "qr/buf.h"

/* What cutting slices from one source reads from it once. */
struct qr_pdf__cutter {
    qr_pdf__label_range *labels;
    size_t nlabels;
    qr_pdf__idset shared; /* resource dictionaries used by several pages */
    bool prepared;        /* labels read, inherited attributes pushed, sharing known */
    size_t last_bytes;    /* the size of the previous slice; 0 before the first */
};

/*
 * Copies pages [first, first+count) of src into the fresh document dst.
 * With `shared` (the shared resource dictionaries of src, whose inherited
 * attributes were pushed to the pages), each source page that uses a shared
 * one first loses the resources its content does not use.
 */
static int add_pages(qpdf_data dst, qpdf_data src, uint32_t first, uint32_t count,
                     const qr_pdf__idset *shared, qr_error *err)
{
    for (uint32_t i = first; i < first + count; i++) {
        qpdf_oh page = qpdf_get_page_n(src, i);
        if (qpdf_has_error(src))
            return qr_pdf__error_from_qpdf(err, src, QR_ERR_PDF_DAMAGED, "cannot read a page");
        if (shared && qr_pdf__page_resources_shared(shared, src, page) &&
            qr_pdf__prune_page_resources(src, page) == QR_ENOMEM) {
            qpdf_oh_release(src, page);
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
        }
        QPDF_ERROR_CODE st = qpdf_add_page(dst, src, page, QPDF_FALSE);
        qpdf_oh_release(src, page);
        if ((st & QPDF_ERRORS) || qpdf_has_error(dst))
            return qr_pdf__error_from_qpdf(err, dst, QR_ERR_PDF_DAMAGED, "cannot copy a page");
    }
    return 0;
}

static qpdf_data new_doc(qr_error *err)
{
    qpdf_data d = qpdf_init();
    if (!d) {
        qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "qpdf_init failed");
        return NULL;
    }
    qpdf_silence_errors(d);
    qpdf_set_suppress_warnings(d, QPDF_TRUE);
    if (qpdf_empty_pdf(d) & QPDF_ERRORS) {
        qr_pdf__error_from_qpdf(err, d, QR_ERR_OUT_OF_MEMORY, "cannot create a PDF");
        qpdf_cleanup(&d);
        return NULL;
    }
    return d;
}

static void cutter_clear(struct qr_pdf__cutter *c)
{
    qr_pdf__label_ranges_free(c->labels, c->nlabels);
    qr_pdf__idset_free(&c->shared);
    memset(c, 0, sizeof(*c));
}

void qr_pdf__cutter_free(struct qr_pdf__cutter *c)
{
    if (c)
        cutter_clear(c);
    free(c);
}

/*
 * A fresh document holding pages [r->first, +count) of src, with its Info
 * title/author and those pages' labels, ready to be written.
 */
static int cut_range(qpdf_data *out, struct qr_pdf__cutter *c, qpdf_data src,
                     const qr_pdf_range *r, qr_error *err)
{
    qpdf_data dst = NULL;
    int rc = 0;
    *out = NULL;
    if (!c->prepared) {
        uint32_t np = (uint32_t)qpdf_get_num_pages(src);
        if ((rc = qr_pdf__read_label_ranges(&c->labels, &c->nlabels, src, np, err)) < 0)
            return rc;
        /* Pages get their own /Resources before pruning; shared parents stay as they are. */
        if (qpdf_push_inherited_attributes_to_page(src) & QPDF_ERRORS)
            return qr_pdf__error_from_qpdf(err, src, QR_ERR_PDF_DAMAGED,
                                           "cannot read the page tree");
        if (qr_pdf__shared_resources(&c->shared, src) < 0)
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
        c->prepared = true;
    }
    if (!(dst = new_doc(err)))
        return QR_ENOMEM;
    if ((rc = add_pages(dst, src, r->first, r->count, &c->shared, err)) < 0) {
        qpdf_cleanup(&dst);
        return rc;
    }
    qr_pdf__copy_info(dst, src);
    qpdf_oh nums = qpdf_oh_new_array(dst);
    qr_pdf__labels_append(dst, nums, c->labels, c->nlabels, r->first, r->count, 0);
    qr_pdf__labels_install(dst, nums);
    qpdf_oh_release(dst, nums);
    *out = dst;
    return 0;
}

int qr_pdf_cut(qr_pdf *p, const qr_pdf_range *r, qr_buf *out, qr_error *err)
{
    if (!p || !r || !out)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    if (!p->q)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE,
                            "the document was dropped");
    uint32_t pages = p->info.pages;
    if (r->count == 0 || r->first >= pages || r->count > pages - r->first)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE,
                            "range (first %u, count %u) is outside the %u pages", r->first,
                            r->count, pages);
    if (!p->cutter && !(p->cutter = calloc(1, sizeof(*p->cutter))))
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
    qpdf_data dst = NULL;
    int rc = cut_range(&dst, p->cutter, p->q, r, err);
    if (rc == 0) {
        /* The size to expect: the previous slice's, else the input's share for these pages. */
        size_t before = out->len;
        uint64_t expect =
            p->cutter->last_bytes ? p->cutter->last_bytes : p->info.file_bytes / pages * r->count;
        rc = qr_pdf__write_mem(dst, out, expect >= QR_PDF__MEMFD_FROM, err);
        if (rc == 0)
            p->cutter->last_bytes = out->len - before;
    }
    qr_pdf__drain_warnings(p->q, NULL);
    if (dst)
        qpdf_cleanup(&dst);
    if (rc < 0)
        qr_error_set_context(err, "pages %u-%u", r->first + 1, r->first + r->count);
    return rc;
}

int qr_pdf_merge(const char *const *in_paths, size_t n, const char *out_path,
                 const qr_limits *limits, qr_error *err)
{
    qpdf_data dst = NULL;
    qpdf_data *srcs = NULL;
    qr_pdf__map *maps = NULL;
    qr_pdf__open_facts facts;
    qpdf_oh nums = 0;
    uint32_t offset = 0;
    int rc = 0;

    if (!in_paths || n == 0 || !out_path || !limits)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE,
                            "merge needs inputs and an output");
    srcs = calloc(n, sizeof(*srcs));
    maps = calloc(n, sizeof(*maps));
    if (!srcs || !maps) {
        free(srcs);
        free(maps);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
    }
    if (!(dst = new_doc(err))) {
        rc = QR_ENOMEM;
        goto out;
    }
    nums = qpdf_oh_new_array(dst);
    /* Sources stay open until the write: qpdf reads copied stream data then. */
    for (size_t i = 0; i < n; i++) {
        qr_pdf__label_range *lr = NULL;
        size_t nl = 0;
        if ((rc = qr_pdf__handle_open(&srcs[i], &maps[i], &facts, in_paths[i], limits, err)) < 0)
            goto out;
        uint32_t np = (uint32_t)qpdf_get_num_pages(srcs[i]);
        if (np > QR_PDF_MAX_PAGES - offset) {
            rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, QR_PDF_STAGE, "too many pages");
            goto out;
        }
        if ((rc = add_pages(dst, srcs[i], 0, np, NULL, err)) < 0) {
            qr_error_set_context(err, "%s", in_paths[i]);
            goto out;
        }
        if (i == 0)
            qr_pdf__copy_info(dst, srcs[i]);
        if ((rc = qr_pdf__read_label_ranges(&lr, &nl, srcs[i], np, err)) < 0)
            goto out;
        qr_pdf__labels_append(dst, nums, lr, nl, 0, np, offset);
        qr_pdf__label_ranges_free(lr, nl);
        offset += np;
    }
    qr_pdf__labels_install(dst, nums);
    rc = qr_pdf__write(dst, out_path, true, err);
out:
    if (dst)
        qpdf_cleanup(&dst);
    for (size_t i = 0; srcs && maps && i < n; i++)
        qr_pdf__handle_close(&srcs[i], &maps[i]);
    free(srcs);
    free(maps);
    return rc;
}
