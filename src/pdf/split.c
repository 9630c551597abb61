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
 * Workers each hold their own qpdf handle on the input, opened once; each
 * works through a contiguous share of the ranges (its handle then parses
 * only its part of the book) and helps the others when done. qpdf handles
 * are never shared between threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pdf/pdf_internal.h"

/* Ranges [next, end) of one worker's share; others take from the end when theirs is done. */
typedef struct split_block {
    size_t next;
    size_t end;
} split_block;

typedef struct split_job {
    const char *in_path;
    const qr_pdf_range *ranges;
    size_t n;
    const char *const *out_paths;
    const qr_limits *limits;
    pthread_mutex_t lock;
    split_block *blocks; /* one per worker */
    int nblocks;
    bool stop;
} split_job;

typedef struct split_worker {
    split_job *job;
    int index;
    qpdf_data src; /* opened by the main thread for worker 0, by the worker otherwise */
    qr_pdf__label_range *labels;
    size_t nlabels;
    qr_pdf__idset shared; /* resource dictionaries used by several pages */
    bool prepared;        /* labels read, inherited attributes pushed, sharing known */
    size_t failed_at;     /* index of the range that failed, or SIZE_MAX */
    qr_error err;
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

static int write_range(split_worker *wk, size_t idx)
{
    split_job *job = wk->job;
    const qr_pdf_range *r = &job->ranges[idx];
    qpdf_data dst = NULL;
    int rc = 0;

    if (!wk->prepared) {
        uint32_t np = (uint32_t)qpdf_get_num_pages(wk->src);
        if ((rc = qr_pdf__read_label_ranges(&wk->labels, &wk->nlabels, wk->src, np, &wk->err)) < 0)
            return rc;
        /* Pages get their own /Resources before pruning; shared parents stay as they are. */
        if (qpdf_push_inherited_attributes_to_page(wk->src) & QPDF_ERRORS)
            return qr_pdf__error_from_qpdf(&wk->err, wk->src, QR_ERR_PDF_DAMAGED,
                                           "cannot read the page tree");
        if (qr_pdf__shared_resources(&wk->shared, wk->src) < 0)
            return qr_error_set(&wk->err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
        wk->prepared = true;
    }
    if (!(dst = new_doc(&wk->err)))
        return QR_ENOMEM;
    if ((rc = add_pages(dst, wk->src, r->first, r->count, &wk->shared, &wk->err)) < 0)
        goto out;
    qr_pdf__copy_info(dst, wk->src);
    qpdf_oh nums = qpdf_oh_new_array(dst);
    qr_pdf__labels_append(dst, nums, wk->labels, wk->nlabels, r->first, r->count, 0);
    qr_pdf__labels_install(dst, nums);
    qpdf_oh_release(dst, nums);
    /* Slices are work files that are encrypted next: a rename is enough, no fsync. */
    rc = qr_pdf__write(dst, job->out_paths[idx], false, &wk->err);
    /* Warnings from the source (stream data repaired while copying) are not kept. */
    qr_pdf__drain_warnings(wk->src, NULL);
out:
    qpdf_cleanup(&dst);
    if (rc < 0)
        qr_error_set_context(&wk->err, "%s", job->out_paths[idx]);
    return rc;
}

/*
 * The next range for worker `w` (job->n when none is left), under the lock.
 * Each worker walks its own contiguous share forward, so its handle parses
 * only the objects of its pages; then it takes from the end of the largest
 * share left.
 */
static size_t next_range(split_job *job, int w)
{
    split_block *b = &job->blocks[w];
    if (job->stop)
        return job->n;
    if (b->next < b->end)
        return b->next++;
    split_block *big = NULL;
    for (int i = 0; i < job->nblocks; i++) {
        split_block *o = &job->blocks[i];
        if (o->end > o->next && (!big || o->end - o->next > big->end - big->next))
            big = o;
    }
    return big ? --big->end : job->n;
}

static void *split_main(void *arg)
{
    split_worker *wk = arg;
    split_job *job = wk->job;
    if (!wk->src) {
        qr_pdf__open_facts facts;
        if (qr_pdf__handle_open(&wk->src, &facts, job->in_path, job->limits, &wk->err) < 0) {
            wk->failed_at = 0;
            pthread_mutex_lock(&job->lock);
            job->stop = true;
            pthread_mutex_unlock(&job->lock);
            return NULL;
        }
    }
    for (;;) {
        pthread_mutex_lock(&job->lock);
        size_t idx = next_range(job, wk->index);
        pthread_mutex_unlock(&job->lock);
        if (idx >= job->n)
            break;
        if (write_range(wk, idx) < 0) {
            wk->failed_at = idx;
            pthread_mutex_lock(&job->lock);
            job->stop = true;
            pthread_mutex_unlock(&job->lock);
            break;
        }
    }
    return NULL;
}

int qr_pdf_split(const char *in_path, const qr_pdf_range *ranges, size_t n,
                 const char *const *out_paths, int threads, const qr_limits *limits, qr_error *err)
{
    split_job job;
    split_worker *wks = NULL;
    pthread_t *tids = NULL;
    qr_pdf__open_facts facts;
    int nthreads = 0, started = 0, rc = 0;

    if (!in_path || (!ranges && n) || (!out_paths && n) || !limits)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    if (n == 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "no ranges to write");
    memset(&job, 0, sizeof(job));
    job.in_path = in_path;
    job.ranges = ranges;
    job.n = n;
    job.out_paths = out_paths;
    job.limits = limits;
    nthreads = qr_pdf__threads(threads, n);
    wks = calloc((size_t)nthreads, sizeof(*wks));
    tids = calloc((size_t)nthreads, sizeof(*tids));
    job.blocks = calloc((size_t)nthreads, sizeof(*job.blocks));
    job.nblocks = nthreads;
    if (!wks || !tids || !job.blocks) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
        goto out;
    }
    for (int i = 0; i < nthreads; i++) {
        job.blocks[i].next = n * (size_t)i / (size_t)nthreads;
        job.blocks[i].end = n * (size_t)(i + 1) / (size_t)nthreads;
        wks[i].job = &job;
        wks[i].index = i;
        wks[i].failed_at = SIZE_MAX;
        qr_error_clear(&wks[i].err);
    }
    /* The calling thread is worker 0: its handle also validates the ranges. */
    if ((rc = qr_pdf__handle_open(&wks[0].src, &facts, in_path, limits, err)) < 0)
        goto out;
    uint32_t pages = (uint32_t)qpdf_get_num_pages(wks[0].src);
    for (size_t i = 0; i < n; i++) {
        if (ranges[i].count == 0 || ranges[i].first >= pages ||
            ranges[i].count > pages - ranges[i].first || !out_paths[i]) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE,
                              "range %zu (first %u, count %u) is outside the %u pages", i,
                              ranges[i].first, ranges[i].count, pages);
            goto out;
        }
    }
    if (pthread_mutex_init(&job.lock, NULL) != 0) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "cannot create a mutex");
        goto out;
    }
    for (started = 1; started < nthreads; started++)
        if (pthread_create(&tids[started], NULL, split_main, &wks[started]) != 0)
            break;
    split_main(&wks[0]);
    for (int i = 1; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&job.lock);

    /* Report the failure of the earliest range, as a sequential run would. */
    size_t best = SIZE_MAX;
    int who = -1;
    for (int i = 0; i < nthreads; i++)
        if (wks[i].failed_at != SIZE_MAX && (who < 0 || wks[i].failed_at < best)) {
            best = wks[i].failed_at;
            who = i;
        }
    if (who >= 0) {
        if (err && !err->id)
            *err = wks[who].err;
        rc = wks[who].err.code ? wks[who].err.code : QR_EIO;
    }
