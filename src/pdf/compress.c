/*
 * qr_pdf_compress: rewrite with object streams and compressed streams
 * (unreferenced objects are dropped by qpdf's writer, which only writes what
 * the trailer reaches), and under lossy profiles re-encode large JPEG images.
 *
 * Image flow: the qpdf handle is touched by the calling thread only. It
 * walks every page's /Resources /XObject (and nested forms, bounded, with a
 * visited set), picks the DCTDecode images that can be re-encoded safely and
 * copies their raw bytes out; the thread pool (qr/pool.h) runs
 * qr_image_compress on those buffers; the calling thread then swaps in the
 * smaller ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdf/pdf_internal.h"
#include "qr/buf.h"
#include "qr/fs.h"
#include "qr/image.h"
#include "qr/pool.h"

#define XOBJ_KEYS_MAX 4096
#define IMAGES_MAX 100000

typedef struct image_job {
    qpdf_oh oh;
    int width, height, comps;
    unsigned char *raw; /* malloc'd by qpdf */
    size_t raw_len;
    qr_buf out;
    qr_image_result res;
    int rc;
    qr_error err;
} image_job;

typedef struct image_set {
    qr_pdf *p;
    qpdf_data q;
    const qr_limits *limits;
    qr_pdf__idset seen;
    image_job *jobs;
    size_t n, cap;
    size_t seen_images;
    size_t failed; /* re-encodes that failed */
    qr_warnings *w;
    bool queue; /* lossy profile: copy candidate bytes out for re-encoding */
    bool nomem;
} image_set;

/* Colour components a re-encode may keep: 1 or 3, else 0 (CMYK, Lab, indexed ...). */
static int components(qpdf_data q, qpdf_oh cs)
{
    if (qpdf_oh_is_name_and_equals(q, cs, "/DeviceGray"))
        return 1;
    if (qpdf_oh_is_name_and_equals(q, cs, "/DeviceRGB"))
        return 3;
    if (qpdf_oh_is_array(q, cs) && qpdf_oh_get_array_n_items(q, cs) == 2) {
        qpdf_oh kind = qpdf_oh_get_array_item(q, cs, 0);
        qpdf_oh icc = qpdf_oh_get_array_item(q, cs, 1);
        int n = 0;
        if (qpdf_oh_is_name_and_equals(q, kind, "/ICCBased") && qpdf_oh_is_stream(q, icc)) {
            qpdf_oh d = qpdf_oh_get_dict(q, icc);
            long long c = qr_pdf__int(q, qpdf_oh_get_key(q, d, "/N"), 0);
            n = c == 1 || c == 3 ? (int)c : 0;
            qpdf_oh_release(q, d);
        }
        qpdf_oh_release(q, kind);
        qpdf_oh_release(q, icc);
        return n;
    }
    return 0;
}

static bool is_dct_only(qpdf_data q, qpdf_oh filter)
{
    if (qpdf_oh_is_name_and_equals(q, filter, "/DCTDecode"))
        return true;
    if (qpdf_oh_is_array(q, filter) && qpdf_oh_get_array_n_items(q, filter) == 1) {
        qpdf_oh f = qpdf_oh_get_array_item(q, filter, 0);
        bool yes = qpdf_oh_is_name_and_equals(q, f, "/DCTDecode");
        qpdf_oh_release(q, f);
        return yes;
    }
    return false;
}

