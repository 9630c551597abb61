/*
 * Page labels: the /Root /PageLabels number tree (/Nums pairs, /Kids) read
 * into sorted ranges, formatted as one string per page (styles D R r A a,
 * /P prefix, /St start), and written back for a page range of a slice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdf/pdf_internal.h"

typedef struct tree_walk {
    qpdf_data q;
    qr_pdf__idset seen;
    size_t nodes;
    qr_pdf__label_range *r;
    size_t n, cap;
    uint32_t npages;
} tree_walk;

static char *prefix_of(qpdf_data q, qpdf_oh p)
{
    const char *v = NULL;
    size_t len = 0;
    if (!qpdf_oh_is_string(q, p) || !qpdf_oh_get_value_as_utf8(q, p, &v, &len) || !v)
        return NULL;
    len = strnlen(v, len);
    return len ? strndup(v, len) : NULL;
}

static int add_range(tree_walk *tw, long long start, qpdf_oh d)
{
    qpdf_data q = tw->q;
    if (start < 0 || start >= tw->npages || !qpdf_oh_is_dictionary(q, d))
        return 0;
    if (tw->n >= QR_PDF_MAX_LABEL_RANGES)
        return 0;
    if (tw->n == tw->cap) {
        size_t ncap = tw->cap ? tw->cap * 2 : 16;
        qr_pdf__label_range *n = realloc(tw->r, ncap * sizeof(*n));
        if (!n)
            return QR_ENOMEM;
        tw->r = n;
        tw->cap = ncap;
    }
    qr_pdf__label_range *r = &tw->r[tw->n];
    memset(r, 0, sizeof(*r));
    r->start = (uint32_t)start;
    qpdf_oh s = qpdf_oh_get_key(q, d, "/S");
    const char *style = qpdf_oh_is_name(q, s) ? qpdf_oh_get_name(q, s) : NULL;
    if (style && style[0] == '/' && strchr("DRrAa", style[1]) && style[1] && !style[2])
        r->style = style[1];
    r->prefix = prefix_of(q, qpdf_oh_get_key(q, d, "/P"));
    r->st = qr_pdf__int(q, qpdf_oh_get_key(q, d, "/St"), 1);
    if (r->st < 1)
        r->st = 1;
    (void)qr_pdf__failed(q);
    tw->n++;
    return 0;
}

static int walk_node(tree_walk *tw, qpdf_oh node, int depth)
{
    qpdf_data q = tw->q;
    if (depth > QR_PDF_MAX_DEPTH || ++tw->nodes > QR_PDF_MAX_TREE_NODES ||
        !qpdf_oh_is_dictionary(q, node))
        return 0;
    int added = qr_pdf__idset_add(&tw->seen, q, node);
    if (added <= 0)
        return added;
    qpdf_oh nums = qpdf_oh_get_key(q, node, "/Nums");
    if (qpdf_oh_is_array(q, nums)) {
        int n = qpdf_oh_get_array_n_items(q, nums);
        for (int i = 0; i + 1 < n; i += 2) {
            qpdf_oh k = qpdf_oh_get_array_item(q, nums, i);
            qpdf_oh v = qpdf_oh_get_array_item(q, nums, i + 1);
            int rc = add_range(tw, qr_pdf__int(q, k, -1), v);
            qpdf_oh_release(q, k);
            qpdf_oh_release(q, v);
            if (rc < 0)
                return rc;
        }
    }
    qpdf_oh kids = qpdf_oh_get_key(q, node, "/Kids");
    if (qpdf_oh_is_array(q, kids)) {
        int n = qpdf_oh_get_array_n_items(q, kids);
        for (int i = 0; i < n; i++) {
            qpdf_oh kid = qpdf_oh_get_array_item(q, kids, i);
            int rc = walk_node(tw, kid, depth + 1);
            qpdf_oh_release(q, kid);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    const qr_pdf__label_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

void qr_pdf__label_ranges_free(qr_pdf__label_range *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        free(r[i].prefix);
    free(r);
}

int qr_pdf__read_label_ranges(qr_pdf__label_range **out, size_t *n, qpdf_data q, uint32_t npages,
                              qr_error *err)
{
    tree_walk tw;
    memset(&tw, 0, sizeof(tw));
    tw.q = q;
    tw.npages = npages;
    *out = NULL;
    *n = 0;
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh pl = qpdf_oh_get_key(q, root, "/PageLabels");
    int rc = walk_node(&tw, pl, 0);
    (void)qr_pdf__failed(q);
    qr_pdf__idset_free(&tw.seen);
    if (rc < 0) {
        qr_pdf__label_ranges_free(tw.r, tw.n);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "page labels: out of memory");
    }
    /* Keep the first entry for a start page; drop later duplicates. */
    if (tw.n > 1)
        qsort(tw.r, tw.n, sizeof(*tw.r), cmp_range);
    size_t k = 0;
    for (size_t i = 0; i < tw.n; i++) {
        if (k > 0 && tw.r[k - 1].start == tw.r[i].start) {
            free(tw.r[i].prefix);
            continue;
        }
        tw.r[k++] = tw.r[i];
    }
    *out = tw.r;
    *n = k;
    if (k == 0) {
        free(tw.r);
        *out = NULL;
    }
    return 0;
}

