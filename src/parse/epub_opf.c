/*
 * The OPF package document: metadata (Readium's rules for title, identifier,
 * layout, progression, page counts), manifest, spine and cover.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "parse/epub_internal.h"

typedef struct opf_meta {
    const char *refines;  /* "#id" or NULL */
    const char *property; /* EPUB 3 */
    const char *name;     /* EPUB 2 name= */
    const char *content;  /* EPUB 2 content= */
    const char *text;
} opf_meta;

typedef struct opf_ctx {
    qr_epub *e;
    const char *uid_attr;
    opf_meta *metas;
    size_t n_metas, cap_metas;
    xmlNode **dc; /* dc:* elements in document order */
    size_t n_dc, cap_dc;
    const char *cover_meta; /* EPUB 2 <meta name="cover" content=...> */
} opf_ctx;

typedef struct id_ref {
    const char *id;
    int idx;
} id_ref;

static size_t list_max(const qr_epub *e)
{
    return e->limits.max_entries > 1000000 ? 1000000 : (size_t)e->limits.max_entries + 16;
}

static int collect_metadata(opf_ctx *c, xmlNode *n, int depth, qr_error *err)
{
    qr_epub *e = c->e;
    for (xmlNode *k = n->children; k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (depth == 0 && (qr_epub__xml_is(k, "dc-metadata") || qr_epub__xml_is(k, "x-metadata"))) {
            int rc = collect_metadata(c, k, depth + 1, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (qr_epub__xml_is(k, "meta")) {
            int rc = qr_epub__grow((void **)&c->metas, &c->cap_metas, c->n_metas, sizeof(*c->metas),
                                   list_max(e), err);
            if (rc < 0)
                return rc;
            opf_meta *m = &c->metas[c->n_metas++];
            m->refines = qr_epub__xml_attr(e, k, "refines");
            m->property = qr_epub__xml_attr(e, k, "property");
            m->name = qr_epub__xml_attr(e, k, "name");
            m->content = qr_epub__xml_attr(e, k, "content");
            m->text = qr_epub__xml_text(e, k);
            if (!m->text)
                m->text = "";
            continue;
        }
        int rc =
            qr_epub__grow((void **)&c->dc, &c->cap_dc, c->n_dc, sizeof(*c->dc), list_max(e), err);
        if (rc < 0)
            return rc;
        c->dc[c->n_dc++] = k;
    }
    return 0;
}

/* Value of <meta refines="#id" property="prop">, or NULL. */
static const char *refined(const opf_ctx *c, const char *id, const char *prop)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < c->n_metas; i++) {
        const opf_meta *m = &c->metas[i];
        if (m->refines && m->property && m->refines[0] == '#' && strcmp(m->refines + 1, id) == 0 &&
            strcmp(m->property, prop) == 0)
            return m->text;
    }
    return NULL;
}

static const char *text_or_empty(qr_epub *e, xmlNode *n)
{
    const char *t = qr_epub__xml_text(e, n);
    return t ? t : "";
}

