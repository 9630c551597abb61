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
    static const char *const codecs[] = {"image/jpeg", "image/png", "image/gif",
                                         "image/webp", "audio/",    "video/"};
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

static int add_mimetype(zip_t *out, time_t mtime, qr_error *err)
{
    zip_source_t *src = zip_source_buffer(out, MIMETYPE, sizeof(MIMETYPE) - 1, 0);
    if (!src)
        return zip_err(err, out, QR_ERR_OUT_OF_MEMORY, "cannot create mimetype source", "mimetype");
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

static int add_replacement(zip_t *out, const qr_epub *e, const qr_epub_entry *ent,
                           const qr_repack_replacement *r, qr_error *err)
{
    zip_source_t *src =
        r->path ? zip_source_file(out, r->path, 0, -1) : zip_source_buffer(out, r->data, r->len, 0);
    if (!src)
        return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot create entry source", ent->path);
    zip_int64_t idx = zip_file_add(out, r->name ? r->name : ent->path, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot add entry", ent->path);
    }
    const char *mt = NULL;
    if (r->name) /* renamed: a PNG photograph now JPEG (docs/profiles.md) */
        mt = "image/jpeg";
    else if (ent->item >= 0)
        mt = qr_epub_get_item(e, (size_t)ent->item)->media_type;
    zip_int32_t method = store_uncompressed(mt) ? ZIP_CM_STORE : ZIP_CM_DEFLATE;
    if (zip_set_file_compression(out, (zip_uint64_t)idx, method, 0) != 0 ||
        zip_file_set_mtime(out, (zip_uint64_t)idx, (time_t)ent->mtime, 0) != 0)
        return zip_err(err, out, QR_ERR_WRITE_FAILED, "cannot set entry attributes", ent->path);
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

    rc = qr_epub_zip_open(&in, e, err);
    if (rc < 0)
        goto out;
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
        const qr_repack_replacement *r = find_repl(repl, nrepl, i);
        rc = r ? add_replacement(out, e, ent, r, err)
               : qr_epub_zip_add_raw(out, in, ent, "repack", err);
        if (rc < 0)
            goto out;
        if (r)
            st.entries_replaced++;
        else
            st.entries_copied++;
    }
    if (zip_close(out) != 0) {
        /* libzip checks the CRCs of what it copies: a mismatch is the input's fault. */
        int ze = zip_error_code_zip(zip_get_error(out));
        bool damaged = ze == ZIP_ER_CRC || ze == ZIP_ER_COMPRESSED_DATA || ze == ZIP_ER_INCONS;
        rc =
            zip_err(err, out, damaged ? QR_ERR_CORRUPT_ARCHIVE : QR_ERR_WRITE_FAILED,
                    damaged ? "the input archive is damaged" : "cannot write the output", out_path);
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
