/*
 * `quire process`: compress, slice, encrypt and publish one EPUB (PDFs are
 * sent to process_pdf.c), and the steps both formats share: names, the
 * "already published" check, sealing a slice, committing the manifest. The
 * order of the objects written is the commitment protocol of docs/format.md:
 * slices, positions.json, cover, key.json, manifest.json.sig, and last
 * manifest.json. One slice is in memory at a time (plain and sealed), so
 * memory does not grow with the book.
 */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package_internal.h"
#include "qr/fs.h"
#include "qr/log.h"

/* The process-wide state of one run; everything is released at the end of qr_process_book. */
typedef struct run {
    const qr_process_opts *o;
    const qr_store *store;
    const qr_keyring *k;
    char *prefix;
    char *workdir;
    qr_process_report *rep;
    qr_epub *orig;
    qr_epub *comp;
    qr_positions *pos;
    qr_pages pages;
    qr_slice_plan *plan;
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

int qr_package__put(const qr_store *store, const char *prefix, const char *name, const void *data,
                    size_t len, qr_error *err)
{
    char *key = qr_package__key(prefix, name);
    if (!key)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "out of memory");
    int rc = qr_store_put(store, key, data, len, err);
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

static int put_object(const run *R, const char *name, const void *data, size_t len, qr_error *err)
{
    return qr_package__put(R->store, R->prefix, name, data, len, err);
}

static int put_json(const run *R, const char *name, const json_t *j, qr_error *err)
{
    return qr_package__put_json(R->store, R->prefix, name, j, err);
}

/*
 * One read of the source: the default revision, SHA-256 over the source
 * bytes, the profile name and the format version (16 hex digits), and, when
 * `src` is not NULL, the SHA-256 of the source bytes alone (64 hex digits).
 */
static int hash_source(char rev[65], char *src, const char *path, const qr_profile *profile,
                       qr_error *err)
{
    crypto_hash_sha256_state st, st_src;
    unsigned char md[crypto_hash_sha256_BYTES];
    unsigned char *chunk = NULL;
    FILE *f = fopen(path, "rb");
    int rc = 0;
    if (!f)
        return qr_error_set_cause(err, errno == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, errno,
                                  "process", "cannot open %s: %s", path, strerror(errno));
    chunk = malloc(1 << 20);
    if (!chunk) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
        goto out;
    }
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_init(&st_src);
    size_t n;
    while ((n = fread(chunk, 1, 1 << 20, f)) > 0) {
        crypto_hash_sha256_update(&st, chunk, n);
        if (src)
            crypto_hash_sha256_update(&st_src, chunk, n);
    }
    if (ferror(f)) {
        rc = qr_error_set_cause(err, QR_ERR_IO, errno, "process", "cannot read %s", path);
        goto out;
    }
    char tail[64];
    /* NUL-separated so that no two (profile, version) pairs hash the same bytes. */
    int tl =
        snprintf(tail, sizeof(tail), "%c%s%c%d", 0, profile->name, 0, QR_PACKAGE_FORMAT_VERSION);
    crypto_hash_sha256_update(&st, (const unsigned char *)tail, (unsigned long long)tl);
    crypto_hash_sha256_final(&st, md);
    for (size_t i = 0; i < 8; i++)
        snprintf(rev + 2 * i, 3, "%02x", md[i]);
    if (src) {
        crypto_hash_sha256_final(&st_src, md);
        for (size_t i = 0; i < sizeof(md); i++)
            snprintf(src + 2 * i, 3, "%02x", md[i]);
    }
out:
    free(chunk);
    fclose(f);
    return rc;
}

/* The book id from the unique identifier (rule in include/qr/package.h). */
static void default_book_id(char out[65], const char *uid)
{
    size_t n = uid ? strlen(uid) : 0;
    if (n > 0 && n <= 64 && uid[0] != '.') {
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)uid[i];
            out[i] = (isalnum(c) || c == '.' || c == '_' || c == '-') ? (char)c : '-';
        }
        out[n] = '\0';
        return;
    }
    char hex[65];
    qr_crypt_sha256_hex(hex, (const uint8_t *)(uid ? uid : ""), n);
    snprintf(out, 65, "id-%.16s", hex);
}

int qr_package__check_published(bool *done, const qr_store *store, const char *prefix,
                                const qr_keyring *k, const qr_process_opts *o, qr_error *err)
{
    bool exists = false;
    *done = false;
    char *key = qr_package__key(prefix, QR_PKG_MANIFEST);
    if (!key)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "out of memory");
    int rc = qr_store_exists(store, key, &exists, err);
    if (rc < 0 || !exists)
        goto out;
    qr_error verr = QR_ERROR_INIT;
    qr_read_opts ro = QR_READ_OPTS_INIT;
    ro.limits = o->limits;
    ro.work_parent = o->work_parent;
    if (qr_package_verify_with(NULL, store, prefix, k, &ro, &verr) == 0) {
        *done = true;
        goto out;
    }
    qr_log(QR_LOG_INFO, "publish", "%s does not verify (%s: %s%s%s): rewriting the package", key,
           verr.id, verr.msg, verr.context[0] ? " at " : "", verr.context);
    /* Withdraw the stale commit point before touching any object it names. */
    rc = qr_store_remove(store, key, err);
