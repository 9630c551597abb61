/*
 * Growable byte buffer with a hard maximum (curl's dynbuf "toobig").
 * Growing past `max` fails with QR_ELIMIT instead of allocating.
 */
#ifndef QR_BUF_H
#define QR_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "qr/error.h"

typedef struct qr_buf {
    uint8_t *data; /* NUL-terminated for convenience; len excludes the NUL */
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len */
} qr_buf;

#define QR_BUF_INIT(maxlen)                                                                        \
    {                                                                                              \
        .data = NULL, .len = 0, .cap = 0, .max = (maxlen)                                          \
    }

void qr_buf_init(qr_buf *b, size_t max);
/* Frees the storage and resets len/cap (max is kept). NULL-safe. */
void qr_buf_free(qr_buf *b);
void qr_buf_reset(qr_buf *b);
/* Ensures room for `extra` more bytes. QR_ELIMIT past max, QR_ENOMEM. */
int qr_buf_reserve(qr_buf *b, size_t extra, qr_error *err) QR_WUR;
int qr_buf_append(qr_buf *b, const void *data, size_t len, qr_error *err) QR_WUR;
int qr_buf_appendf(qr_buf *b, qr_error *err, const char *fmt, ...) QR_PRINTF(3, 4) QR_WUR;
/* Hands the storage to the caller (free() it); the buffer becomes empty. */
uint8_t *qr_buf_detach(qr_buf *b, size_t *len_out);

/* Reads a whole file into `b`, failing with QR_ELIMIT past b->max. */
int qr_buf_read_file(qr_buf *b, const char *path, const char *stage, qr_error *err) QR_WUR;

#endif
