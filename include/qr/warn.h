/*
 * Recorded repairs and oddities. A warning never stops a book; every lenient
 * repair the pipeline makes is recorded here with a stable code, so the user
 * sees what quire changed or tolerated. Codes are listed in docs/errors.md.
 */
#ifndef QR_WARN_H
#define QR_WARN_H

#include <stddef.h>

#include "qr/error.h"

typedef struct qr_warning {
    const char *code; /* static, stable: "href-percent-encoded", ... */
    const char *stage;
    char context[256]; /* the item concerned */
    char msg[256];
} qr_warning;

/* Hard cap: past this many, warnings are only counted (qr_warnings_dropped). */
#define QR_WARNINGS_MAX 500

typedef struct qr_warnings qr_warnings;

/* Creates an empty list. Returns NULL when out of memory. */
qr_warnings *qr_warnings_new(void);
void qr_warnings_free(qr_warnings *w);

/*
 * Appends a warning (thread-safe). `code` and `stage` must be static strings.
 * Identical (code, context) pairs are recorded once. Never fails: when out of
 * memory or past QR_WARNINGS_MAX the warning is counted but not stored.
 * The readers below do not lock: call them once the writers are done.
 */
void qr_warn(qr_warnings *w, const char *code, const char *stage, const char *context,
             const char *fmt, ...) QR_PRINTF(5, 6);

size_t qr_warnings_count(const qr_warnings *w);
/* Borrowed; valid until the list is freed or appended to. */
const qr_warning *qr_warnings_get(const qr_warnings *w, size_t i);
/* Number of warnings dropped because of the cap. */
size_t qr_warnings_dropped(const qr_warnings *w);
/* True if a warning with this code was recorded. */
int qr_warnings_has(const qr_warnings *w, const char *code);

#endif
