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

#include "dlmod/dlmod.h"
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

/*
 * What quire calls, and what each returns when libcurl cannot be loaded:
 * libcurl's own failures. The four slots are defined by hand below: the
 * global init is deferred to the load, setopt and getinfo are variadic.
 */
#define CURL_FUNCTIONS(F, V, S)                                                                    \
    S(curl_global_init)                                                                            \
    S(curl_global_cleanup)                                                                         \
    S(curl_easy_setopt)                                                                            \
    S(curl_easy_getinfo)                                                                           \
    F(CURL *, curl_easy_init, (void), (), NULL)                                                    \
    F(CURLcode, curl_easy_perform, (CURL * a), (a), CURLE_FAILED_INIT)                             \
    V(curl_easy_cleanup, (CURL * a), (a))                                                          \
    F(const char *, curl_easy_strerror, (CURLcode a), (a), "libcurl is not loaded")                \
    F(struct curl_slist *, curl_slist_append, (struct curl_slist * a, const char *b), (a, b),      \
      NULL)                                                                                        \
    V(curl_slist_free_all, (struct curl_slist * a), (a))                                           \
    F(CURLU *, curl_url, (void), (), NULL)                                                         \
    V(curl_url_cleanup, (CURLU * a), (a))                                                          \
    F(CURLUcode, curl_url_get, (const CURLU *a, CURLUPart b, char **c, unsigned int d),            \
      (a, b, c, d), CURLUE_OUT_OF_MEMORY)                                                          \
    F(CURLUcode, curl_url_set, (CURLU * a, CURLUPart b, const char *c, unsigned int d),            \
      (a, b, c, d), CURLUE_OUT_OF_MEMORY)                                                          \
    V(curl_free, (void *a), (a))                                                                   \
    F(curl_version_info_data *, curl_version_info, (CURLversion a), (a), NULL)                     \
    F(time_t, curl_getdate, (const char *a, const time_t *b), (a, b), (time_t)-1)

enum { CURL_FUNCTIONS(QR_DL_ENUM_F, QR_DL_ENUM_V, QR_DL_ENUM_S) FN_COUNT };
static const char *const names[] = {CURL_FUNCTIONS(QR_DL_NAME_F, QR_DL_NAME_V, QR_DL_NAME_S) NULL};
static qr_dlib_fn fns[FN_COUNT];

static bool global_wanted; /* curl_global_init was called before the load */
static long global_flags;

/* Runs the curl_global_init that was asked for before the load. */
static int start(char *why, size_t n)
{
    if (!global_wanted)
        return 0;
    CURLcode c = QR_DL_SLOT(CURLcode(*)(long), curl_global_init)(global_flags);
    if (c == CURLE_OK)
        return 0;
    snprintf(why, n, "curl_global_init: %s",
             QR_DL_SLOT(const char *(*)(CURLcode), curl_easy_strerror)(c));
    return -1;
}

static qr_dlib lib = QR_DLIB_INIT("libcurl.so.4", "QUIRE_LIBCURL", names, fns, start);

static bool ready(void)
{
    return qr_dlib_load(&lib, "net");
}

CURLcode curl_global_init(long flags)
{
    /* Run by the load; after it (a second init), by libcurl, which counts them. */
    if (qr_dlib_loaded(&lib))
        return QR_DL_SLOT(CURLcode(*)(long), curl_global_init)(flags);
    global_flags = flags;
    global_wanted = true;
    return CURLE_OK;
}

void curl_global_cleanup(void)
{
    if (qr_dlib_loaded(&lib) && global_wanted)
        QR_DL_SLOT(void (*)(void), curl_global_cleanup)();
}

CURL_FUNCTIONS(QR_DL_DEF_F, QR_DL_DEF_V, QR_DL_DEF_S)

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
    CURLcode (*f)(CURL *, CURLoption, ...) =
        QR_DL_SLOT(CURLcode(*)(CURL *, CURLoption, ...), curl_easy_setopt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        rc = f(h, opt, va_arg(ap, long));
    else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
        rc = f(h, opt, va_arg(ap, void *));
    else if (opt < CURLOPTTYPE_OFF_T)
        rc = f(h, opt, va_arg(ap, void (*)(void)));
    else if (opt < CURLOPTTYPE_BLOB)
        rc = f(h, opt, va_arg(ap, curl_off_t));
    else
        rc = f(h, opt, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    if (!ready())
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = QR_DL_SLOT(CURLcode(*)(CURL *, CURLINFO, ...),
                             curl_easy_getinfo)(h, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}
#pragma GCC visibility pop

int qr_http_ready(qr_error *err)
{
    return qr_dlib_ready(&lib, "net", err);
}
