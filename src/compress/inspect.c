/* quire inspect: a read-only report on a book, as JSON. */
#include <stdlib.h>
#include <string.h>

#include "qr/epub.h"
#include "qr/fs.h"
#include "qr/image.h"
#include "qr/pdf.h"
#include "qr/report.h"

static const char *obf_str(qr_obfuscation o)
{
    switch (o) {
    case QR_OBF_IDPF:
        return "idpf";
    case QR_OBF_ADOBE:
        return "adobe";
    default:
        return "none";
    }
}

static json_t *types_json(const qr_epub *e)
{
    json_t *by = json_object();
    if (!by)
        return NULL;
    for (size_t i = 0; i < qr_epub_item_count(e); i++) {
        const qr_epub_item *it = qr_epub_get_item(e, i);
        const char *mt = (it->media_type && *it->media_type) ? it->media_type : "(none)";
        json_t *t = json_object_get(by, mt);
        if (!t) {
            t = json_pack("{s:I, s:I, s:I, s:I}", "count", (json_int_t)0, "stored_bytes",
                          (json_int_t)0, "bytes", (json_int_t)0, "missing", (json_int_t)0);
            if (!t || json_object_set_new(by, mt, t) != 0)
                return by;
        }
        json_object_set_new(t, "count",
                            json_integer(json_integer_value(json_object_get(t, "count")) + 1));
        if (it->entry < 0) {
            json_object_set_new(
                t, "missing", json_integer(json_integer_value(json_object_get(t, "missing")) + 1));
            continue;
        }
        const qr_epub_entry *ent = qr_epub_get_entry(e, (size_t)it->entry);
        json_object_set_new(t, "stored_bytes",
                            json_integer(json_integer_value(json_object_get(t, "stored_bytes")) +
                                         (json_int_t)ent->comp_size));
        json_object_set_new(
            t, "bytes",
            json_integer(json_integer_value(json_object_get(t, "bytes")) + (json_int_t)ent->size));
    }
    return by;
}

/* Probes every image header, recording what the image stage would warn about. */
static json_t *images_json(const qr_epub *e, const qr_limits *limits, qr_warnings *w)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < qr_epub_item_count(e); i++) {
        const qr_epub_item *it = qr_epub_get_item(e, i);
        if (it->entry < 0 || !qr_media_is_image(it->media_type))
            continue;
        const qr_epub_entry *ent = qr_epub_get_entry(e, (size_t)it->entry);
        json_t *o =
            json_pack("{s:s, s:s, s:I, s:I}", "path", ent->path, "media_type", it->media_type,
                      "stored_bytes", (json_int_t)ent->comp_size, "bytes", (json_int_t)ent->size);
        if (!o)
            continue;
        qr_buf data = QR_BUF_INIT(limits->max_entry_bytes);
        qr_error ierr = QR_ERROR_INIT;
        qr_image_info info;
        memset(&info, 0, sizeof(info));
        if (qr_epub_read_entry(&data, e, (size_t)it->entry, &ierr) == 0 &&
            qr_image_probe(&info, data.data, data.len, &ierr) == 0) {
            json_object_set_new(o, "format", json_string(info.format));
            json_object_set_new(o, "width", json_integer(info.width));
            json_object_set_new(o, "height", json_integer(info.height));
            if (info.pages > 1)
                json_object_set_new(o, "frames", json_integer(info.pages));
            uint64_t px = (uint64_t)info.width * (uint64_t)info.height *
                          (uint64_t)(info.pages > 0 ? info.pages : 1);
            if (px > limits->max_image_pixels)
                qr_warn(w, qr_errid_str(QR_ERR_IMAGE_TOO_LARGE), "image", ent->path,
                        "kept unchanged: %dx%d declares more than %llu pixels", info.width,
                        info.height, (unsigned long long)limits->max_image_pixels);
        } else if (ierr.code != 0) {
            json_object_set_new(o, "error", json_string(ierr.id));
            qr_warn(w, ierr.id, "image", ent->path, "kept unchanged: %s", ierr.msg);
        }
        qr_buf_free(&data);
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *fonts_json(const qr_epub *e)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < qr_epub_item_count(e); i++) {
        const qr_epub_item *it = qr_epub_get_item(e, i);
        if (!qr_media_is_font(it->media_type))
            continue;
        const qr_epub_entry *ent = it->entry >= 0 ? qr_epub_get_entry(e, (size_t)it->entry) : NULL;
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "path",
                                             ent ? ent->path : (it->path ? it->path : it->href),
                                             "media_type", it->media_type, "obfuscation",
                                             ent ? obf_str(ent->obf) : "none", "stored_bytes",
                                             (json_int_t)(ent ? ent->comp_size : 0)));
    }
    return arr;
}

