/*
 * Fuzzes the slice planner: the input is an EPUB (ZIP bytes); positions are
 * computed, the book is planned with a tiny and a moderate target, the plan's
 * invariants are checked, and the first slices are written.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qr/slice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each entry in at most one slice: a broken plan crashes the fuzzer. */
static void check(const qr_slice_plan *plan, const qr_epub *e)
{
    size_t ne = qr_epub_entry_count(e);
    unsigned char *seen = calloc(ne ? ne : 1, 1);
    if (!seen)
        return;
    for (size_t i = 0; i < qr_slice_plan_count(plan); i++) {
        const qr_slice_info *si = qr_slice_plan_get(plan, i);
        for (size_t k = 0; k < si->nentries; k++) {
            if (si->entries[k] >= ne || seen[si->entries[k]]++)
                abort();
        }
    }
    free(seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qr_epub *e = NULL;
    qr_positions *p = NULL;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.limits.max_entry_bytes = 1 << 20;
    o.limits.max_total_bytes = 8 << 20;
    if (qr_epub_open_buffer(&e, data, size, &o, NULL) < 0)
        return 0;
    if (qr_positions_compute(&p, e, NULL) == 0) {
        static const uint64_t targets[] = {1, 4096};
        for (size_t t = 0; t < 2; t++) {
            qr_slice_plan *plan = NULL;
            qr_slice_opts so = {targets[t]};
            if (qr_slice_plan_new(&plan, e, p, &so, NULL) < 0)
                continue;
            check(plan, e);
            for (size_t i = 0; i < qr_slice_plan_count(plan) && i < 3; i++) {
                qr_buf b = QR_BUF_INIT(16u << 20);
                if (qr_slice_write(&b, e, plan, i, NULL) == 0 && b.len == 0)
                    abort();
                qr_buf_free(&b);
            }
            qr_slice_plan_free(plan);
        }
        json_t *j = qr_positions_json(p, e);
        json_decref(j);
    }
    qr_positions_free(p);
    qr_epub_free(e);
    return 0;
}
