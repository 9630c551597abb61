/*
 * The PDF driver of the publish loop (process.c): compression changed the
 * open document in place and wrote nothing; plan page ranges over it (a
 * fixed page count, or toward the target size from per-page estimates),
 * then cut each range from it into memory when the loop asks for it
 * (qr_pdf_cut): the whole book is never rewritten to disk and read back,
 * and no slice touches the disk before it is sealed. One position per page;
 * no cover.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "package_internal.h"
#include "qr/clock.h"
#include "qr/log.h"

typedef struct pdf_book {
    qr_book *book;        /* borrowed: the original, opened by the loop */
    qr_pdf *comp;         /* borrowed: the book's document, compressed in place */
    uint64_t *page_bytes; /* per-page size estimates (sized slices only) */
    qr_pdf_range *ranges;
    size_t nranges;
    uint32_t slice_pages;
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

static int pdf_prepare(void *self, qr_package__run *run, qr_error *err)
{
    pdf_book *d = self;
    qr_process_report *rep = run->rep;
    d->slice_pages = run->o->slice_pages;
    d->comp = qr_book_pdf(d->book);
    double t0 = qr_now();
    int rc = plan(d, run, err);
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

/* Slice i, cut now from the open document. */
static int pdf_slice(void *self, size_t i, qr_buf *plain, qr_error *err)
{
    pdf_book *d = self;
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