out:
    free(key);
    return rc;
}

int qr_package__commit_manifest(const qr_store *store, const char *prefix, const qr_keyring *k,
                                const json_t *man, qr_error *err)
{
    char *man_text = json_dumps(man, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    if (!man_text)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "cannot serialise the manifest");
    uint8_t sig[64];
    int rc = qr_crypt_sign(sig, k, (const uint8_t *)man_text, strlen(man_text), err);
    /* The signature first: a visible manifest always has its signature beside it. */
    if (rc == 0)
        rc = qr_package__put(store, prefix, QR_PKG_SIGNATURE, sig, sizeof(sig), err);
    if (rc == 0)
        rc = qr_package__put(store, prefix, QR_PKG_MANIFEST, man_text, strlen(man_text), err);
    free(man_text);
    return rc;
}

int qr_package__seal_put(qr_package__slice *ps, qr_buf *sealed, qr_process_report *rep,
                         const qr_store *store, const char *prefix, const qr_content_key *ck,
                         size_t i, size_t n, const qr_buf *plain, qr_error *err)
{
    snprintf(ps->href, sizeof(ps->href), "slices/%04zu.qs", i);
    if (n > UINT32_MAX)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "slice", "too many slices");
    double t1 = qr_now();
    qr_slice_binding b = {rep->book_id, rep->revision, (uint32_t)i, (uint32_t)n,
                          (uint64_t)plain->len};
    qr_buf_reset(sealed);
    int rc = qr_slice_seal(sealed, ck, &b, plain->data, plain->len, NULL, err);
    double t2 = qr_now();
    rep->t_encrypt += t2 - t1;
    if (rc < 0) {
        qr_error_set_context(err, "%s", ps->href);
        return rc;
    }
    ps->size = sealed->len;
    ps->plain_len = plain->len;
    qr_crypt_sha256_hex(ps->sha256, sealed->data, sealed->len);
    rc = qr_package__put(store, prefix, ps->href, sealed->data, sealed->len, err);
    rep->t_publish += qr_now() - t2;
    if (rc < 0)
        return rc;
    rep->plain_bytes += plain->len;
    rep->sealed_bytes += sealed->len;
    return 0;
}

static int open_book(qr_epub **out, const char *path, const qr_limits *limits, qr_warnings *w,
                     qr_error *err)
{
    qr_epub_opts eo = QR_EPUB_OPTS_INIT;
    eo.limits = *limits;
    eo.warnings = w;
    return qr_epub_open(out, path, &eo, err);
}

/* The cover image of the compressed book, in clear, as cover.<ext>. */
static int publish_cover(run *R, qr_error *err)
{
    const qr_epub_info *info = qr_epub_get_info(R->comp);
    if (info->cover_item < 0)
        return 0;
    const qr_epub_item *it = qr_epub_get_item(R->comp, (size_t)info->cover_item);
    if (it->entry < 0 || !qr_media_is_image(it->media_type))
        return 0;
    const char *mt = it->media_type;
    const char *ext = strcmp(mt, "image/jpeg") == 0      ? "jpg"
                      : strcmp(mt, "image/png") == 0     ? "png"
                      : strcmp(mt, "image/gif") == 0     ? "gif"
                      : strcmp(mt, "image/webp") == 0    ? "webp"
                      : strcmp(mt, "image/svg+xml") == 0 ? "svg"
                                                         : NULL;
    if (!ext)
        return 0;
    qr_buf b = QR_BUF_INIT(R->o->limits.max_entry_bytes);
    int rc = qr_epub_read_entry(&b, R->comp, (size_t)it->entry, err);
    if (rc == 0) {
        snprintf(R->cover_href, sizeof(R->cover_href), "cover.%s", ext);
        snprintf(R->cover_type, sizeof(R->cover_type), "%s", mt);
        rc = put_object(R, R->cover_href, b.data, b.len, err);
    }
    qr_buf_free(&b);
    return rc;
}

