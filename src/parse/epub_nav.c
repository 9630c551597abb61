/*
 * Navigation: the EPUB 3 nav document (toc, page-list) and the EPUB 2 NCX
 * (navMap, pageList), flattened in document order with their depth.
 * Navigation is optional: a document that cannot be parsed becomes a
 * warning, but hostile input (entities, unsafe hrefs, limits) still fails.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "parse/epub_internal.h"

typedef struct nav_list {
    qr_epub_navpoint **v;
    size_t *n, *cap;
} nav_list;

static nav_list toc_list(qr_epub *e)
{
    nav_list l = {&e->toc, &e->n_toc, &e->cap_toc};
    return l;
}

static nav_list page_list(qr_epub *e)
{
    nav_list l = {&e->pages, &e->n_pages, &e->cap_pages};
    return l;
}

static size_t nav_max(const qr_epub *e)
{
    /* Every point costs document bytes, so the XML size already bounds this. */
    return (size_t)(e->limits.max_xml_bytes / 8 + 16);
}

/* Resolves `href` against the document at `doc_path` into "path#frag". */
static int nav_href(const char **out, qr_epub *e, const char *doc_path, const char *href,
                    qr_error *err)
{
    const char *path = NULL, *frag = NULL;
    int entry = -1;
    *out = "";
    if (!href || !*href)
        return 0;
    int rc = qr_epub__href_find(&path, &frag, &entry, e, doc_path, href, href, err);
    if (rc < 0)
        return rc;
    if (!path) {
        *out = href; /* remote: kept as written */
        return 0;
    }
    if (e->n_entries && entry < 0)
        qr_warn(e->warnings, "missing-resource", QR_EPUB_STAGE, href,
                "navigation target %s is not in the archive", path);
    if (!frag) {
        *out = path;
        return 0;
    }
    size_t pl = strlen(path), fl = strlen(frag);
    char *s = malloc(pl + fl + 2);
    if (!s)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot copy an href");
    memcpy(s, path, pl);
    s[pl] = '#';
    memcpy(s + pl + 1, frag, fl + 1);
    *out = qr_epub__take(e, s);
    return *out ? 0 : qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "out of memory");
}

static int add_point(qr_epub *e, nav_list l, const char *title, const char *doc_path,
                     const char *href, int depth, qr_error *err)
{
    int rc = qr_epub__grow((void **)l.v, l.cap, *l.n, sizeof(**l.v), nav_max(e), err);
    if (rc < 0)
        return rc;
    const char *resolved = "";
    rc = nav_href(&resolved, e, doc_path, href, err);
    if (rc < 0)
        return rc;
    qr_epub_navpoint *p = &(*l.v)[*l.n];
    p->title = title ? title : "";
    p->href = resolved;
    p->depth = depth;
    (*l.n)++;
    return 0;
}

/* ---- EPUB 3 nav ---- */

static xmlNode *find_ol(xmlNode *n)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (qr_epub__xml_is(c, "ol") || qr_epub__xml_is(c, "ul"))
            return c;
        if (c->type == XML_ELEMENT_NODE) {
            xmlNode *d = find_ol(c);
            if (d)
                return d;
        }
    }
    return NULL;
}

