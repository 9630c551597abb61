/*
 * The binary's libcurl, loaded on first use (docs/internals/curlmod.md).
 *
 * libcurl and what it links (its TLS, SSH, LDAP, Kerberos, IDN, RTMP and
 * HTTP/2 libraries: about thirty shared objects) cost every start of quire
 * about 5 ms of mapping and relocation, paid by each command that never
 * makes a request, such as the `process` of a local book into a local store.
 * The `quire` binary therefore does not link libcurl: this file defines the
 * libcurl functions quire calls, and the first call that needs libcurl opens
 * it ($QUIRE_LIBCURL, else libcurl.so.4) once per process (pthread_once) and
 * forwards to it. Tests and fuzzers link libcurl itself (and
 * src/curlmod/curl_linked.c), not this file.
 *
 * curl_global_init is recorded here and run by the load: libcurl 7.84 and
 * later make it thread-safe, so the load may happen on any thread. The
 * worker and serve commands, which fork or run threads from the start, load
 * it in main (qr_http_ready) before either.
 *
 * If libcurl cannot be loaded, qr_http_ready fails with `internal: cannot
 * load libcurl ...`; the functions below then fail as libcurl's own do when
 * out of resources (NULL handles, CURLE_FAILED_INIT).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * curl.h declares curl_url_get's handle const in newer releases and not in
 * older ones: its declaration is renamed out of the way here, and the
 * definition below takes the const form, the same in the ABI.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include "qr/error.h"
#include "qr/http.h"
#include "qr/log.h"

/*
 * The definitions below stay inside the binary (hidden), although it exports
 * its other symbols to quire-vips.so: libraries that libvips links (HDF5,
 * CFITSIO) call libcurl themselves, and must reach their own libcurl, not
 * these.
 */
#pragma GCC visibility push(hidden)
#define CURL_DISABLE_TYPECHECK 1
#define curl_url_get qr_curlmod_declared_url_get
#include <curl/curl.h>
#undef curl_url_get
CURLUcode curl_url_get(const CURLU *u, CURLUPart what, char **part, unsigned int flags);

#define LIBCURL_SONAME "libcurl.so.4"

/* libcurl's functions that quire calls, as loaded. */
static struct curl_fns {
    CURLcode (*global_init)(long);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *);
    CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
    CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
    void (*free)(void *);
    curl_version_info_data *(*version_info)(CURLversion);
    time_t (*getdate)(const char *, const time_t *);
} fn;

static const struct {
    const char *name;
    size_t offset;
} symbols[] = {
#define SYM(field, name)                                                                           \
    {                                                                                              \
        name, offsetof(struct curl_fns, field)                                                     \
    }
    SYM(global_init, "curl_global_init"),
    SYM(global_cleanup, "curl_global_cleanup"),
    SYM(easy_init, "curl_easy_init"),
    SYM(easy_setopt, "curl_easy_setopt"),
    SYM(easy_perform, "curl_easy_perform"),
    SYM(easy_cleanup, "curl_easy_cleanup"),
    SYM(easy_getinfo, "curl_easy_getinfo"),
    SYM(easy_strerror, "curl_easy_strerror"),
    SYM(slist_append, "curl_slist_append"),
    SYM(slist_free_all, "curl_slist_free_all"),
    SYM(url, "curl_url"),
    SYM(url_cleanup, "curl_url_cleanup"),
    SYM(url_get, "curl_url_get"),
    SYM(url_set, "curl_url_set"),
    SYM(free, "curl_free"),
    SYM(version_info, "curl_version_info"),
    SYM(getdate, "curl_getdate"),
#undef SYM
};

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;        /* every symbol found and the global init (if asked) done */
static bool global_wanted; /* curl_global_init was called before the load */
static long global_flags;
static char load_error[1024];

