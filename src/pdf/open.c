/*
 * Opening a PDF: size limit, header sniff, qpdf read with recovery, password
 * handling, then the facts of qr_pdf_info (metadata, outline, page labels).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pdf/pdf_internal.h"
#include "qr/fs.h"

/* qpdf, like readers, accepts the header anywhere in the first 1024 bytes. */
static bool has_header(const char *head, size_t n)
{
    if (n > 1024)
        n = 1024;
    for (size_t i = 0; i + 5 <= n; i++)
        if (memcmp(head + i, "%PDF-", 5) == 0)
            return true;
    return false;
}

static int sniff_header(const char *path, qr_error *err)
{
    char head[1024];
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return qr_error_set_cause(err, e == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, e,
                                  QR_PDF_STAGE, "cannot open %s: %s", path, strerror(e));
    }
    size_t n = fread(head, 1, sizeof(head), f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return qr_error_set(err, QR_ERR_IO, QR_PDF_STAGE, "cannot read %s", path);
    if (!has_header(head, n))
        return qr_error_set(err, QR_ERR_UNSUPPORTED_FORMAT, QR_PDF_STAGE, "%s has no PDF header",
                            path);
    return 0;
}

/* Reads a file (data == NULL) or a caller-kept buffer into a fresh handle. */
static int handle_read(qpdf_data *out, qr_pdf__open_facts *facts, const char *path,
                       const void *data, size_t len, const qr_limits *limits, qr_error *err)
{
    qpdf_data q = NULL;
    uint64_t size = len;
    int rc = 0;

    *out = NULL;
    memset(facts, 0, sizeof(*facts));
    if (!path || !limits || (!data && len))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    if (!data && (rc = qr_fs_file_size(&size, path, err)) < 0)
        return rc;
    facts->bytes = size;
    if (size > limits->max_input_bytes)
        return qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, QR_PDF_STAGE,
                            "%s is %llu bytes, limit is %llu", path, (unsigned long long)size,
                            (unsigned long long)limits->max_input_bytes);
    if (!data && (rc = sniff_header(path, err)) < 0)
        return rc;
    if (data && !has_header(data, len))
        return qr_error_set(err, QR_ERR_UNSUPPORTED_FORMAT, QR_PDF_STAGE, "%s has no PDF header",
                            path);

    q = qpdf_init();
    if (!q)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "qpdf_init failed");
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);
    qpdf_set_attempt_recovery(q, QPDF_TRUE);
    /* The empty password opens files whose user password is empty; others need one. */
    QPDF_ERROR_CODE st = data ? qpdf_read_memory(q, path, data, len, "") : qpdf_read(q, path, "");
    if (st & QPDF_ERRORS) {
        qpdf_error e = qpdf_has_error(q) ? qpdf_get_error(q) : NULL;
        bool pw = e && qpdf_get_error_code(q, e) == qpdf_e_password;
        bool sys = e && qpdf_get_error_code(q, e) == qpdf_e_system;
        const char *t = e ? qpdf_get_error_full_text(q, e) : NULL;
        if (pw)
            rc = qr_error_set(err, QR_ERR_DRM_PROTECTED, QR_PDF_STAGE,
                              "%s is encrypted and needs a password", path);
        else
            rc = qr_error_set(err, sys ? QR_ERR_IO : QR_ERR_PDF_DAMAGED, QR_PDF_STAGE,
                              "cannot read %s: %s", path, t ? t : "qpdf error");
        goto out;
    }
    qr_pdf__drain_warnings(q, facts);
    facts->empty_password = qpdf_is_encrypted(q) != QPDF_FALSE;

    int npages = qpdf_get_num_pages(q);
    if (qpdf_has_error(q) || npages <= 0) {
        rc = qpdf_has_error(q)
                 ? qr_pdf__error_from_qpdf(err, q, QR_ERR_PDF_DAMAGED, "cannot read the page tree")
                 : qr_error_set(err, QR_ERR_PDF_DAMAGED, QR_PDF_STAGE, "%s has no pages", path);
        goto out;
    }
    if (npages > QR_PDF_MAX_PAGES) {
        rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, QR_PDF_STAGE, "%d pages, limit is %d",
                          npages, QR_PDF_MAX_PAGES);
        goto out;
    }
    /* Reading the page tree may repair it too (loops, missing /Type). */
    qr_pdf__drain_warnings(q, facts);
    facts->repaired = facts->nwarnings > 0;
    *out = q;
    q = NULL;
out:
    if (q)
        qpdf_cleanup(&q);
    if (rc < 0)
        qr_error_set_context(err, "%s", path);
    return rc;
}

