/*
 * The package manifest: a Readium Web Publication Manifest (EPUB profile)
 * whose hrefs are the publisher's container paths, plus the quire slices
 * collection under the URI role "urn:quire:slices" (docs/format.md).
 * Built with jansson only; validated against the RWPM schemas in the tests.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package_internal.h"
#include "qr/crypt.h"

/*
 * Path characters left as they are: RFC 3986 unreserved, sub-delimiters, '@'
 * and '/' (the same set as positions.json). ':' is encoded, so a first
 * segment can never read as a scheme.
 */
static bool path_char(unsigned char c)
{
    return isalnum(c) || (c && strchr("-._~!$&'()*+,;=@/", c) != NULL);
}

/* Fragments may also hold ':' and '?' unencoded. */
static bool frag_char(unsigned char c)
{
    return path_char(c) || c == ':' || c == '?';
}

char *qr_package__href(const char *path)
{
    size_t n = strlen(path);
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    static const char hex[] = "0123456789ABCDEF";
    bool in_frag = false;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c == '#' && !in_frag) {
            in_frag = true;
            out[o++] = '#';
            continue;
        }
        if (in_frag ? frag_char(c) : path_char(c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

char *qr_package__key(const char *prefix, const char *name)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    bool slash = pl > 0 && prefix[pl - 1] != '/';
    size_t n = pl + (slash ? 1 : 0) + strlen(name) + 1;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s%s%s", pl ? prefix : "", slash ? "/" : "", name);
    return k;
}

bool qr_package__valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

void qr_package__json_put(bool *ok, json_t *o, const char *k, json_t *v)
{
    if (!v || json_object_set_new(o, k, v) != 0)
        *ok = false;
}

void qr_package__json_push(bool *ok, json_t *a, json_t *v)
{
    if (!v || json_array_append_new(a, v) != 0)
        *ok = false;
}

void qr_package__nest_init(qr_package__nest *n, bool *ok)
{
    memset(n, 0, sizeof(*n));
    n->top = -1;
    n->root = json_array();
    if (!n->root)
        *ok = false;
}

void qr_package__nest_add(qr_package__nest *n, json_t *link, int depth, bool *ok)
{
    int d = depth < 0 ? 0 : depth;
    if (d > n->top + 1)
        d = n->top + 1;
    if (d >= QR_PKG_NAV_MAXD)
        d = QR_PKG_NAV_MAXD - 1;
    json_t *parent = n->root;
    if (d > 0) {
        json_t *kids = json_object_get(n->last[d - 1], "children");
        if (!kids) {
            kids = json_array();
            qr_package__json_put(ok, n->last[d - 1], "children", kids);
        }
        parent = kids;
    }
    if (!parent) {
        json_decref(link);
        return;
    }
    qr_package__json_push(ok, parent, link);
    n->last[d] = link;
    n->top = d;
}

/*
 * A URI for metadata.identifier (the schema says format "uri"): kept as is
 * when it has a scheme and only URI characters, else "urn:quire:id:" and
 * the percent-encoded identifier.
 */
static json_t *identifier_uri(const char *id)
{
    bool has_scheme = isalpha((unsigned char)id[0]);
    size_t i = 1;
    while (has_scheme && id[i] && id[i] != ':') {
        unsigned char c = (unsigned char)id[i];
        if (!isalnum(c) && c != '+' && c != '-' && c != '.')
            has_scheme = false;
        i++;
    }
    has_scheme = has_scheme && id[i] == ':' && id[i + 1];
    bool clean = has_scheme;
    for (const char *p = id; clean && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!frag_char(c) || c == '#' || c == '?')
            clean = false;
    }
    if (clean)
        return json_string(id);
    /* Every byte outside unreserved, sub-delimiters, ':' and '@' is percent-encoded. */
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(id);
    char *buf = malloc(3 * n + 16);
    if (!buf)
        return NULL;
    size_t o = (size_t)sprintf(buf, "urn:quire:id:");
    for (size_t j = 0; j < n; j++) {
        unsigned char c = (unsigned char)id[j];
        if (c != '/' && (path_char(c) || c == ':')) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    buf[o] = '\0';
    json_t *v = json_string(buf);
    free(buf);
    return v;
}

/* A plausible BCP 47 tag (what the schema's pattern accepts for common tags). */
static bool bcp47(const char *s)
{
    size_t seg = 0, len = 0;
    if (!s || !s[0])
        return false;
    for (const char *p = s;; p++) {
        if (*p == '-' || *p == '\0') {
            if (len == 0 || len > 8)
                return false;
            if (seg == 0 && (len < 2 || len > 8))
                return false;
            seg++;
            len = 0;
            if (*p == '\0')
                return true;
            continue;
        }
        if (!isalnum((unsigned char)*p) || (seg == 0 && !isalpha((unsigned char)*p)))
            return false;
        len++;
    }
}

/* RFC 3339 date-time (format "date-time"): YYYY-MM-DDTHH:MM:SS[.f](Z|+HH:MM). */
static bool rfc3339(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    size_t i = 0;
    for (; pat[i]; i++) {
        char c = s[i];
        if (pat[i] == 'd' ? !isdigit((unsigned char)c) : (toupper((unsigned char)c) != pat[i]))
            return false;
    }
    if (s[i] == '.') {
        i++;
        if (!isdigit((unsigned char)s[i]))
            return false;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    if (s[i] == 'Z' || s[i] == 'z')
        return s[i + 1] == '\0';
    if (s[i] != '+' && s[i] != '-')
        return false;
    return isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 2]) &&
           s[i + 3] == ':' && isdigit((unsigned char)s[i + 4]) &&
           isdigit((unsigned char)s[i + 5]) && s[i + 6] == '\0';
}

