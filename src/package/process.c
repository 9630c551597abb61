/*
 * `quire process`: one format-neutral loop over a per-format driver
 * (book_epub.c, book_pdf.c). The book is opened and parsed once
 * (qr_book_open); the loop names the package, returns early when it is
 * already published, compresses the book (qr_compress_book, the same for
 * both formats), lets the driver read the result back and plan, then
 * writes, seals and publishes one slice at a time, and finishes with
 * positions.json, the cover, key.json, manifest.json.sig and, last,
 * manifest.json: the commit protocol of docs/format.md. One slice is in
 * memory at a time (plain and sealed), so memory does not grow with the
 * book.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package_internal.h"
#include "qr/clock.h"
#include "qr/crypt.h"
#include "qr/fs.h"
#include "qr/log.h"
#include "qr/mem.h"

/* The state of one run; everything is released at the end of qr_process_book. */
typedef struct run {
    const qr_process_opts *o;
    const qr_store *store;
    const qr_keyring *k;
    const qr_package__driver *drv;
    void *book_drv; /* the driver's state */
    char *prefix;
    char *workdir;
    char src_sha256[65]; /* "" unless the driver needs it */
    qr_process_report *rep;
    qr_content_key *ck;
    qr_package__slice *slices;
    char cover_href[32];
    char cover_type[64];
} run;

void qr_process_report_free(qr_process_report *r)
{
    if (!r)
        return;
    qr_warnings_free(r->warnings);
    free(r);
}

static int put_key(const qr_store *store, const char *prefix, const char *name, const void *data,
                   size_t len, bool deferred, qr_error *err)
{
    char *key = qr_package__key(prefix, name);
    if (!key)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "out of memory");
    int rc = deferred ? qr_store_put_deferred(store, key, data, len, err)
                      : qr_store_put(store, key, data, len, err);
    if (rc < 0)
        qr_error_set_context(err, "%s", key);
    free(key);
    return rc;
}

int qr_package__put_json(const qr_store *store, const char *prefix, const char *name,
                         const json_t *j, qr_error *err)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!s)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "cannot serialise %s", name);
    int rc = qr_package__put(store, prefix, name, s, strlen(s), err);
    free(s);
    return rc;
}

int qr_package__put(const qr_store *store, const char *prefix, const char *name, const void *data,
                    size_t len, qr_error *err)
{
    return put_key(store, prefix, name, data, len, false, err);
}

static int put_object(const run *R, const char *name, const void *data, size_t len, qr_error *err)
{
    return qr_package__put(R->store, R->prefix, name, data, len, err);
}

/*
 * positions.json, the cover and key.json are only reached through the
 * manifest, like the slices: written without their own fsync, made durable by
 * the one sync before the manifest (commit_manifest). Two fsyncs each waited
 * 15-85 ms behind the slices' writeback on pst-geo (63.6 MB).
 */
static int put_object_deferred(const run *R, const char *name, const void *data, size_t len,
                               qr_error *err)
{
    return put_key(R->store, R->prefix, name, data, len, true, err);
}

static int put_json_deferred(const run *R, const char *name, const json_t *j, qr_error *err)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!s)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "cannot serialise %s", name);
    int rc = put_object_deferred(R, name, s, strlen(s), err);
    free(s);
    return rc;
}

/*
 * One read of the source: the default revision into `rev` when it is not
 * NULL (SHA-256 over the source bytes, the profile name and the format
 * version, 16 hex digits), and the SHA-256 of the source bytes alone into
 * `src` (64 hex digits) when that is not NULL.
 */