/*
 * Maps `path` read-only (an empty file maps nothing: it is then read as a
 * file, which reports it). Errors: source-not-found, io, input-too-large.
 */
static int map_file(qr_pdf__map *m, const char *path, const qr_limits *limits, qr_error *err)
{
    struct stat st;
    int rc = 0;
    memset(m, 0, sizeof(*m));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return qr_error_set_cause(err, e == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, e,
                                  QR_PDF_STAGE, "cannot open %s: %s", path, strerror(e));
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_IO, e, QR_PDF_STAGE, "cannot stat %s: %s", path,
                                strerror(e));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0)
        goto out; /* read as a file: qpdf and the sniff report what it is */
    if ((uint64_t)st.st_size > limits->max_input_bytes) {
        rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, QR_PDF_STAGE,
                          "%s is %llu bytes, limit is %llu", path, (unsigned long long)st.st_size,
                          (unsigned long long)limits->max_input_bytes);
        goto out;
    }
    void *a = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (a == MAP_FAILED) {
        int e = errno;
        rc = qr_error_set_cause(err, e == ENOMEM ? QR_ERR_OUT_OF_MEMORY : QR_ERR_IO, e,
                                QR_PDF_STAGE, "cannot map %s: %s", path, strerror(e));
        goto out;
    }
    m->addr = a;
    m->len = (size_t)st.st_size;
out:
    close(fd);
    return rc;
}

static void unmap(qr_pdf__map *m)
{
    if (m->addr)
        munmap(m->addr, m->len);
    memset(m, 0, sizeof(*m));
}

int qr_pdf__handle_open(qpdf_data *out, qr_pdf__map *map, qr_pdf__open_facts *facts,
                        const char *path, const qr_limits *limits, qr_error *err)
{
    *out = NULL;
    memset(facts, 0, sizeof(*facts));
    if (!path || !limits)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    int rc = map_file(map, path, limits, err);
    if (rc < 0) {
        qr_error_set_context(err, "%s", path);
        return rc;
    }
    if ((rc = handle_read(out, facts, path, map->addr, map->len, limits, err)) < 0)
        unmap(map);
    return rc;
}

void qr_pdf__handle_close(qpdf_data *q, qr_pdf__map *map)
{
    if (q && *q)
        qpdf_cleanup(q);
    if (map)
        unmap(map);
}

static void info_free(qr_pdf_info *in)
{
    free(in->title);
    free(in->author);
    qr_pdf__outline_free(in->outline, in->noutline);
    if (in->page_labels) {
        for (uint32_t i = 0; i < in->pages; i++)
            free(in->page_labels[i]);
        free(in->page_labels);
    }
    memset(in, 0, sizeof(*in));
}

/*
 * Opens the document; with `pages_only` the metadata, outline and labels
 * are not read (page-level work: sizes, the split).
 */
static int open_common(qr_pdf **out, const char *path, const void *data, size_t len,
                       const qr_limits *limits, bool pages_only, qr_warnings *w, qr_error *err)
{
    qr_pdf *p = NULL;
    qr_pdf__open_facts facts;
    qr_pdf__label_range *ranges = NULL;
    size_t nranges = 0;
    int rc = 0;

    if (!out)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
    if (!(p->path = strdup(path))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
        goto out;
    }
    if (data && len) {
        /* qpdf reads the buffer lazily: the object keeps its own copy. */
        if (!(p->mem = malloc(len))) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
            goto out;
        }
        memcpy(p->mem, data, len);
    }
    if (data)
        rc = handle_read(&p->q, &facts, path, p->mem, len, limits, err);
    else
        rc = qr_pdf__handle_open(&p->q, &p->map, &facts, path, limits, err);
    if (rc < 0)
        goto out;
    p->limits = *limits;
    p->repaired = facts.repaired;
    p->info.file_bytes = facts.bytes;
    if (facts.repaired)
        qr_warn(w, "pdf-repaired", QR_PDF_STAGE, path, "qpdf repaired the file (%zu warning%s): %s",
                facts.nwarnings, facts.nwarnings == 1 ? "" : "s", facts.first_warning);
    if (facts.empty_password)
        qr_warn(w, "pdf-encrypted-empty-password", QR_PDF_STAGE, path,
                "encrypted with an empty user password; opened without one");

    qr_pdf_info *in = &p->info;
    in->pages = (uint32_t)qpdf_get_num_pages(p->q);
    in->encrypted = facts.empty_password;
    in->linearized = qpdf_is_linearized(p->q) != QPDF_FALSE;
    const char *ver = qpdf_get_pdf_version(p->q);
    snprintf(in->version, sizeof(in->version), "%s", ver ? ver : "");
    if (pages_only)
        goto done;
    if ((rc = qr_pdf__read_meta(&in->title, &in->author, p->q, limits, err)) < 0)
        goto out;
    if ((rc = qr_pdf__read_outline(&in->outline, &in->noutline, p->q, err)) < 0)
        goto out;
    if ((rc = qr_pdf__read_label_ranges(&ranges, &nranges, p->q, in->pages, err)) < 0)
        goto out;
    if (nranges > 0 &&
        (rc = qr_pdf__format_labels(&in->page_labels, ranges, nranges, in->pages, err)) < 0)
        goto out;