out:
    for (int i = 0; wks && i < nthreads; i++) {
        if (wks[i].src)
            qpdf_cleanup(&wks[i].src);
        qr_pdf__label_ranges_free(wks[i].labels, wks[i].nlabels);
        qr_pdf__idset_free(&wks[i].shared);
    }
    free(job.blocks);
    free(wks);
    free(tids);
    return rc;
}

int qr_pdf_merge(const char *const *in_paths, size_t n, const char *out_path,
                 const qr_limits *limits, qr_error *err)
{
    qpdf_data dst = NULL;
    qpdf_data *srcs = NULL;
    qr_pdf__open_facts facts;
    qpdf_oh nums = 0;
    uint32_t offset = 0;
    int rc = 0;

    if (!in_paths || n == 0 || !out_path || !limits)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE,
                            "merge needs inputs and an output");
    srcs = calloc(n, sizeof(*srcs));
    if (!srcs)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
    if (!(dst = new_doc(err))) {
        rc = QR_ENOMEM;
        goto out;
    }
    nums = qpdf_oh_new_array(dst);
    /* Sources stay open until the write: qpdf reads copied stream data then. */
    for (size_t i = 0; i < n; i++) {
        qr_pdf__label_range *lr = NULL;
        size_t nl = 0;
        if ((rc = qr_pdf__handle_open(&srcs[i], &facts, in_paths[i], limits, err)) < 0)
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
    for (size_t i = 0; i < n; i++)
        if (srcs[i])
            qpdf_cleanup(&srcs[i]);
    free(srcs);
    return rc;
}
