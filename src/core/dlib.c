/* qr_dlib (qr/dlib.h): a library opened on first use, its functions looked up into a table. */
#include "qr/dlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/log.h"

static void load_locked(qr_dlib *l, const char *stage)
{
    const char *env = l->env ? getenv(l->env) : NULL;
    const char *path = env && *env ? env : l->soname;
    int state = -1;
    char why[256] = "";
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(l->error, sizeof(l->error), "cannot load %s (%s): %s", l->soname, path,
                 e ? e : "unknown reason");
        goto out;
    }
    for (size_t i = 0; l->symbols[i]; i++) {
        void *p = dlsym(h, l->symbols[i]);
        if (!p) {
            snprintf(l->error, sizeof(l->error), "cannot load %s (%s): it has no %s", l->soname,
                     path, l->symbols[i]);
            dlclose(h);
            goto out;
        }
        /* POSIX: a dlsym result converts to a function pointer. */
        memcpy(&l->table[i], &p, sizeof(p));
    }
    if (l->start && l->start(why, sizeof(why)) < 0) {
        snprintf(l->error, sizeof(l->error), "cannot start %s (%s): %s", l->soname, path, why);
        goto out;
    }
    state = 1;
    qr_log(QR_LOG_DEBUG, stage, "loaded %s (%s)", l->soname, path);
out:
    if (state < 0)
        qr_log(QR_LOG_WARN, stage, "%s", l->error);
    __atomic_store_n(&l->state, state, __ATOMIC_RELEASE);
}

bool qr_dlib_load(qr_dlib *l, const char *stage)
{
    int state = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
    if (state == 0) {
        pthread_mutex_lock(&l->lock);
        if (l->state == 0)
            load_locked(l, stage);
        state = l->state;
        pthread_mutex_unlock(&l->lock);
    }
    return state > 0;
}

bool qr_dlib_loaded(qr_dlib *l)
{
    return __atomic_load_n(&l->state, __ATOMIC_ACQUIRE) > 0;
}

int qr_dlib_ready(qr_dlib *l, const char *stage, qr_error *err)
{
    if (qr_dlib_load(l, stage))
        return 0;
    return qr_error_set(err, QR_ERR_INTERNAL, stage, "%s", l->error);
}