done:
    /* Type mismatches met while reading are tolerated, not repairs. */
    qr_pdf__drain_warnings(p->q, NULL);
    *out = p;
    p = NULL;
out:
    qr_pdf__label_ranges_free(ranges, nranges);
    qr_pdf_close(p);
    return rc;
}

int qr_pdf_open(qr_pdf **out, const char *path, const qr_limits *limits, qr_warnings *w,
                qr_error *err)
{
    return open_common(out, path, NULL, 0, limits, false, w, err);
}

int qr_pdf_open_pages(qr_pdf **out, const char *path, const qr_limits *limits, qr_warnings *w,
                      qr_error *err)
{
    return open_common(out, path, NULL, 0, limits, true, w, err);
}

int qr_pdf_open_buffer(qr_pdf **out, const void *data, size_t len, const char *name,
                       const qr_limits *limits, qr_warnings *w, qr_error *err)
{
    if (!data || len == 0)
        return qr_error_set(err, QR_ERR_UNSUPPORTED_FORMAT, QR_PDF_STAGE, "empty input");
    return open_common(out, name ? name : "(memory)", data, len, limits, false, w, err);
}

bool qr_pdf_can_twin(const qr_pdf *p)
{
    return p && p->q && !p->twin && !p->unreplayable && (p->mem || p->map.addr);
}

bool qr_pdf_twin_reads_original(const qr_pdf *p)
{
    return p && p->nreplaced > 0;
}

int qr_pdf_twin(qr_pdf **out, const qr_pdf *p, qr_error *err)
{
    qr_pdf__open_facts facts;
    if (!out)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    *out = NULL;
    if (!qr_pdf_can_twin(p))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE,
                            "this document cannot be opened twice");
    qr_pdf *t = calloc(1, sizeof(*t));
    if (!t || !(t->path = strdup(p->path))) {
        free(t);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "out of memory");
    }
    /* The same bytes the original reads: its buffer, or its mapping of the file. */
    const void *data = p->mem ? p->mem : p->map.addr;
    size_t len = p->mem ? (size_t)p->info.file_bytes : p->map.len;
    int rc = handle_read(&t->q, &facts, t->path, data, len, &p->limits, err);
    if (rc < 0) {
        free(t->path);
        free(t);
        return rc;
    }
    t->twin = true;
    t->limits = p->limits;
    t->repaired = p->repaired;
    t->info.pages = p->info.pages;
    t->info.file_bytes = p->info.file_bytes;
    t->info.encrypted = p->info.encrypted;
    t->info.linearized = p->info.linearized;
    memcpy(t->info.version, p->info.version, sizeof(t->info.version));
    if ((uint32_t)qpdf_get_num_pages(t->q) != t->info.pages) {
        qr_pdf_close(t);
        return qr_error_set(err, QR_ERR_INTERNAL, QR_PDF_STAGE,
                            "the second reading of %s found another page count", p->path);
    }
    if ((rc = qr_pdf__replay_images(t, p, err)) < 0) {
        qr_pdf_close(t);
        return rc;
    }
    qr_pdf__drain_warnings(t->q, NULL);
    *out = t;
    return 0;
}

void qr_pdf_close(qr_pdf *p)
{
    if (!p)
        return;
    info_free(&p->info);
    qr_pdf__cutter_free(p->cutter);
    qr_pdf__handle_close(&p->q, &p->map);
    free(p->replaced);
    free(p->mem);
    free(p->path);
    free(p);
}

void qr_pdf_drop_document(qr_pdf *p)
{
    if (!p)
        return;
    qr_pdf__cutter_free(p->cutter);
    p->cutter = NULL;
    qr_pdf__handle_close(&p->q, &p->map);
    free(p->mem);
    p->mem = NULL;
}

const qr_pdf_info *qr_pdf_info_get(const qr_pdf *p)
{
    return p ? &p->info : NULL;
}