static int walk_ol(qr_epub *e, nav_list l, xmlNode *ol, const char *doc_path, int depth,
                   qr_error *err)
{
    for (xmlNode *li = ol->children; li; li = li->next) {
        if (!qr_epub__xml_is(li, "li"))
            continue;
        xmlNode *label = NULL, *sub = NULL;
        for (xmlNode *c = li->children; c; c = c->next) {
            if (!label && (qr_epub__xml_is(c, "a") || qr_epub__xml_is(c, "span")))
                label = c;
            else if (!sub && (qr_epub__xml_is(c, "ol") || qr_epub__xml_is(c, "ul")))
                sub = c;
        }
        if (label) {
            const char *href =
                qr_epub__xml_is(label, "a") ? qr_epub__xml_attr(e, label, "href") : NULL;
            int rc = add_point(e, l, qr_epub__xml_text(e, label), doc_path, href, depth, err);
            if (rc < 0)
                return rc;
        }
        if (sub) {
            int rc = walk_ol(e, l, sub, doc_path, depth + 1, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int walk_navs(qr_epub *e, xmlNode *n, const char *path, bool *saw_toc, xmlNode **first,
                     qr_error *err)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!qr_epub__xml_is(c, "nav")) {
            int rc = walk_navs(e, c, path, saw_toc, first, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (!*first)
            *first = c;
        const char *type = qr_epub__xml_attr_ns(e, c, "type");
        xmlNode *ol = find_ol(c);
        if (!type || !ol)
            continue;
        int rc = 0;
        if (qr_epub__has_token(type, "toc") && !*saw_toc) {
            *saw_toc = true;
            rc = walk_ol(e, toc_list(e), ol, path, 0, err);
        } else if (qr_epub__has_token(type, "page-list") && e->n_pages == 0) {
            rc = walk_ol(e, page_list(e), ol, path, 0, err);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int qr_epub__parse_nav(qr_epub *e, const char *xml, size_t len, const char *path, qr_error *err)
{
    xmlDoc *doc = NULL;
    qr_error local = QR_ERROR_INIT;
    int rc = qr_epub__xml_parse(&doc, e, xml, len, path, QR_ERR_OPF_INVALID, &local);
    rc = qr_epub__soften(e, &local, rc, "nav-invalid", path, err);
    if (rc < 0 || !doc)
        goto out;
    bool saw_toc = false;
    xmlNode *first = NULL;
    rc = walk_navs(e, xmlDocGetRootElement(doc), path, &saw_toc, &first, err);
    if (rc < 0)
        goto out;
    if (!saw_toc && first) {
        xmlNode *ol = find_ol(first);
        qr_warn(e->warnings, "nav-invalid", QR_EPUB_STAGE, path,
                "no <nav epub:type=\"toc\">; the first <nav> is used as the table of contents");
        if (ol)
            rc = walk_ol(e, toc_list(e), ol, path, 0, err);
    } else if (!saw_toc) {
        qr_warn(e->warnings, "nav-invalid", QR_EPUB_STAGE, path,
                "the navigation document has no <nav> element");
    }
out:
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

/* ---- EPUB 2 NCX ---- */

static const char *ncx_label(qr_epub *e, xmlNode *n)
{
    xmlNode *label = qr_epub__xml_child(n, "navLabel");
    xmlNode *text = label ? qr_epub__xml_child(label, "text") : NULL;
    return text ? qr_epub__xml_text(e, text) : "";
}

static const char *ncx_src(qr_epub *e, xmlNode *n)
{
    xmlNode *content = qr_epub__xml_child(n, "content");
    return content ? qr_epub__xml_attr(e, content, "src") : NULL;
}

static int walk_navpoints(qr_epub *e, xmlNode *n, const char *path, int depth, qr_error *err)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (!qr_epub__xml_is(c, "navPoint"))
            continue;
        int rc = add_point(e, toc_list(e), ncx_label(e, c), path, ncx_src(e, c), depth, err);
        if (rc < 0)
            return rc;
        rc = walk_navpoints(e, c, path, depth + 1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int qr_epub__parse_ncx(qr_epub *e, const char *xml, size_t len, const char *path, qr_error *err)
{
    xmlDoc *doc = NULL;
    qr_error local = QR_ERROR_INIT;
    int rc = qr_epub__xml_parse(&doc, e, xml, len, path, QR_ERR_OPF_INVALID, &local);
    rc = qr_epub__soften(e, &local, rc, "nav-invalid", path, err);
    if (rc < 0 || !doc)
        goto out;
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *map = qr_epub__xml_child(root, "navMap");
    if (map && e->n_toc == 0) {
        rc = walk_navpoints(e, map, path, 0, err);
        if (rc < 0)
            goto out;
    }
    xmlNode *pl = qr_epub__xml_child(root, "pageList");
    if (pl && e->n_pages == 0) {
        for (xmlNode *c = pl->children; c; c = c->next) {
            if (!qr_epub__xml_is(c, "pageTarget"))
                continue;
            rc = add_point(e, page_list(e), ncx_label(e, c), path, ncx_src(e, c), 0, err);
            if (rc < 0)
                goto out;
        }
    }
out:
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}
