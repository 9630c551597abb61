/*
 * Small helpers over qpdf's C API shared by the PDF module: error and warning
 * draining, visited sets, text strings, atomic writes.
 */
#define _GNU_SOURCE /* asprintf, mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdf/pdf_internal.h"
#include "qr/buf.h"

bool qr_pdf__failed(qpdf_data q)
{
    if (!qpdf_has_error(q))
        return false;
    (void)qpdf_get_error(q);
    return true;
}

int qr_pdf__error_from_qpdf(qr_error *err, qpdf_data q, qr_errid id, const char *what)
{
    qpdf_error e = qpdf_has_error(q) ? qpdf_get_error(q) : NULL;
    if (!e)
        return qr_error_set(err, id, QR_PDF_STAGE, "%s", what);
    if (id != QR_ERR_DRM_PROTECTED && qpdf_get_error_code(q, e) == qpdf_e_system)
        id = id == QR_ERR_WRITE_FAILED ? id : QR_ERR_IO;
    const char *text = qpdf_get_error_full_text(q, e);
    return qr_error_set(err, id, QR_PDF_STAGE, "%s: %s", what, text ? text : "qpdf error");
}

void qr_pdf__drain_warnings(qpdf_data q, qr_pdf__open_facts *facts)
{
    while (qpdf_more_warnings(q)) {
        qpdf_error e = qpdf_next_warning(q);
        if (!e)
            break;
        if (facts) {
            if (facts->nwarnings == 0) {
                const char *t = qpdf_get_error_full_text(q, e);
                snprintf(facts->first_warning, sizeof(facts->first_warning), "%s", t ? t : "");
            }
            facts->nwarnings++;
        }
    }
}

static uint64_t id_key(qpdf_data q, qpdf_oh oh)
{
    int id = qpdf_oh_get_object_id(q, oh);
    if (id <= 0)
        return 0;
    int gen = qpdf_oh_get_generation(q, oh);
    return ((uint64_t)(uint32_t)id << 32) | (uint32_t)(gen < 0 ? 0 : gen);
}