static void parse_metadata(opf_ctx *c)
{
    qr_epub *e = c->e;
    qr_epub_info *info = &e->info;
    const char *first_id = NULL, *uid = NULL, *main_title = NULL, *first_title = NULL;
    for (size_t i = 0; i < c->n_dc; i++) {
        xmlNode *n = c->dc[i];
        const char *id = qr_epub__xml_attr(e, n, "id");
        if (qr_epub__xml_is(n, "identifier")) {
            const char *t = text_or_empty(e, n);
            if (!first_id)
                first_id = t;
            if (!uid && id && c->uid_attr && strcmp(id, c->uid_attr) == 0)
                uid = t;
            if (!e->uuid_identifier && strncasecmp(t, "urn:uuid:", 9) == 0)
                e->uuid_identifier = t;
        } else if (qr_epub__xml_is(n, "title")) {
            const char *t = text_or_empty(e, n);
            if (!first_title)
                first_title = t;
            const char *tt = refined(c, id, "title-type");
            if (!main_title && tt && strcmp(tt, "main") == 0)
                main_title = t;
        } else if (qr_epub__xml_is(n, "language") && !*info->language) {
            info->language = text_or_empty(e, n);
        } else if (qr_epub__xml_is(n, "creator") && !*info->creator) {
            info->creator = text_or_empty(e, n);
        } else if (qr_epub__xml_is(n, "publisher") && !*info->publisher) {
            info->publisher = text_or_empty(e, n);
        } else if (qr_epub__xml_is(n, "source") && !*info->page_source) {
            const char *so = refined(c, id, "source-of");
            if (so && strcmp(so, "pagination") == 0)
                info->page_source = text_or_empty(e, n);
        }
    }
    if (uid) {
        info->unique_identifier = uid;
    } else if (first_id) {
        info->unique_identifier = first_id;
        qr_warn(e->warnings, "unique-identifier-missing", QR_EPUB_STAGE, info->opf_path,
                "package@unique-identifier \"%s\" names no dc:identifier; using the first one",
                c->uid_attr ? c->uid_attr : "");
    } else {
        qr_warn(e->warnings, "unique-identifier-missing", QR_EPUB_STAGE, info->opf_path,
                "the package has no dc:identifier");
    }
    info->title = main_title ? main_title : first_title ? first_title : "";

    for (size_t i = 0; i < c->n_metas; i++) {
        const opf_meta *m = &c->metas[i];
        if (m->property && !m->refines) {
            if (strcmp(m->property, "dcterms:modified") == 0 && !*info->modified)
                info->modified = m->text;
            else if (strcmp(m->property, "rendition:layout") == 0 &&
                     strcmp(m->text, "pre-paginated") == 0)
                info->layout = QR_LAYOUT_FIXED;
            else if (strcmp(m->property, "schema:numberOfPages") == 0 && !info->declared_pages) {
                char *end = NULL;
                long v = strtol(m->text, &end, 10);
                if (end && end != m->text && *end == 0 && v > 0 && v <= INT_MAX)
                    info->declared_pages = (int)v;
                else
                    qr_warn(e->warnings, "metadata-invalid", QR_EPUB_STAGE, "schema:numberOfPages",
                            "not a positive integer: %s", m->text);
            } else if (strcmp(m->property, "pageBreakSource") == 0) {
                info->page_source = m->text;
            }
        }
        if (m->name && m->content) {
            if (strcmp(m->name, "cover") == 0 && !c->cover_meta)
                c->cover_meta = m->content;
            else if (strcmp(m->name, "fixed-layout") == 0 && strcmp(m->content, "true") == 0)
                info->layout = QR_LAYOUT_FIXED;
        }
    }
}

static void parse_version(qr_epub_info *info, const char *v)
{
    info->version = v ? v : "";
    if (!v)
        return;
    char *end = NULL;
    long maj = strtol(v, &end, 10);
    if (end == v || maj < 0 || maj > 99)
        return;
    info->version_major = (int)maj;
    if (*end == '.') {
        long min = strtol(end + 1, NULL, 10);
        if (min >= 0 && min <= 99)
            info->version_minor = (int)min;
    }
}

