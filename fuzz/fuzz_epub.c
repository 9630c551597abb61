/* Fuzzes a whole EPUB open from memory and reads every entry. */
#include <stdint.h>

#include "qr/epub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qr_epub *e = NULL;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    o.limits.max_entry_bytes = 8u << 20;
    o.limits.max_total_bytes = 64u << 20;
    if (qr_epub_open_buffer(&e, data, size, &o, NULL) < 0)
        return 0;
    size_t read_ok = 0;
    for (size_t i = 0; i < qr_epub_entry_count(e); i++) {
        qr_buf b = QR_BUF_INIT(8u << 20);
        read_ok += qr_epub_read_entry(&b, e, i, NULL) == 0;
        qr_buf_free(&b);
    }
    (void)read_ok;
    qr_epub_free(e);
    return 0;
}