static json_t *build_metadata(const qr_package__manifest_in *in, bool *ok)
{
    const qr_epub_info *info = qr_epub_get_info(in->orig);
    json_t *m = json_object();
    if (!m) {
        *ok = false;
        return NULL;
    }
    qr_package__json_put(ok, m, "@type", json_string("http://schema.org/Book"));
    qr_package__json_put(ok, m, "conformsTo",
                         json_string("https://readium.org/webpub-manifest/profiles/epub"));
    if (info->unique_identifier && info->unique_identifier[0])
        qr_package__json_put(ok, m, "identifier", identifier_uri(info->unique_identifier));
    qr_package__json_put(ok, m, "title",
                         json_string(info->title && info->title[0] ? info->title : "Untitled"));
    if (bcp47(info->language))
        qr_package__json_put(ok, m, "language", json_string(info->language));
    if (info->creator && info->creator[0])
        qr_package__json_put(ok, m, "author", json_string(info->creator));
    if (info->publisher && info->publisher[0])
        qr_package__json_put(ok, m, "publisher", json_string(info->publisher));
    if (info->modified && rfc3339(info->modified))
        qr_package__json_put(ok, m, "modified", json_string(info->modified));
    qr_package__json_put(ok, m, "layout",
                         json_string(info->layout == QR_LAYOUT_FIXED ? "fixed" : "reflowable"));
    if (info->page_progression &&
        (strcmp(info->page_progression, "rtl") == 0 || strcmp(info->page_progression, "ltr") == 0))
        qr_package__json_put(ok, m, "readingProgression", json_string(info->page_progression));
    if (in->pages->count > 0)
        qr_package__json_put(ok, m, "numberOfPages", json_integer(in->pages->count));
    return m;
}

/* The properties every publication resource carries: where its bytes are and how to read them. */
static json_t *resource_properties(const qr_epub_entry *ent)
{
    const char *alg = QR_PKG_SLICE_ALG;
    /* After slice decryption an obfuscated font is still obfuscated: name that algorithm. */
    if (ent->obf == QR_OBF_IDPF)
        alg = "http://www.idpf.org/2008/embedding";
    else if (ent->obf == QR_OBF_ADOBE)
        alg = "http://ns.adobe.com/pdf/enc#RC";
    return json_pack("{s:{s:s, s:s}}", "encrypted", "algorithm", alg, "scheme", QR_PKG_SCHEME);
}