static int hash_source(char *rev, char *src, const char *path, const qr_profile *profile,
                       qr_error *err)
{
    qr_sha256_ctx st, st_src;
    uint8_t md[QR_SHA256_BYTES];
    unsigned char *chunk = NULL;
    FILE *f = fopen(path, "rb");
    int rc = 0;
    if (!f)
        return qr_error_set_cause(err, errno == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, errno,
                                  "process", "cannot open %s: %s", path, strerror(errno));
    chunk = malloc(1 << 20);
    if (!chunk) {
        fclose(f);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
    }
    qr_sha256_init(&st);
    size_t n;
    while ((n = fread(chunk, 1, 1 << 20, f)) > 0)
        qr_sha256_update(&st, chunk, n);
    if (ferror(f))
        rc = qr_error_set_cause(err, QR_ERR_IO, errno, "process", "cannot read %s", path);
    /* The source's digest is the state so far; the revision's goes on with the tail. */
    qr_sha256_copy(&st_src, &st);
    if (rev) {
        char tail[64];
        /* NUL-separated so that no two (profile, version) pairs hash the same bytes. */
        int tl = snprintf(tail, sizeof(tail), "%c%s%c%d", 0, profile->name, 0,
                          QR_PACKAGE_FORMAT_VERSION);
        qr_sha256_update(&st, tail, (size_t)tl);
    }
    qr_sha256_final(&st, md);
    if (rev) {
        for (size_t i = 0; i < 8; i++)
            snprintf(rev + 2 * i, 3, "%02x", md[i]);
    }
    qr_sha256_final(&st_src, md);
    if (src)
        qr_sha256_to_hex(src, md);
    free(chunk);
    fclose(f);
    return rc;
}

/* Book id, revision and prefix (rules in include/qr/package.h). */
static int name_package(run *R, const char *in_path, qr_error *err)
{
    qr_process_report *rep = R->rep;
    const qr_process_opts *o = R->o;
    if (o->book_id && !qr_package__valid_name(o->book_id))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "process",
                            "book id '%s' is not [A-Za-z0-9._-]{1,64}", o->book_id);
    if (o->revision && !qr_package__valid_name(o->revision))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "process",
                            "revision '%s' is not [A-Za-z0-9._-]{1,64}", o->revision);
    bool need_src = R->drv->needs_source_sha256;
    if (!o->revision || need_src) {
        int rc = hash_source(o->revision ? NULL : rep->revision, need_src ? R->src_sha256 : NULL,
                             in_path, rep->profile, err);
        if (rc < 0)
            return rc;
    }
    if (o->revision)
        snprintf(rep->revision, sizeof(rep->revision), "%s", o->revision);
    if (o->book_id)
        snprintf(rep->book_id, sizeof(rep->book_id), "%s", o->book_id);
    else
        R->drv->default_book_id(R->book_drv, need_src ? R->src_sha256 : NULL, rep->book_id);
    if (!R->prefix) {
        char p[200];
        snprintf(p, sizeof(p), "books/%s/%s/", rep->book_id, rep->revision);
        if (!(R->prefix = strdup(p)))
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
    }
    snprintf(rep->prefix, sizeof(rep->prefix), "%s", R->prefix);
    return 0;
}

/*
 * *done = a manifest is under the prefix and the package verifies; when one
 * is there but does not verify, it is removed (the stale commit point).
 */
static int check_published(bool *done, const run *R, qr_error *err)
{
    bool exists = false;
    *done = false;
    char *key = qr_package__key(R->prefix, QR_PKG_MANIFEST);
    if (!key)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "out of memory");
    int rc = qr_store_exists(R->store, key, &exists, err);
    if (rc < 0 || !exists)
        goto out;
    qr_error verr = QR_ERROR_INIT;
    qr_read_opts ro = QR_READ_OPTS_INIT;
    ro.limits = R->o->limits;
    ro.work_parent = R->o->work_parent;
    if (qr_package_verify_with(NULL, R->store, R->prefix, R->k, &ro, &verr) == 0) {
        *done = true;
        goto out;
    }
    qr_log(QR_LOG_INFO, "publish", "%s does not verify (%s: %s%s%s): rewriting the package", key,
           verr.id, verr.msg, verr.context[0] ? " at " : "", verr.context);
    /* Withdraw the stale commit point before touching any object it names. */
    rc = qr_store_remove(R->store, key, err);
out:
    free(key);
    return rc;
}

