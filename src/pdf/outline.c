/*
 * The outline (bookmarks): /Root /Outlines /First, then /Next and /First
 * depth first. Destinations are /Dest or a GoTo action's /D: an explicit
 * array [page ...], or a name resolved through the /Root /Names /Dests name
 * tree or the older /Root /Dests dictionary. Every walk is bounded (depth,
 * entries, tree nodes) and loops are cut by a visited set.
 */
#include <stdlib.h>
#include <string.h>

#include "pdf/pdf_internal.h"

/* One /Names /Dests entry: key bytes and the value's handle. */
typedef struct named {
    char *key;
    size_t len;
    qpdf_oh val;
} named;

typedef struct walk {
    qpdf_data q;
    qr_pdf__idset seen;
    qr_pdf_outline *items;
    size_t n, cap;
    /* The name tree, read once on the first lookup and sorted for bsearch. */
    named *names;
    size_t nnames, names_cap;
    bool names_loaded;
    size_t tree_nodes;
} walk;

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int cmp_named(const void *x, const void *y)
{
    const named *a = x, *b = y;
    return cmp_bytes(a->key, a->len, b->key, b->len);
}

static void add_name(walk *wk, const char *b, size_t len, qpdf_oh val)
{
    if (wk->nnames == wk->names_cap) {
        size_t ncap = wk->names_cap ? wk->names_cap * 2 : 64;
        named *n = realloc(wk->names, ncap * sizeof(*n));
        if (!n)
            return;
        wk->names = n;
        wk->names_cap = ncap;
    }
    char *k = malloc(len + 1);
    if (!k)
        return;
    memcpy(k, b, len);
    k[len] = '\0';
    wk->names[wk->nnames].key = k;
    wk->names[wk->nnames].len = len;
    wk->names[wk->nnames].val = val;
    wk->nnames++;
}

/* Collects a name tree's (key, value) pairs: bounded nodes and depth, loops cut. */
static void collect_names(walk *wk, qr_pdf__idset *seen, qpdf_oh node, int depth)
{
    qpdf_data q = wk->q;
    if (depth > QR_PDF_MAX_DEPTH || ++wk->tree_nodes > QR_PDF_MAX_TREE_NODES ||
        !qpdf_oh_is_dictionary(q, node) || qr_pdf__idset_add(seen, q, node) != 1)
        return;
    qpdf_oh names = qpdf_oh_get_key(q, node, "/Names");
    if (qpdf_oh_is_array(q, names)) {
        int n = qpdf_oh_get_array_n_items(q, names);
        for (int i = 0; i + 1 < n && wk->nnames < QR_PDF_MAX_TREE_NODES; i += 2) {
            qpdf_oh k = qpdf_oh_get_array_item(q, names, i);
            size_t len = 0;
            const char *b =
                qpdf_oh_is_string(q, k) ? qpdf_oh_get_binary_string_value(q, k, &len) : NULL;
            if (b)
                add_name(wk, b, len, qpdf_oh_get_array_item(q, names, i + 1));
            qpdf_oh_release(q, k);
        }
    }
    qpdf_oh_release(q, names);
    qpdf_oh kids = qpdf_oh_get_key(q, node, "/Kids");
    if (qpdf_oh_is_array(q, kids)) {
        int n = qpdf_oh_get_array_n_items(q, kids);
        for (int i = 0; i < n; i++) {
            qpdf_oh kid = qpdf_oh_get_array_item(q, kids, i);
            collect_names(wk, seen, kid, depth + 1);
            qpdf_oh_release(q, kid);
        }
    }
    qpdf_oh_release(q, kids);
}

static qpdf_oh name_tree_get(walk *wk, const char *key, size_t klen)
{
    if (!wk->names_loaded) {
        qpdf_data q = wk->q;
        qr_pdf__idset seen = {NULL, 0, 0};
        qpdf_oh root = qpdf_get_root(q);
        qpdf_oh names = qpdf_oh_get_key(q, root, "/Names");
        qpdf_oh tree = qpdf_oh_get_key_if_dict(q, names, "/Dests");
        collect_names(wk, &seen, tree, 0);
        qr_pdf__idset_free(&seen);
        (void)qr_pdf__failed(q);
        if (wk->nnames > 1)
            qsort(wk->names, wk->nnames, sizeof(*wk->names), cmp_named);
        wk->names_loaded = true;
    }
    named probe = {(char *)(uintptr_t)key, klen, 0};
    named *hit =
        wk->nnames ? bsearch(&probe, wk->names, wk->nnames, sizeof(*wk->names), cmp_named) : NULL;
    return hit ? hit->val : 0;
}

static int32_t dest_page(walk *wk, qpdf_oh dest, int depth);

static int32_t named_dest(walk *wk, const char *tmp_key, size_t klen, bool is_name, int depth)
{
    qpdf_data q = wk->q;
    qpdf_oh v = 0;
    /* qpdf's string getters share one buffer: copy the key before any other call. */
    if (klen >= 4096)
        return -1;
    char key[4096 + 2];
    memcpy(key, tmp_key, klen);
    key[klen] = '\0';
    qpdf_oh root = qpdf_get_root(q);
    if (!is_name) {
        v = name_tree_get(wk, key, klen);
    }
    if (!v && strlen(key) == klen) {
        qpdf_oh dests = qpdf_oh_get_key(q, root, "/Dests");
        char name[4096 + 2];
        name[0] = '/';
        memcpy(name + 1, key, klen + 1);
        if (qpdf_oh_is_dictionary(q, dests) && qpdf_oh_has_key(q, dests, name))
            v = qpdf_oh_get_key(q, dests, name);
    }
    return v ? dest_page(wk, v, depth + 1) : -1;
}

