/*
 * The slice plan: which entries of the (compressed) book go into which
 * slice. Slice 0 is the base; then consecutive linear spine items packed up
 * to a target stored size, each slice with the resources only its items
 * use; a resource larger than the target gets a slice of its own right
 * after its text. See docs/internals/slice.md for the rules.
 */
#include <stdlib.h>
#include <string.h>

#include "slice/slice_internal.h"

#define NONE SIZE_MAX

struct qr_slice_plan {
    qr_slice_info *slices;
    size_t n, cap;
};

/* Working state of one planning run. */
typedef struct planner {
    const qr_epub *e;
    const qr_positions *p;
    uint64_t target;
    size_t ne, ns;
    bool *excluded;       /* per entry: mimetype, directories, shadowed duplicates */
    bool *forced_base;    /* per entry: OPF, nav, NCX, CSS, fonts, cover, META-INF */
    bool *spine_doc;      /* per entry: some spine item's document */
    bool *base_ref;       /* per entry: used by a document that lives in the base */
    bool *doc_placed;     /* per entry: a spine document already packed */
    size_t *first_ref;    /* per entry: first linear ordinal using it, NONE */
    size_t *last_ref;     /* per entry: last linear ordinal using it */
    size_t *counted;      /* per entry: text slice whose budget already holds it, NONE */
    qr_slice__refs *refs; /* per spine item */
    size_t *host;         /* per spine item: linear ordinal it travels with, NONE = base */
    size_t *lin;          /* linear ordinal -> spine index */
    size_t nlin;
    size_t *nonlin; /* non-linear spine items that travel with a linear one */
    size_t nnonlin;
    size_t *slice_of; /* linear ordinal -> text slice number */
    size_t ntext;
} planner;

static void planner_free(planner *pl)
{
    if (pl->refs)
        for (size_t s = 0; s < pl->ns; s++)
            qr_slice__refs_free(&pl->refs[s]);
    free(pl->refs);
    free(pl->excluded);
    free(pl->forced_base);
    free(pl->spine_doc);
    free(pl->base_ref);
    free(pl->doc_placed);
    free(pl->first_ref);
    free(pl->last_ref);
    free(pl->counted);
    free(pl->host);
    free(pl->lin);
    free(pl->nonlin);
    free(pl->slice_of);
}

void qr_slice_plan_free(qr_slice_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n; i++)
        free(plan->slices[i].entries);
    free(plan->slices);
    free(plan);
}

size_t qr_slice_plan_count(const qr_slice_plan *plan)
{
    return plan ? plan->n : 0;
}

const qr_slice_info *qr_slice_plan_get(const qr_slice_plan *plan, size_t i)
{
    return plan && i < plan->n ? &plan->slices[i] : NULL;
}

static int nomem(qr_error *err)
{
    return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_SLICE_STAGE, "cannot plan slices");
}

static bool is_document(const char *mt)
{
    return strcmp(mt, "application/xhtml+xml") == 0 || strcmp(mt, "text/html") == 0 ||
           strcmp(mt, "image/svg+xml") == 0;
}

static void mark_item_base(planner *pl, int item)
{
    if (item < 0)
        return;
    int ent = qr_epub_get_item(pl->e, (size_t)item)->entry;
    if (ent >= 0)
        pl->forced_base[ent] = true;
}

/* Entry classes that never follow a spine item. */
static void classify(planner *pl)
{
    const qr_epub *e = pl->e;
    const qr_epub_info *info = qr_epub_get_info(e);
    for (size_t i = 0; i < pl->ne; i++) {
        const qr_epub_entry *ent = qr_epub_get_entry(e, i);
        pl->excluded[i] = ent->is_dir || ent->is_duplicate || strcmp(ent->path, "mimetype") == 0;
        if (strncmp(ent->path, "META-INF/", 9) == 0 || strcmp(ent->path, info->opf_path) == 0 ||
            ent->obf != QR_OBF_NONE)
            pl->forced_base[i] = true;
        if (ent->item >= 0) {
            const qr_epub_item *it = qr_epub_get_item(e, (size_t)ent->item);
            if (strcmp(it->media_type, "text/css") == 0 || qr_media_is_font(it->media_type) ||
                strcmp(it->media_type, "application/x-dtbncx+xml") == 0)
                pl->forced_base[i] = true;
        }
    }
    mark_item_base(pl, info->nav_item);
    mark_item_base(pl, info->ncx_item);
    mark_item_base(pl, info->cover_item);
}

