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
 * The thread pool (qr/pool.h, contiguous shares) runs the ranges: each
 * thread holds its own qpdf handle on the input, opened once, works through
 * a contiguous share of the ranges (its handle then parses only its part of
 * the book) and helps the others when done. qpdf handles are never shared
 * between threads.
 */
#include <stdlib.h>
#include <string.h>

#include "pdf/pdf_internal.h"
#include "qr/buf.h"
#include "qr/pool.h"

typedef struct split_job {
    const char *in_path;
    const qr_pdf_range *ranges;
    size_t n;
    const char *const *out_paths;
    const qr_limits *limits;
    qpdf_data first_src; /* opened by the caller to check the ranges; thread 0 takes it */
    qr_pdf__map first_map;
} split_job;

/* What cutting slices from one source reads from it once. */
struct qr_pdf__cutter {
    qr_pdf__label_range *labels;
    size_t nlabels;
    qr_pdf__idset shared; /* resource dictionaries used by several pages */
    bool prepared;        /* labels read, inherited attributes pushed, sharing known */
};

/* One thread's state: its own qpdf handle on the input, and what it read once from it. */
typedef struct split_worker {
    qpdf_data src;
    qr_pdf__map map; /* the input, which src reads */
    struct qr_pdf__cutter cut;
} split_worker;

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

static int write_range(const split_job *job, split_worker *wk, size_t idx, qr_error *err)
{
    qpdf_data dst = NULL;
    int rc = cut_range(&dst, &wk->cut, wk->src, &job->ranges[idx], err);
    /* Slices are work files that are encrypted next: a rename is enough, no fsync. */
    if (rc == 0)
        rc = qr_pdf__write(dst, job->out_paths[idx], false, err);
    /* Warnings from the source (stream data repaired while copying) are not kept. */
    qr_pdf__drain_warnings(wk->src, NULL);
    if (dst)
        qpdf_cleanup(&dst);
    if (rc < 0)
        qr_error_set_context(err, "%s", job->out_paths[idx]);
    return rc;
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
    if (rc == 0)
        rc = qr_pdf__write_mem(dst, out, err);
    qr_pdf__drain_warnings(p->q, NULL);
    if (dst)
        qpdf_cleanup(&dst);
    if (rc < 0)
        qr_error_set_context(err, "pages %u-%u", r->first + 1, r->first + r->count);
    return rc;
}

static int split_start(void *ctx, int thread, void **state, qr_error *err)
{
    split_job *job = ctx;
    split_worker *wk = calloc(1, sizeof(*wk));
    if (!wk)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
    *state = wk;
    if (thread == 0) {
        wk->src = job->first_src;
        wk->map = job->first_map;
        job->first_src = NULL;
        job->first_map = (qr_pdf__map){0};
        return 0;
    }
    qr_pdf__open_facts facts;
    return qr_pdf__handle_open(&wk->src, &wk->map, &facts, job->in_path, job->limits, err);
}

static int split_task(void *ctx, void *state, size_t i, qr_error *err)
{
    return write_range(ctx, state, i, err);
}

static void split_end(void *ctx, void *state)
{
    (void)ctx;
    split_worker *wk = state;
    if (!wk)
        return;
    qr_pdf__handle_close(&wk->src, &wk->map);
    cutter_clear(&wk->cut);
    free(wk);
}

int qr_pdf_split(const char *in_path, const qr_pdf_range *ranges, size_t n,
                 const char *const *out_paths, int threads, const qr_limits *limits, qr_error *err)
{
    qr_pdf__open_facts facts;
    int rc = 0;

    if (!in_path || (!ranges && n) || (!out_paths && n) || !limits)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    if (n == 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "no ranges to write");
    split_job job = {.in_path = in_path,
                     .ranges = ranges,
                     .n = n,
                     .out_paths = out_paths,
                     .limits = limits,
                     .first_src = NULL,
                     .first_map = {0}};
    /* The calling thread's handle (thread 0's) also validates the ranges. */
    if ((rc = qr_pdf__handle_open(&job.first_src, &job.first_map, &facts, in_path, limits, err)) < 0)
        goto out;
    uint32_t pages = (uint32_t)qpdf_get_num_pages(job.first_src);
    for (size_t i = 0; i < n; i++) {
        if (ranges[i].count == 0 || ranges[i].first >= pages ||
            ranges[i].count > pages - ranges[i].first || !out_paths[i]) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE,
                              "range %zu (first %u, count %u) is outside the %u pages", i,
                              ranges[i].first, ranges[i].count, pages);
            goto out;
        }
    }
    /*
     * Contiguous shares: each handle parses only the objects of its own pages
     * before it helps the others. The failure of the earliest range is the one
     * reported, as a sequential run would.
     */
    qr_pool_job pj = QR_POOL_JOB_INIT;
    pj.ntasks = n;
    pj.threads = threads;
    pj.contiguous = true;
    pj.ctx = &job;
    pj.thread_start = split_start;
    pj.task = split_task;
    pj.thread_end = split_end;
    rc = qr_pool_run(&pj, NULL, err);
out:
    qr_pdf__handle_close(&job.first_src, &job.first_map);
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
