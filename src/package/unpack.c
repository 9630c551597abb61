/*
 * `quire unpack`: one book rebuilt from a verified package. EPUB: each slice
 * is decrypted into the work directory and its entries are copied raw into
 * the output (compressed bytes untouched), after a fresh stored `mimetype`.
 * PDF: each slice is decrypted and checked into the work directory, then the
 * slice PDFs are joined (qr_pdf_merge). Only one decrypted slice is in
 * memory at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "package_internal.h"
#include "qr/fs.h"

static const char MIMETYPE[] = "application/epub+zip";

static int zfail(qr_error *err, zip_t *za, qr_errid id, const char *what, const char *item)
{
    zip_error_t *ze = za ? zip_get_error(za) : NULL;
    int rc = qr_error_set_cause(err, id, ze ? zip_error_code_zip(ze) : 0, "unpack", "%s: %s", what,
                                ze ? zip_error_strerror(ze) : "libzip error");
    qr_error_set_context(err, "%s", item ? item : "");
    return rc;
}

static int add_mimetype(zip_t *out, qr_error *err)
{
    zip_source_t *src = zip_source_buffer(out, MIMETYPE, sizeof(MIMETYPE) - 1, 0);
    if (!src)
        return zfail(err, out, QR_ERR_OUT_OF_MEMORY, "cannot create mimetype", "mimetype");
    zip_int64_t idx = zip_file_add(out, "mimetype", src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return zfail(err, out, QR_ERR_WRITE_FAILED, "cannot add mimetype", "mimetype");
    }
    if (zip_set_file_compression(out, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0)
        return zfail(err, out, QR_ERR_WRITE_FAILED, "cannot store mimetype", "mimetype");
    return 0;
}

/* Copies every entry of one decrypted slice into `out`, raw. */
static int copy_entries(zip_t *out, zip_t *in, const char *slice, qr_error *err)
{
    zip_int64_t n = zip_get_num_entries(in, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t st;
        if (zip_stat_index(in, (zip_uint64_t)i, ZIP_FL_ENC_RAW, &st) != 0)
            return zfail(err, in, QR_ERR_SLICE_INVALID, "cannot read an entry", slice);
        size_t nl = strlen(st.name);
        if (nl == 0 || st.name[nl - 1] == '/' || strcmp(st.name, "mimetype") == 0)
            continue;
#if LIBZIP_VERSION_MAJOR > 1 || (LIBZIP_VERSION_MAJOR == 1 && LIBZIP_VERSION_MINOR >= 10)
        zip_source_t *src =
            zip_source_zip_file(out, in, (zip_uint64_t)i, ZIP_FL_COMPRESSED, 0, -1, NULL);
#else
        /* libzip < 1.10 (Debian bookworm) has only the older name. */
        zip_source_t *src = zip_source_zip(out, in, (zip_uint64_t)i, ZIP_FL_COMPRESSED, 0, -1);
#endif
        if (!src)
            return zfail(err, out, QR_ERR_WRITE_FAILED, "cannot copy an entry", st.name);
        zip_int64_t idx = zip_file_add(out, st.name, src, ZIP_FL_ENC_UTF_8);
        if (idx < 0) {
            zip_source_free(src);
            return zfail(err, out, QR_ERR_WRITE_FAILED, "cannot add an entry", st.name);
        }
        /* Name the original method, or libzip would inflate and deflate the entry again. */
        if (zip_set_file_compression(out, (zip_uint64_t)idx, (zip_int32_t)st.comp_method, 0) != 0 ||
            zip_file_set_mtime(out, (zip_uint64_t)idx, st.mtime, 0) != 0)
            return zfail(err, out, QR_ERR_WRITE_FAILED, "cannot keep entry attributes", st.name);
    }
    return 0;
}

/* Leaves a copy of decrypted slice i in the slices directory, when there is one. */
static int keep_slice(const qr_read_opts *o, size_t i, const char *ext, const qr_buf *plain,
                      qr_error *err)
{
    if (!o->slices_dir)
        return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%04zu.%s", o->slices_dir, i, ext);
    return qr_fs_write_atomic(path, plain->data, plain->len, 0600, err);
}

/* Every slice decrypted and checked into the work directory, then one merge. */
static int unpack_pdf(qr_verify_report *rep, qr_package__reader *r, const char *workdir,
                      const char *out_path, const qr_read_opts *o, qr_buf *plain, qr_error *err)
{
    size_t n = qr_package__count(r);
    char **paths = calloc(n, sizeof(*paths));
    int rc = 0;
    if (!paths)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "unpack", "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(workdir) + 16;
        paths[i] = malloc(len);
        if (!paths[i]) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "unpack", "out of memory");
            goto out;
        }
        snprintf(paths[i], len, "%s/%04zu.pdf", workdir, i);
        uint64_t sl = 0;
        rc = qr_package__read_slice(plain, &sl, r, i, paths[i], err);
        if (rc == 0)
            rc = keep_slice(o, i, "pdf", plain, err);
        if (rc < 0)
            goto out;
        rep->sealed_bytes += sl;
        rep->plain_bytes += plain->len;
        rep->pages += qr_package__npages(r, i);
    }
    qr_buf_free(plain);
    rc = qr_pdf_merge((const char *const *)paths, n, out_path, &o->limits, err);
