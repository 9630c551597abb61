/*
 * `quire unpack`: one EPUB rebuilt from a verified package. Each slice is
 * decrypted into the work directory and its entries are copied raw into the
 * output (compressed bytes untouched), after a fresh stored `mimetype`.
 * Only one decrypted slice is in memory at a time.
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

int qr_package_unpack(qr_verify_report *out, const qr_store *store, const char *prefix,
                      const qr_keyring *k, const qr_limits *limits, const char *out_path,
                      const char *work_parent, qr_error *err)
{
    qr_package__reader *r = NULL;
    char *workdir = NULL;
    zip_t *zout = NULL;
    zip_t **ins = NULL;
    size_t nins = 0;
    qr_verify_report rep;
    memset(&rep, 0, sizeof(rep));
    qr_limits dl = QR_LIMITS_INIT;
    const qr_limits *lim = limits ? limits : &dl;
    qr_buf plain = QR_BUF_INIT(lim->max_total_bytes > SIZE_MAX / 2 ? SIZE_MAX / 2
                                                                   : (size_t)lim->max_total_bytes);
    int rc = 0;
    if (!out_path) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "unpack", "no output path");
        goto out;
    }
    rc = qr_package__open(&r, store, prefix, k, lim, err);
    if (rc < 0)
        goto out;
    rc = qr_workdir_create(&workdir, work_parent, "unpack", err);
    if (rc < 0)
        goto out;
    size_t n = qr_package__count(r);
    ins = calloc(n, sizeof(*ins));
    if (!ins) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "unpack", "out of memory");
        goto out;
    }
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
        rc = qr_package__read_slice(&plain, &sl, r, i, err);
        if (rc < 0)
            goto out;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%04zu.zip", workdir, i);
        rc = qr_fs_write_atomic(path, plain.data, plain.len, 0600, err);
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
        rep.sealed_bytes += sl;
        rep.plain_bytes += plain.len;
        rep.resources += qr_package__nresources(r, i);
    }
    qr_buf_free(&plain);
    if (zip_close(zout) != 0) {
        rc = zfail(err, zout, QR_ERR_WRITE_FAILED, "cannot write the EPUB", out_path);
        goto out;
    }
    zout = NULL;
    rep.slices = n;
    snprintf(rep.book_id, sizeof(rep.book_id), "%s", qr_package__book_id(r));
    snprintf(rep.revision, sizeof(rep.revision), "%s", qr_package__revision(r));
    if (out)
        *out = rep;
out:
    if (zout)
        zip_discard(zout);
    for (size_t i = 0; i < nins; i++)
        if (ins[i])
            zip_discard(ins[i]);
    free(ins);
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