static int32_t dest_page(walk *wk, qpdf_oh dest, int depth)
{
    qpdf_data q = wk->q;
    if (depth > 4)
        return -1;
    if (qpdf_oh_is_array(q, dest)) {
        if (qpdf_oh_get_array_n_items(q, dest) < 1)
            return -1;
        qpdf_oh pg = qpdf_oh_get_array_item(q, dest, 0);
        int32_t r = qr_pdf__page_index(q, pg);
        qpdf_oh_release(q, pg);
        return r;
    }
    if (qpdf_oh_is_dictionary(q, dest))
        return dest_page(wk, qpdf_oh_get_key(q, dest, "/D"), depth + 1);
    if (qpdf_oh_is_string(q, dest)) {
        size_t len = 0;
        const char *b = qpdf_oh_get_binary_string_value(q, dest, &len);
        return b ? named_dest(wk, b, len, false, depth) : -1;
    }
    if (qpdf_oh_is_name(q, dest)) {
        const char *n = qpdf_oh_get_name(q, dest);
        return n && n[0] == '/' ? named_dest(wk, n + 1, strlen(n + 1), true, depth) : -1;
    }
    return -1;
}

static int32_t item_page(walk *wk, qpdf_oh item)
{
    qpdf_data q = wk->q;
    if (qpdf_oh_has_key(q, item, "/Dest"))
        return dest_page(wk, qpdf_oh_get_key(q, item, "/Dest"), 0);
    qpdf_oh a = qpdf_oh_get_key(q, item, "/A");
    if (!qpdf_oh_is_dictionary(q, a))
        return -1;
    qpdf_oh s = qpdf_oh_get_key(q, a, "/S");
    if (!qpdf_oh_is_name_and_equals(q, s, "/GoTo"))
        return -1;
    return dest_page(wk, qpdf_oh_get_key(q, a, "/D"), 0);
}

static int push(walk *wk, char *title, int level, int32_t page)
{
    if (wk->n == wk->cap) {
        size_t ncap = wk->cap ? wk->cap * 2 : 32;
        qr_pdf_outline *n = realloc(wk->items, ncap * sizeof(*n));
        if (!n) {
            free(title);
            return QR_ENOMEM;
        }
        wk->items = n;
        wk->cap = ncap;
    }
    wk->items[wk->n].title = title;
    wk->items[wk->n].level = level;
    wk->items[wk->n].page = page;
    wk->n++;
    return 0;
}

static int walk_level(walk *wk, qpdf_oh first, int level)
{
    qpdf_data q = wk->q;
    if (level >= QR_PDF_MAX_DEPTH)
        return 0;
    qpdf_oh item = first;
    while (qpdf_oh_is_dictionary(q, item) && wk->n < QR_PDF_MAX_OUTLINE) {
        int added = qr_pdf__idset_add(&wk->seen, q, item);
        if (added < 0)
            return QR_ENOMEM;
        if (added == 0)
            break; /* a /Next or /First loop */
        char *title = qr_pdf__text(q, qpdf_oh_get_key(q, item, "/Title"));
        if (!title)
            title = strdup("");
        if (!title)
            return QR_ENOMEM;
        int32_t page = item_page(wk, item);
        (void)qr_pdf__failed(q);
        if (push(wk, title, level, page) < 0)
            return QR_ENOMEM;
        qpdf_oh kid = qpdf_oh_get_key(q, item, "/First");
        int rc = walk_level(wk, kid, level + 1);
        if (rc < 0)
            return rc;
        item = qpdf_oh_get_key(q, item, "/Next");
        /* Handles are per qpdf_data; drop the ones of this entry as we go. */
        qpdf_oh_release(q, kid);
    }
    return 0;
}

void qr_pdf__outline_free(qr_pdf_outline *o, size_t n)
{
    for (size_t i = 0; o && i < n; i++)
        free(o[i].title);
    free(o);
}

int qr_pdf__read_outline(qr_pdf_outline **out, size_t *n, qpdf_data q, qr_error *err)
{
    walk wk;
    memset(&wk, 0, sizeof(wk));
    wk.q = q;
    *out = NULL;
    *n = 0;
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh outlines = qpdf_oh_get_key(q, root, "/Outlines");
    int rc = 0;
    if (qpdf_oh_is_dictionary(q, outlines))
        rc = walk_level(&wk, qpdf_oh_get_key(q, outlines, "/First"), 0);
    (void)qr_pdf__failed(q);
    qr_pdf__idset_free(&wk.seen);
    for (size_t i = 0; i < wk.nnames; i++)
        free(wk.names[i].key);
    free(wk.names);
    if (rc < 0) {
        qr_pdf__outline_free(wk.items, wk.n);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "outline: out of memory");
    }
    *out = wk.items;
    *n = wk.n;
    return 0;
}
