/*
 * Compression of an opened book (qr/compress.h). EPUB: recompress every
 * image on all cores, then repackage. PDF: qr_pdf_compress_open (src/pdf/)
 * with the same options and the same report shape.
 *
 * EPUB images are independent tasks on the thread pool (qr/pool.h), taken
 * largest first, images before the entries that are only verified. Each result that pays off is written to the job's
 * work directory rather than kept in memory, so peak memory is bounded by
 * the number of threads times one image, whatever the size of the book.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "qr/epub.h"
#include "qr/clock.h"
#include "qr/fs.h"
#include "qr/image.h"
#include "qr/log.h"
#include "qr/pdf.h"
#include "qr/compress.h"
#include "qr/pool.h"
#include "qr/repack.h"

typedef struct img_task {
    size_t entry;
    size_t order; /* position in manifest order (the pool takes images largest first) */
    bool verify_only; /* not an image: inflate once to check size and CRC */
    const char *media_type;
    char *result_path; /* set when the image changed */
    char *new_name;    /* set when a PNG photograph became a JPEG */
    qr_image_result res;
    bool failed;
} img_task;

typedef struct img_pool {
    const qr_epub *epub;
    const qr_compress_opts *opts;
    const char *workdir;
    img_task *tasks;
    size_t done;          /* image tasks finished (under `lock`, for progress) */
    size_t nimages;       /* image tasks in all */
    pthread_mutex_t lock; /* serialises the progress callback */
    qr_warnings *warnings;
} img_pool;

void qr_compress_report_free(qr_compress_report *r)
{
    if (!r)
        return;
    free(r->types);
    for (size_t i = 0; i < r->nrewrites; i++)
        free(r->rewrites[i].path);
    free(r->rewrites);
    qr_warnings_free(r->warnings);
    free(r);
}

/* One image: read, compress, and keep the result on disk when it is smaller. */
static int run_task(img_pool *p, img_task *t, qr_error *err)
{
    int rc = 0;
    const qr_epub_entry *ent = qr_epub_get_entry(p->epub, t->entry);
    qr_buf in = QR_BUF_INIT(p->opts->limits.max_entry_bytes);
    qr_buf out = QR_BUF_INIT(p->opts->limits.max_entry_bytes);
    qr_error ierr = QR_ERROR_INIT;

    /* Entries copied raw are checked too: a damaged one must fail the book now. */
    if (t->verify_only) {
        rc = qr_epub_verify_entry(p->epub, t->entry, err);
        goto out;
    }
    rc = qr_epub_read_entry(&in, p->epub, t->entry, err);
    if (rc < 0) {
        qr_error_set_context(err, "%s", ent->path);
        goto out;
    }
    qr_image_opts io = QR_IMAGE_OPTS_INIT;
    io.profile = p->opts->profile;
    /* Only an entry named *.png can be renamed *.jpg: any other keeps its format. */
    qr_profile keep_format;
    size_t plen0 = strlen(ent->path);
    if (io.profile->png_photo_to_jpeg &&
        (plen0 < 5 || strcasecmp(ent->path + plen0 - 4, ".png") != 0)) {
        keep_format = *io.profile;
        keep_format.png_photo_to_jpeg = false;
        io.profile = &keep_format;
    }
    io.max_pixels = p->opts->limits.max_image_pixels;
    if (qr_image_compress(&out, &t->res, in.data, in.len, t->media_type, &io, &ierr) < 0) {
        /* One bad image never costs the book: keep its bytes, say why. */
        t->failed = true;
        qr_warn(p->warnings, ierr.id, "image", ent->path, "kept unchanged: %s", ierr.msg);
        goto out;
    }
    /* Declared an image, but no image format we know: the reader will not show it either. */
    if (t->res.outcome == QR_IMAGE_SKIPPED && strcmp(t->res.format, "unknown") == 0) {
        t->failed = true;
        qr_warn(p->warnings, qr_errid_str(QR_ERR_IMAGE_DECODE), "image", ent->path,
                "kept unchanged: %zu bytes declared %s are not a recognisable image", in.len,
                t->media_type ? t->media_type : "an image");
        goto out;
    }
    if (t->res.outcome != QR_IMAGE_CHANGED)
        goto out;
    /*
     * Re-encoded images are stored, while the publisher's entry may have been
     * deflated: keep the result only if it beats the bytes actually in the
     * archive, so the book never grows.
     */
    if (out.len >= ent->comp_size) {
        t->res.outcome = QR_IMAGE_NOT_SMALLER;
        t->res.out_bytes = t->res.in_bytes;
        goto out;
    }
    char name[64];
    snprintf(name, sizeof(name), "/img-%06zu", t->entry);
    size_t plen = strlen(p->workdir) + strlen(name) + 1;
    t->result_path = malloc(plen);
    if (!t->result_path) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "image", "cannot allocate a path");
        goto out;
    }
    snprintf(t->result_path, plen, "%s%s", p->workdir, name);
    rc = qr_fs_write_atomic(t->result_path, out.data, out.len, 0600, err);
    if (rc < 0) {
        free(t->result_path);
        t->result_path = NULL;
    }