/* Decides whether an image XObject may be re-encoded; queues its bytes if so. */
static void consider_image(image_set *s, qpdf_oh img)
{
    qpdf_data q = s->q;
    qpdf_oh d = qpdf_oh_get_dict(q, img);
    s->seen_images++;
    if (!s->queue || s->n >= IMAGES_MAX || !is_dct_only(q, qpdf_oh_get_key(q, d, "/Filter")))
        goto out;
    /* Colour-key masks, decode arrays, soft-mask mattes and stencils tie the pixels down. */
    if (qpdf_oh_has_key(q, d, "/Decode") || qpdf_oh_has_key(q, d, "/Matte") ||
        qpdf_oh_is_array(q, qpdf_oh_get_key(q, d, "/Mask")) ||
        qpdf_oh_is_bool(q, qpdf_oh_get_key(q, d, "/ImageMask")) ||
        qr_pdf__int(q, qpdf_oh_get_key(q, d, "/BitsPerComponent"), 0) != 8)
        goto out;
    int comps = components(q, qpdf_oh_get_key(q, d, "/ColorSpace"));
    long long wd = qr_pdf__int(q, qpdf_oh_get_key(q, d, "/Width"), 0);
    long long ht = qr_pdf__int(q, qpdf_oh_get_key(q, d, "/Height"), 0);
    long long len = qr_pdf__int(q, qpdf_oh_get_key(q, d, "/Length"), 0);
    if (comps == 0 || wd <= 0 || ht <= 0 || wd > INT32_MAX || ht > INT32_MAX || len <= 0 ||
        (uint64_t)len > s->limits->max_entry_bytes)
        goto out;
    if ((uint64_t)wd * (uint64_t)ht > s->limits->max_image_pixels) {
        char ctx[32];
        snprintf(ctx, sizeof(ctx), "object %d", qpdf_oh_get_object_id(q, img));
        qr_warn(s->w, "pdf-image-kept", QR_PDF_STAGE, ctx,
                "image declares %lldx%lld pixels, over the limit; kept as is", wd, ht);
        goto out;
    }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 32;
        image_job *nj = realloc(s->jobs, ncap * sizeof(*nj));
        if (!nj) {
            s->nomem = true;
            goto out;
        }
        s->jobs = nj;
        s->cap = ncap;
    }
    image_job *j = &s->jobs[s->n];
    memset(j, 0, sizeof(*j));
    QPDF_BOOL filtered = QPDF_FALSE;
    if (qpdf_oh_get_stream_data(q, img, qpdf_dl_none, &filtered, &j->raw, &j->raw_len) &
            QPDF_ERRORS ||
        !j->raw || j->raw_len == 0) {
        (void)qr_pdf__failed(q);
        free(j->raw);
        goto out;
    }
    j->oh = img;
    j->width = (int)wd;
    j->height = (int)ht;
    j->comps = comps;
    qr_buf_init(&j->out, j->raw_len);
    qr_error_clear(&j->err);
    s->n++;
out:
    (void)qr_pdf__failed(q);
    qpdf_oh_release(q, d);
}

static void walk_xobjects(image_set *s, qpdf_oh resources, int depth)
{
    qpdf_data q = s->q;
    if (depth > QR_PDF_MAX_DEPTH || !qpdf_oh_is_dictionary(q, resources))
        return;
    qpdf_oh xo = qpdf_oh_get_key(q, resources, "/XObject");
    if (!qpdf_oh_is_dictionary(q, xo))
        return;
    qpdf_oh *vals = malloc(XOBJ_KEYS_MAX * sizeof(*vals));
    size_t n = 0;
    if (!vals) {
        s->nomem = true;
        return;
    }
    /* qpdf has one key iterator per handle: collect before recursing. */
    qpdf_oh_begin_dict_key_iter(q, xo);
    while (qpdf_oh_dict_more_keys(q) && n < XOBJ_KEYS_MAX) {
        const char *k = qpdf_oh_dict_next_key(q);
        if (k)
            vals[n++] = qpdf_oh_get_key(q, xo, k);
    }
    for (size_t i = 0; i < n && !s->nomem; i++) {
        qpdf_oh v = vals[i];
        if (!qpdf_oh_is_stream(q, v))
            continue;
        int added = qr_pdf__idset_add(&s->seen, q, v);
        if (added < 0)
            s->nomem = true;
        if (added <= 0)
            continue; /* shared images are handled once */
        qpdf_oh d = qpdf_oh_get_dict(q, v);
        qpdf_oh st = qpdf_oh_get_key(q, d, "/Subtype");
        if (qpdf_oh_is_name_and_equals(q, st, "/Image"))
            consider_image(s, v);
        else if (qpdf_oh_is_name_and_equals(q, st, "/Form"))
            walk_xobjects(s, qpdf_oh_get_key(q, d, "/Resources"), depth + 1);
        (void)qr_pdf__failed(q);
    }
    free(vals);
}

