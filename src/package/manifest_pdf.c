/*
 * The manifest and positions of a PDF package: a Readium Web Publication
 * Manifest under the PDF profile whose reading order is one PDF
 * ("publication.pdf", what `quire unpack` rebuilds from the slices), one
 * position per page (as Readium's LcpdfPositionsService counts them), the
 * outline as the table of contents, and the same urn:quire:slices
 * collection as an EPUB package, with page ranges in place of resource
 * lists (docs/format.md, "PDF packages"). jansson only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package_internal.h"

json_t *qr_package__pdf_positions(uint32_t pages)
{
    json_t *list = json_array();
    json_t *root =
        list ? json_pack("{s:I, s:o}", "total", (json_int_t)pages, "positions", list) : NULL;
    if (!root)
        return NULL;
    bool ok = true;
    for (uint32_t p = 1; ok && p <= pages; p++) {
        char frag[32];
        snprintf(frag, sizeof(frag), "page=%u", p);
        double prog = (double)(p - 1) / (double)pages;
        qr_package__json_push(&ok, list,
                              json_pack("{s:s, s:s, s:{s:[s], s:f, s:I, s:f}}", "href",
                                        QR_PKG_PDF_HREF, "type", QR_PKG_PDF_TYPE, "locations",
                                        "fragments", frag, "progression", prog, "position",
                                        (json_int_t)p, "totalProgression", prog));
    }
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static json_t *build_metadata(const qr_package__pdf_manifest_in *in, bool *ok)
{
    json_t *m = json_object();
    if (!m) {
        *ok = false;
        return NULL;
    }
    qr_package__json_put(ok, m, "@type", json_string("http://schema.org/Book"));
    qr_package__json_put(ok, m, "conformsTo", json_string(QR_PKG_PDF_PROFILE));
    if (in->c->source_sha256) {
        char id[96];
        snprintf(id, sizeof(id), "urn:quire:pdf:sha256:%s", in->c->source_sha256);
        qr_package__json_put(ok, m, "identifier", json_string(id));
    }
    const char *title = in->info->title && in->info->title[0] ? in->info->title : "Untitled";
    /* The outline and Info strings are UTF-8 from qr_pdf; jansson refuses anything else. */
    json_t *t = json_string(title);
    qr_package__json_put(ok, m, "title", t ? t : json_string("Untitled"));
    if (in->info->author && in->info->author[0]) {
        json_t *a = json_string(in->info->author);
        if (a)
            qr_package__json_put(ok, m, "author", a);
    }
    qr_package__json_put(ok, m, "layout", json_string("fixed"));
    qr_package__json_put(ok, m, "numberOfPages", json_integer(in->info->pages));
    return m;
}

/* The outline as nested links: "publication.pdf#page=N" (1-based) with the position. */
static json_t *toc_links(const qr_pdf_info *info, bool *ok)
{
    qr_package__nest nest;
    qr_package__nest_init(&nest, ok);
    if (!nest.root)
        return NULL;
    for (size_t i = 0; i < info->noutline; i++) {
        const qr_pdf_outline *o = &info->outline[i];
        char href[64];
        json_t *l = json_object();
        if (!l) {
            *ok = false;
            continue;
        }
        bool resolved = o->page >= 0 && (uint32_t)o->page < info->pages;
        if (resolved)
            snprintf(href, sizeof(href), "%s#page=%d", QR_PKG_PDF_HREF, o->page + 1);
        else
            snprintf(href, sizeof(href), "%s", QR_PKG_PDF_HREF);
        qr_package__json_put(ok, l, "href", json_string(href));
        qr_package__json_put(ok, l, "type", json_string(QR_PKG_PDF_TYPE));
        json_t *title = o->title && o->title[0] ? json_string(o->title) : NULL;
        if (title)
            qr_package__json_put(ok, l, "title", title);
        if (resolved)
            qr_package__json_put(ok, l, "properties", json_pack("{s:i}", "position", o->page + 1));
        qr_package__nest_add(&nest, l, o->level, ok);
    }
    return nest.root;
}

/* The document's page labels ("iv", "12", "A-3") as a flat page list, one link per page. */
static json_t *page_list(const qr_pdf_info *info, bool *ok)
{
    json_t *list = json_array();
    if (!list) {
        *ok = false;
        return NULL;
    }
    for (uint32_t p = 0; p < info->pages; p++) {
        const char *label = info->page_labels[p];
        char href[64];
        snprintf(href, sizeof(href), "%s#page=%u", QR_PKG_PDF_HREF, p + 1);
        json_t *l = json_pack("{s:s, s:s}", "href", href, "type", QR_PKG_PDF_TYPE);
        json_t *t = label && label[0] ? json_string(label) : NULL;
        if (l && t)
            qr_package__json_put(ok, l, "title", t);
        qr_package__json_push(ok, list, l);
    }
    return list;
}