static json_t *epub_json(const qr_epub *e, const qr_limits *limits, qr_warnings *w)
{
    const qr_epub_info *in = qr_epub_get_info(e);
    size_t linear = 0;
    for (size_t i = 0; i < qr_epub_spine_count(e); i++)
        linear += qr_epub_get_spine(e, i)->linear;
    const char *cover = NULL;
    if (in->cover_item >= 0) {
        const qr_epub_item *ci = qr_epub_get_item(e, (size_t)in->cover_item);
        cover = ci->path ? ci->path : ci->href;
    }
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:I, s:I}, s:I, s:s?, "
        "s:{s:b, s:b, s:I, s:I, s:i, s:s}, s:s}",
        "format", "epub", "version", in->version, "opf", in->opf_path ? in->opf_path : "",
        "identifier", in->unique_identifier ? in->unique_identifier : "", "title",
        in->title ? in->title : "", "language", in->language ? in->language : "", "creator",
        in->creator ? in->creator : "", "modified", in->modified ? in->modified : "", "layout",
        in->layout == QR_LAYOUT_FIXED ? "fixed" : "reflowable", "page_progression",
        (in->page_progression && *in->page_progression) ? in->page_progression : "default", "spine",
        "items", (json_int_t)qr_epub_spine_count(e), "linear", (json_int_t)linear, "entries",
        (json_int_t)qr_epub_entry_count(e), "cover", cover, "navigation", "nav", in->nav_item >= 0,
        "ncx", in->ncx_item >= 0, "toc_entries", (json_int_t)qr_epub_toc_count(e), "page_list",
        (json_int_t)qr_epub_pagelist_count(e), "declared_pages", in->declared_pages, "page_source",
        in->page_source ? in->page_source : "", "drm", "none");
    if (!o)
        return NULL;
    json_object_set_new(o, "resources", types_json(e));
    json_object_set_new(o, "images", images_json(e, limits, w));
    json_object_set_new(o, "fonts", fonts_json(e));
    return o;
}

/* The facts of a PDF; the per-page size estimate is what slicing plans with. */
static json_t *pdf_json(qr_pdf *p, qr_warnings *w)
{
    qr_error perr = QR_ERROR_INIT;
    const qr_pdf_info *in = qr_pdf_info_get(p);
    json_t *outline = json_array();
    json_t *labels = in->page_labels ? json_array() : json_null();
    uint64_t *sizes = calloc(in->pages ? in->pages : 1, sizeof(*sizes));
    uint64_t total = 0;
    json_t *o = NULL;
    if (!outline || !labels || !sizes)
        goto out;
    for (size_t i = 0; i < in->noutline; i++)
        json_array_append_new(outline, json_pack("{s:s, s:i, s:I}", "title", in->outline[i].title,
                                                 "level", in->outline[i].level, "page",
                                                 (json_int_t)in->outline[i].page));
    for (uint32_t i = 0; in->page_labels && i < in->pages; i++)
        json_array_append_new(labels, json_string(in->page_labels[i]));
    if (qr_pdf_page_bytes(p, sizes, &perr) == 0)
        for (uint32_t i = 0; i < in->pages; i++)
            total += sizes[i];
    o = json_pack("{s:s, s:s, s:I, s:s?, s:s?, s:b, s:b, s:b, s:b, s:I, s:O, s:b, s:O, s:I, "
                  "s:s}",
                  "format", "pdf", "version", in->version, "pages", (json_int_t)in->pages, "title",
                  in->title, "author", in->author, "linearized", in->linearized, "repaired",
                  qr_warnings_has(w, "pdf-repaired"), "encrypted", in->encrypted,
                  "encrypted_empty_password", in->encrypted, "outline_entries",
                  (json_int_t)in->noutline, "outline", outline, "page_labels_present",
                  in->page_labels != NULL, "page_labels", labels, "page_bytes_estimate",
                  (json_int_t)total, "drm", "none");
out:
    json_decref(outline);
    json_decref(labels);
    free(sizes);
    return o;
}

int qr_inspect_book(json_t **out, const char *path, const qr_limits *limits, qr_error *err)
{
    int rc = 0;
    qr_book *b = NULL;
    json_t *o = NULL;
    qr_warnings *w = qr_warnings_new();
    qr_limits lim = limits ? *limits : (qr_limits)QR_LIMITS_INIT;
    qr_format fmt = QR_FORMAT_UNKNOWN;
    uint64_t size = 0;
    *out = NULL;
    if (!w)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "inspect", "out of memory");

    qr_book_opts bo = QR_BOOK_OPTS_INIT;
    bo.limits = lim;
    bo.warnings = w;
    rc = qr_book_open(&b, path, &bo, err);
    if (rc == 0) {
        fmt = qr_book_format(b);
        size = qr_book_size(b);
    } else {
        /* The report still says what the file looked like, as far as it can be told. */
        if (qr_detect_format(&fmt, path, NULL) < 0)
            fmt = QR_FORMAT_UNKNOWN;
        if (qr_fs_file_size(&size, path, NULL) < 0)
            size = 0;
    }
    const qr_epub *e = qr_book_epub(b);
    qr_pdf *pdf = qr_book_pdf(b);
    /* compress inflates every entry (images to recompress, the rest to check): so does inspect. */
    for (size_t i = 0; rc == 0 && e && i < qr_epub_entry_count(e); i++) {
        const qr_epub_entry *ent = qr_epub_get_entry(e, i);
        if (!ent->is_dir && !ent->is_duplicate)
            rc = qr_epub_verify_entry(e, i, err);
    }
    if (rc == 0 && pdf)
        o = pdf_json(pdf, w);
    else if (rc == 0)
        o = epub_json(e, &lim, w);
    else
        o = json_pack("{s:s}", "format", qr_format_str(fmt));
    if (!o) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "inspect", "out of memory");
        goto out;
    }
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "file_bytes", json_integer((json_int_t)size));
    json_object_set_new(o, "warnings", qr_warnings_json(w));
    if (rc < 0) {
        json_object_set_new(o, "error", qr_error_json(err));
        if (err && err->errid == QR_ERR_DRM_PROTECTED)
            json_object_set_new(o, "drm", json_string("protected"));
    }
    *out = o;
out:
    qr_book_free(b);
    qr_warnings_free(w);
    return rc;
}
