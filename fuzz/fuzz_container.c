/* Fuzzes container.xml parsing (qr_epub_parse_container_buffer). */
#include <stdint.h>
#include <stdlib.h>

#include "qr/epub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *opf = NULL;
    if (qr_epub_parse_container_buffer(&opf, data, size, NULL, NULL) == 0)
        free(opf);
    return 0;
}
