/*
 * libcurl for the `quire` binary, loaded on the first request instead of
 * linked (qr/dlib.h, docs/internals/dlmod.md).
 *
 * libcurl and what it links (its TLS, SSH, LDAP, Kerberos, IDN, RTMP and
 * HTTP/2 libraries: about thirty shared objects) cost every start of quire
 * about 5 ms of mapping and relocation, paid by each command that never
 * makes a request, such as the `process` of a local book into a local store.
 * This file defines the libcurl functions quire calls and forwards them to
 * libcurl.so.4 ($QUIRE_LIBCURL), opened by the first call that needs it.
 * Tests and fuzzers link libcurl itself (and src/dlmod/linked.c).
 *
 * curl_global_init is recorded here and run by the load: libcurl 7.84 and
 * later make it thread-safe, so the load may happen on any thread. The
 * worker and serve commands, which fork or run threads from the start, load
 * it in main (qr_http_ready) before either.
 *
 * If libcurl cannot be loaded, qr_http_ready fails with `internal: cannot
 * load libcurl.so.4 ...`; the functions below then fail as libcurl's own do
 * when out of resources (NULL handles, CURLE_FAILED_INIT).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "qr/dlib.h"
#include "qr/error.h"
#include "qr/http.h"

/*
 * The definitions below stay inside the binary (hidden), although it exports
 * its other symbols to quire-vips.so: libraries that libvips links (HDF5,
 * CFITSIO) call libcurl themselves, and must reach their own libcurl, not
 * these.
 */
#pragma GCC visibility push(hidden)
#define CURL_DISABLE_TYPECHECK 1
#define curl_url_get qr_dlmod_declared_url_get
#include <curl/curl.h>
#undef curl_url_get
CURLUcode curl_url_get(const CURLU *u, CURLUPart what, char **part, unsigned int flags);

/* libcurl's functions that quire calls, as loaded: in the order of `names`. */
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

static const char *const names[] = {"curl_global_init",  "curl_global_cleanup",
                                    "curl_easy_init",    "curl_easy_setopt",
                                    "curl_easy_perform", "curl_easy_cleanup",
                                    "curl_easy_getinfo", "curl_easy_strerror",
                                    "curl_slist_append", "curl_slist_free_all",
                                    "curl_url",          "curl_url_cleanup",
                                    "curl_url_get",      "curl_url_set",
                                    "curl_free",         "curl_version_info",
                                    "curl_getdate",      NULL};

static bool global_wanted; /* curl_global_init was called before the load */
static long global_flags;

/* Runs the curl_global_init that was asked for before the load. */
static int start(char *why, size_t n)
{
    if (!global_wanted)
        return 0;
    CURLcode c = fn.global_init(global_flags);
    if (c == CURLE_OK)
        return 0;
    snprintf(why, n, "curl_global_init: %s", fn.easy_strerror(c));
    return -1;
}

/* `fn` is as many function pointers as `names`, in the same order. */
static qr_dlib lib =
    QR_DLIB_INIT("libcurl.so.4", "QUIRE_LIBCURL", names, (qr_dlib_fn *)(void *)&fn, start);

static bool ready(void)
{
    return qr_dlib_load(&lib, "net");
}

CURLcode curl_global_init(long flags)
{
    /* Run by the load; after it (a second init), by libcurl, which counts them. */
    if (qr_dlib_loaded(&lib))
        return fn.global_init(flags);
    global_flags = flags;
    global_wanted = true;
    return CURLE_OK;
}

void curl_global_cleanup(void)
{
    if (qr_dlib_loaded(&lib) && global_wanted)
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
    return qr_dlib_ready(&lib, "net", err);
}