/* One link for an OPF item of the compressed book, or NULL (with *ok kept) for an item we skip. */
static json_t *item_link(const qr_package__manifest_in *in, size_t idx, bool *ok)
{
    const qr_epub_item *it = qr_epub_get_item(in->comp, idx);
    if (!it->path || it->entry < 0)
        return NULL;
    const qr_epub_entry *ent = qr_epub_get_entry(in->comp, (size_t)it->entry);
    char *href = qr_package__href(it->path);
    json_t *l = href ? json_object() : NULL;
    if (!l) {
        free(href);
        *ok = false;
        return NULL;
    }
    qr_package__json_put(ok, l, "href", json_string(href));
    qr_package__json_put(ok, l, "type",
                         json_string(it->media_type && it->media_type[0]
                                         ? it->media_type
                                         : "application/octet-stream"));
    if (ent->size > 0)
        qr_package__json_put(ok, l, "size", json_integer((json_int_t)ent->size));
    const qr_epub_info *info = qr_epub_get_info(in->comp);
    if ((int)idx == info->cover_item)
        qr_package__json_put(ok, l, "rel", json_string("cover"));
    else if ((int)idx == info->nav_item)
        qr_package__json_put(ok, l, "rel", json_string("contents"));
    qr_package__json_put(ok, l, "properties", resource_properties(ent));
    free(href);
    return l;
}

static int reading_order(json_t *ro, json_t *res, const qr_package__manifest_in *in, bool *ok)
{
    /* One link per archive entry: two items naming the same file would be duplicates. */
    size_t nent = qr_epub_entry_count(in->comp);
    bool *seen = calloc(nent ? nent : 1, sizeof(bool));
    if (!seen)
        return -1;
    for (size_t s = 0; s < qr_epub_spine_count(in->comp); s++) {
        const qr_epub_itemref *ref = qr_epub_get_spine(in->comp, s);
        if (!ref->linear || ref->item < 0)
            continue;
        int ent = qr_epub_get_item(in->comp, (size_t)ref->item)->entry;
        if (ent < 0 || seen[ent])
            continue;
        json_t *l = item_link(in, (size_t)ref->item, ok);
        if (!l)
            continue;
        seen[ent] = true;
        qr_package__json_push(ok, ro, l);
    }
    for (size_t i = 0; i < qr_epub_item_count(in->comp); i++) {
        int ent = qr_epub_get_item(in->comp, i)->entry;
        if (ent < 0 || seen[ent])
            continue;
        json_t *l = item_link(in, i, ok);
        if (!l)
            continue;
        seen[ent] = true;
        qr_package__json_push(ok, res, l);
    }
    free(seen);
    return 0;
}

/* Navigation points (flattened with depths) as nested links with children. */
static json_t *nav_links(const qr_epub *e, bool toc, bool *ok)
{
    qr_package__nest nest;
    qr_package__nest_init(&nest, ok);
    if (!nest.root)
        return NULL;
    size_t n = toc ? qr_epub_toc_count(e) : qr_epub_pagelist_count(e);
    for (size_t i = 0; i < n; i++) {
        const qr_epub_navpoint *np = toc ? qr_epub_get_toc(e, i) : qr_epub_get_pagelist(e, i);
        if (!np->href || !np->href[0])
            continue;
        char *href = qr_package__href(np->href);
        json_t *l = href ? json_object() : NULL;
        if (!l) {
            free(href);
            *ok = false;
            continue;
        }
        qr_package__json_put(ok, l, "href", json_string(href));
        free(href);
        if (np->title && np->title[0])
            qr_package__json_put(ok, l, "title", json_string(np->title));
        /* A page list is flat. */
        qr_package__nest_add(&nest, l, toc ? np->depth : 0, ok);
    }
    return nest.root;
}