static void load(void)
{
    const char *env = getenv("QUIRE_LIBCURL");
    const char *path = env && *env ? env : LIBCURL_SONAME;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(load_error, sizeof(load_error), "cannot load libcurl (%s): %s", path,
                 why ? why : "unknown reason");
        qr_log(QR_LOG_WARN, "net", "%s", load_error);
        return;
    }
    for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
        void *p = dlsym(h, symbols[i].name);
        if (!p) {
            snprintf(load_error, sizeof(load_error), "cannot load libcurl (%s): it has no %s", path,
                     symbols[i].name);
            qr_log(QR_LOG_WARN, "net", "%s", load_error);
            dlclose(h);
            return;
        }
        /* POSIX guarantees that a dlsym result converts to a function pointer. */
        memcpy((char *)&fn + symbols[i].offset, &p, sizeof(p));
    }
    if (global_wanted) {
        CURLcode c = fn.global_init(global_flags);
        if (c != CURLE_OK) {
            snprintf(load_error, sizeof(load_error), "curl_global_init: %s", fn.easy_strerror(c));
            qr_log(QR_LOG_WARN, "net", "%s", load_error);
            return;
        }
    }
    loaded = true;
    const curl_version_info_data *v = fn.version_info(CURLVERSION_NOW);
    qr_log(QR_LOG_DEBUG, "net", "loaded %s (libcurl %s)", path, v && v->version ? v->version : "?");
}

static bool ready(void)
{
    pthread_once(&load_once, load);
    return loaded;
}

CURLcode curl_global_init(long flags)
{
    /* Run by the load; after it (a second init), by libcurl, which counts them. */
    if (loaded)
        return fn.global_init(flags);
    global_flags = flags;
    global_wanted = true;
    return CURLE_OK;
}

void curl_global_cleanup(void)
{
    if (loaded && global_wanted)
        fn.global_cleanup();
}

CURL *curl_easy_init(void)
{
    return ready() ? fn.easy_init() : NULL;
}

/*
 * The argument's type follows from the option's number, as libcurl itself
 * reads it: long, object pointer, function pointer, curl_off_t, blob pointer.
 */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    if (!ready())
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, opt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        rc = fn.easy_setopt(h, opt, va_arg(ap, long));
    else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
        rc = fn.easy_setopt(h, opt, va_arg(ap, void *));
    else if (opt < CURLOPTTYPE_OFF_T)
        rc = fn.easy_setopt(h, opt, va_arg(ap, void (*)(void)));
    else if (opt < CURLOPTTYPE_BLOB)
        rc = fn.easy_setopt(h, opt, va_arg(ap, curl_off_t));
    else
        rc = fn.easy_setopt(h, opt, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
    return ready() ? fn.easy_perform(h) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL *h)
{
    if (ready())
        fn.easy_cleanup(h);
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    if (!ready())
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = fn.easy_getinfo(h, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

const char *curl_easy_strerror(CURLcode c)
{
    return ready() ? fn.easy_strerror(c) : "libcurl is not loaded";
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
    return ready() ? fn.slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
    if (list && ready())
        fn.slist_free_all(list);
}

CURLU *curl_url(void)
{
    return ready() ? fn.url() : NULL;
}

void curl_url_cleanup(CURLU *u)
{
    if (u && ready())
        fn.url_cleanup(u);
}

CURLUcode curl_url_get(const CURLU *u, CURLUPart what, char **part, unsigned int flags)
{
    return ready() ? fn.url_get(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLUcode curl_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
    return ready() ? fn.url_set(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

void curl_free(void *p)
{
    if (p && ready())
        fn.free(p);
}

curl_version_info_data *curl_version_info(CURLversion v)
{
    return ready() ? fn.version_info(v) : NULL;
}

time_t curl_getdate(const char *p, const time_t *unused)
{
    return ready() ? fn.getdate(p, unused) : (time_t)-1;
}
#pragma GCC visibility pop

int qr_http_ready(qr_error *err)
{
    if (ready())
        return 0;
    return qr_error_set(err, QR_ERR_INTERNAL, "net", "%s", load_error);
}