static const char *trimmed(const char *s)
{
    if (!s)
        return "";
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

static int parse_manifest(opf_ctx *c, xmlNode *manifest, bool with_entries, int *ncx_guess,
                          qr_error *err)
{
    qr_epub *e = c->e;
    qr_epub_info *info = &e->info;
    for (xmlNode *n = manifest->children; n; n = n->next) {
        if (!qr_epub__xml_is(n, "item"))
            continue;
        const char *id = qr_epub__xml_attr(e, n, "id");
        const char *href = qr_epub__xml_attr(e, n, "href");
        if (!id || !href) {
            qr_warn(e->warnings, "manifest-item-invalid", QR_EPUB_STAGE, id ? id : "(no id)",
                    "manifest item without %s ignored", id ? "href" : "id");
            continue;
        }
        int rc = qr_epub__grow((void **)&e->items, &e->cap_items, e->n_items, sizeof(*e->items),
                               list_max(e), err);
        if (rc < 0)
            return rc;
        qr_epub_item *it = &e->items[e->n_items];
        memset(it, 0, sizeof(*it));
        it->id = id;
        it->href = href;
        const char *frag = NULL;
        rc = qr_epub__href_find(&it->path, &frag, &it->entry, e, info->opf_path, href, href, err);
        if (rc < 0) {
            qr_error_set_context(err, "%s", href);
            return rc;
        }
        if (frag)
            qr_warn(e->warnings, "href-fragment", QR_EPUB_STAGE, it->path ? it->path : href,
                    "manifest href carries a fragment; ignored");
        if (!with_entries)
            it->entry = -1;
        else if (it->path && it->entry < 0)
            qr_warn(e->warnings, "missing-resource", QR_EPUB_STAGE, it->path,
                    "manifest item %s is not in the archive", id);
        it->media_type = trimmed(qr_epub__xml_attr(e, n, "media-type"));
        it->properties = trimmed(qr_epub__xml_attr(e, n, "properties"));
        it->fallback = qr_epub__xml_attr(e, n, "fallback");
        it->spine = -1;
        it->linear = false;
        int idx = (int)e->n_items++;
        if (info->nav_item < 0 && qr_epub__has_token(it->properties, "nav"))
            info->nav_item = idx;
        if (info->cover_item < 0 && qr_epub__has_token(it->properties, "cover-image"))
            info->cover_item = idx;
        if (*ncx_guess < 0 && strcasecmp(it->media_type, "application/x-dtbncx+xml") == 0)
            *ncx_guess = idx;
    }
    return 0;
}

static int cmp_idref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int find_id(const id_ref *ids, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ids[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(ids[lo].id, id) == 0 ? ids[lo].idx : -1;
}

static int parse_spine(opf_ctx *c, xmlNode *spine, const id_ref *ids, size_t nids,
                       bool with_entries, qr_error *err)
{
    qr_epub *e = c->e;
    const char *ppd = qr_epub__xml_attr(e, spine, "page-progression-direction");
    if (ppd && (strcmp(ppd, "rtl") == 0 || strcmp(ppd, "ltr") == 0))
        e->info.page_progression = ppd;
    for (xmlNode *n = spine->children; n; n = n->next) {
        if (!qr_epub__xml_is(n, "itemref"))
            continue;
        const char *idref = qr_epub__xml_attr(e, n, "idref");
        int idx = idref ? find_id(ids, nids, idref) : -1;
        if (idx < 0) {
            qr_warn(e->warnings, "spine-idref-unknown", QR_EPUB_STAGE, idref ? idref : "(none)",
                    "spine itemref names no manifest item; skipped");
            continue;
        }
        qr_epub_item *it = &e->items[idx];
        if (it->spine >= 0) {
            qr_warn(e->warnings, "spine-duplicate", QR_EPUB_STAGE, idref,
                    "item appears twice in the spine; the second is skipped");
            continue;
        }
        if (!it->path || (with_entries && it->entry < 0)) {
            qr_warn(e->warnings, "missing-resource", QR_EPUB_STAGE, it->path ? it->path : it->href,
                    "spine item %s is not in the archive; skipped", idref);
            continue;
        }
        int rc = qr_epub__grow((void **)&e->spine, &e->cap_spine, e->n_spine, sizeof(*e->spine),
                               list_max(e), err);
        if (rc < 0)
            return rc;
        const char *lin = qr_epub__xml_attr(e, n, "linear");
        qr_epub_itemref *r = &e->spine[e->n_spine];
        r->item = idx;
        r->linear = !(lin && strcmp(trimmed(lin), "no") == 0);
        r->properties = trimmed(qr_epub__xml_attr(e, n, "properties"));
        it->spine = (int)e->n_spine++;
        it->linear = r->linear;
    }
    if (e->n_spine == 0)
        return qr_error_set(err, QR_ERR_SPINE_EMPTY, QR_EPUB_STAGE,
                            "the spine has no itemref that resolves to a file");
    return 0;
}

static void epub2_cover(opf_ctx *c, const id_ref *ids, size_t nids)
{
    qr_epub *e = c->e;
    if (e->info.cover_item >= 0 || !c->cover_meta)
        return;
    int idx = find_id(ids, nids, c->cover_meta);
    if (idx < 0) {
        /* Some tools put the href, not the id, in content=. */
        for (size_t i = 0; i < e->n_items && idx < 0; i++)
            if (strcmp(e->items[i].href, c->cover_meta) == 0)
                idx = (int)i;
    }
    if (idx >= 0 && qr_media_is_image(e->items[idx].media_type))
        e->info.cover_item = idx;
    else
        qr_warn(e->warnings, "cover-invalid", QR_EPUB_STAGE, c->cover_meta,
                "<meta name=\"cover\"> names no image item");
}

int qr_epub__parse_opf(qr_epub *e, const char *xml, size_t len, bool with_entries, qr_error *err)
{
    xmlDoc *doc = NULL;
    id_ref *ids = NULL;
    opf_ctx c;
    memset(&c, 0, sizeof(c));
    c.e = e;
    const char *ctx = e->info.opf_path;
    int rc = qr_epub__xml_parse(&doc, e, xml, len, ctx, QR_ERR_OPF_INVALID, err);
    if (rc < 0)
        goto out;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!qr_epub__xml_is(root, "package")) {
        rc = qr_error_set(err, QR_ERR_OPF_INVALID, QR_EPUB_STAGE,
                          "root element is <%s>, not <package>",
                          root->name ? (const char *)root->name : "");
        goto ctx_out;
    }
    parse_version(&e->info, qr_epub__xml_attr(e, root, "version"));
    c.uid_attr = qr_epub__xml_attr(e, root, "unique-identifier");
    xmlNode *metadata = qr_epub__xml_child(root, "metadata");
    if (metadata) {
        rc = collect_metadata(&c, metadata, 0, err);
        if (rc < 0)
            goto ctx_out;
    } else {
        qr_warn(e->warnings, "metadata-invalid", QR_EPUB_STAGE, ctx,
                "the package has no <metadata>");
    }
    parse_metadata(&c);

    xmlNode *manifest = qr_epub__xml_child(root, "manifest");
    if (!manifest) {
        rc = qr_error_set(err, QR_ERR_OPF_INVALID, QR_EPUB_STAGE, "the package has no <manifest>");
        goto ctx_out;
    }
    int ncx_guess = -1;
    rc = parse_manifest(&c, manifest, with_entries, &ncx_guess, err);
    if (rc < 0)
        goto out;

    size_t nids = e->n_items;
    ids = calloc(nids ? nids : 1, sizeof(*ids));
    if (!ids) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot index items");
        goto out;
    }
    for (size_t i = 0; i < nids; i++) {
        ids[i].id = e->items[i].id;
        ids[i].idx = (int)i;
    }
    qsort(ids, nids, sizeof(*ids), cmp_idref);
    for (size_t i = 1; i < nids; i++)
        if (strcmp(ids[i].id, ids[i - 1].id) == 0)
            qr_warn(e->warnings, "duplicate-id", QR_EPUB_STAGE, ids[i].id,
                    "manifest id used more than once; the first item wins");

    xmlNode *spine = qr_epub__xml_child(root, "spine");
    if (!spine) {
        rc = qr_error_set(err, QR_ERR_SPINE_EMPTY, QR_EPUB_STAGE, "the package has no <spine>");
        goto ctx_out;
    }
    const char *toc = qr_epub__xml_attr(e, spine, "toc");
    int ncx = toc ? find_id(ids, nids, toc) : -1;
    e->info.ncx_item = ncx >= 0 ? ncx : ncx_guess;
    rc = parse_spine(&c, spine, ids, nids, with_entries, err);
    if (rc < 0)
        goto ctx_out;
    epub2_cover(&c, ids, nids);

    for (size_t i = 0; i < e->n_items; i++) {
        int en = e->items[i].entry;
        if (en >= 0 && e->entries[en].item < 0)
            e->entries[en].item = (int)i;
    }
    goto out;
ctx_out:
    qr_error_set_context(err, "%s", ctx);
out:
    free(ids);
    free(c.metas);
    free(c.dc);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}