/* Writes, seals and publishes every slice, timing each stage. */
static int publish_slices(run *R, qr_error *err)
{
    qr_process_report *rep = R->rep;
    size_t n = qr_slice_plan_count(R->plan);
    int rc = 0;
    size_t cap = R->o->limits.max_total_bytes > SIZE_MAX / 2 ? SIZE_MAX / 2
                                                             : (size_t)R->o->limits.max_total_bytes;
    qr_buf plain = QR_BUF_INIT(cap);
    qr_buf sealed = QR_BUF_INIT(cap);
    R->slices = calloc(n ? n : 1, sizeof(*R->slices));
    if (!R->slices)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
    for (size_t i = 0; i < n; i++) {
        double t0 = qr_now();
        qr_buf_reset(&plain);
        rc = qr_slice_write(&plain, R->comp, R->plan, i, err);
        rep->t_slice += qr_now() - t0;
        if (rc < 0) {
            qr_error_set_context(err, "slices/%04zu.qs", i);
            goto out;
        }
        rc = qr_package__seal_put(&R->slices[i], &sealed, rep, R->store, R->prefix, R->ck, i, n,
                                  &plain, err);
        if (rc < 0)
            goto out;
    }
    rep->slices = n;
out:
    qr_buf_free(&plain);
    qr_buf_free(&sealed);
    return rc;
}

/* positions.json, cover, key.json, then the signature and the manifest: the commit point. */
static int publish_rest(run *R, qr_error *err)
{
    qr_process_report *rep = R->rep;
    json_t *pos = NULL, *key = NULL, *man = NULL;
    int rc = 0;
    double t0 = qr_now();

    pos = qr_positions_json(R->pos, R->orig);
    if (!pos) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "cannot build positions.json");
        goto out;
    }
    rc = put_json(R, QR_PKG_POSITIONS, pos, err);
    if (rc < 0)
        goto out;
    rc = publish_cover(R, err);
    if (rc < 0)
        goto out;
    rc = qr_content_key_wrap(&key, R->ck, R->k, rep->book_id, rep->revision, err);
    if (rc < 0)
        goto out;
    rc = put_json(R, QR_PKG_KEY, key, err);
    if (rc < 0)
        goto out;

    qr_package__manifest_in mi = {R->orig,
                                  R->comp,
                                  R->plan,
                                  R->slices,
                                  R->pos,
                                  &R->pages,
                                  rep->book_id,
                                  rep->revision,
                                  qr_keyring_kek_id(R->k),
                                  R->cover_href[0] ? R->cover_href : NULL,
                                  R->cover_type,
                                  R->o->slice_target};
    if (!mi.slice_target) {
        qr_slice_opts so = QR_SLICE_OPTS_INIT;
        mi.slice_target = so.target_bytes;
    }
    rc = qr_package__manifest_build(&man, &mi, err);
    if (rc < 0)
        goto out;
    rc = qr_package__commit_manifest(R->store, R->prefix, R->k, man, err);
out:
    rep->t_publish += qr_now() - t0;
    json_decref(man);
    json_decref(key);
    json_decref(pos);
    return rc;
}

int qr_package__names(qr_process_report *rep, char **prefix, const qr_process_opts *o,
                      const char *in_path, const char *uid, char *src, qr_error *err)
{
    bool pdf = src != NULL;
    if (o->book_id && !qr_package__valid_name(o->book_id))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "process",
                            "book id '%s' is not [A-Za-z0-9._-]{1,64}", o->book_id);
    if (o->revision && !qr_package__valid_name(o->revision))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "process",
                            "revision '%s' is not [A-Za-z0-9._-]{1,64}", o->revision);
    if (!o->revision || pdf) {
        char rev[65];
        int rc = hash_source(rev, src, in_path, rep->profile, err);
        if (rc < 0)
            return rc;
        if (!o->revision)
            snprintf(rep->revision, sizeof(rep->revision), "%s", rev);
    }
    if (o->revision)
        snprintf(rep->revision, sizeof(rep->revision), "%s", o->revision);
    if (o->book_id)
        snprintf(rep->book_id, sizeof(rep->book_id), "%s", o->book_id);
    else if (pdf)
        snprintf(rep->book_id, sizeof(rep->book_id), "pdf-%.16s", src);
    else
        default_book_id(rep->book_id, uid);
    if (!*prefix) {
        char p[200];
        snprintf(p, sizeof(p), "books/%s/%s/", rep->book_id, rep->revision);
        *prefix = strdup(p);
        if (!*prefix)
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
    }
    snprintf(rep->prefix, sizeof(rep->prefix), "%s", *prefix);
    return 0;
}