out:
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return rc;
}

/* Every slice decrypted into the work directory, its entries copied raw into one EPUB. */
static int unpack_epub(qr_verify_report *rep, qr_package__reader *r, const char *workdir,
                       const char *out_path, const qr_read_opts *o, qr_buf *plain, qr_error *err)
{
    size_t n = qr_package__count(r);
    zip_t *zout = NULL;
    zip_t **ins = calloc(n, sizeof(*ins));
    size_t nins = 0;
    int rc = 0;
    if (!ins)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "unpack", "out of memory");
    int zerr = 0;
    /* libzip writes a temporary file beside out_path and renames it on zip_close. */
    zout = zip_open(out_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!zout) {
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, zerr, "unpack", "cannot create %s",
                                out_path);
        goto out;
    }
    rc = add_mimetype(zout, err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        uint64_t sl = 0;
        rc = qr_package__read_slice(plain, &sl, r, i, NULL, err);
        if (rc == 0)
            rc = keep_slice(o, i, "zip", plain, err);
        if (rc < 0)
            goto out;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%04zu.zip", workdir, i);
        rc = qr_fs_write_atomic(path, plain->data, plain->len, 0600, err);
        if (rc < 0)
            goto out;
        ins[i] = zip_open(path, ZIP_RDONLY, &zerr);
        if (!ins[i]) {
            rc = qr_error_set_cause(err, QR_ERR_SLICE_INVALID, zerr, "unpack",
                                    "cannot reopen decrypted slice %zu", i);
            goto out;
        }
        nins = i + 1;
        rc = copy_entries(zout, ins[i], path, err);
        if (rc < 0)
            goto out;
        rep->sealed_bytes += sl;
        rep->plain_bytes += plain->len;
        rep->resources += qr_package__nresources(r, i);
    }
    qr_buf_free(plain);
    if (zip_close(zout) != 0) {
        rc = zfail(err, zout, QR_ERR_WRITE_FAILED, "cannot write the EPUB", out_path);
        goto out;
    }
    zout = NULL;
out:
    if (zout)
        zip_discard(zout);
    for (size_t i = 0; i < nins; i++)
        if (ins[i])
            zip_discard(ins[i]);
    free(ins);
    return rc;
}

int qr_package_unpack_with(qr_verify_report *out, const qr_store *store, const char *prefix,
                           const qr_keyring *k, const char *out_path, const qr_read_opts *opts,
                           qr_error *err)
{
    qr_package__reader *r = NULL;
    char *workdir = NULL;
    qr_verify_report rep;
    memset(&rep, 0, sizeof(rep));
    qr_read_opts dopts = QR_READ_OPTS_INIT;
    const qr_read_opts *o = opts ? opts : &dopts;
    const qr_limits *lim = &o->limits;
    qr_buf plain = QR_BUF_INIT(lim->max_total_bytes > SIZE_MAX / 2 ? SIZE_MAX / 2
                                                                   : (size_t)lim->max_total_bytes);
    int rc = 0;
    if (!out_path) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "unpack", "no output path");
        goto out;
    }
    rc = qr_package__open(&r, store, prefix, k, lim, o->work_parent, err);
    if (rc < 0)
        goto out;
    rc = qr_workdir_create(&workdir, o->work_parent, "unpack", err);
    if (rc < 0)
        goto out;
    if (o->slices_dir) {
        rc = qr_fs_mkdirs(o->slices_dir, 0755, err);
        if (rc < 0)
            goto out;
    }
    rc = qr_package__is_pdf(r) ? unpack_pdf(&rep, r, workdir, out_path, o, &plain, err)
                               : unpack_epub(&rep, r, workdir, out_path, o, &plain, err);
    if (rc < 0)
        goto out;
    rep.slices = qr_package__count(r);
    rep.pdf = qr_package__is_pdf(r);
    snprintf(rep.book_id, sizeof(rep.book_id), "%s", qr_package__book_id(r));
    snprintf(rep.revision, sizeof(rep.revision), "%s", qr_package__revision(r));
    if (out)
        *out = rep;
out:
    qr_buf_free(&plain);
    if (workdir) {
        qr_error rmerr = QR_ERROR_INIT;
        if (qr_workdir_remove(workdir, &rmerr) < 0 && rc == 0)
            rc = qr_error_set(err, rmerr.errid, "unpack", "%s", rmerr.msg);
        free(workdir);
    }
    qr_package__close(r);
    return rc;
}

int qr_package_unpack(qr_verify_report *out, const qr_store *store, const char *prefix,
                      const qr_keyring *k, const qr_limits *limits, const char *out_path,
                      const char *work_parent, qr_error *err)
{
    qr_read_opts o = QR_READ_OPTS_INIT;
    if (limits)
        o.limits = *limits;
    o.work_parent = work_parent;
    return qr_package_unpack_with(out, store, prefix, k, out_path, &o, err);
}
