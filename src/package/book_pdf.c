/*
 * The PDF driver of the publish loop (process.c): open the compressed file
 * the loop wrote, plan page ranges over it (a fixed page count, or toward
 * the target size from per-page estimates), cut them into standalone PDFs
 * in the work directory on the thread pool (qr_pdf_split), then hand them
 * to the loop one at a time and delete each once read. One position per
 * page; no cover.
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
    qr_pdf *comp;         /* the compressed file, read back once */
    uint64_t *page_bytes; /* per-page size estimates (sized slices only) */
    qr_pdf_range *ranges;
    size_t nranges;
    char **paths; /* the cut slices waiting in the work directory */
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

/* Title, author, outline and labels as read from the original (the rewrite keeps them). */
static const qr_pdf_info *book_info(const pdf_book *d)
{
    return qr_pdf_info_get(qr_book_pdf(d->book));
}

static char *work_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

/* The page ranges over the compressed file, and the slice files cut from it. */
static int plan_split(pdf_book *d, qr_package__run *run, const char *comp_path, qr_error *err)
{
    qr_process_report *rep = run->rep;
    const qr_process_opts *o = run->o;
    const qr_pdf_info *info = qr_pdf_info_get(d->comp);
    int rc = 0;
    if (info->pages != book_info(d)->pages)
        return qr_error_set(err, QR_ERR_INTERNAL, "slice",
                            "the compressed PDF has %u pages, the original %u", info->pages,
                            book_info(d)->pages);
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
    rc = qr_package__pdf_plan(&d->ranges, &d->nranges, d->page_bytes, info->pages,
                              run->slice_target, o->slice_pages, err);
    if (rc < 0)
        return rc;
    d->paths = calloc(d->nranges, sizeof(*d->paths));
    if (!d->paths)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
    for (size_t i = 0; i < d->nranges; i++) {
        char name[32];
        snprintf(name, sizeof(name), "slice-%04zu.pdf", i);
        if (!(d->paths[i] = work_path(run->workdir, name)))
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
    }
    return qr_pdf_split(comp_path, d->ranges, d->nranges, (const char *const *)d->paths, o->threads,
                        &o->limits, err);
}

static int pdf_prepare(void *self, qr_package__run *run, qr_error *err)
{
    pdf_book *d = self;
    qr_process_report *rep = run->rep;
    d->slice_pages = run->o->slice_pages;
    /*
     * Compression rewrote the original in memory and wrote it out: keep what
     * was read from it (title, author, outline, labels: the rewrite keeps
     * them) and free the rest before the slices need memory.
     */
    qr_pdf_drop_document(qr_book_pdf(d->book));
    /* The one read-back of what compression wrote, for page sizes and the split. */
    double t0 = qr_now();
    int rc = qr_pdf_open_pages(&d->comp, run->compressed, &run->o->limits, rep->warnings, err);
    double t_open = qr_now() - t0;
    if (rc == 0)
        rc = plan_split(d, run, run->compressed, err);
    rep->t_positions = 0;
    rep->t_slice = qr_now() - t0;
    if (rc == 0)
        qr_log(QR_LOG_DEBUG, "slice", "%zu slices: open %.3f s, page sizes, plan and split %.3f s",
               d->nranges, t_open, rep->t_slice - t_open);
    return rc;
}

static size_t pdf_count(const void *self)
{
    const pdf_book *d = self;
    return d->nranges;
}

/* Each cut slice: read, then deleted at once to keep the work directory small. */
static int pdf_slice(void *self, size_t i, qr_buf *plain, qr_error *err)
{
    pdf_book *d = self;
    int rc = qr_buf_read_file(plain, d->paths[i], "slice", err);
    unlink(d->paths[i]);
    return rc;
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
    if (d->paths)
        for (size_t i = 0; i < d->nranges; i++)
            free(d->paths[i]);
    free(d->paths);
    free(d->ranges);
    free(d->page_bytes);
    qr_pdf_close(d->comp);
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