static int collect_refs(planner *pl, qr_error *err)
{
    for (size_t s = 0; s < pl->ns; s++) {
        const qr_epub_item *it = qr_epub_get_item(pl->e, (size_t)qr_epub_get_spine(pl->e, s)->item);
        if (it->entry < 0)
            continue;
        pl->spine_doc[it->entry] = true;
        if (!is_document(it->media_type))
            continue;
        int rc = qr_slice__refs_collect(&pl->refs[s], pl->e, (size_t)it->entry, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Linear ordinals, and the linear item each non-linear item travels with. */
static void attach(planner *pl)
{
    for (size_t s = 0; s < pl->ns; s++) {
        const qr_epub_itemref *ref = qr_epub_get_spine(pl->e, s);
        pl->host[s] = NONE;
        if (ref->linear && qr_epub_get_item(pl->e, (size_t)ref->item)->entry >= 0)
            pl->lin[pl->nlin++] = s;
    }
    for (size_t k = 0; k < pl->nlin; k++)
        pl->host[pl->lin[k]] = k;
    for (size_t s = 0; s < pl->ns; s++) {
        const qr_epub_itemref *ref = qr_epub_get_spine(pl->e, s);
        int ent = qr_epub_get_item(pl->e, (size_t)ref->item)->entry;
        if (ref->linear || ent < 0)
            continue;
        for (size_t k = 0; k < pl->nlin; k++) {
            /* A linker that lives in the base (the nav) attaches nothing. */
            int lent =
                qr_epub_get_item(pl->e, (size_t)qr_epub_get_spine(pl->e, pl->lin[k])->item)->entry;
            if (pl->forced_base[lent])
                continue;
            if (qr_slice__set_has(&pl->refs[pl->lin[k]].links, (size_t)ent)) {
                pl->host[s] = k;
                break;
            }
        }
        if (pl->host[s] != NONE)
            pl->nonlin[pl->nnonlin++] = s;
    }
}

static bool candidate(const planner *pl, size_t r)
{
    return !pl->excluded[r] && !pl->forced_base[r] && !pl->spine_doc[r];
}

/* Who uses each resource: first/last linear ordinal, or a base document. */
static void usage(planner *pl)
{
    for (size_t r = 0; r < pl->ne; r++) {
        pl->first_ref[r] = NONE;
        pl->last_ref[r] = 0;
        pl->counted[r] = NONE;
    }
    for (size_t s = 0; s < pl->ns; s++) {
        const qr_slice__set *res = &pl->refs[s].res;
        int ent = qr_epub_get_item(pl->e, (size_t)qr_epub_get_spine(pl->e, s)->item)->entry;
        bool in_base = pl->host[s] == NONE || (ent >= 0 && pl->forced_base[ent]);
        for (size_t j = 0; j < res->n; j++) {
            size_t r = res->v[j];
            if (in_base) {
                pl->base_ref[r] = true;
                continue;
            }
            size_t k = pl->host[s];
            if (pl->first_ref[r] == NONE || k < pl->first_ref[r])
                pl->first_ref[r] = k;
            if (k > pl->last_ref[r])
                pl->last_ref[r] = k;
        }
    }
}

static uint64_t stored(const planner *pl, size_t entry)
{
    return qr_epub_get_entry(pl->e, entry)->comp_size;
}

/*
 * What linear ordinal k (with its non-linear items) adds to text slice
 * `slice` that starts at ordinal `start`; with `commit` the resources are
 * marked as counted in that slice.
 */
static uint64_t doc_cost(planner *pl, size_t s, size_t slice, size_t start, bool commit)
{
    uint64_t cost = 0;
    size_t ent = (size_t)qr_epub_get_item(pl->e, (size_t)qr_epub_get_spine(pl->e, s)->item)->entry;
    /* Several itemrefs may name one document (manifest items with fragments):
     * it lives with the first, the others add nothing. */
    if (!pl->doc_placed[ent] && !pl->forced_base[ent]) {
        cost += stored(pl, ent);
        if (commit)
            pl->doc_placed[ent] = true;
    }
    const qr_slice__set *res = &pl->refs[s].res;
    for (size_t j = 0; j < res->n; j++) {
        size_t r = res->v[j];
        /* Shared with an earlier slice or with the base, or big enough to
         * travel alone: never part of this slice's budget. */
        if (!candidate(pl, r) || pl->base_ref[r] || pl->first_ref[r] < start ||
            stored(pl, r) > pl->target || pl->counted[r] == slice)
            continue;
        cost += stored(pl, r);
        if (commit)
            pl->counted[r] = slice;
    }
    return cost;
}

static uint64_t unit_cost(planner *pl, size_t k, size_t slice, size_t start, bool commit)
{
    uint64_t cost = doc_cost(pl, pl->lin[k], slice, start, commit);
    for (size_t j = 0; j < pl->nnonlin; j++)
        if (pl->host[pl->nonlin[j]] == k)
            cost += doc_cost(pl, pl->nonlin[j], slice, start, commit);
    return cost;
}

static void pack(planner *pl)
{
    size_t slice = 0, start = 0;
    uint64_t size = 0;
    for (size_t k = 0; k < pl->nlin; k++) {
        uint64_t cost = unit_cost(pl, k, slice, start, false);
        if (size > 0 && cost > 0 && size + cost > pl->target) {
            slice++;
            start = k;
            size = 0;
            cost = unit_cost(pl, k, slice, start, false);
        }
        (void)unit_cost(pl, k, slice, start, true);
        size += cost;
        pl->slice_of[k] = slice;
    }
    pl->ntext = pl->nlin ? slice + 1 : 0;
}

static int push_slice(qr_slice_plan *plan, qr_slice_info **out, qr_error *err)
{
    if (plan->n == plan->cap) {
        size_t nc = plan->cap ? plan->cap * 2 : 8;
        qr_slice_info *nv = realloc(plan->slices, nc * sizeof(*nv));
        if (!nv)
            return nomem(err);
        plan->slices = nv;
        plan->cap = nc;
    }
    qr_slice_info *si = &plan->slices[plan->n];
    memset(si, 0, sizeof(*si));
    si->index = (uint32_t)plan->n;
    si->first_spine = si->last_spine = -1;
    plan->n++;
    *out = si;
    return 0;
}

/* Fills a slice's entries (archive order) from the owner table. */
static int fill(qr_slice_info *si, const planner *pl, const size_t *owner, size_t want)
{
    size_t n = 0;
    for (size_t i = 0; i < pl->ne; i++)
        n += owner[i] == want;
    si->entries = malloc((n ? n : 1) * sizeof(*si->entries));
    if (!si->entries)
        return -1;
    for (size_t i = 0; i < pl->ne; i++) {
        if (owner[i] != want)
            continue;
        si->entries[si->nentries++] = i;
        si->stored_bytes += stored(pl, i);
    }
    return 0;
}

static void set_span(qr_slice_info *si, const planner *pl, size_t k0, size_t k1)
{
    size_t s0 = pl->lin[k0], s1 = pl->lin[k1];
    si->first_spine = (long)s0;
    si->last_spine = (long)s1;
    for (size_t k = k0; k <= k1; k++) {
        size_t s = pl->lin[k];
        if (pl->p->span[s] == 0)
            continue;
        if (si->first_position == 0)
            si->first_position = pl->p->first[s];
        si->last_position = pl->p->first[s] + pl->p->span[s] - 1;
    }
}

static void place_doc(const planner *pl, size_t *owner, size_t s, size_t slice)
{
    int ent = qr_epub_get_item(pl->e, (size_t)qr_epub_get_spine(pl->e, s)->item)->entry;
    if (ent >= 0 && owner[ent] == 0 && !pl->forced_base[ent])
        owner[ent] = slice;
}

/* Owner ids: 0 base, 1.. text slices (1-based), then one per large resource. */
static int build(qr_slice_plan *plan, planner *pl, qr_error *err)
{
    size_t *owner = NULL;
    int rc = 0;
    owner = malloc((pl->ne ? pl->ne : 1) * sizeof(*owner));
    if (!owner)
        return nomem(err);
    size_t big_base = pl->ntext + 1;
    size_t nbig = 0;
    size_t *bigs = malloc((pl->ne ? pl->ne : 1) * sizeof(*bigs));
    if (!bigs) {
        free(owner);
        return nomem(err);
    }
    for (size_t i = 0; i < pl->ne; i++)
        owner[i] = pl->excluded[i] ? NONE : 0;
    /* A document lives with its first linear itemref, then with the first
     * linear item that links a non-linear one. */
    for (size_t k = 0; k < pl->nlin; k++)
        place_doc(pl, owner, pl->lin[k], pl->slice_of[k] + 1);
    for (size_t j = 0; j < pl->nnonlin; j++)
        place_doc(pl, owner, pl->nonlin[j], pl->slice_of[pl->host[pl->nonlin[j]]] + 1);
    for (size_t r = 0; r < pl->ne; r++) {
        if (!candidate(pl, r) || pl->base_ref[r] || pl->first_ref[r] == NONE)
            continue;
        size_t a = pl->slice_of[pl->first_ref[r]], b = pl->slice_of[pl->last_ref[r]];
        if (a != b)
            continue;
        if (stored(pl, r) > pl->target) {
            bigs[nbig] = r;
            owner[r] = big_base + nbig++;
        } else {
            owner[r] = a + 1;
        }
    }
    qr_slice_info *si = NULL;
    if ((rc = push_slice(plan, &si, err)) < 0)
        goto out;
    si->is_base = true;
    if (fill(si, pl, owner, 0) < 0) {
        rc = nomem(err);
        goto out;
    }
    size_t k = 0;
    for (size_t t = 0; t < pl->ntext; t++) {
        size_t k0 = k;
        while (k + 1 < pl->nlin && pl->slice_of[k + 1] == t)
            k++;
        size_t k1 = k++;
        if ((rc = push_slice(plan, &si, err)) < 0)
            goto out;
        set_span(si, pl, k0, k1);
        if (fill(si, pl, owner, t + 1) < 0) {
            rc = nomem(err);
            goto out;
        }
        if (si->nentries == 0) {
            /* Only documents that live in the base (a nav in the spine). */
            free(si->entries);
            plan->n--;
        }
        /* Large resources of this text slice: one slice each, in the order
         * their first user reads them, carrying that item's positions. */
        for (size_t u = k0; u <= k1; u++) {
            for (size_t j = 0; j < nbig; j++) {
                size_t r = bigs[j];
                if (pl->first_ref[r] != u)
                    continue;
                if ((rc = push_slice(plan, &si, err)) < 0)
                    goto out;
                set_span(si, pl, u, u);
                if (fill(si, pl, owner, owner[r]) < 0) {
                    rc = nomem(err);
                    goto out;
                }
            }
        }
    }
out:
    free(bigs);
    free(owner);
    return rc;
}

int qr_slice_plan_new(qr_slice_plan **out, const qr_epub *e, const qr_positions *p,
                      const qr_slice_opts *opts, qr_error *err)
{
    qr_slice_plan *plan = NULL;
    planner pl;
    int rc = 0;
    memset(&pl, 0, sizeof(pl));
    *out = NULL;
    if (!e || !p || !opts || opts->target_bytes == 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_SLICE_STAGE,
                            "slice plan needs a book, its positions and a target size > 0");
    if (p->nspine != qr_epub_spine_count(e))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_SLICE_STAGE,
                            "positions cover %zu spine items, the book has %zu", p->nspine,
                            qr_epub_spine_count(e));
    pl.e = e;
    pl.p = p;
    pl.target = opts->target_bytes;
    pl.ne = qr_epub_entry_count(e);
    pl.ns = qr_epub_spine_count(e);
    size_t ne = pl.ne ? pl.ne : 1, ns = pl.ns ? pl.ns : 1;
    plan = calloc(1, sizeof(*plan));
    pl.excluded = calloc(ne, sizeof(bool));
    pl.forced_base = calloc(ne, sizeof(bool));
    pl.spine_doc = calloc(ne, sizeof(bool));
    pl.base_ref = calloc(ne, sizeof(bool));
    pl.doc_placed = calloc(ne, sizeof(bool));
    pl.first_ref = calloc(ne, sizeof(size_t));
    pl.last_ref = calloc(ne, sizeof(size_t));
    pl.counted = calloc(ne, sizeof(size_t));
    pl.refs = calloc(ns, sizeof(qr_slice__refs));
    pl.host = calloc(ns, sizeof(size_t));
    pl.lin = calloc(ns, sizeof(size_t));
    pl.nonlin = calloc(ns, sizeof(size_t));
    pl.slice_of = calloc(ns, sizeof(size_t));
    if (!plan || !pl.excluded || !pl.forced_base || !pl.spine_doc || !pl.base_ref ||
        !pl.doc_placed || !pl.first_ref || !pl.last_ref || !pl.counted || !pl.refs || !pl.host ||
        !pl.lin || !pl.nonlin || !pl.slice_of) {
        rc = nomem(err);
        goto out;
    }
    classify(&pl);
    if ((rc = collect_refs(&pl, err)) < 0)
        goto out;
    attach(&pl);
    usage(&pl);
    pack(&pl);
    if ((rc = build(plan, &pl, err)) < 0)
        goto out;
    *out = plan;
    plan = NULL;
out:
    planner_free(&pl);
    qr_slice_plan_free(plan);
    return rc;
}