static void roman(char *buf, size_t cap, long long v, bool upper)
{
    static const struct {
        int v;
        const char *s;
    } t[] = {{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
             {40, "xl"},  {10, "x"},   {9, "ix"},  {5, "v"},    {4, "iv"},  {1, "i"}};
    size_t len = 0;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        while (v >= t[i].v && len + 3 < cap) {
            for (const char *s = t[i].s; *s; s++)
                buf[len++] = upper ? (char)(*s - 'a' + 'A') : *s;
            v -= t[i].v;
        }
    buf[len] = '\0';
}

static void number(char *buf, size_t cap, char style, long long v)
{
    buf[0] = '\0';
    /* Letters and numerals grow with the value: fall back to digits past sane sizes. */
    if ((style == 'R' || style == 'r') && v <= 10000) {
        roman(buf, cap, v, style == 'R');
        return;
    }
    if ((style == 'A' || style == 'a') && (v - 1) / 26 < 32) {
        size_t reps = (size_t)((v - 1) / 26) + 1;
        char c = (char)((style == 'A' ? 'A' : 'a') + (v - 1) % 26);
        for (size_t i = 0; i < reps && i + 1 < cap; i++)
            buf[i] = c;
        buf[reps < cap ? reps : cap - 1] = '\0';
        return;
    }
    if (style)
        snprintf(buf, cap, "%lld", v);
}

int qr_pdf__format_labels(char ***out, const qr_pdf__label_range *r, size_t n, uint32_t npages,
                          qr_error *err)
{
    char **l = calloc(npages ? npages : 1, sizeof(*l));
    *out = NULL;
    if (!l)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "page labels: out of memory");
    size_t k = 0;
    for (uint32_t i = 0; i < npages; i++) {
        while (k < n && r[k].start <= i)
            k++;
        char num[64];
        const char *prefix = "";
        if (k == 0) {
            /* Pages before the first range: plain page numbers. */
            snprintf(num, sizeof(num), "%u", i + 1);
        } else {
            const qr_pdf__label_range *c = &r[k - 1];
            long long v = c->st + (long long)(i - c->start);
            number(num, sizeof(num), c->style, v);
            prefix = c->prefix ? c->prefix : "";
        }
        size_t len = strlen(prefix) + strlen(num) + 1;
        l[i] = malloc(len);
        if (!l[i]) {
            for (uint32_t j = 0; j < i; j++)
                free(l[j]);
            free(l);
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE,
                                "page labels: out of memory");
        }
        snprintf(l[i], len, "%s%s", prefix, num);
    }
    *out = l;
    return 0;
}

static void append_entry(qpdf_data dst, qpdf_oh nums, uint32_t at, char style, const char *prefix,
                         long long st)
{
    qpdf_oh d = qpdf_oh_new_dictionary(dst);
    if (style) {
        char name[3] = {'/', style, '\0'};
        qpdf_oh s = qpdf_oh_new_name(dst, name);
        qpdf_oh_replace_key(dst, d, "/S", s);
        qpdf_oh_release(dst, s);
    }
    if (prefix) {
        qpdf_oh p = qpdf_oh_new_unicode_string(dst, prefix);
        qpdf_oh_replace_key(dst, d, "/P", p);
        qpdf_oh_release(dst, p);
    }
    if (st != 1) {
        qpdf_oh v = qpdf_oh_new_integer(dst, st);
        qpdf_oh_replace_key(dst, d, "/St", v);
        qpdf_oh_release(dst, v);
    }
    qpdf_oh k = qpdf_oh_new_integer(dst, at);
    qpdf_oh_append_item(dst, nums, k);
    qpdf_oh_append_item(dst, nums, d);
    qpdf_oh_release(dst, k);
    qpdf_oh_release(dst, d);
}

void qr_pdf__labels_append(qpdf_data dst, qpdf_oh nums, const qr_pdf__label_range *r, size_t n,
                           uint32_t first, uint32_t count, uint32_t dst_first)
{
    if (n == 0 || count == 0)
        return;
    size_t k = 0;
    while (k < n && r[k].start <= first)
        k++;
    if (k == 0)
        append_entry(dst, nums, dst_first, 'D', NULL, (long long)first + 1);
    else
        append_entry(dst, nums, dst_first, r[k - 1].style, r[k - 1].prefix,
                     r[k - 1].st + (long long)(first - r[k - 1].start));
    for (; k < n && r[k].start < first + count; k++)
        append_entry(dst, nums, dst_first + (r[k].start - first), r[k].style, r[k].prefix, r[k].st);
    (void)qr_pdf__failed(dst);
}

void qr_pdf__labels_install(qpdf_data dst, qpdf_oh nums)
{
    if (qpdf_oh_get_array_n_items(dst, nums) <= 0)
        return;
    qpdf_oh root = qpdf_get_root(dst);
    qpdf_oh d = qpdf_oh_new_dictionary(dst);
    qpdf_oh_replace_key(dst, d, "/Nums", nums);
    qpdf_oh_replace_key(dst, root, "/PageLabels", d);
    qpdf_oh_release(dst, d);
    qpdf_oh_release(dst, root);
    (void)qr_pdf__failed(dst);
}