/* compress → positions/pages → plan → slices → the rest. */
static int run_pipeline(run *R, const char *in_path, qr_warnings **early, qr_error *err)
{
    qr_process_report *rep = R->rep;
    const qr_process_opts *o = R->o;
    qr_compress_report *cr = NULL;
    char *comp_path = NULL;
    int rc = qr_workdir_create(&R->workdir, o->work_parent, "process", err);
    if (rc < 0)
        goto out;
    size_t n = strlen(R->workdir) + 32;
    comp_path = malloc(n);
    if (!comp_path) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
        goto out;
    }
    snprintf(comp_path, n, "%s/compressed.epub", R->workdir);

    qr_compress_opts co = QR_COMPRESS_OPTS_INIT;
    co.profile = rep->profile;
    co.limits = o->limits;
    co.threads = o->threads;
    co.work_parent = R->workdir;
    co.progress = o->progress;
    co.progress_ud = o->progress_ud;
    double t0 = qr_now();
    rc = qr_compress_epub(&cr, in_path, comp_path, &co, early, err);
    rep->t_compress = qr_now() - t0;
    if (rc < 0)
        goto out;
    /* The compress report's warnings cover everything ingest recorded. */
    qr_warnings_free(rep->warnings);
    rep->warnings = cr->warnings;
    cr->warnings = NULL;
    rep->compressed_bytes = cr->file_bytes_out;

    t0 = qr_now();
    rc = qr_positions_compute(&R->pos, R->orig, err);
    if (rc < 0)
        goto out;
    qr_pages_compute(&R->pages, R->orig, R->pos);
    rep->t_positions = qr_now() - t0;
    rep->positions = (uint32_t)R->pos->count;
    rep->pages = R->pages.count;
    rep->pages_source = qr_page_source_str(R->pages.source);

    t0 = qr_now();
    rc = open_book(&R->comp, comp_path, &o->limits, NULL, err);
    if (rc < 0)
        goto out;
    qr_slice_opts so = QR_SLICE_OPTS_INIT;
    if (o->slice_target)
        so.target_bytes = o->slice_target;
    rc = qr_slice_plan_new(&R->plan, R->comp, R->pos, &so, err);
    rep->t_slice = qr_now() - t0;
    if (rc < 0)
        goto out;

    t0 = qr_now();
    rc = qr_content_key_new(&R->ck, err);
    rep->t_encrypt = qr_now() - t0;
    if (rc < 0)
        goto out;
    rc = publish_slices(R, err);
    if (rc < 0)
        goto out;
    rc = publish_rest(R, err);
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
    qr_warnings *early = NULL;
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
    qr_format fmt = QR_FORMAT_UNKNOWN;
    rc = qr_detect_format(&fmt, in_path, err);
    if (rc < 0)
        goto out;
    if (fmt != QR_FORMAT_EPUB && fmt != QR_FORMAT_PDF) {
        rc = qr_error_set(err, QR_ERR_UNSUPPORTED_FORMAT, "process",
                          "%s is neither an EPUB nor a PDF", in_path);
        goto out;
    }
    rc = qr_fs_file_size(&R.rep->source_bytes, in_path, err);
    if (rc < 0)
        goto out;
    if (fmt == QR_FORMAT_PDF) {
        rc = qr_package__process_pdf(R.rep, in_path, store, &R.prefix, k, R.o, err);
        if (rc < 0)
            goto out;
    } else {
        rc = open_book(&R.orig, in_path, &R.o->limits, R.rep->warnings, err);
        if (rc < 0)
            goto out;
        rc = qr_package__names(R.rep, &R.prefix, R.o, in_path,
                               qr_epub_get_info(R.orig)->unique_identifier, NULL, err);
        if (rc < 0)
            goto out;
        bool done = false;
        rc = qr_package__check_published(&done, store, R.prefix, k, R.o, err);
        if (rc < 0)
            goto out;
        if (done) {
            R.rep->already_published = true;
            qr_log(QR_LOG_INFO, "publish",
                   "%s%s is already published and verifies: nothing written", R.prefix,
                   QR_PKG_MANIFEST);
        } else {
            rc = run_pipeline(&R, in_path, &early, err);
            if (rc < 0)
                goto out;
        }
    }
    R.rep->t_total = qr_now() - t_start;
    R.rep->peak_rss_bytes = qr_fs_peak_rss();
    *out = R.rep;
    R.rep = NULL;
out:
    if (rc < 0) {
        qr_error_set_context(err, "%s", in_path ? in_path : "");
        if (warnings_on_error) {
            /* Compress's own list, when it got that far, includes ingest's. */
            *warnings_on_error = early ? early : (R.rep ? R.rep->warnings : NULL);
            if (!early && R.rep)
                R.rep->warnings = NULL;
            early = NULL;
        }
    }
    qr_warnings_free(early);
    if (R.workdir) {
        qr_error rmerr = QR_ERROR_INIT;
        if (qr_workdir_remove(R.workdir, &rmerr) < 0)
            qr_log(QR_LOG_WARN, "process", "cannot remove %s: %s", R.workdir, rmerr.msg);
    }
    free(R.workdir);
    free(R.slices);
    qr_content_key_free(R.ck);
    qr_slice_plan_free(R.plan);
    qr_positions_free(R.pos);
    qr_epub_free(R.comp);
    qr_epub_free(R.orig);
    free(R.prefix);
    qr_process_report_free(R.rep);
    return rc;
}