out:
    qr_buf_free(&in);
    qr_buf_free(&out);
    return rc;
}

static int pool_task(void *ctx, void *state, size_t i, qr_error *err)
{
    (void)state;
    img_pool *p = ctx;
    img_task *t = &p->tasks[i];
    if (p->opts->cancel && *p->opts->cancel)
        return qr_error_set(err, QR_ERR_CANCELED, "image", "stopped on request");
    int rc = run_task(p, t, err);
    if (!t->verify_only && p->opts->progress) {
        pthread_mutex_lock(&p->lock);
        p->done++;
        p->opts->progress(p->opts->progress_ud, p->done, p->nimages,
                          qr_epub_get_entry(p->epub, t->entry)->path);
        pthread_mutex_unlock(&p->lock);
    }
    return rc;
}

static const char *entry_type(const qr_epub *e, const qr_epub_entry *ent)
{
    if (ent->item >= 0) {
        const char *mt = qr_epub_get_item(e, (size_t)ent->item)->media_type;
        return (mt && *mt) ? mt : "(no media type)";
    }
    if (strcmp(ent->path, "mimetype") == 0 || strncmp(ent->path, "META-INF/", 9) == 0)
        return "(container)";
    if (qr_epub_get_info(e)->opf_path && strcmp(ent->path, qr_epub_get_info(e)->opf_path) == 0)
        return "application/oebps-package+xml";
    return "(not in manifest)";
}

static qr_type_stats *type_slot(qr_compress_report *r, const char *type, size_t cap)
{
    for (size_t i = 0; i < r->ntypes; i++)
        if (strcmp(r->types[i].type, type) == 0)
            return &r->types[i];
    if (r->ntypes >= cap)
        return NULL;
    qr_type_stats *s = &r->types[r->ntypes++];
    snprintf(s->type, sizeof(s->type), "%s", type);
    return s;
}

static int cmp_types(const void *a, const void *b)
{
    const qr_type_stats *x = a, *y = b;
    if (x->bytes_in != y->bytes_in)
        return x->bytes_in < y->bytes_in ? 1 : -1;
    return strcmp(x->type, y->type);
}

/* Bytes by media type, as stored: the input's entries and the output we just wrote. */
static int tally_types(qr_compress_report *r, const qr_epub *e, const img_task *tasks,
                       size_t ntasks, const char *out_path, qr_error *err)
{
    size_t n = qr_epub_entry_count(e);
    int zerr = 0;
    zip_t *out = zip_open(out_path, ZIP_RDONLY, &zerr);
    if (!out)
        return qr_error_set_cause(err, QR_ERR_WRITE_FAILED, zerr, "compress",
                                  "cannot reopen the output %s", out_path);
    r->types = calloc(n + 2, sizeof(*r->types));
    if (!r->types) {
        zip_discard(out);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "compress", "cannot allocate stats");
    }
    for (size_t i = 0; i < n; i++) {
        const qr_epub_entry *ent = qr_epub_get_entry(e, i);
        if (ent->is_dir)
            continue;
        qr_type_stats *s = type_slot(r, entry_type(e, ent), n + 2);
        if (!s)
            continue;
        s->count++;
        s->bytes_in += ent->comp_size;
        const char *out_name = ent->path;
        for (size_t k = 0; k < ntasks; k++)
            if (tasks[k].entry == i && tasks[k].new_name)
                out_name = tasks[k].new_name;
        zip_stat_t zs;
        zip_stat_init(&zs);
        if (!ent->is_duplicate && zip_stat(out, out_name, ZIP_FL_ENC_GUESS, &zs) == 0 &&
            (zs.valid & ZIP_STAT_COMP_SIZE))
            s->bytes_out += zs.comp_size;
    }
    for (size_t i = 0; i < ntasks; i++) {
        if (!tasks[i].result_path)
            continue;
        qr_type_stats *s = type_slot(r, entry_type(e, qr_epub_get_entry(e, tasks[i].entry)), n + 2);
        if (s)
            s->changed++;
    }
    zip_discard(out);
    qsort(r->types, r->ntypes, sizeof(*r->types), cmp_types);
    return 0;
}