typedef struct encode_pool {
    image_set *set;
    const qr_profile *profile;
} encode_pool;

static void encode_one(image_job *j, const qr_profile *profile, const qr_limits *limits)
{
    qr_image_opts o = QR_IMAGE_OPTS_INIT;
    qr_image_info in_info, out_info;
    o.profile = profile;
    o.max_pixels = limits->max_image_pixels;
    /* The JPEG must say what the PDF says: same size and component count. */
    if (qr_image_probe(&in_info, j->raw, j->raw_len, &j->err) < 0) {
        j->rc = j->err.code;
        return;
    }
    if (in_info.width != j->width || in_info.height != j->height || in_info.bands != j->comps) {
        j->res.outcome = QR_IMAGE_SKIPPED;
        return;
    }
    j->rc = qr_image_compress(&j->out, &j->res, j->raw, j->raw_len, "image/jpeg", &o, &j->err);
    if (j->rc < 0 || j->res.outcome != QR_IMAGE_CHANGED)
        return;
    qr_error probe_err = QR_ERROR_INIT;
    if (qr_image_probe(&out_info, j->out.data, j->out.len, &probe_err) < 0 ||
        out_info.bands != j->comps || out_info.width != j->res.out_width ||
        out_info.height != j->res.out_height)
        j->res.outcome = QR_IMAGE_SKIPPED;
}

/* One image per pool task; a failed re-encode is recorded on the job, never fatal. */
static int encode_task(void *ctx, void *state, size_t i, qr_error *err)
{
    (void)state;
    (void)err;
    encode_pool *pool = ctx;
    encode_one(&pool->set->jobs[i], pool->profile, pool->set->limits);
    return 0;
}

static int encode_all(image_set *s, const qr_profile *profile, int threads, qr_error *err)
{
    encode_pool pool = {.set = s, .profile = profile};
    /* libvips is loaded here, before the pool's threads (qr_image_ready). */
    int rc = s->n > 0 ? qr_image_ready(err) : 0;
    if (rc < 0)
        return rc;
    qr_pool_job job = QR_POOL_JOB_INIT;
    job.ntasks = s->n;
    job.threads = threads;
    job.ctx = &pool;
    job.task = encode_task;
    return qr_pool_run(&job, NULL, err);
}

static void set_int(qpdf_data q, qpdf_oh dict, const char *key, int v)
{
    qpdf_oh n = qpdf_oh_new_integer(q, v);
    qpdf_oh_replace_key(q, dict, key, n);
    qpdf_oh_release(q, n);
}

/*
 * Puts `len` bytes of JPEG as the image `oh`'s data (DCTDecode, no parms),
 * and, when it is not `was_w` x `was_h`, its new size. False if qpdf refused.
 */
static bool put_image(qpdf_data q, qpdf_oh oh, const unsigned char *data, size_t len, int w, int h,
                      int was_w, int was_h)
{
    qpdf_oh filter = qpdf_oh_new_name(q, "/DCTDecode");
    qpdf_oh parms = qpdf_oh_new_null(q);
    qpdf_oh_replace_stream_data(q, oh, data, len, filter, parms);
    if (w != was_w || h != was_h) {
        /* Images are drawn into the unit square: a smaller raster is a drop-in. */
        qpdf_oh d = qpdf_oh_get_dict(q, oh);
        set_int(q, d, "/Width", w);
        set_int(q, d, "/Height", h);
        qpdf_oh_release(q, d);
    }
    qpdf_oh_release(q, filter);
    qpdf_oh_release(q, parms);
    return !qr_pdf__failed(q);
}