static json_t *slices_collection(const qr_package__manifest_in *in, bool *ok)
{
    size_t n = qr_slice_plan_count(in->plan);
    json_t *links = json_array();
    json_t *meta =
        json_pack("{s:i, s:s, s:s, s:I, s:I, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:I, s:s}, "
                  "s:{s:I, s:s, s:s}}",
                  "formatVersion", QR_PACKAGE_FORMAT_VERSION, "bookId", in->c->book_id, "revision",
                  in->c->revision, "count", (json_int_t)n, "targetBytes",
                  (json_int_t)in->c->slice_target, "encryption", "algorithm", QR_PKG_SLICE_ALG,
                  "scheme", QR_PKG_SCHEME, "keyId", in->c->kek_id, "key", QR_PKG_KEY, "signature",
                  "algorithm", "Ed25519", "href", QR_PKG_SIGNATURE, "pages", "count",
                  (json_int_t)in->pages->count, "source", qr_page_source_str(in->pages->source),
                  "positions", "total", (json_int_t)in->positions->count, "algorithm",
                  QR_PKG_POSITIONS_ALG, "href", QR_PKG_POSITIONS);
    if (!links || !meta) {
        json_decref(links);
        json_decref(meta);
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const qr_slice_info *si = qr_slice_plan_get(in->plan, i);
        const qr_package__slice *ps = &in->c->slices[i];
        json_t *res = json_array();
        for (size_t j = 0; res && j < si->nentries; j++) {
            char *h = qr_package__href(qr_epub_get_entry(in->comp, si->entries[j])->path);
            qr_package__json_push(ok, res, h ? json_string(h) : NULL);
            free(h);
        }
        json_t *props = json_pack("{s:I, s:b, s:I, s:I, s:s}", "index", (json_int_t)i, "base",
                                  si->is_base, "size", (json_int_t)ps->size, "plainLength",
                                  (json_int_t)ps->plain_len, "sha256", ps->sha256);
        if (props && !si->is_base && si->first_position > 0) {
            qr_package__json_put(ok, props, "firstPosition", json_integer(si->first_position));
            qr_package__json_put(ok, props, "lastPosition", json_integer(si->last_position));
        }
        if (props)
            qr_package__json_put(ok, props, "resources", res);
        else
            json_decref(res);
        qr_package__json_push(ok, links,
                              props ? json_pack("{s:s, s:s, s:o}", "href", ps->href, "type",
                                                QR_PKG_SLICE_TYPE, "properties", props)
                                    : NULL);
    }
    return json_pack("{s:o, s:o}", "metadata", meta, "links", links);
}

int qr_package__manifest_build(json_t **out, const qr_package__manifest_in *in, qr_error *err)
{
    bool ok = true;
    json_t *m = json_object();
    json_t *ro = json_array();
    json_t *res = json_array();
    json_t *links = json_array();
    *out = NULL;
    if (!m || !ro || !res || !links) {
        json_decref(ro);
        json_decref(res);
        json_decref(links);
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
    if (in->c->cover_href)
        qr_package__json_push(&ok, links,
                              json_pack("{s:s, s:s, s:s}", "rel", "cover", "href",
                                        in->c->cover_href, "type", in->c->cover_type));
    qr_package__json_push(&ok, links,
                          json_pack("{s:s, s:s, s:s}", "rel", "urn:quire:rel:content-key", "href",
                                    QR_PKG_KEY, "type", "application/json"));
    qr_package__json_put(&ok, m, "links", links);
    if (reading_order(ro, res, in, &ok) < 0)
        ok = false;
    qr_package__json_put(&ok, m, "readingOrder", ro);
    qr_package__json_put(&ok, m, "resources", res);
    qr_package__json_put(&ok, m, "toc", nav_links(in->orig, true, &ok));
    if (qr_epub_pagelist_count(in->orig) > 0)
        qr_package__json_put(&ok, m, "pageList", nav_links(in->orig, false, &ok));
    qr_package__json_put(&ok, m, QR_PKG_ROLE_SLICES, slices_collection(in, &ok));
out:
    if (!ok) {
        json_decref(m);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "package", "cannot build the manifest");
    }
    *out = m;
    return 0;
}