/* The output's directory must exist and be writable before an hour of work, not after. */
static int check_output(const char *in_path, const char *out_path, uint64_t in_size, qr_error *err)
{
    struct stat a, b;
    if (stat(in_path, &a) == 0 && stat(out_path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "compress",
                            "output %s is the input file; write to another path", out_path);
    char *copy = strdup(out_path);
    if (!copy)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "compress", "out of memory");
    const char *dir = dirname(copy);
    int rc = 0;
    uint64_t avail = 0;
    if (access(dir, W_OK) != 0) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "compress",
                                "cannot write to directory %s: %s", dir, strerror(e));
    } else if (qr_fs_free_bytes(&avail, dir, NULL) == 0 && avail < in_size) {
        rc = qr_error_set(err, QR_ERR_DISK_FULL, "compress",
                          "%s has %llu bytes free; the output may need up to %llu", dir,
                          (unsigned long long)avail, (unsigned long long)in_size);
    }
    free(copy);
    return rc;
}

typedef struct names_ctx {
    const qr_epub *e;
    const img_task *tasks;
    size_t ntasks;
} names_ctx;

/* A name is taken by any entry of the archive or any earlier rename (case-insensitively:
 * readers on case-insensitive file systems must not see two files as one). */
static bool name_taken(void *ud, const char *name)
{
    const names_ctx *c = ud;
    for (size_t i = 0; i < qr_epub_entry_count(c->e); i++)
        if (strcasecmp(qr_epub_get_entry(c->e, i)->path, name) == 0)
            return true;
    for (size_t i = 0; i < c->ntasks; i++)
        if (c->tasks[i].new_name && strcasecmp(c->tasks[i].new_name, name) == 0)
            return true;
    return false;
}

static bool is_text_with_refs(const char *mt)
{
    return mt && (strcmp(mt, "application/xhtml+xml") == 0 || strcmp(mt, "text/html") == 0 ||
                  strcmp(mt, "image/svg+xml") == 0 || strcmp(mt, "text/css") == 0 ||
                  strcmp(mt, "application/x-dtbncx+xml") == 0);
}

/*
 * The -jpeg profiles: name every PNG photograph turned JPEG, then rewrite the
 * references in the OPF and every XHTML, SVG, CSS and NCX entry. Only the
 * entries with a reference are replaced; the others are copied raw, byte for
 * byte (docs/profiles.md).
 */
