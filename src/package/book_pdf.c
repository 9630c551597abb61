/*
 * The PDF driver of the publish loop (process.c): compression changed the
 * open document in place and wrote nothing; plan page ranges over it (a
 * fixed page count, or toward the target size from per-page estimates),
 * then cut each range from it into memory when the loop asks for it
 * (qr_pdf_cut): the whole book is never rewritten to disk and read back,
 * and no slice touches the disk before it is sealed. With more than one
 * thread, cutter threads work ahead of the loop (at most AHEAD slices
 * waiting), so cutting the next slices overlaps sealing and publishing this
 * one; the book's qpdf handle is then the first cutter's alone. Where
 * slices are small, one cutter per thread claims the next slice in turn,
 * each from its own reading of the same bytes (a twin, qr_pdf_twin), since
 * a qpdf handle serves one thread at a time. One position per page; no
 * cover.
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
#include "qr/mem.h"
#include "qr/pool.h"

/* Slices cut and waiting for the loop, at most (besides one being cut per cutter). */
#define AHEAD 3
/* Cutter threads at most: each beyond the first reads the document again. */
#define CUTTERS_MAX 4
#define WINDOW (AHEAD + CUTTERS_MAX - 1)
/* Slices of the book's average size from here on are cut by one thread (cutters_for). */
#define TWIN_BELOW ((uint64_t)1 << 20)

struct cut_ahead;

/* One cutter thread and the document it cuts from: the book's own, or a twin. */
typedef struct cutter {
    struct cut_ahead *a;
    pthread_t thread;
    qr_pdf *doc;  /* the first cutter's is the book's; the others cut from twins */
    bool twin;    /* doc is a twin (qr_pdf_twin; NULL: read by the thread), closed by ahead_stop */
    bool started; /* the thread runs and must be joined */
} cutter;

/*
 * The cutter threads and the slices they have cut that the loop has not
 * taken. Slices are claimed in order, so when slice i fails every slice
 * before it was claimed already and is being finished.
 */
