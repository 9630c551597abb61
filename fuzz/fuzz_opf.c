/* Fuzzes the OPF package parser (qr_epub_parse_opf_buffer). */
#include <stdint.h>

#include "qr/epub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qr_epub *e = NULL;
    qr_warnings *w = qr_warnings_new();
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.warnings = w;
    if (qr_epub_parse_opf_buffer(&e, data, size, "OPS/content.opf", &o, NULL) == 0)
        qr_epub_free(e);
    qr_warnings_free(w);
    return 0;
}