/* Records that the object was replaced, for twins (qr_pdf__replay_images). */
static void note_replaced(qr_pdf *p, int id, int gen)
{
    struct qr_pdf__objgen *r = realloc(p->replaced, (p->nreplaced + 1) * sizeof(*r));
    if (!r) {
        p->unreplayable = true;
        return;
    }
    r[p->nreplaced].id = id;
    r[p->nreplaced++].gen = gen;
    p->replaced = r;
}

static size_t replace_images(image_set *s)
{
    qpdf_data q = s->q;
    size_t changed = 0;
    for (size_t i = 0; i < s->n; i++) {
        image_job *j = &s->jobs[i];
        int id = qpdf_oh_get_object_id(q, j->oh);
        char ctx[32];
        snprintf(ctx, sizeof(ctx), "object %d", id);
        if (j->rc < 0) {
            s->failed++;
            qr_warn(s->w, "pdf-image-kept", QR_PDF_STAGE, ctx, "%s: %s; kept as is",
                    j->err.id ? j->err.id : "error", j->err.msg);
            continue;
        }
        if (j->res.outcome != QR_IMAGE_CHANGED || j->out.len == 0 || j->out.len >= j->raw_len)
            continue;
        if (!put_image(q, j->oh, j->out.data, j->out.len, j->res.out_width, j->res.out_height,
                       j->width, j->height)) {
            s->p->unreplayable = true;
            qr_warn(s->w, "pdf-image-kept", QR_PDF_STAGE, ctx, "qpdf refused the new data");
            continue;
        }
        note_replaced(s->p, id, qpdf_oh_get_generation(q, j->oh));
        changed++;
    }
    return changed;
}

int qr_pdf__replay_images(qr_pdf *t, const qr_pdf *p, qr_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < p->nreplaced && rc == 0; i++) {
        const struct qr_pdf__objgen *o = &p->replaced[i];
        qpdf_oh a = qpdf_get_object_by_id(p->q, o->id, o->gen);
        qpdf_oh b = qpdf_get_object_by_id(t->q, o->id, o->gen);
        qpdf_oh da = qpdf_oh_get_dict(p->q, a);
        qpdf_oh db = qpdf_oh_get_dict(t->q, b);
        int w = (int)qr_pdf__int(p->q, qpdf_oh_get_key(p->q, da, "/Width"), 0);
        int h = (int)qr_pdf__int(p->q, qpdf_oh_get_key(p->q, da, "/Height"), 0);
        int was_w = (int)qr_pdf__int(t->q, qpdf_oh_get_key(t->q, db, "/Width"), 0);
        int was_h = (int)qr_pdf__int(t->q, qpdf_oh_get_key(t->q, db, "/Height"), 0);
        unsigned char *data = NULL;
        size_t len = 0;
        QPDF_BOOL filtered = QPDF_FALSE;
        /* The data as stored: the JPEG compress put there. */
        if ((qpdf_oh_get_stream_data(p->q, a, qpdf_dl_none, &filtered, &data, &len) &
             QPDF_ERRORS) ||
            !data)
            rc = qr_pdf__error_from_qpdf(err, p->q, QR_ERR_PDF_DAMAGED,
                                         "cannot read a re-encoded image");
        else if (!put_image(t->q, b, data, len, w, h, was_w, was_h))
            rc = qr_pdf__error_from_qpdf(err, t->q, QR_ERR_PDF_DAMAGED,
                                         "cannot replay a re-encoded image");
        free(data);
        qpdf_oh_release(p->q, da);
        qpdf_oh_release(t->q, db);
        qpdf_oh_release(p->q, a);
        qpdf_oh_release(t->q, b);
    }
    return rc;
}

static void image_set_free(image_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->jobs[i].raw);
        qr_buf_free(&s->jobs[i].out);
    }
    free(s->jobs);
    qr_pdf__idset_free(&s->seen);
}

static int collect_images(image_set *s, qr_error *err)
{
    qpdf_data q = s->q;
    int np = qpdf_get_num_pages(q);
    qpdf_push_inherited_attributes_to_page(q);
    (void)qr_pdf__failed(q);
    for (int i = 0; i < np && !s->nomem; i++) {
        qpdf_oh page = qpdf_get_page_n(q, (size_t)i);
        qpdf_oh res = qpdf_oh_get_key(q, page, "/Resources");
        walk_xobjects(s, res, 0);
        (void)qr_pdf__failed(q);
        qpdf_oh_release(q, res);
        qpdf_oh_release(q, page);
    }
    if (s->nomem)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "images: out of memory");
    return 0;
}