/* Seals `plain` as slice i of n, records it in R->slices[i] and puts it; times both steps. */
static int seal_put(run *R, qr_buf *sealed, size_t i, size_t n, const qr_buf *plain, qr_error *err)
{
    qr_process_report *rep = R->rep;
    qr_package__slice *ps = &R->slices[i];
    snprintf(ps->href, sizeof(ps->href), "slices/%04zu.qs", i);
    if (n > UINT32_MAX)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "slice", "too many slices");
    double t1 = qr_now();
    qr_slice_binding b = {rep->book_id, rep->revision, (uint32_t)i, (uint32_t)n,
                          (uint64_t)plain->len};
    qr_buf_reset(sealed);
    int rc = qr_slice_seal(sealed, R->ck, &b, plain->data, plain->len, NULL, err);
    double t2 = qr_now();
    rep->t_encrypt += t2 - t1;
    if (rc < 0) {
        qr_error_set_context(err, "%s", ps->href);
        return rc;
    }
    ps->size = sealed->len;
    ps->plain_len = plain->len;
    qr_crypt_sha256_hex(ps->sha256, sealed->data, sealed->len);
    /* Durable at the commit: commit_manifest syncs the store before the signature. */
    rc = put_key(R->store, R->prefix, ps->href, sealed->data, sealed->len, true, err);
    rep->t_publish += qr_now() - t2;
    if (rc < 0)
        return rc;
    rep->plain_bytes += plain->len;
    rep->sealed_bytes += sealed->len;
    return 0;
}

/* A stop asked by the caller (qr_process_opts.cancel), seen at a safe point. */
static int canceled(const qr_process_opts *o, const char *stage, qr_error *err)
{
    if (o->cancel && *o->cancel)
        return qr_error_set(err, QR_ERR_CANCELED, stage, "stopped on request");
    return 0;
}

/* Every slice: the driver writes its plaintext, then it is sealed and published. */
static int publish_slices(run *R, qr_error *err)
{
    qr_process_report *rep = R->rep;
    size_t n = R->drv->count(R->book_drv);
    int rc = 0;
    size_t cap = R->o->limits.max_total_bytes > SIZE_MAX / 2 ? SIZE_MAX / 2
                                                             : (size_t)R->o->limits.max_total_bytes;
    qr_buf plain = QR_BUF_INIT(cap);
    qr_buf sealed = QR_BUF_INIT(cap);
    double t0 = qr_now();
    rc = qr_content_key_new(&R->ck, err);
    rep->t_encrypt += qr_now() - t0;
    if (rc < 0)
        return rc;
    R->slices = calloc(n ? n : 1, sizeof(*R->slices));
    if (!R->slices)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
    for (size_t i = 0; i < n; i++) {
        if ((rc = canceled(R->o, "slice", err)) < 0)
            goto out;
        t0 = qr_now();
        qr_buf_reset(&plain);
        rc = R->drv->slice(R->book_drv, i, &plain, err);
        rep->t_slice += qr_now() - t0;
        if (rc < 0) {
            qr_error_set_context(err, "slices/%04zu.qs", i);
            goto out;
        }
        rc = seal_put(R, &sealed, i, n, &plain, err);
        if (rc < 0)
            goto out;
    }
    rep->slices = n;
out:
    qr_buf_free(&plain);
    qr_buf_free(&sealed);
    return rc;
}

/* The cover in clear, as cover.<ext>, when the driver has one. */
static int publish_cover(run *R, qr_error *err)
{
    if (!R->drv->cover)
        return 0;
    char ext[8] = "", type[64] = "";
    qr_buf b = QR_BUF_INIT(R->o->limits.max_entry_bytes);
    int rc = R->drv->cover(R->book_drv, &b, ext, type, err);
    if (rc == 0 && b.len > 0) {
        snprintf(R->cover_href, sizeof(R->cover_href), "cover.%s", ext);
        snprintf(R->cover_type, sizeof(R->cover_type), "%s", type);
        rc = put_object_deferred(R, R->cover_href, b.data, b.len, err);
    }
    qr_buf_free(&b);
    return rc;
}

