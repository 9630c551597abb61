/*
 * The EPUB driver of the publish loop (process.c): positions and pages from
 * the original, then the compressed book the loop wrote, read back once,
 * and its slices planned over it (spine boundaries,
 * docs/internals/slice.md); each slice is a small ZIP of the compressed
 * book's entries. The manifest takes metadata and navigation from the
 * original and entries and sizes from the compressed book.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package_internal.h"
#include "qr/clock.h"

typedef struct epub_book {
    qr_book *book; /* borrowed: the original, opened by the loop */
    const qr_epub *orig;
    qr_epub *comp;     /* the compressed book, read back once */
    qr_positions *pos; /* of the original */
    qr_pages pages;
    qr_slice_plan *plan; /* over `comp` */
} epub_book;

static int epub_create(void **self, qr_book *book, qr_error *err)
{
    epub_book *d = calloc(1, sizeof(*d));
    if (!d)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
    d->book = book;
    d->orig = qr_book_epub(book);
    *self = d;
    return 0;
}

/* The unique identifier with every byte outside [A-Za-z0-9._-] replaced (qr/package.h). */
static void epub_book_id(const void *self, const char *src, char out[65])
{
    (void)src;
    const epub_book *d = self;
    const char *uid = qr_epub_get_info(d->orig)->unique_identifier;
    size_t n = uid ? strlen(uid) : 0;
    if (n > 0 && n <= 64 && uid[0] != '.') {
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)uid[i];
            bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
            out[i] = ok ? (char)c : '-';
        }
        out[n] = '\0';
        return;
    }
    char hex[65];
    qr_crypt_sha256_hex(hex, (const uint8_t *)(uid ? uid : ""), n);
    snprintf(out, 65, "id-%.16s", hex);
}

static int epub_prepare(void *self, qr_package__run *run, qr_error *err)
{
    epub_book *d = self;
    qr_process_report *rep = run->rep;
    double t0 = qr_now();
    int rc = qr_positions_compute(&d->pos, d->orig, err);
    if (rc < 0)
        return rc;
    qr_pages_compute(&d->pages, d->orig, d->pos);
    rep->t_positions = qr_now() - t0;
    rep->positions = (uint32_t)d->pos->count;
    rep->pages = d->pages.count;
    rep->pages_source = qr_page_source_str(d->pages.source);

    /* The one read-back of what compression wrote; its repairs were the original's. */
    t0 = qr_now();
    qr_epub_opts eo = QR_EPUB_OPTS_INIT;
    eo.limits = run->o->limits;
    rc = qr_epub_open(&d->comp, run->compressed, &eo, err);
    if (rc == 0) {
        qr_slice_opts so = {.target_bytes = run->slice_target};
        rc = qr_slice_plan_new(&d->plan, d->comp, d->pos, &so, err);
    }
    rep->t_slice = qr_now() - t0;
    return rc;
}

static size_t epub_count(const void *self)
{
    const epub_book *d = self;
    return qr_slice_plan_count(d->plan);
}

static int epub_slice(void *self, size_t i, qr_buf *plain, qr_error *err)
{
    epub_book *d = self;
    return qr_slice_write(plain, d->comp, d->plan, i, err);
}

static json_t *epub_positions(const void *self)
{
    const epub_book *d = self;
    return qr_positions_json(d->pos, d->orig);
}

/* The cover image of the compressed book, when it is an image a catalogue can show. */
static int epub_cover(const void *self, qr_buf *out, char ext[8], char type[64], qr_error *err)
{
    const epub_book *d = self;
    const qr_epub_info *info = qr_epub_get_info(d->comp);
    if (info->cover_item < 0)
        return 0;
    const qr_epub_item *it = qr_epub_get_item(d->comp, (size_t)info->cover_item);
    if (it->entry < 0 || !qr_media_is_image(it->media_type))
        return 0;
    const char *mt = it->media_type;
    const char *e = strcmp(mt, "image/jpeg") == 0      ? "jpg"
                    : strcmp(mt, "image/png") == 0     ? "png"
                    : strcmp(mt, "image/gif") == 0     ? "gif"
                    : strcmp(mt, "image/webp") == 0    ? "webp"
                    : strcmp(mt, "image/svg+xml") == 0 ? "svg"
                                                       : NULL;
    if (!e)
        return 0;
    int rc = qr_epub_read_entry(out, d->comp, (size_t)it->entry, err);
    if (rc == 0) {
        snprintf(ext, 8, "%s", e);
        snprintf(type, 64, "%s", mt);
    }
    return rc;
}

static int epub_manifest(const void *self, json_t **out, const qr_package__manifest_common *c,
                         qr_error *err)
{
    const epub_book *d = self;
    qr_package__manifest_in mi = {.orig = d->orig,
                                  .comp = d->comp,
                                  .plan = d->plan,
                                  .positions = d->pos,
                                  .pages = &d->pages,
                                  .c = c};
    return qr_package__manifest_build(out, &mi, err);
}

static void epub_destroy(void *self)
{
    epub_book *d = self;
    if (!d)
        return;
    qr_slice_plan_free(d->plan);
    qr_positions_free(d->pos);
    qr_epub_free(d->comp);
    free(d);
}

const qr_package__driver qr_package__epub_driver = {
    .name = "epub",
    .needs_source_sha256 = false,
    .create = epub_create,
    .default_book_id = epub_book_id,
    .prepare = epub_prepare,
    .count = epub_count,
    .slice = epub_slice,
    .positions = epub_positions,
    .cover = epub_cover,
    .manifest = epub_manifest,
    .destroy = epub_destroy,
};