static int rename_photos(qr_compress_report *r, const qr_epub *e, img_task *tasks, size_t nimages,
                         const char *workdir, qr_repack_replacement **repl, size_t *nrepl,
                         size_t cap, size_t max_text, qr_error *err)
{
    int rc = 0;
    size_t nren = 0;
    qr_repack_rename *ren = calloc(nimages ? nimages : 1, sizeof(*ren));
    qr_buf in = QR_BUF_INIT(max_text);
    /* A rewrite turns 4 bytes (".png") into at most 10 ("-99999.jpg"): 4x the input bounds it. */
    qr_buf outb = QR_BUF_INIT(max_text > SIZE_MAX / 4 ? SIZE_MAX / 2 : max_text * 4);
    if (!ren)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "compress", "out of memory");
    names_ctx nc = {e, tasks, nimages};
    for (size_t i = 0; i < nimages; i++) {
        if (!tasks[i].result_path || !tasks[i].res.to_jpeg)
            continue;
        const char *from = qr_epub_get_entry(e, tasks[i].entry)->path;
        if ((rc = qr_repack_jpeg_name(&tasks[i].new_name, from, name_taken, &nc, err)) < 0)
            goto out;
        ren[nren].from = from;
        ren[nren].to = tasks[i].new_name;
        nren++;
        for (size_t k = 0; k < *nrepl; k++)
            if ((*repl)[k].entry == tasks[i].entry)
                (*repl)[k].name = tasks[i].new_name;
    }
    r->images_to_jpeg = nren;
    if (nren == 0)
        goto out;
    const char *opf = qr_epub_get_info(e)->opf_path;
    size_t nentries = qr_epub_entry_count(e);
    for (size_t i = 0; i < nentries; i++) {
        const qr_epub_entry *ent = qr_epub_get_entry(e, i);
        if (ent->is_dir || ent->is_duplicate || ent->obf != QR_OBF_NONE)
            continue;
        bool is_opf = opf && strcmp(ent->path, opf) == 0;
        const char *mt = ent->item >= 0 ? qr_epub_get_item(e, (size_t)ent->item)->media_type : NULL;
        if (!is_opf && !is_text_with_refs(mt))
            continue;
        size_t nrefs = 0;
        qr_buf_reset(&in);
        if ((rc = qr_epub_read_entry(&in, e, i, err)) < 0 ||
            (rc = qr_repack_rewrite_refs(&outb, &nrefs, ent->path, is_opf, in.data, in.len, ren,
                                         nren, err)) < 0)
            goto out;
        if (nrefs == 0)
            continue;
        char name[64];
        snprintf(name, sizeof(name), "/txt-%06zu", i);
        size_t plen = strlen(workdir) + strlen(name) + 1;
        char *path = malloc(plen);
        qr_compress_rewrite *nw = realloc(r->rewrites, (r->nrewrites + 1) * sizeof(*nw));
        if (nw)
            r->rewrites = nw;
        char *dup = strdup(ent->path);
        if (!path || !nw || !dup || *nrepl >= cap) {
            free(path);
            free(dup);
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "compress", "out of memory");
            goto out;
        }
        snprintf(path, plen, "%s%s", workdir, name);
        if ((rc = qr_fs_write_atomic(path, outb.data, outb.len, 0600, err)) < 0) {
            free(path);
            free(dup);
            goto out;
        }
        r->rewrites[r->nrewrites].path = dup;
        r->rewrites[r->nrewrites].refs = nrefs;
        r->nrewrites++;
        /* The entry's task (verify-only, or an SVG image left as it is) holds no result: keep
         * the path there (freed with it). */
        size_t owner = cap;
        for (size_t k = 0; k < cap; k++)
            if (tasks[k].entry == i && !tasks[k].result_path) {
                owner = k;
                break;
            }
        if (owner == cap) {
            free(path);
            rc = qr_error_set(err, QR_ERR_INTERNAL, "compress", "no task for %s", ent->path);
            goto out;
        }
        tasks[owner].result_path = path;
        (*repl)[*nrepl].entry = i;
        (*repl)[*nrepl].path = path;
        (*nrepl)++;
    }
out:
    qr_buf_free(&in);
    qr_buf_free(&outb);
    free(ren);
    return rc;
}

/* Image tasks by the entry's stored size, largest first; ties in manifest order. */
static int by_size_desc(const void *a, const void *b, void *ctx)
{
    const img_task *ta = a, *tb = b;
    uint64_t sa = qr_epub_get_entry(ctx, ta->entry)->comp_size;
    uint64_t sb = qr_epub_get_entry(ctx, tb->entry)->comp_size;
    if (sa != sb)
        return sa < sb ? 1 : -1;
    return ta->order < tb->order ? -1 : ta->order > tb->order;
}

static int by_order(const void *a, const void *b)
{
    const img_task *ta = a, *tb = b;
    return ta->order < tb->order ? -1 : ta->order > tb->order;
}