/* Serialises the manifest, signs it, puts manifest.json.sig and then manifest.json. */
static int commit_manifest(const run *R, const json_t *man, qr_error *err)
{
    char *man_text = json_dumps(man, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    if (!man_text)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "cannot serialise the manifest");
    uint8_t sig[64];
    int rc = qr_crypt_sign(sig, R->k, (const uint8_t *)man_text, strlen(man_text), err);
    /* Every slice durable before anything refers to them. */
    if (rc == 0)
        rc = qr_store_sync(R->store, err);
    /* The signature first: a visible manifest always has its signature beside it. */
    if (rc == 0)
        rc = put_object(R, QR_PKG_SIGNATURE, sig, sizeof(sig), err);
    if (rc == 0)
        rc = put_object(R, QR_PKG_MANIFEST, man_text, strlen(man_text), err);
    free(man_text);
    return rc;
}

/* positions.json, cover, key.json, then the signature and the manifest: the commit point. */
static int publish_rest(run *R, uint64_t slice_target, qr_error *err)
{
    qr_process_report *rep = R->rep;
    json_t *pos = NULL, *key = NULL, *man = NULL;
    int rc = 0;
    double t0 = qr_now();

    pos = R->drv->positions(R->book_drv);
    if (!pos) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "cannot build positions.json");
        goto out;
    }
    rc = put_json_deferred(R, QR_PKG_POSITIONS, pos, err);
    if (rc == 0)
        rc = publish_cover(R, err);
    if (rc == 0)
        rc = qr_content_key_wrap(&key, R->ck, R->k, rep->book_id, rep->revision, err);
    if (rc == 0)
        rc = put_json_deferred(R, QR_PKG_KEY, key, err);
    if (rc < 0)
        goto out;
    qr_package__manifest_common c = {.slices = R->slices,
                                     .nslices = rep->slices,
                                     .book_id = rep->book_id,
                                     .revision = rep->revision,
                                     .kek_id = qr_keyring_kek_id(R->k),
                                     .source_sha256 = R->src_sha256[0] ? R->src_sha256 : NULL,
                                     .cover_href = R->cover_href[0] ? R->cover_href : NULL,
                                     .cover_type = R->cover_type,
                                     .slice_target = slice_target,
                                     .slice_pages = R->o->slice_pages};
    rc = R->drv->manifest(R->book_drv, &man, &c, err);
    if (rc == 0)
        rc = commit_manifest(R, man, err);
out:
    rep->t_publish += qr_now() - t0;
    json_decref(man);
    json_decref(key);
    json_decref(pos);
    return rc;
}

/*
 * Compression (the same call for both formats) into a private work
 * directory, the driver's read-back and plan, then the slices and the rest.
 */
static int run_pipeline(run *R, qr_book *book, qr_error *err)
{
    qr_process_report *rep = R->rep;
    const qr_process_opts *o = R->o;
    qr_compress_report *cr = NULL;
    char *comp_path = NULL;
    int rc = qr_workdir_create(&R->workdir, o->work_parent, "process", err);
    if (rc < 0)
        return rc;
    size_t n = strlen(R->workdir) + 32;
    if (!(comp_path = malloc(n))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
        goto out;
    }
    snprintf(comp_path, n, "%s/compressed.%s", R->workdir, R->drv->name);
    qr_compress_opts co = {.profile = rep->profile,
                           .limits = o->limits,
                           .threads = o->threads,
                           .work_parent = R->workdir,
                           .progress = o->progress,
                           .progress_ud = o->progress_ud,
                           .cancel = o->cancel};
    double t0 = qr_now();
    /* A PDF's slices are cut from the open document: the whole book is never written. */
    bool pdf = qr_book_format(book) == QR_FORMAT_PDF;
    rc = qr_compress_book(&cr, book, pdf ? NULL : comp_path, &co, rep->warnings, err);
    rep->t_compress = qr_now() - t0;
    if (rc == 0)
        rc = canceled(o, "compress", err);
    if (rc < 0)
        goto out;
    rep->compressed_bytes = cr->file_bytes_out;
    rep->images_to_jpeg = cr->images_to_jpeg;
    rep->texts_rewritten = cr->nrewrites;

    qr_slice_opts so = QR_SLICE_OPTS_INIT;
    qr_package__run pr = {.o = o,
                          .rep = rep,
                          .workdir = R->workdir,
                          .compressed = comp_path,
                          .slice_target = o->slice_target ? o->slice_target : so.target_bytes};
    /* Images are done: the slices' large blocks may now reuse heap pages (before any
     * thread the driver starts makes its first block). */
    if (o->tune_malloc)
        qr_mem_tune_for_slices();
    rc = R->drv->prepare(R->book_drv, &pr, err);
    if (rc == 0)
        rc = publish_slices(R, err);
    /* What a PDF compressed to is its slices: the whole document was never written. */
    if (rc == 0 && pdf)
        rep->compressed_bytes = rep->plain_bytes;
    /* The manifest is the package's last file: a stop before it publishes nothing readers see. */
    if (rc == 0)
        rc = canceled(o, "publish", err);
    if (rc == 0)
        rc = publish_rest(R, pr.slice_target, err);
out:
    qr_compress_report_free(cr);
    free(comp_path);
    return rc;
}