static json_t *slices_collection(const qr_package__pdf_manifest_in *in, bool *ok)
{
    json_t *links = json_array();
    json_t *meta = json_pack(
        "{s:i, s:s, s:s, s:I, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:I, s:s}, "
        "s:{s:I, s:s, s:s}}",
        "formatVersion", QR_PACKAGE_FORMAT_VERSION, "bookId", in->c->book_id, "revision",
        in->c->revision, "count", (json_int_t)in->c->nslices, "encryption", "algorithm",
        QR_PKG_SLICE_ALG, "scheme", QR_PKG_SCHEME, "keyId", in->c->kek_id, "key", QR_PKG_KEY,
        "signature", "algorithm", "Ed25519", "href", QR_PKG_SIGNATURE, "pages", "count",
        (json_int_t)in->info->pages, "source", QR_PKG_PAGES_SOURCE_PDF, "positions", "total",
        (json_int_t)in->info->pages, "algorithm", "pdf-page", "href", QR_PKG_POSITIONS);
    if (!links || !meta) {
        json_decref(links);
        json_decref(meta);
        *ok = false;
        return NULL;
    }
    if (in->c->slice_pages)
        qr_package__json_put(ok, meta, "pagesPerSlice", json_integer(in->c->slice_pages));
    else
        qr_package__json_put(ok, meta, "targetBytes",
                             json_integer((json_int_t)in->c->slice_target));
    for (size_t i = 0; i < in->c->nslices; i++) {
        const qr_pdf_range *r = &in->ranges[i];
        const qr_package__slice *ps = &in->c->slices[i];
        json_int_t first = (json_int_t)r->first + 1;
        json_int_t last = (json_int_t)r->first + (json_int_t)r->count;
        json_t *props = json_pack("{s:I, s:b, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I}", "index",
                                  (json_int_t)i, "base", 0, "size", (json_int_t)ps->size,
                                  "plainLength", (json_int_t)ps->plain_len, "sha256", ps->sha256,
                                  "contentType", QR_PKG_PDF_TYPE, "firstPosition", first,
                                  "lastPosition", last, "firstPage", first, "lastPage", last);
        qr_package__json_push(ok, links,
                              props ? json_pack("{s:s, s:s, s:o}", "href", ps->href, "type",
                                                QR_PKG_SLICE_TYPE, "properties", props)
                                    : NULL);
    }
    return json_pack("{s:o, s:o}", "metadata", meta, "links", links);
}

int qr_package__pdf_manifest_build(json_t **out, const qr_package__pdf_manifest_in *in,
                                   qr_error *err)
{
    bool ok = true;
    json_t *m = json_object();
    json_t *links = json_array();
    json_t *ro = json_array();
    *out = NULL;
    if (!m || !links || !ro) {
        json_decref(links);
        json_decref(ro);
        ok = false;
        goto out;
    }
    qr_package__json_put(&ok, m, "@context",
                         json_string("https://readium.org/webpub-manifest/context.jsonld"));
    qr_package__json_put(&ok, m, "metadata", build_metadata(in, &ok));
    qr_package__json_push(&ok, links,
                          json_pack("{s:s, s:s, s:s}", "rel", "http://readium.org/position-list",
                                    "href", QR_PKG_POSITIONS, "type",
                                    "application/vnd.readium.position-list+json"));
    qr_package__json_push(&ok, links,
                          json_pack("{s:s, s:s, s:s}", "rel", "urn:quire:rel:content-key", "href",
                                    QR_PKG_KEY, "type", "application/json"));
    qr_package__json_put(&ok, m, "links", links);
    qr_package__json_push(&ok, ro,
                          json_pack("{s:s, s:s, s:{s:{s:s, s:s}}}", "href", QR_PKG_PDF_HREF, "type",
                                    QR_PKG_PDF_TYPE, "properties", "encrypted", "algorithm",
                                    QR_PKG_SLICE_ALG, "scheme", QR_PKG_SCHEME));
    qr_package__json_put(&ok, m, "readingOrder", ro);
    if (in->info->noutline > 0)
        qr_package__json_put(&ok, m, "toc", toc_links(in->info, &ok));
    if (in->info->page_labels)
        qr_package__json_put(&ok, m, "pageList", page_list(in->info, &ok));
    qr_package__json_put(&ok, m, QR_PKG_ROLE_SLICES, slices_collection(in, &ok));
out:
    if (!ok) {
        json_decref(m);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "package", "cannot build the manifest");
    }
    *out = m;
    return 0;
}