/* The EPUB half of qr_compress_book: images on the pool, then the repack. */
static int compress_epub(qr_compress_report *r, const qr_epub *e, const char *out_path,
                         const qr_compress_opts *o, qr_warnings *w, qr_error *err)
{
    int rc = 0;
    char *workdir = NULL;
    img_task *tasks = NULL;
    bool *claimed = NULL;
    size_t ntasks = 0;
    qr_repack_replacement *repl = NULL;

    /* Images first (the long tasks start early), then every other entry to verify. */
    size_t nitems = qr_epub_item_count(e);
    size_t nentries = qr_epub_entry_count(e);
    tasks = calloc(nentries ? nentries : 1, sizeof(*tasks));
    claimed = calloc(nentries ? nentries : 1, sizeof(*claimed));
    if (!tasks || !claimed) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "compress", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nitems; i++) {
        const qr_epub_item *it = qr_epub_get_item(e, i);
        if (it->entry < 0 || !qr_media_is_image(it->media_type) || claimed[it->entry])
            continue;
        const qr_epub_entry *ent = qr_epub_get_entry(e, (size_t)it->entry);
        /* Obfuscated resources are never decoded: their bytes are not an image. */
        if (ent->obf != QR_OBF_NONE || ent->is_dir || ent->is_duplicate)
            continue;
        claimed[it->entry] = true;
        tasks[ntasks].entry = (size_t)it->entry;
        tasks[ntasks].order = ntasks;
        tasks[ntasks].media_type = it->media_type;
        ntasks++;
    }
    size_t nimages = ntasks;
    /* Largest first: a big image taken last would run alone while the other threads idle. */
    qsort_r(tasks, nimages, sizeof(*tasks), by_size_desc, (void *)(uintptr_t)e);
    for (size_t i = 0; i < nentries; i++) {
        const qr_epub_entry *ent = qr_epub_get_entry(e, i);
        if (claimed[i] || ent->is_dir || ent->is_duplicate || strcmp(ent->path, "mimetype") == 0)
            continue;
        tasks[ntasks].entry = i;
        tasks[ntasks].verify_only = true;
        ntasks++;
    }
    r->images_total = nimages;
    /* libvips is loaded here, on this thread, and a module that cannot be fails the book once. */
    if (nimages > 0 && (rc = qr_image_ready(err)) < 0)
        goto out;

    rc = qr_workdir_create(&workdir, o->work_parent, "compress", err);
    if (rc < 0)
        goto out;
    img_pool pool = {.epub = e,
                     .opts = o,
                     .workdir = workdir,
                     .tasks = tasks,
                     .done = 0,
                     .nimages = nimages,
                     .warnings = w};
    pthread_mutex_init(&pool.lock, NULL);
    qr_pool_job job = QR_POOL_JOB_INIT;
    job.ntasks = ntasks;
    job.threads = o->threads;
    job.ctx = &pool;
    job.task = pool_task;
    r->threads = ntasks ? qr_pool_threads(o->threads, ntasks) : 1;
    double ti = qr_now();
    qr_log(QR_LOG_DEBUG, "image", "%zu images and %zu entries to verify on %d threads, profile %s",
           nimages, ntasks - nimages, r->threads, o->profile->name);
    rc = qr_pool_run(&job, NULL, err);
    pthread_mutex_destroy(&pool.lock);
    r->image_seconds = qr_now() - ti;
    if (rc < 0)
        goto out;
    /* Back to manifest order: renames and reports do not depend on the pool's order. */
    qsort(tasks, nimages, sizeof(*tasks), by_order);

    size_t nrepl = 0;
    repl = calloc(ntasks ? ntasks : 1, sizeof(*repl));
    if (!repl) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "compress", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nimages; i++) {
        if (tasks[i].failed)
            r->images_failed++;
        else if (tasks[i].result_path)
            r->images_changed++;
        else
            r->images_kept++;
        if (!tasks[i].failed && strcmp(tasks[i].res.reason, "estimate") == 0)
            r->images_estimated++;
        if (tasks[i].result_path) {
            repl[nrepl].entry = tasks[i].entry;
            repl[nrepl].path = tasks[i].result_path;
            nrepl++;
        }
    }
    if ((rc = rename_photos(r, e, tasks, nimages, workdir, &repl, &nrepl, ntasks,
                            (size_t)o->limits.max_xml_bytes, err)) < 0)
        goto out;
    qr_repack_stats rs;
    rc = qr_repack_write(&rs, out_path, e, repl, nrepl, err);
    if (rc < 0)
        goto out;
    r->file_bytes_out = rs.out_bytes;
    rc = tally_types(r, e, tasks, ntasks, out_path, err);
