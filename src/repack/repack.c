/*
 * Repackaging: a fresh, valid OCF container from a parsed EPUB plus the
 * entries that changed. Unchanged entries are copied raw with libzip's
 * ZIP_FL_COMPRESSED, so their compressed bytes (which drive Adobe/Readium
 * positions) stay exactly as the publisher wrote them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "qr/fs.h"
#include "qr/repack.h"

static const char MIMETYPE[] = "application/epub+zip";

static int zip_err(qr_error *err, zip_t *za, qr_errid id, const char *what, const char *item)
{
    zip_error_t *ze = za ? zip_get_error(za) : NULL;
    int cause = ze ? zip_error_code_zip(ze) : 0;
    qr_error_set_cause(err, id, cause, "repack", "%s: %s", what,
                       ze ? zip_error_strerror(ze) : "libzip error");
    qr_error_set_context(err, "%s", item ? item : "");
    return err ? err->code : qr_errid_class(id);
}

/* Codec data is stored: deflating JPEG/PNG/GIF/WebP costs time and saves ~nothing. */
static bool store_uncompressed(const char *media_type)
{
    static const char *const codecs[] = {"image/jpeg", "image/png", "image/gif", "image/webp",
                                         "audio/", "video/"};
    if (!media_type)
        return false;
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
        if (strncmp(media_type, codecs[i], strlen(codecs[i])) == 0)
            return true;
    return false;
}

static const qr_repack_replacement *find_repl(const qr_repack_replacement *repl, size_t nrepl,
                                              size_t entry)
{
    for (size_t i = 0; i < nrepl; i++)
        if (repl[i].entry == entry)
            return &repl[i];
    return NULL;
}

static zip_t *open_input(const qr_epub *e, qr_error *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_t *za = NULL;
    const char *path = qr_epub_source_path(e);
    if (path) {
        int zerr = 0;
        za = zip_open(path, ZIP_RDONLY, &zerr);
        if (!za)
            zip_error_init_with_code(&ze, zerr);
    } else {
        size_t len = 0;
        const void *data = qr_epub_source_data(e, &len);
        zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
        if (src) {
            za = zip_open_from_source(src, ZIP_RDONLY, &ze);
            if (!za)
                zip_source_free(src);
        }
    }
    if (!za)
        qr_error_set_cause(err, QR_ERR_CORRUPT_ARCHIVE, zip_error_code_zip(&ze), "repack",
                           "cannot reopen the input archive: %s", zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return za;
}

static int add_mimetype(zip_t *out, time_t mtime, qr_error *err)
{
    zip_source_t *src = zip_source_buffer(out, MIMETYPE, sizeof(MIMETYPE) - 1, 0);
    if (!src)
        return zip_err(err, out, QR_ERR_OUT_OF_MEMORY, "cannot create mimetype source",
                       "mimetype");
    zip_int64_t idx = zip_file_add(out, "mimetype", src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot add mimetype", "mimetype");
    }
    if (zip_set_file_compression(out, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(out, (zip_uint64_t)idx, mtime, 0) != 0)
        return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot store mimetype", "mimetype");
    return 0;
}

static int add_entry(zip_t *out, zip_t *in, const qr_epub *e, const qr_epub_entry *ent,
                     const qr_repack_replacement *r, qr_repack_stats *st, qr_error *err)
{
    zip_source_t *src = NULL;
    if (!r) {
        /* Raw copy: compressed bytes, method and CRC carried over untouched. */
#if LIBZIP_VERSION_MAJOR > 1 || (LIBZIP_VERSION_MAJOR == 1 && LIBZIP_VERSION_MINOR >= 10)
        src = zip_source_zip_file(out, in, ent->index, ZIP_FL_COMPRESSED, 0, -1, NULL);
#else
        /* libzip < 1.10 (Debian bookworm) has only the older name. */
        src = zip_source_zip(out, in, ent->index, ZIP_FL_COMPRESSED, 0, -1);
#endif
    } else if (r->path) {
        src = zip_source_file(out, r->path, 0, -1);
    } else {
        src = zip_source_buffer(out, r->data, r->len, 0);
    }
    if (!src)
        return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot create entry source", ent->path);
    /* Names are written with '/' separators: a repaired '\' stays repaired. */
    zip_int64_t idx = zip_file_add(out, ent->path, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot add entry", ent->path);
    }
    if (r) {
        const char *mt = NULL;
        if (ent->item >= 0)
            mt = qr_epub_get_item(e, (size_t)ent->item)->media_type;
        zip_int32_t method = store_uncompressed(mt) ? ZIP_CM_STORE : ZIP_CM_DEFLATE;
        if (zip_set_file_compression(out, (zip_uint64_t)idx, method, 0) != 0)
            return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot set compression", ent->path);
        st->entries_replaced++;
    } else {
        /*
         * libzip treats "default" as deflate and would inflate and deflate a
         * stored entry again: name the original method so the copy stays raw.
         */
        if (zip_set_file_compression(out, (zip_uint64_t)idx, (zip_int32_t)ent->comp_method, 0) !=
            0)
            return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot keep compression", ent->path);
        st->entries_copied++;
    }
    if (zip_file_set_mtime(out, (zip_uint64_t)idx, (time_t)ent->mtime, 0) != 0)
        return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot set entry time", ent->path);
    return 0;
}

int qr_repack_write(qr_repack_stats *stats, const char *out_path, const qr_epub *e,
                    const qr_repack_replacement *repl, size_t nrepl, qr_error *err)
{
    int rc = 0;
    zip_t *in = NULL;
    zip_t *out = NULL;
    qr_repack_stats st;
    memset(&st, 0, sizeof(st));
    if (stats)
        memset(stats, 0, sizeof(*stats));

    in = open_input(e, err);
    if (!in) {
        rc = err ? err->code : QR_EFORMAT;
        goto out;
    }
    int zerr = 0;
    /* libzip writes to a temporary file and renames it on zip_close: atomic. */
    out = zip_open(out_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!out) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, zerr, "repack", "cannot create %s: %s",
                                out_path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto out;
    }

    size_t n = qr_epub_entry_count(e);
    time_t mtime = n ? (time_t)qr_epub_get_entry(e, 0)->mtime : 0;
    rc = add_mimetype(out, mtime, err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const qr_epub_entry *ent = qr_epub_get_entry(e, i);
        /* The mimetype is always written fresh, first; directories are implied by names. */
        if (ent->is_dir || ent->is_duplicate || strcmp(ent->path, "mimetype") == 0) {
            st.entries_dropped++;
            continue;
        }
        rc = add_entry(out, in, e, ent, find_repl(repl, nrepl, i), &st, err);
        if (rc < 0)
            goto out;
    }
    if (zip_close(out) != 0) {
        /* libzip checks the CRCs of what it copies: a mismatch is the input's fault. */
        int ze = zip_error_code_zip(zip_get_error(out));
        bool damaged = ze == ZIP_ER_CRC || ze == ZIP_ER_COMPRESSED_DATA || ze == ZIP_ER_INCONS;
        rc = zip_err(err, out, damaged ? QR_ERR_CORRUPT_ARCHIVE : QR_ERR_WRITE_FAILED,
                     damaged ? "the input archive is damaged" : "cannot write the output",
                     out_path);
        goto out;
    }
    out = NULL;
    struct stat sb;
    if (stat(out_path, &sb) == 0)
        st.out_bytes = (uint64_t)sb.st_size;
    if (stats)
        *stats = st;
out:
    if (out)
        zip_discard(out);
    if (in)
        zip_discard(in);
    return rc;
}