typedef struct cut_ahead {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const qr_pdf *book; /* what twins read */
    const qr_pdf_range *ranges;
    size_t n;
    size_t window;    /* slots in use: slice i is cut into slot[i % window] */
    size_t taken;     /* slices the loop took */
    size_t next;      /* the next slice a cutter claims */
    size_t failed_at; /* the first slice that failed; n while none did */
    bool stop;        /* the loop is done (or gave up): cutters stop at their next claim */
    int rc;
    qr_error err;
    qr_buf slot[WINDOW];
    bool ready[WINDOW];
    size_t ncutters;
    cutter c[CUTTERS_MAX];
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
    cutter *c = arg;
    cut_ahead *a = c->a;
    if (c->twin && !c->doc) {
        /* Read beside the first cutter's work; without it this thread cuts nothing. */
        qr_error e = QR_ERROR_INIT;
        if (qr_pdf_twin(&c->doc, a->book, &e) < 0) {
            qr_log(QR_LOG_INFO, "slice", "a cutter thread stops: a second reading failed: %s: %s",
                   e.id, e.msg);
            return NULL;
        }
    }
    pthread_mutex_lock(&a->mu);
    while (!a->stop && a->next < a->n && a->next < a->failed_at) {
        if (a->next - a->taken >= a->window) {
            pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
        size_t i = a->next++;
        qr_buf *b = &a->slot[i % a->window];
        pthread_mutex_unlock(&a->mu);
        qr_error e = QR_ERROR_INIT;
        qr_buf_reset(b);
        int rc = qr_pdf_cut(c->doc, &a->ranges[i], b, &e);
        pthread_mutex_lock(&a->mu);
        if (rc < 0) {
            if (i < a->failed_at) {
                a->failed_at = i;
                a->rc = rc;
                a->err = e;
            }
        } else {
            a->ready[i % a->window] = true;
        }
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void ahead_stop(cut_ahead *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    for (size_t k = 0; k < CUTTERS_MAX; k++) {
        if (a->c[k].started)
            pthread_join(a->c[k].thread, NULL);
        if (a->c[k].twin)
            qr_pdf_close(a->c[k].doc);
    }
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    for (size_t i = 0; i < WINDOW; i++)
        qr_buf_free(&a->slot[i]);
    free(a);
}

/*
 * Starts up to `ncutters` cutter threads over the planned ranges (cap: the
 * loop's buffer limit): the first cuts from the book's document, each other
 * one from a twin, read by its own thread or, when the twin reads the
 * book's handle, here before any thread runs. A twin or thread that cannot
 * be had leaves fewer cutters.
 */
static int ahead_start(pdf_book *d, size_t ncutters, size_t cap, qr_error *err)
{
    cut_ahead *a = calloc(1, sizeof(*a));
    if (!a)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
    a->ranges = d->ranges;
    a->n = d->nranges;
    a->failed_at = d->nranges;
    a->book = d->comp;
    a->c[0].doc = d->comp;
    a->ncutters = 1;
    /* A twin that repeats replaced images reads the book's handle: it is read before any
     * thread runs. Else each cutter reads its own while the first one cuts. */
    bool here = qr_pdf_twin_reads_original(d->comp);
    while (a->ncutters < ncutters) {
        cutter *c = &a->c[a->ncutters];
        qr_error e = QR_ERROR_INIT;
        if (here && qr_pdf_twin(&c->doc, d->comp, &e) < 0) {
            qr_log(QR_LOG_INFO, "slice",
                   "cutting on %zu thread(s): a second reading failed: %s: %s", a->ncutters, e.id,
                   e.msg);
            break;
        }
        c->twin = true;
        a->ncutters++;
    }
    a->window = AHEAD + a->ncutters - 1;
    for (size_t i = 0; i < WINDOW; i++)
        qr_buf_init(&a->slot[i], cap);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    for (size_t k = 0; k < a->ncutters; k++) {
        cutter *c = &a->c[k];
        c->a = a;
        int e = pthread_create(&c->thread, NULL, cutter_main, c);
        if (e == 0) {
            c->started = true;
        } else if (k == 0) {
            ahead_stop(a);
            return qr_error_set_cause(err, QR_ERR_OUT_OF_MEMORY, e, "slice",
                                      "cannot start the slice thread: %s", strerror(e));
        } else {
            /* The cutters running cut every slice; ahead_stop closes the unused twins. */
            qr_log(QR_LOG_INFO, "slice", "cutting on %zu thread(s): %s", k, strerror(e));
            a->ncutters = k;
            break;
        }
    }
    d->ahead = a;
    return 0;
}

/* Slice i (the loop asks in order) from the cutters: its buffer is swapped into `plain`. */
static int ahead_take(cut_ahead *a, size_t i, qr_buf *plain, qr_error *err)
{
    int rc = 0;
    pthread_mutex_lock(&a->mu);
    if (i != a->taken) {
        rc = qr_error_set(err, QR_ERR_INTERNAL, "slice", "slice %zu asked for out of order", i);
        goto out;
    }
    qr_buf *b = &a->slot[i % a->window];
    while (!a->ready[i % a->window] && a->failed_at > i && !a->stop)
        pthread_cond_wait(&a->cv, &a->mu);
    if (!a->ready[i % a->window]) {
        if (a->failed_at <= i) {
            *err = a->err;
            rc = a->rc;
        } else {
            rc = qr_error_set(err, QR_ERR_INTERNAL, "slice", "the slice threads stopped");
        }
        goto out;
    }
    if (b->len > plain->max) {
        rc =
            qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, "slice", "slice %zu is %zu bytes", i, b->len);
        goto out;
    }
    qr_buf t = *plain;
    *plain = *b;
    *b = t;
    a->ready[i % a->window] = false;
    a->taken = i + 1;
    pthread_cond_broadcast(&a->cv);
out:
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/*
 * Cutter threads for `threads`: one overlaps cutting with sealing; more cut
 * side by side, each from a document of its own, where slices are small
 * (the per-slice work of qpdf is then the run's time) and the document
 * can be read twice (qr_pdf_can_twin). Large slices are copies of stream
 * bytes, where more cutters only add heap: pst-geo's 1.4 MB slices took
 * 0.36 s with one cutter and 0.52 s with two (2,500 page faults against
 * 21,000).
 */
static size_t cutters_for(const pdf_book *d, size_t threads)
{
    uint64_t per_slice = qr_pdf_info_get(d->comp)->file_bytes / d->nranges;
    if (threads < 2 || per_slice >= TWIN_BELOW || !qr_pdf_can_twin(d->comp))
        return 1;
    return threads < CUTTERS_MAX ? threads : CUTTERS_MAX;
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
    size_t threads = rc == 0 && d->nranges > 1 ? qr_pool_threads(run->o->threads, d->nranges) : 1;
    if (threads > 1) {
        size_t ncutters = cutters_for(d, threads);
        if (ncutters > 1 && run->o->tune_malloc)
            qr_mem_tune_arenas((unsigned)ncutters + 1);
        rc = ahead_start(d, ncutters, cap, err);
    }
    rep->t_positions = 0;
    rep->t_slice = qr_now() - t0;
    if (rc == 0)
        qr_log(QR_LOG_DEBUG, "slice", "%zu slices planned in %.3f s; %zu cutter thread(s)",
               d->nranges, rep->t_slice, d->ahead ? d->ahead->ncutters : 0);
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