out:
    if (workdir && qr_workdir_remove(workdir, NULL) < 0)
        qr_log(QR_LOG_WARN, "compress", "could not remove work directory %s", workdir);
    free(workdir);
    for (size_t i = 0; i < ntasks; i++) {
        free(tasks[i].result_path);
        free(tasks[i].new_name);
    }
    free(tasks);
    free(claimed);
    free(repl);
    return rc;
}

/* The PDF half of qr_compress_book. */
static int compress_pdf(qr_compress_report *r, qr_pdf *p, const char *out_path,
                        const qr_compress_opts *o, qr_warnings *w, qr_error *err)
{
    qr_pdf_compress_report pr;
    r->threads = qr_pool_threads(o->threads, 0);
    double ti = qr_now();
    int rc = qr_pdf_compress_open(&pr, p, out_path, o, w, err);
    r->image_seconds = qr_now() - ti;
    if (rc < 0)
        return rc;
    r->file_bytes_out = pr.out_bytes;
    r->pages = pr.pages;
    r->images_total = pr.images_seen;
    r->images_changed = pr.images_recompressed;
    r->images_failed = pr.images_failed;
    r->images_kept = pr.images_seen - pr.images_recompressed - pr.images_failed;
    return 0;
}

int qr_compress_book(qr_compress_report **out, qr_book *b, const char *out_path,
                     const qr_compress_opts *opts, qr_warnings *w, qr_error *err)
{
    qr_compress_report *r = NULL;
    qr_compress_opts o = opts ? *opts : (qr_compress_opts)QR_COMPRESS_OPTS_INIT;
    double t0 = qr_now();
    int rc = 0;
    *out = NULL;
    if (!b || (!out_path && qr_book_format(b) != QR_FORMAT_PDF))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "compress", "no book or output");
    if (!o.profile)
        o.profile = qr_profile_get(NULL);
    if ((rc = qr_limits_validate(&o.limits, err)) < 0)
        return rc;
    if (!(r = calloc(1, sizeof(*r))))
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "compress", "out of memory");
    r->profile = o.profile;
    r->format = qr_book_format(b);
    r->file_bytes_in = qr_book_size(b);
    if (out_path)
        rc = check_output(qr_book_path(b), out_path, r->file_bytes_in, err);
    if (rc == 0)
        rc = r->format == QR_FORMAT_PDF ? compress_pdf(r, qr_book_pdf(b), out_path, &o, w, err)
                                        : compress_epub(r, qr_book_epub(b), out_path, &o, w, err);
    if (rc < 0) {
        qr_compress_report_free(r);
        return rc;
    }
    r->wall_seconds = qr_now() - t0;
    r->peak_rss_bytes = qr_fs_peak_rss();
    *out = r;
    return 0;
}

int qr_compress_file(qr_compress_report **out, const char *in_path, const char *out_path,
                     qr_format want, const qr_compress_opts *opts, qr_warnings **warnings_on_error,
                     qr_error *err)
{
    qr_book *b = NULL;
    qr_warnings *w = qr_warnings_new();
    int rc = 0;
    *out = NULL;
    if (warnings_on_error)
        *warnings_on_error = NULL;
    if (!w)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "compress", "out of memory");
    qr_book_opts bo = QR_BOOK_OPTS_INIT;
    if (opts)
        bo.limits = opts->limits;
    bo.want = want;
    bo.warnings = w;
    rc = qr_book_open(&b, in_path, &bo, err);
    if (rc == 0)
        rc = qr_compress_book(out, b, out_path, opts, w, err);
    if (rc == 0) {
        (*out)->warnings = w;
        w = NULL;
    } else if (warnings_on_error) {
        *warnings_on_error = w;
        w = NULL;
    }
    qr_book_free(b);
    qr_warnings_free(w);
    return rc;
}

int qr_compress_epub(qr_compress_report **out, const char *in_path, const char *out_path,
                     const qr_compress_opts *opts, qr_warnings **warnings_on_error, qr_error *err)
{
    return qr_compress_file(out, in_path, out_path, QR_FORMAT_EPUB, opts, warnings_on_error, err);
}

int qr_compress_pdf(qr_compress_report **out, const char *in_path, const char *out_path,
                    const qr_compress_opts *opts, qr_warnings **warnings_on_error, qr_error *err)
{
    return qr_compress_file(out, in_path, out_path, QR_FORMAT_PDF, opts, warnings_on_error, err);
}
