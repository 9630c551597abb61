/*
 * Per-page size estimate for slice planning: each page is charged for the
 * objects it reaches (content streams, resources, annotations, nested forms)
 * that no earlier page reached, as qpdf's foreign-object copy would bring
 * them into a slice. A page drawing on a shared resource dictionary is first
 * pruned to the resources it uses, as qr_pdf_cut prunes it (resources.c),
 * so a dictionary naming every image of the book is not charged to page 1. Stream objects count
 * their stored /Length; every object adds a small overhead. Other pages are never crossed into. The
 * whole walk has a node budget, so hostile object graphs cost bounded time.
 */
#include <stdlib.h>
#include <string.h>

#include "pdf/pdf_internal.h"

#define OBJ_OVERHEAD 24
#define WALK_DEPTH 32
#define WALK_BUDGET 5000000
#define DICT_KEYS_MAX 4096

typedef struct sizer {
    qpdf_data q;
    qr_pdf__idset seen;
    size_t budget;
    bool nomem;
} sizer;

static uint64_t cost(sizer *sz, qpdf_oh oh, int depth);

/* Values of a dictionary (collected first: qpdf has one key iterator per handle). */
static uint64_t dict_cost(sizer *sz, qpdf_oh dict, int depth, bool skip_parent)
{
    qpdf_data q = sz->q;
    qpdf_oh *vals = malloc(DICT_KEYS_MAX * sizeof(*vals));
    size_t n = 0;
    uint64_t total = 0;
    if (!vals) {
        sz->nomem = true;
        return 0;
    }
    qpdf_oh_begin_dict_key_iter(q, dict);
    while (qpdf_oh_dict_more_keys(q) && n < DICT_KEYS_MAX) {
        const char *k = qpdf_oh_dict_next_key(q);
        if (!k || (skip_parent && (strcmp(k, "/Parent") == 0 || strcmp(k, "/P") == 0)))
            continue;
        vals[n++] = qpdf_oh_get_key(q, dict, k);
    }
    for (size_t i = 0; i < n; i++) {
        total += cost(sz, vals[i], depth + 1);
        qpdf_oh_release(q, vals[i]);
    }
    free(vals);
    return total;
}

static uint64_t cost(sizer *sz, qpdf_oh oh, int depth)
{
    qpdf_data q = sz->q;
    uint64_t total = 0;
    if (depth > WALK_DEPTH || sz->budget == 0 || sz->nomem)
        return 0;
    sz->budget--;
    /* Another page (a link's destination) is a slice boundary, not part of this page; it
     * must not be marked seen either, or it would be charged nothing when its turn comes. */
    if (depth > 0 && qpdf_oh_is_dictionary_of_type(q, oh, "/Page", ""))
        return 0;
    if (qpdf_oh_is_indirect(q, oh)) {
        int added = qr_pdf__idset_add(&sz->seen, q, oh);
        if (added < 0)
            sz->nomem = true;
        if (added <= 0)
            return 0;
        total += OBJ_OVERHEAD;
    }
    if (qpdf_oh_is_stream(q, oh)) {
        qpdf_oh d = qpdf_oh_get_dict(q, oh);
        long long len = qr_pdf__int(q, qpdf_oh_get_key(q, d, "/Length"), 0);
        total += len > 0 ? (uint64_t)len : 0;
        total += dict_cost(sz, d, depth, true);
        qpdf_oh_release(q, d);
    } else if (qpdf_oh_is_dictionary(q, oh)) {
        total += dict_cost(sz, oh, depth, true);
    } else if (qpdf_oh_is_array(q, oh)) {
        int n = qpdf_oh_get_array_n_items(q, oh);
        for (int i = 0; i < n && sz->budget > 0; i++) {
            qpdf_oh it = qpdf_oh_get_array_item(q, oh, i);
            total += cost(sz, it, depth + 1);
            qpdf_oh_release(q, it);
        }
    } else if (qpdf_oh_is_string(q, oh)) {
        size_t len = 0;
        (void)qpdf_oh_get_binary_string_value(q, oh, &len);
        total += len;
    }
    (void)qr_pdf__failed(q);
    return total;
}

int qr_pdf_page_bytes(qr_pdf *p, uint64_t *out, qr_error *err)
{
    sizer sz;
    if (!p || !out)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_PDF_STAGE, "NULL argument");
    memset(&sz, 0, sizeof(sz));
    sz.q = p->q;
    sz.budget = WALK_BUDGET;
    /* Resources inherited from /Pages nodes move onto each page first. */
    qpdf_push_inherited_attributes_to_page(p->q);
    (void)qr_pdf__failed(p->q);
    qr_pdf__idset shared;
    memset(&shared, 0, sizeof(shared));
    if (qr_pdf__shared_resources(&shared, p->q) < 0) {
        qr_pdf__idset_free(&shared);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE, "page sizes: out of memory");
    }
    for (uint32_t i = 0; i < p->info.pages; i++) {
        qpdf_oh page = qpdf_get_page_n(p->q, i);
        if (qr_pdf__failed(p->q)) {
            qr_pdf__idset_free(&sz.seen);
            qr_pdf__idset_free(&shared);
            return qr_error_set(err, QR_ERR_PDF_DAMAGED, QR_PDF_STAGE, "page %u is unreadable",
                                i + 1);
        }
        /* The handle is private to this qr_pdf: pruning it changes no file. */
        if (qr_pdf__page_resources_shared(&shared, p->q, page) &&
            qr_pdf__prune_page_resources(p->q, page) == QR_ENOMEM)
            sz.nomem = true;
        out[i] = cost(&sz, page, 0);
        qpdf_oh_release(p->q, page);
        if (sz.nomem) {
            qr_pdf__idset_free(&sz.seen);
            qr_pdf__idset_free(&shared);
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_PDF_STAGE,
                                "page sizes: out of memory");
        }
    }
    qr_pdf__idset_free(&sz.seen);
    qr_pdf__idset_free(&shared);
    qr_pdf__drain_warnings(p->q, NULL);
    return 0;
}
