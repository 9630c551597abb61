/*
 * `quire process` for a PDF: compress the whole file once (qr_pdf_compress),
 * plan page ranges over the compressed file, cut them into standalone PDFs
 * in the work directory (qr_pdf_split, threaded), then seal and publish them
 * one at a time exactly as EPUB slices are sealed, followed by
 * positions.json, key.json, the signature and the manifest (last). Only one
 * slice is in memory at a time; the cut slices wait on disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "package_internal.h"
#include "qr/fs.h"
#include "qr/log.h"

/* The state of one PDF run; released at the end of qr_package__process_pdf. */
typedef struct pdf_run {
    qr_process_report *rep;
    const qr_store *store;
    const char *prefix;
    const qr_keyring *k;
    const qr_process_opts *o;
    char *workdir;
    qr_pdf *pdf;
    uint64_t *page_bytes;
    qr_pdf_range *ranges;
    size_t nranges;
    char **paths;
    qr_package__slice *slices;
    qr_content_key *ck;
    double t_open, t_plan, t_split, t_read; /* parts of the slice stage, for the debug log */
} pdf_run;

static char *work_path(const pdf_run *P, const char *name)
{
    size_t n = strlen(P->workdir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", P->workdir, name);
    return s;
}

/* Compress into the work directory and open the result. */
static int compress_open(pdf_run *P, const char *in_path, const char *comp_path, qr_error *err)
{
    qr_process_report *rep = P->rep;
    qr_pdf_compress_report cr;
    memset(&cr, 0, sizeof(cr));
    double t0 = qr_now();
    int rc = qr_pdf_compress(in_path, comp_path, rep->profile, &P->o->limits, P->o->threads, &cr,
                             rep->warnings, err);
    rep->t_compress = qr_now() - t0;
    if (rc < 0)
        return rc;
    rc = qr_fs_file_size(&rep->compressed_bytes, comp_path, err);
    if (rc < 0)
        return rc;
    t0 = qr_now();
    rc = qr_pdf_open(&P->pdf, comp_path, &P->o->limits, rep->warnings, err);
    P->t_open = qr_now() - t0;
    rep->t_slice += P->t_open;
    return rc;
}

/* The page ranges and the slice files in the work directory. */
static int plan_split(pdf_run *P, const char *comp_path, qr_error *err)
{
    qr_process_report *rep = P->rep;
    const qr_process_opts *o = P->o;
    const qr_pdf_info *info = qr_pdf_info_get(P->pdf);
    double t0 = qr_now();
    uint64_t target = o->slice_target;
    if (!target) {
        qr_slice_opts so = QR_SLICE_OPTS_INIT;
        target = so.target_bytes;
    }
    rep->pages = info->pages;
    rep->positions = info->pages;
    rep->pages_source = QR_PKG_PAGES_SOURCE_PDF;
    int rc = 0;
    if (!o->slice_pages) {
        P->page_bytes = calloc(info->pages ? info->pages : 1, sizeof(*P->page_bytes));
        if (!P->page_bytes)
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
        rc = qr_pdf_page_bytes(P->pdf, P->page_bytes, err);
        if (rc < 0)
            return rc;
    }
    rc = qr_package__pdf_plan(&P->ranges, &P->nranges, P->page_bytes, info->pages, target,
                              o->slice_pages, err);
    if (rc < 0)
        return rc;
    P->paths = calloc(P->nranges, sizeof(*P->paths));
    P->slices = calloc(P->nranges, sizeof(*P->slices));
    if (!P->paths || !P->slices)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
    for (size_t i = 0; i < P->nranges; i++) {
        char name[32];
        snprintf(name, sizeof(name), "slice-%04zu.pdf", i);
        if (!(P->paths[i] = work_path(P, name)))
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
    }
    rep->t_positions = 0;
    double t1 = qr_now();
    P->t_plan = t1 - t0;
    rc = qr_pdf_split(comp_path, P->ranges, P->nranges, (const char *const *)P->paths, o->threads,
                      &o->limits, err);
    P->t_split = qr_now() - t1;
    rep->t_slice += qr_now() - t0;
    return rc;
}

/* Each slice file: read, seal, put, delete. */
static int publish_slices(pdf_run *P, qr_error *err)
{
    qr_process_report *rep = P->rep;
    uint64_t cap64 = P->o->limits.max_total_bytes;
    size_t cap = cap64 > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)cap64;
    qr_buf plain = QR_BUF_INIT(cap);
    qr_buf sealed = QR_BUF_INIT(cap);
    double t0 = qr_now();
    int rc = qr_content_key_new(&P->ck, err);
    rep->t_encrypt += qr_now() - t0;
    for (size_t i = 0; rc == 0 && i < P->nranges; i++) {
        qr_buf_reset(&plain);
        t0 = qr_now();
        rc = qr_buf_read_file(&plain, P->paths[i], "slice", err);
        P->t_read += qr_now() - t0;
        rep->t_slice += qr_now() - t0;
        if (rc < 0) {
            qr_error_set_context(err, "slices/%04zu.qs", i);
            break;
        }
        rc = qr_package__seal_put(&P->slices[i], &sealed, rep, P->store, P->prefix, P->ck, i,
                                  P->nranges, &plain, err);
        /* The plaintext slice is no longer needed: keep the work directory small. */
        unlink(P->paths[i]);
    }
    if (rc == 0)
        rep->slices = P->nranges;
    qr_buf_free(&plain);
    qr_buf_free(&sealed);
    return rc;
}

