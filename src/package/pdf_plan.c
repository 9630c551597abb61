/*
 * The page ranges of a PDF package: a fixed number of pages per slice, or
 * greedy packing toward a target size over per-page size estimates
 * (docs/format.md, "PDF packages").
 */
#include <stdlib.h>

#include "package_internal.h"

int qr_package__pdf_plan(qr_pdf_range **out, size_t *n, const uint64_t *page_bytes, uint32_t pages,
                         uint64_t target, uint32_t fixed, qr_error *err)
{
    *out = NULL;
    *n = 0;
    if (pages == 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "slice", "a PDF without pages");
    if (!fixed && !page_bytes)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "slice", "no page sizes to plan with");
    /* At most one range per page: the bound of the allocation. */
    qr_pdf_range *r = calloc(pages, sizeof(*r));
    if (!r)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "slice", "out of memory");
    size_t k = 0;
    uint64_t acc = 0;
    for (uint32_t p = 0; p < pages; p++) {
        uint64_t pb = fixed ? 0 : page_bytes[p];
        bool fits;
        if (k == 0)
            fits = false;
        else if (fixed)
            fits = r[k - 1].count < fixed;
        else
            /* acc + pb <= target, written so that it cannot wrap. */
            fits = pb <= target && acc <= target - pb;
        if (fits) {
            r[k - 1].count++;
            acc += pb;
        } else {
            r[k].first = p;
            r[k].count = 1;
            acc = pb;
            k++;
        }
    }
    *out = r;
    *n = k;
    return 0;
}
