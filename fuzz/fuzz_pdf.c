/*
 * Fuzzes the PDF reader: open from memory (qpdf's recovery included), the
 * facts read at open (metadata, XMP, outline, page labels) and the per-page
 * size walk. Small limits keep hostile inputs cheap.
 */
#include <stdint.h>
#include <stdlib.h>

#include "qr/pdf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qr_limits limits = QR_LIMITS_INIT;
    qr_error err = QR_ERROR_INIT;
    qr_pdf *p = NULL;
    qr_warnings *w = qr_warnings_new();
    limits.max_input_bytes = 1u << 22;
    limits.max_xml_bytes = 1u << 20;
    if (qr_pdf_open_buffer(&p, data, size, "fuzz.pdf", &limits, w, &err) == 0) {
        const qr_pdf_info *in = qr_pdf_info_get(p);
        /* The contract: at least one page, labels for every page, outline titles set. */
        if (!in || in->pages == 0)
            __builtin_trap();
        for (size_t i = 0; in->page_labels && i < in->pages; i++)
            if (!in->page_labels[i])
                __builtin_trap();
        for (size_t i = 0; i < in->noutline; i++)
            if (!in->outline[i].title || in->outline[i].page >= (int32_t)in->pages)
                __builtin_trap();
        uint64_t *sizes = calloc(in->pages, sizeof(*sizes));
        if (sizes && qr_pdf_page_bytes(p, sizes, &err) < 0 && !err.id)
            __builtin_trap();
        free(sizes);
        qr_pdf_close(p);
    } else if (!err.id || p) {
        __builtin_trap();
    }
    qr_warnings_free(w);
    return 0;
}
