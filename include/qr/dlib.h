/*
 * A shared library opened on first use (dlopen) rather than linked: its
 * functions are looked up into a table once, by the first caller, under a
 * lock; later callers only read the table. The `quire` binary loads libcurl,
 * libzip and libxml2 this way, so that a command that needs none of them
 * (a PDF into a local store, `status`, `health`) maps none of them
 * (docs/internals/dlmod.md); src/dlmod/ holds the forwarding functions.
 */
#ifndef QR_DLIB_H
#define QR_DLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "qr/error.h"

typedef void (*qr_dlib_fn)(void);

typedef struct qr_dlib {
    const char *soname;         /* what dlopen is given: "libcurl.so.4" */
    const char *env;            /* a variable naming another file to load instead, or NULL */
    const char *const *symbols; /* the functions (and data), NULL-terminated */
    qr_dlib_fn *table;          /* one slot per symbol, in the same order */
    /* Run once the table is filled, or NULL; < 0 fails the load with `why`. */
    int (*start)(char *why, size_t n);
    pthread_mutex_t lock;
    int state; /* 0 not tried, 1 loaded, -1 failed; read with acquire, set under `lock` */
    char error[512];
} qr_dlib;

#define QR_DLIB_INIT(soname_, env_, symbols_, table_, start_)                                      \
    {                                                                                              \
        .soname = (soname_), .env = (env_), .symbols = (symbols_), .table = (table_),              \
        .start = (start_), .lock = PTHREAD_MUTEX_INITIALIZER, .state = 0, .error = {               \
            0                                                                                      \
        }                                                                                          \
    }

/*
 * Loads the library unless that was tried already: true when its table is
 * filled. A failure is logged once (warning, `stage`) and kept: later calls
 * return false without trying again. Never call it from a process that may
 * fork while another thread is inside it (the lock would stay taken in the
 * child): such a process loads what it needs at start.
 */
bool qr_dlib_load(qr_dlib *l, const char *stage);
/* qr_dlib_load as an error: internal, "cannot load SONAME (FILE): REASON". */
int qr_dlib_ready(qr_dlib *l, const char *stage, qr_error *err);
/* Whether the library is loaded, without trying. */
bool qr_dlib_loaded(qr_dlib *l);

#endif
