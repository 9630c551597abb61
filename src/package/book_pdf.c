/*
 * The PDF driver of the publish loop (process.c): compression changed the
 * open document in place and wrote nothing; plan page ranges over it (a
 * fixed page count, or toward the target size from per-page estimates),
 * then cut each range from it into memory when the loop asks for it
 * (qr_pdf_cut): the whole book is never rewritten to disk and read back,
 * and no slice touches the disk before it is sealed. With more than one
 * thread, one cutter thread works ahead of the loop (at most AHEAD slices
 * waiting), so cutting the next slices overlaps sealing and publishing this
 * one; the qpdf handle is then the cutter's alone. One position per page;
 * no cover.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "package_internal.h"
#include "qr/clock.h"
#include "qr/log.h"
#include "qr/pool.h"

/* Slices the cutter thread may have ready ahead of the loop. */
#define AHEAD 3

/* The cutter thread and the slices it has cut that the loop has not taken. */
typedef struct cut_ahead {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const qr_pdf_range *ranges;
    qr_pdf *doc;
    size_t n;
    size_t taken; /* slices the loop took */
    size_t cut;   /* slices ready or failed */
    bool stop;    /* the loop is done (or gave up): the cutter stops at its next slice */
    qr_buf slot[AHEAD];
    int rc;        /* the first failure, at slice `cut` */
    qr_error err;
} cut_ahead;

typedef struct pdf_book {
    qr_book *book;        /* borrowed: the original, opened by the loop */
    qr_pdf *comp;         /* borrowed: the book's document, compressed in place */
    uint64_t *page_bytes; /* per-page size estimates (sized slices only) */
    qr_pdf_range *ranges;
    size_t nranges;
    uint32_t slice_pages;
    cut_ahead *ahead; /* NULL: slices are cut when asked, on the loop's thread */
} pdf_book;

static int pdf_create(void **self, qr_book *book, qr_error *err)
{
    pdf_book *d = calloc(1, sizeof(*d));
    if (!d)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
    d->book = book;
    *self = d;
    return 0;
}

/* A PDF has no unique identifier: "pdf-" and 16 hex digits of the source's SHA-256. */
static void pdf_book_id(const void *self, const char *src, char out[65])
{
    (void)self;
    snprintf(out, 65, "pdf-%.16s", src ? src : "");
}

/* Title, author, outline and labels as read at open (compression keeps them). */
static const qr_pdf_info *book_info(const pdf_book *d)
{
    return qr_pdf_info_get(qr_book_pdf(d->book));
}

/* The page ranges over the compressed document. */
static int plan(pdf_book *d, qr_package__run *run, qr_error *err)
{
    qr_process_report *rep = run->rep;
    const qr_process_opts *o = run->o;
    const qr_pdf_info *info = qr_pdf_info_get(d->comp);
    int rc = 0;
    rep->pages = info->pages;
    rep->positions = info->pages;
    rep->pages_source = QR_PKG_PAGES_SOURCE_PDF;
    if (!o->slice_pages) {
        d->page_bytes = calloc(info->pages ? info->pages : 1, sizeof(*d->page_bytes));
        if (!d->page_bytes)
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
        if ((rc = qr_pdf_page_bytes(d->comp, d->page_bytes, err)) < 0)
            return rc;
    }
    return qr_package__pdf_plan(&d->ranges, &d->nranges, d->page_bytes, info->pages,
                                run->slice_target, o->slice_pages, err);
}