/* The rewrite came out larger: the input itself is the better output. */
static int keep_input(const qr_pdf *p, const char *out_path, qr_error *err)
{
    if (p->mem)
        return qr_fs_write_atomic(out_path, p->mem, (size_t)p->info.file_bytes, 0644, err);
    qr_buf b = QR_BUF_INIT(SIZE_MAX);
    int rc = qr_buf_read_file(&b, p->path, QR_PDF_STAGE, err);
    if (rc == 0)
        rc = qr_fs_write_atomic(out_path, b.data, b.len, 0644, err);
    qr_buf_free(&b);
    return rc;
}

int qr_pdf_compress_open(qr_pdf_compress_report *rep, qr_pdf *p, const char *out_path,
                         const qr_compress_opts *opts, qr_warnings *w, qr_error *err)
{
    qr_pdf__open_facts wfacts;
    image_set set;
    qr_pdf_compress_report r;
    int rc = 0;

    memset(&set, 0, sizeof(set));
    memset(&r, 0, sizeof(r));
    memset(&wfacts, 0, sizeof(wfacts));
    if (!p || !opts)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    const qr_profile *profile = opts->profile ? opts->profile : qr_profile_get(NULL);
    qpdf_data q = p->q;
    r.in_bytes = p->info.file_bytes;
    r.pages = p->info.pages;

    set.p = p;
    set.q = q;
    set.limits = &opts->limits;
    set.w = w;
    set.queue = profile->lossy;
    if ((rc = collect_images(&set, err)) < 0)
        goto out;
    r.images_seen = set.seen_images;
    if (profile->lossy && set.n > 0) {
        if ((rc = encode_all(&set, profile, opts->threads, err)) < 0)
            goto out;
        r.images_recompressed = replace_images(&set);
        r.images_failed = set.failed;
    }
    qr_pdf__drain_warnings(q, NULL);
    /* No file asked for: the caller works from `p`, which now shows the compressed document. */
    if (!out_path)
        goto out;
    if ((rc = qr_pdf__write(q, out_path, true, err)) < 0) {
        qr_error_set_context(err, "%s", out_path);
        goto out;
    }
    /* Stream data qpdf could not decode is copied as it was, with a warning. */
    qr_pdf__drain_warnings(q, &wfacts);
    if (wfacts.nwarnings > 0)
        qr_warn(w, "pdf-repaired", QR_PDF_STAGE, p->path,
                "qpdf worked around damage while writing (%zu warning%s): %s", wfacts.nwarnings,
                wfacts.nwarnings == 1 ? "" : "s", wfacts.first_warning);
    if ((rc = qr_fs_file_size(&r.out_bytes, out_path, err)) < 0)
        goto out;
    if (r.out_bytes > r.in_bytes && !p->repaired && !p->info.encrypted && wfacts.nwarnings == 0) {
        if ((rc = keep_input(p, out_path, err)) < 0)
            goto out;
        r.out_bytes = r.in_bytes;
        r.images_recompressed = 0;
        r.kept_input = true;
    }
out:
    image_set_free(&set);
    if (rep)
        *rep = r;
    return rc;
}

int qr_pdf_compress(qr_pdf_compress_report *rep, const char *in_path, const char *out_path,
                    const qr_compress_opts *opts, qr_warnings *w, qr_error *err)
{
    qr_pdf *p = NULL;
    if (rep)
        memset(rep, 0, sizeof(*rep));
    if (!in_path || !out_path || !opts)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    int rc = qr_pdf_open(&p, in_path, &opts->limits, w, err);
    if (rc == 0)
        rc = qr_pdf_compress_open(rep, p, out_path, opts, w, err);
    qr_pdf_close(p);
    return rc;
}