/* positions.json, key.json, then the signature and the manifest: the commit point. */
static int publish_rest(pdf_run *P, const char *source_sha256, qr_error *err)
{
    qr_process_report *rep = P->rep;
    json_t *pos = NULL, *key = NULL, *man = NULL;
    double t0 = qr_now();
    int rc = 0;
    const qr_pdf_info *info = qr_pdf_info_get(P->pdf);

    pos = qr_package__pdf_positions(info->pages);
    if (!pos) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "publish", "cannot build positions.json");
        goto out;
    }
    rc = qr_package__put_json(P->store, P->prefix, QR_PKG_POSITIONS, pos, err);
    if (rc < 0)
        goto out;
    rc = qr_content_key_wrap(&key, P->ck, P->k, rep->book_id, rep->revision, err);
    if (rc < 0)
        goto out;
    rc = qr_package__put_json(P->store, P->prefix, QR_PKG_KEY, key, err);
    if (rc < 0)
        goto out;
    uint64_t target = P->o->slice_target;
    if (!target) {
        qr_slice_opts so = QR_SLICE_OPTS_INIT;
        target = so.target_bytes;
    }
    qr_package__pdf_manifest_in mi = {info,
                                      P->ranges,
                                      P->slices,
                                      P->nranges,
                                      rep->book_id,
                                      rep->revision,
                                      source_sha256,
                                      qr_keyring_kek_id(P->k),
                                      P->o->slice_pages ? 0 : target,
                                      P->o->slice_pages};
    rc = qr_package__pdf_manifest_build(&man, &mi, err);
    if (rc < 0)
        goto out;
    rc = qr_package__commit_manifest(P->store, P->prefix, P->k, man, err);
out:
    rep->t_publish += qr_now() - t0;
    json_decref(man);
    json_decref(key);
    json_decref(pos);
    return rc;
}

int qr_package__process_pdf(qr_process_report *rep, const char *in_path, const qr_store *store,
                            char **prefix, const qr_keyring *k, const qr_process_opts *o,
                            qr_error *err)
{
    pdf_run P;
    memset(&P, 0, sizeof(P));
    P.rep = rep;
    P.store = store;
    P.k = k;
    P.o = o;
    char *comp_path = NULL;
    char src_sha[65] = "";
    bool done = false;
    int rc = qr_package__names(rep, prefix, o, in_path, NULL, src_sha, err);
    if (rc < 0)
        goto out;
    P.prefix = *prefix;
    rc = qr_package__check_published(&done, store, P.prefix, k, o, err);
    if (rc < 0)
        goto out;
    if (done) {
        rep->already_published = true;
        qr_log(QR_LOG_INFO, "publish", "%s%s is already published and verifies: nothing written",
               P.prefix, QR_PKG_MANIFEST);
        goto out;
    }
    rc = qr_workdir_create(&P.workdir, o->work_parent, "process", err);
    if (rc < 0)
        goto out;
    comp_path = work_path(&P, "compressed.pdf");
    if (!comp_path) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "process", "out of memory");
        goto out;
    }
    rc = compress_open(&P, in_path, comp_path, err);
    if (rc < 0)
        goto out;
    rc = plan_split(&P, comp_path, err);
    if (rc < 0)
        goto out;
    rc = publish_slices(&P, err);
    if (rc < 0)
        goto out;
    qr_log(QR_LOG_DEBUG, "slice",
           "%zu slices: open %.3f s, page sizes and plan %.3f s, split %.3f s, read back %.3f s",
           P.nranges, P.t_open, P.t_plan, P.t_split, P.t_read);
    rc = publish_rest(&P, src_sha, err);
out:
    if (P.workdir) {
        qr_error rmerr = QR_ERROR_INIT;
        if (qr_workdir_remove(P.workdir, &rmerr) < 0)
            qr_log(QR_LOG_WARN, "process", "cannot remove %s: %s", P.workdir, rmerr.msg);
    }
    free(P.workdir);
    free(comp_path);
    if (P.paths)
        for (size_t i = 0; i < P.nranges; i++)
            free(P.paths[i]);
    free(P.paths);
    free(P.slices);
    free(P.ranges);
    free(P.page_bytes);
    qr_content_key_free(P.ck);
    qr_pdf_close(P.pdf);
    return rc;
}
