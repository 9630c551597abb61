/* Recorded warnings: a bounded, thread-safe list. */
#include "qr/warn.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct qr_warnings {
    pthread_mutex_t lock;
    qr_warning *items;
    size_t len, cap;
    size_t dropped;
};

qr_warnings *qr_warnings_new(void)
{
    qr_warnings *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    pthread_mutex_init(&w->lock, NULL);
    return w;
}

void qr_warnings_free(qr_warnings *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->lock);
    free(w->items);
    free(w);
}

void qr_warn(qr_warnings *w, const char *code, const char *stage, const char *context,
             const char *fmt, ...)
{
    if (!w)
        return;
    qr_warning item;
    memset(&item, 0, sizeof(item));
    item.code = code;
    item.stage = stage;
    snprintf(item.context, sizeof(item.context), "%s", context ? context : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item.msg, sizeof(item.msg), fmt, ap);
    va_end(ap);
    for (char *p = item.msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';

    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->len; i++) {
        if (strcmp(w->items[i].code, code) == 0 &&
            strcmp(w->items[i].context, item.context) == 0)
            goto out;
    }
    if (w->len >= QR_WARNINGS_MAX) {
        w->dropped++;
        goto out;
    }
    if (w->len == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        qr_warning *n = realloc(w->items, ncap * sizeof(*n));
        if (!n) {
            w->dropped++;
            goto out;
        }
        w->items = n;
        w->cap = ncap;
    }
    w->items[w->len++] = item;
out:
    pthread_mutex_unlock(&w->lock);
}

size_t qr_warnings_count(const qr_warnings *w)
{
    return w ? w->len : 0;
}

const qr_warning *qr_warnings_get(const qr_warnings *w, size_t i)
{
    return (w && i < w->len) ? &w->items[i] : NULL;
}

size_t qr_warnings_dropped(const qr_warnings *w)
{
    return w ? w->dropped : 0;
}

int qr_warnings_has(const qr_warnings *w, const char *code)
{
    if (!w)
        return 0;
    for (size_t i = 0; i < w->len; i++)
        if (strcmp(w->items[i].code, code) == 0)
            return 1;
    return 0;
}
