/* Fuzzes the nav document and NCX parsers; the first byte picks which. */
#include <stdint.h>

#include "qr/epub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    qr_epub *e = NULL;
    bool ncx = data[0] & 1;
    if (qr_epub_parse_nav_buffer(&e, data + 1, size - 1, "OPS/text/nav.xhtml", ncx, NULL, NULL) ==
        0)
        qr_epub_free(e);
    return 0;
}