static void *cutter_main(void *arg)
{
    cut_ahead *a = arg;
    pthread_mutex_lock(&a->mu);
    while (a->cut < a->n && !a->stop) {
        if (a->cut - a->taken >= AHEAD) {
            pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
        size_t i = a->cut;
        qr_buf *b = &a->slot[i % AHEAD];
        pthread_mutex_unlock(&a->mu);
        qr_error e = QR_ERROR_INIT;
        qr_buf_reset(b);
        int rc = qr_pdf_cut(a->doc, &a->ranges[i], b, &e);
        pthread_mutex_lock(&a->mu);
        if (rc < 0) {
            a->rc = rc;
            a->err = e;
            a->stop = true;
        } else {
            a->cut = i + 1;
        }
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Starts the cutter thread over the planned ranges (cap: the loop's buffer limit). */
static int ahead_start(pdf_book *d, size_t cap, qr_error *err)
{
    cut_ahead *a = calloc(1, sizeof(*a));
    if (!a)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
    a->ranges = d->ranges;
    a->n = d->nranges;
    a->doc = d->comp;
    for (size_t i = 0; i < AHEAD; i++)
        qr_buf_init(&a->slot[i], cap);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    int e = pthread_create(&a->thread, NULL, cutter_main, a);
    if (e != 0) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return qr_error_set_cause(err, QR_ERR_OUT_OF_MEMORY, e, "slice",
                                  "cannot start the slice thread: %s", strerror(e));
    }
    d->ahead = a;
    return 0;
}

static void ahead_stop(cut_ahead *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    for (size_t i = 0; i < AHEAD; i++)
        qr_buf_free(&a->slot[i]);
    free(a);
}

/* Slice i (the loop asks in order) from the cutter: its buffer is swapped into `plain`. */
static int ahead_take(cut_ahead *a, size_t i, qr_buf *plain, qr_error *err)
{
    int rc = 0;
    pthread_mutex_lock(&a->mu);
    if (i != a->taken) {
        rc = qr_error_set(err, QR_ERR_INTERNAL, "slice", "slice %zu asked for out of order", i);
        goto out;
    }
    while (a->cut <= i && a->rc == 0 && !a->stop)
        pthread_cond_wait(&a->cv, &a->mu);
    if (a->cut <= i) {
        if (a->rc < 0) {
            *err = a->err;
            rc = a->rc;
        } else {
            rc = qr_error_set(err, QR_ERR_INTERNAL, "slice", "the slice thread stopped");
        }
        goto out;
    }
    qr_buf *b = &a->slot[i % AHEAD];
    if (b->len > plain->max) {
        rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, "slice", "slice %zu is %zu bytes", i,
                          b->len);
        goto out;
    }
    qr_buf t = *plain;
    *plain = *b;
    *b = t;
    a->taken = i + 1;
    pthread_cond_broadcast(&a->cv);
out:
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static int pdf_prepare(void *self, qr_package__run *run, qr_error *err)
{
    pdf_book *d = self;
    qr_process_report *rep = run->rep;
    d->slice_pages = run->o->slice_pages;
    d->comp = qr_book_pdf(d->book);
    double t0 = qr_now();
    int rc = plan(d, run, err);
    /* The loop's own buffers are capped at the book's size limit: so are the cutter's. */
    size_t cap = run->o->limits.max_total_bytes > SIZE_MAX / 2
                     ? SIZE_MAX / 2
                     : (size_t)run->o->limits.max_total_bytes;
    if (rc == 0 && d->nranges > 1 && qr_pool_threads(run->o->threads, d->nranges) > 1)
        rc = ahead_start(d, cap, err);
    rep->t_positions = 0;
    rep->t_slice = qr_now() - t0;
    if (rc == 0)
        qr_log(QR_LOG_DEBUG, "slice", "%zu slices planned in %.3f s", d->nranges, rep->t_slice);
    return rc;
}

static size_t pdf_count(const void *self)
{
    const pdf_book *d = self;
    return d->nranges;
}

/* Slice i: from the cutter thread, or cut now from the open document. */
static int pdf_slice(void *self, size_t i, qr_buf *plain, qr_error *err)
{
    pdf_book *d = self;
    if (d->ahead)
        return ahead_take(d->ahead, i, plain, err);
    return qr_pdf_cut(d->comp, &d->ranges[i], plain, err);
}

static json_t *pdf_positions(const void *self)
{
    const pdf_book *d = self;
    return qr_package__pdf_positions(qr_pdf_info_get(d->comp)->pages);
}

static int pdf_manifest(const void *self, json_t **out, const qr_package__manifest_common *c,
                        qr_error *err)
{
    const pdf_book *d = self;
    /* Slices of a fixed page count have no size target. */
    qr_package__manifest_common pc = *c;
    if (d->slice_pages)
        pc.slice_target = 0;
    qr_package__pdf_manifest_in mi = {.info = book_info(d), .ranges = d->ranges, .c = &pc};
    return qr_package__pdf_manifest_build(out, &mi, err);
}

static void pdf_destroy(void *self)
{
    pdf_book *d = self;
    if (!d)
        return;
    ahead_stop(d->ahead);
    free(d->ranges);
    free(d->page_bytes);
    free(d);
}

const qr_package__driver qr_package__pdf_driver = {
    .name = "pdf",
    .needs_source_sha256 = true,
    .create = pdf_create,
    .default_book_id = pdf_book_id,
    .prepare = pdf_prepare,
    .count = pdf_count,
    .slice = pdf_slice,
    .positions = pdf_positions,
    .cover = NULL,
    .manifest = pdf_manifest,
    .destroy = pdf_destroy,
};