static size_t slot_of(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

int qr_pdf__idset_add(qr_pdf__idset *s, qpdf_data q, qpdf_oh oh)
{
    uint64_t k = id_key(q, oh);
    if (k == 0)
        return 1;
    if ((s->len + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint64_t *n = calloc(ncap, sizeof(*n));
        if (!n)
            return QR_ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t j = slot_of(s->slots[i], ncap);
            while (n[j])
                j = (j + 1) & (ncap - 1);
            n[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = n;
        s->cap = ncap;
    }
    size_t j = slot_of(k, s->cap);
    while (s->slots[j]) {
        if (s->slots[j] == k)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = k;
    s->len++;
    return 1;
}

bool qr_pdf__idset_has(const qr_pdf__idset *s, qpdf_data q, qpdf_oh oh)
{
    uint64_t k = id_key(q, oh);
    if (k == 0 || s->cap == 0)
        return false;
    size_t j = slot_of(k, s->cap);
    while (s->slots[j]) {
        if (s->slots[j] == k)
            return true;
        j = (j + 1) & (s->cap - 1);
    }
    return false;
}

void qr_pdf__idset_free(qr_pdf__idset *s)
{
    free(s->slots);
    s->slots = NULL;
    s->cap = s->len = 0;
}

char *qr_pdf__text(qpdf_data q, qpdf_oh oh)
{
    const char *v = NULL;
    size_t len = 0;
    if (!qpdf_oh_is_string(q, oh))
        return NULL;
    if (!qpdf_oh_get_value_as_utf8(q, oh, &v, &len) || !v) {
        (void)qr_pdf__failed(q);
        return NULL;
    }
    /* Trim, and stop at an embedded NUL: titles are shown as C strings. */
    size_t end = strnlen(v, len);
    size_t start = 0;
    while (start < end && (unsigned char)v[start] <= ' ')
        start++;
    while (end > start && (unsigned char)v[end - 1] <= ' ')
        end--;
    if (end == start)
        return NULL;
    return strndup(v + start, end - start);
}

long long qr_pdf__int(qpdf_data q, qpdf_oh oh, long long dflt)
{
    long long v = 0;
    if (!qpdf_oh_is_integer(q, oh))
        return dflt;
    if (!qpdf_oh_get_value_as_longlong(q, oh, &v)) {
        (void)qr_pdf__failed(q);
        return dflt;
    }
    return v;
}

int32_t qr_pdf__page_index(qpdf_data q, qpdf_oh page)
{
    if (!qpdf_oh_is_indirect(q, page) || !qpdf_oh_is_dictionary(q, page))
        return -1;
    int i = qpdf_find_page_by_oh(q, page);
    if (qr_pdf__failed(q) || i < 0)
        return -1;
    return i;
}

/* Raw bytes of a string key of the Info dictionary, or NULL. */
static void copy_info_key(qpdf_data dst, qpdf_oh dst_info, qpdf_data src, qpdf_oh src_info,
                          const char *key)
{
    qpdf_oh v = qpdf_oh_get_key(src, src_info, key);
    size_t len = 0;
    const char *bytes = NULL;
    if (qpdf_oh_is_string(src, v))
        bytes = qpdf_oh_get_binary_string_value(src, v, &len);
    if (bytes && len > 0 && len < 65536) {
        qpdf_oh s = qpdf_oh_new_binary_string(dst, bytes, len);
        qpdf_oh_replace_key(dst, dst_info, key, s);
        qpdf_oh_release(dst, s);
    }
    (void)qr_pdf__failed(src);
    (void)qr_pdf__failed(dst);
    qpdf_oh_release(src, v);
}

void qr_pdf__copy_info(qpdf_data dst, qpdf_data src)
{
    qpdf_oh st = qpdf_get_trailer(src);
    qpdf_oh si = qpdf_oh_get_key(src, st, "/Info");
    if (qpdf_oh_is_dictionary(src, si)) {
        qpdf_oh dt = qpdf_get_trailer(dst);
        qpdf_oh di = qpdf_oh_new_dictionary(dst);
        copy_info_key(dst, di, src, si, "/Title");
        copy_info_key(dst, di, src, si, "/Author");
        if (qpdf_oh_has_key(dst, di, "/Title") || qpdf_oh_has_key(dst, di, "/Author")) {
            qpdf_oh ind = qpdf_make_indirect_object(dst, di);
            qpdf_oh_replace_key(dst, dt, "/Info", ind);
            qpdf_oh_release(dst, ind);
        }
        qpdf_oh_release(dst, di);
        qpdf_oh_release(dst, dt);
    }
    (void)qr_pdf__failed(src);
    (void)qr_pdf__failed(dst);
    qpdf_oh_release(src, si);
    qpdf_oh_release(src, st);
}

/* What every PDF quire writes gets: object streams, compressed streams, no encryption. */
static void write_options(qpdf_data q, bool durable)
{
    qpdf_set_object_stream_mode(q, qpdf_o_generate);
    qpdf_set_compress_streams(q, QPDF_TRUE);
    qpdf_set_decode_level(q, qpdf_dl_generalized);
    qpdf_set_preserve_unreferenced_objects(q, QPDF_FALSE);
    qpdf_set_preserve_encryption(q, QPDF_FALSE);
    /* A deterministic /ID hashes the whole output: kept for files a user keeps, not for
     * work files (slices), where it was half the split's time on large PDFs. */
    qpdf_set_deterministic_ID(q, durable ? QPDF_TRUE : QPDF_FALSE);
    qpdf_set_linearization(q, QPDF_FALSE);
}

/* Writes `q` with those options to the output qpdf_init_write* chose. */
static int write_now(qpdf_data q, bool durable, qr_error *err)
{
    write_options(q, durable);
    if (qpdf_write(q) & QPDF_ERRORS)
        return qr_pdf__error_from_qpdf(err, q, QR_ERR_WRITE_FAILED, "cannot write the PDF");
    return 0;
}

/*
 * qpdf's in-memory output grows a string by doubling and copies it out
 * twice (qpdf_get_buffer, then into `out`): on 32 MB slices, fresh pages
 * faulted in four times over. An anonymous memory file takes the writes
 * instead (qpdf writes its big streams straight through), and one pread
 * fills `out`, whose pages the loop reuses from slice to slice. For small
 * slices the file costs more than the copies: about sixteen system calls
 * each (create, open by /proc path, a write per 4-8 KB, read back, close),
 * so qr_pdf__write_mem uses it only for large ones (freeculture, 352 slices
 * of 25 KB: 0.86 s -> 0.80 s, CPU 1.01 s -> 0.85 s).
 */
static int write_memfd(qpdf_data q, qr_buf *out, qr_error *err)
{
    int fd = memfd_create("quire-slice", MFD_CLOEXEC);
    if (fd < 0)
        return 1; /* no memfd here: the caller writes to memory */
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int rc = 0;
    struct stat st;
    if (access(path, W_OK) != 0) {
        rc = 1; /* no /proc */
        goto out;
    }
    if (qpdf_init_write(q, path) & QPDF_ERRORS) {
        rc = qr_pdf__error_from_qpdf(err, q, QR_ERR_WRITE_FAILED, "cannot start writing");
        goto out;
    }
    if ((rc = write_now(q, false, err)) < 0)
        goto out;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        rc = qr_error_set(err, QR_ERR_WRITE_FAILED, QR_PDF_STAGE, "qpdf wrote nothing");
        goto out;
    }
    size_t n = (size_t)st.st_size, done = 0;
    if ((rc = qr_buf_reserve(out, n, err)) < 0)
        goto out;
    while (done < n) {
        ssize_t r = pread(fd, out->data + out->len + done, n - done, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = qr_error_set_cause(err, QR_ERR_IO, r < 0 ? errno : 0, QR_PDF_STAGE,
                                    "cannot read the slice back from memory: %s",
                                    r < 0 ? strerror(errno) : "it shrank");
            goto out;
        }
        done += (size_t)r;
    }
    out->len += n;
    out->data[out->len] = 0;
out:
    close(fd);
    return rc;
}

int qr_pdf__write_mem(qpdf_data q, qr_buf *out, bool large, qr_error *err)
{
    int rc = large ? write_memfd(q, out, err) : 1;
    if (rc <= 0)
        return rc;
    if (qpdf_init_write_memory(q) & QPDF_ERRORS)
        return qr_pdf__error_from_qpdf(err, q, QR_ERR_OUT_OF_MEMORY, "cannot start writing");
    if ((rc = write_now(q, false, err)) < 0)
        return rc;
    size_t n = qpdf_get_buffer_length(q);
    const unsigned char *b = qpdf_get_buffer(q);
    if (!b || n == 0)
        return qr_error_set(err, QR_ERR_WRITE_FAILED, QR_PDF_STAGE, "qpdf wrote nothing");
    rc = qr_buf_reserve(out, n, err);
    return rc < 0 ? rc : qr_buf_append(out, b, n, err);
}

int qr_pdf__write(qpdf_data q, const char *out_path, bool durable, qr_error *err)
{
    char *tmp = NULL;
    int fd = -1, rc = 0;
    if (asprintf(&tmp, "%s.tmp-XXXXXX", out_path) < 0) {
        tmp = NULL;
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "cannot build a name");
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        rc = qr_error_set_cause(err, e == ENOSPC ? QR_ERR_DISK_FULL : QR_ERR_WRITE_FAILED, e,
                                QR_PDF_STAGE, "cannot create %s: %s", tmp, strerror(e));
        free(tmp);
        return rc;
    }
    if (qpdf_init_write(q, tmp) & QPDF_ERRORS) {
        rc = qr_pdf__error_from_qpdf(err, q, QR_ERR_WRITE_FAILED, "cannot start writing");
        goto out;
    }
    if ((rc = write_now(q, durable, err)) < 0)
        goto out;
    if (fchmod(fd, 0644) != 0 || (durable && fsync(fd) != 0)) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, QR_PDF_STAGE, "cannot sync %s: %s",
                                out_path, strerror(e));
        goto out;
    }
    if (rename(tmp, out_path) != 0) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, QR_PDF_STAGE,
                                "cannot rename to %s: %s", out_path, strerror(e));
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

const char *qr_pdf_library_version(void)
{
    return qpdf_get_qpdf_version();
}
