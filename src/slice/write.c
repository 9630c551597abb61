/*
 * A slice as a small ZIP: its entries under their original container paths,
 * copied raw from the book (compressed bytes, method and CRC untouched),
 * built in memory with libzip.
 */
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "slice/slice_internal.h"

static int zip_fail(qr_error *err, zip_error_t *ze, qr_errid id, const char *what, const char *item)
{
    int rc = qr_error_set_cause(err, id, ze ? zip_error_code_zip(ze) : 0, QR_SLICE_STAGE, "%s: %s",
                                what, ze ? zip_error_strerror(ze) : "libzip error");
    qr_error_set_context(err, "%s", item ? item : "");
    return rc;
}

/* Reads the whole in-memory archive out of `src` into `out`. */
static int drain(qr_buf *out, zip_source_t *src, qr_error *err)
{
    zip_stat_t st;
    if (zip_source_open(src) < 0)
        return zip_fail(err, zip_source_error(src), QR_ERR_WRITE_FAILED, "cannot reopen the slice",
                        NULL);
    int rc = 0;
    zip_stat_init(&st);
    if (zip_source_stat(src, &st) < 0 || !(st.valid & ZIP_STAT_SIZE)) {
        rc = zip_fail(err, zip_source_error(src), QR_ERR_WRITE_FAILED, "cannot size the slice",
                      NULL);
        goto out;
    }
    if ((rc = qr_buf_reserve(out, (size_t)st.size, err)) < 0)
        goto out;
    zip_int64_t got = zip_source_read(src, out->data + out->len, st.size);
    if (got < 0 || (zip_uint64_t)got != st.size) {
        rc = zip_fail(err, zip_source_error(src), QR_ERR_WRITE_FAILED, "cannot read the slice",
                      NULL);
        goto out;
    }
    out->len += (size_t)got;
    out->data[out->len] = 0;
out:
    zip_source_close(src);
    return rc;
}

int qr_slice_write(qr_buf *out, const qr_epub *e, const qr_slice_plan *plan, size_t i,
                   qr_error *err)
{
    zip_t *in = NULL, *za = NULL;
    zip_source_t *mem = NULL;
    zip_error_t ze;
    int rc = 0;
    zip_error_init(&ze);
    const qr_slice_info *si = qr_slice_plan_get(plan, i);
    if (!out || !e || !si) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_SLICE_STAGE, "no slice %zu", i);
        goto out;
    }
    /* The archive is bounded by its entries plus small headers; refuse early. */
    if (si->stored_bytes > out->max) {
        rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, QR_SLICE_STAGE,
                          "slice %zu holds %llu bytes, over the %zu-byte buffer cap", i,
                          (unsigned long long)si->stored_bytes, out->max);
        goto out;
    }
    if ((rc = qr_epub_zip_open(&in, e, err)) < 0)
        goto out;
    mem = zip_source_buffer_create(NULL, 0, 0, &ze);
    if (!mem) {
        rc = zip_fail(err, &ze, QR_ERR_OUT_OF_MEMORY, "cannot create a memory archive", NULL);
        goto out;
    }
    za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
    if (!za) {
        rc = zip_fail(err, &ze, QR_ERR_WRITE_FAILED, "cannot open a memory archive", NULL);
        goto out;
    }
    /* Kept past zip_close, which would otherwise free it. */
    zip_source_keep(mem);
    for (size_t k = 0; k < si->nentries; k++) {
        if (si->entries[k] >= qr_epub_entry_count(e)) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_SLICE_STAGE,
                              "slice %zu names entry %zu of %zu", i, si->entries[k],
                              qr_epub_entry_count(e));
            goto out;
        }
        if ((rc = qr_epub_zip_add_raw(za, in, qr_epub_get_entry(e, si->entries[k]), QR_SLICE_STAGE,
                                      err)) < 0)
            goto out;
    }
    if (zip_close(za) != 0) {
        rc = zip_fail(err, zip_get_error(za), QR_ERR_WRITE_FAILED, "cannot write the slice", NULL);
        goto out;
    }
    za = NULL;
    rc = drain(out, mem, err);
out:
    if (za)
        zip_discard(za);
    if (mem)
        zip_source_free(mem);
    if (in)
        zip_discard(in);
    zip_error_fini(&ze);
    return rc;
}