int qr_process_book(qr_process_report **out, const char *in_path, const qr_store *store,
                    const char *prefix, const qr_keyring *k, const qr_process_opts *opts,
                    qr_warnings **warnings_on_error, qr_error *err)
{
    run R;
    memset(&R, 0, sizeof(R));
    qr_process_opts defaults = QR_PROCESS_OPTS_INIT;
    qr_book *book = NULL;
    int rc = 0;
    double t_start = qr_now();
    *out = NULL;
    if (warnings_on_error)
        *warnings_on_error = NULL;
    R.o = opts ? opts : &defaults;
    R.store = store;
    R.k = k;
    if (!in_path || !store || !k) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "process", "no input, store or key file");
        goto out;
    }
    R.rep = calloc(1, sizeof(*R.rep));
    if (!R.rep || !(R.rep->warnings = qr_warnings_new())) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
        goto out;
    }
    R.rep->profile = R.o->profile ? R.o->profile : qr_profile_get("tablet");
    if (prefix && !(R.prefix = strdup(prefix))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
        goto out;
    }
    /* The one parse of the input: every stage below reads the book from here. */
    qr_book_opts bo = QR_BOOK_OPTS_INIT;
    bo.limits = R.o->limits;
    bo.warnings = R.rep->warnings;
    rc = qr_book_open(&book, in_path, &bo, err);
    if (rc < 0)
        goto out;
    R.rep->source_bytes = qr_book_size(book);
    R.drv =
        qr_book_format(book) == QR_FORMAT_PDF ? &qr_package__pdf_driver : &qr_package__epub_driver;
    rc = R.drv->create(&R.book_drv, book, err);
    if (rc == 0)
        rc = name_package(&R, in_path, err);
    bool done = false;
    if (rc == 0)
        rc = check_published(&done, &R, err);
    if (rc < 0)
        goto out;
    if (done) {
        R.rep->already_published = true;
        qr_log(QR_LOG_INFO, "publish", "%s%s is already published and verifies: nothing written",
               R.prefix, QR_PKG_MANIFEST);
    } else if ((rc = run_pipeline(&R, book, err)) < 0) {
        goto out;
    }
    R.rep->t_total = qr_now() - t_start;
    R.rep->peak_rss_bytes = qr_fs_peak_rss();
    *out = R.rep;
    R.rep = NULL;
out:
    if (rc < 0) {
        qr_error_set_context(err, "%s", in_path ? in_path : "");
        if (warnings_on_error && R.rep) {
            *warnings_on_error = R.rep->warnings;
            R.rep->warnings = NULL;
        }
    }
    if (R.workdir) {
        qr_error rmerr = QR_ERROR_INIT;
        if (qr_workdir_remove(R.workdir, &rmerr) < 0)
            qr_log(QR_LOG_WARN, "process", "cannot remove %s: %s", R.workdir, rmerr.msg);
    }
    if (R.drv && R.book_drv)
        R.drv->destroy(R.book_drv);
    qr_book_free(book);
    free(R.workdir);
    free(R.slices);
    qr_content_key_free(R.ck);
    free(R.prefix);
    qr_process_report_free(R.rep);
    return rc;
}
