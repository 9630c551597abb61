/*
 * Copying a book's entries into another archive without recompressing them:
 * shared by the repackager and the slice writer.
 */
#include <zip.h>

#include "parse/epub_internal.h"

int qr_epub_zip_open(zip_t **out, const qr_epub *e, qr_error *err)
{
    return qr_epub__zip_open(out, e, err);
}

static int add_fail(qr_error *err, zip_t *out, const char *stage, const char *what,
                    const char *path)
{
    zip_error_t *ze = zip_get_error(out);
    int rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, zip_error_code_zip(ze), stage, "%s: %s",
                                what, zip_error_strerror(ze));
    qr_error_set_context(err, "%s", path);
    return rc;
}

int qr_epub_zip_add_raw(zip_t *out, zip_t *in, const qr_epub_entry *ent, const char *stage,
                        qr_error *err)
{
    /* The compressed bytes, method and CRC are carried over untouched. */
#if LIBZIP_VERSION_MAJOR > 1 || (LIBZIP_VERSION_MAJOR == 1 && LIBZIP_VERSION_MINOR >= 10)
    zip_source_t *src = zip_source_zip_file(out, in, ent->index, ZIP_FL_COMPRESSED, 0, -1, NULL);
#else
    /* libzip < 1.10 (Debian bookworm) has only the older name. */
    zip_source_t *src = zip_source_zip(out, in, ent->index, ZIP_FL_COMPRESSED, 0, -1);
#endif
    if (!src)
        return add_fail(err, out, stage, "cannot create entry source", ent->path);
    /* Names are written with '/' separators: a repaired '\' stays repaired. */
    zip_int64_t idx = zip_file_add(out, ent->path, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return add_fail(err, out, stage, "cannot add entry", ent->path);
    }
    /*
     * libzip treats "default" as deflate and would inflate and deflate a
     * stored entry again: name the original method so the copy stays raw.
     */
    if (zip_set_file_compression(out, (zip_uint64_t)idx, (zip_int32_t)ent->comp_method, 0) != 0 ||
        zip_file_set_mtime(out, (zip_uint64_t)idx, (time_t)ent->mtime, 0) != 0)
        return add_fail(err, out, stage, "cannot keep entry", ent->path);
    return 0;
}
