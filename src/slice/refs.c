/*
 * Which entries a content document uses: embedded resources (images, media,
 * stylesheets, scripts, objects, frames) and the documents it links to.
 * Parsed with libxml2's tolerant HTML reader, which never reads a DTD,
 * processes no entity declarations and touches no network.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>

#include "slice/slice_internal.h"

int qr_slice__set_add(qr_slice__set *s, size_t x, qr_error *err)
{
    if (qr_slice__set_has(s, x))
        return 0;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        size_t *nv = nc < SIZE_MAX / sizeof(*nv) ? realloc(s->v, nc * sizeof(*nv)) : NULL;
        if (!nv)
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_SLICE_STAGE,
                                "cannot grow an entry list");
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = x;
    return 0;
}

bool qr_slice__set_has(const qr_slice__set *s, size_t x)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == x)
            return true;
    return false;
}

void qr_slice__set_free(qr_slice__set *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

void qr_slice__refs_free(qr_slice__refs *r)
{
    if (!r)
        return;
    qr_slice__set_free(&r->res);
    qr_slice__set_free(&r->links);
}

/* Local name: "svg:image" -> "image", "xlink:href" -> "href". */
static const char *local_name(const xmlChar *name)
{
    const char *s = (const char *)name;
    const char *c = s ? strrchr(s, ':') : NULL;
    return c ? c + 1 : (s ? s : "");
}

static bool name_in(const char *name, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcasecmp(name, list[i]) == 0)
            return true;
    return false;
}

/* Resolves one href against the document and records the entry it names. */
static int add_href(qr_slice__set *set, const qr_epub *e, const char *doc, size_t doc_entry,
                    const char *href, size_t hlen, qr_error *err)
{
    char *h = malloc(hlen + 1);
    if (!h)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_SLICE_STAGE, "cannot copy an href");
    memcpy(h, href, hlen);
    h[hlen] = 0;
    long i = -1;
    int rc = qr_epub_resolve_ref(&i, e, doc, h, err);
    if (rc == 0 && i >= 0 && (size_t)i != doc_entry)
        rc = qr_slice__set_add(set, (size_t)i, err);
    free(h);
    return rc;
}

/* srcset = "url [descriptor], url [descriptor], ..." */
static int add_srcset(qr_slice__set *set, const qr_epub *e, const char *doc, size_t doc_entry,
                      const char *v, qr_error *err)
{
    const char *p = v;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - s);
        while (n > 0 && s[n - 1] == ',')
            n--;
        if (n > 0) {
            int rc = add_href(set, e, doc, doc_entry, s, n, err);
            if (rc < 0)
                return rc;
        }
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

static int scan_element(qr_slice__refs *r, const qr_epub *e, const char *doc, size_t doc_entry,
                        const xmlNode *n, qr_error *err)
{
    static const char *const src_elems[] = {"img",   "script", "audio",  "video", "source",
                                            "track", "embed",  "iframe", "input", NULL};
    static const char *const href_elems[] = {"image", "use", "link", "feImage", NULL};
    const char *el = local_name(n->name);
    bool is_a = strcasecmp(el, "a") == 0;
    int rc = 0;
    for (const xmlAttr *a = n->properties; a && rc == 0; a = a->next) {
        const char *an = local_name(a->name);
        bool want = false, srcset = false;
        qr_slice__set *set = &r->res;
        if (is_a && strcasecmp(an, "href") == 0) {
            want = true;
            set = &r->links;
        } else if (strcasecmp(an, "src") == 0 && name_in(el, src_elems)) {
            want = true;
        } else if (strcasecmp(an, "href") == 0 && name_in(el, href_elems)) {
            want = true;
        } else if (strcasecmp(an, "data") == 0 && strcasecmp(el, "object") == 0) {
            want = true;
        } else if (strcasecmp(an, "poster") == 0 && strcasecmp(el, "video") == 0) {
            want = true;
        } else if (strcasecmp(an, "srcset") == 0 && name_in(el, src_elems)) {
            want = srcset = true;
        }
        if (!want)
            continue;
        xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
        if (!v)
            continue;
        const char *s = (const char *)v;
        rc = srcset ? add_srcset(set, e, doc, doc_entry, s, err)
                    : add_href(set, e, doc, doc_entry, s, strlen(s), err);
        xmlFree(v);
    }
    return rc;
}

int qr_slice__refs_collect(qr_slice__refs *out, const qr_epub *e, size_t entry, qr_error *err)
{
    qr_buf bytes = QR_BUF_INIT(0);
    htmlParserCtxtPtr ctxt = NULL;
    xmlDoc *doc = NULL;
    int rc = 0;
    memset(out, 0, sizeof(*out));
    const qr_epub_entry *ent = qr_epub_get_entry(e, entry);
    /* An oversized document is not parsed: its resources simply stay in the base. */
    if (ent->size > qr_epub_limits(e)->max_xml_bytes || ent->size > INT_MAX)
        return 0;
    bytes.max = (size_t)ent->size;
    rc = qr_epub_read_entry(&bytes, e, entry, err);
    if (rc < 0) {
        qr_error_set_context(err, "%s", ent->path);
        goto out;
    }
    if (bytes.len == 0)
        goto out;
    /* libxml2 was initialised (with a deny-all entity loader) when `e` was opened. */
    ctxt = htmlNewParserCtxt();
    if (!ctxt) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_SLICE_STAGE, "cannot create HTML parser");
        goto out;
    }
    /* UTF-16 documents carry a BOM; everything else in an EPUB is UTF-8. */
    bool bom16 = bytes.len >= 2 && ((bytes.data[0] == 0xFF && bytes.data[1] == 0xFE) ||
                                    (bytes.data[0] == 0xFE && bytes.data[1] == 0xFF));
    int opts = HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
               HTML_PARSE_COMPACT;
    doc = htmlCtxtReadMemory(ctxt, (const char *)bytes.data, (int)bytes.len, NULL,
                             bom16 ? NULL : "UTF-8", opts);
    if (!doc)
        goto out;
    /* Iterative walk: no recursion depth driven by the document. */
    const xmlNode *n = xmlDocGetRootElement(doc);
    while (n && rc == 0) {
        if (n->type == XML_ELEMENT_NODE)
            rc = scan_element(out, e, ent->path, entry, n, err);
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (n && !n->next && n->parent && n->parent->type != XML_DOCUMENT_NODE &&
               n->parent->type != XML_HTML_DOCUMENT_NODE)
            n = n->parent;
        n = n ? n->next : NULL;
    }
out:
    if (rc < 0)
        qr_slice__refs_free(out);
    if (doc)
        xmlFreeDoc(doc);
    if (ctxt)
        htmlFreeParserCtxt(ctxt);
    qr_buf_free(&bytes);
    return rc;
}
