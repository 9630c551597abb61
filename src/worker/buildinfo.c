/*
 * qr_buildinfo (qr/buildinfo.h): each module reports the version of the
 * library it wraps; this file gathers them with quire's minimums. A
 * library with no run-time version call is named by the file the process
 * loaded (hiredis).
 */
#include "qr/buildinfo.h"

#include <ctype.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/crypt.h"
#include "qr/epub.h"
#include "qr/fs.h"
#include "qr/http.h"
#include "qr/httpd.h"
#include "qr/image.h"
#include "qr/json.h"
#include "qr/pdf.h"
#include "qr/resque.h"
#include "qr_build.h"

int qr_version_compare(const char *a, const char *b)
{
    /* Part by part; a missing part counts as 0, and the first part that is no number ends a side.
     */
    for (;;) {
        bool da = isdigit((unsigned char)*a), db = isdigit((unsigned char)*b);
        if (!da && !db)
            return 0;
        char *ea = NULL, *eb = NULL;
        unsigned long x = da ? strtoul(a, &ea, 10) : 0, y = db ? strtoul(b, &eb, 10) : 0;
        if (x != y)
            return x < y ? -1 : 1;
        a = da && *ea == '.' ? ea + 1 : "";
        b = db && *eb == '.' ? eb + 1 : "";
    }
}

static void add(qr_buildinfo *bi, const char *name, const char *version, const char *minimum)
{
    if (bi->nlibs == QR_BUILDINFO_MAX_LIBS)
        return;
    qr_buildinfo_lib *l = &bi->libs[bi->nlibs++];
    l->name = name;
    snprintf(l->version, sizeof(l->version), "%s", version && *version ? version : "unknown");
    l->minimum = minimum;
    l->ok = !minimum || qr_version_compare(l->version, minimum) >= 0;
}

void qr_buildinfo_get(qr_buildinfo *out)
{
    char zip[64], xml[64], hiredis[64];
    memset(out, 0, sizeof(*out));
    out->version = QR_VERSION;
    out->commit = QR_BUILD_COMMIT;
    qr_epub_library_versions(zip, xml, sizeof(zip));
    qr_resque_library_version(hiredis, sizeof(hiredis));
    add(out, "libvips", qr_image_library_version(), QR_MIN_VIPS);
    add(out, "qpdf", qr_pdf_library_version(), QR_MIN_QPDF);
    add(out, "libcurl", qr_http_library_version(), QR_MIN_CURL);
    add(out, "libzip", zip, QR_MIN_LIBZIP);
    add(out, "libxml2", xml, QR_MIN_LIBXML2);
    add(out, "libsodium", qr_crypt_library_version(), QR_MIN_SODIUM);
    add(out, "libcrypto", qr_sha256_library_version(), QR_MIN_LIBCRYPTO);
    add(out, "hiredis", hiredis, QR_MIN_HIREDIS);
    add(out, "jansson", qr_json_library_version(), QR_MIN_JANSSON);
    add(out, "libmicrohttpd", qr_httpd_library_version(), QR_MIN_MHD);
}

bool qr_buildinfo_ok(const qr_buildinfo *bi, char *why, size_t n)
{
    for (size_t i = 0; i < bi->nlibs; i++) {
        const qr_buildinfo_lib *l = &bi->libs[i];
        if (!l->ok) {
            if (isdigit((unsigned char)l->version[0]))
                snprintf(why, n, "%s %s is older than %s, the oldest quire %s works with",
                         l->name, l->version, l->minimum, bi->version);
            else
                snprintf(why, n, "%s is %s (the log above says why)", l->name,
                         l->version);
            return false;
        }
    }
    if (n)
        why[0] = '\0';
    return true;
}

json_t *qr_buildinfo_json(const qr_buildinfo *bi)
{
    json_t *libs = json_object();
    json_t *o = libs ? json_pack("{s:s, s:s, s:o}", "version", bi->version, "commit", bi->commit,
                                 "libraries", libs)
                     : NULL;
    if (!o)
        return NULL;
    for (size_t i = 0; i < bi->nlibs; i++) {
        const qr_buildinfo_lib *l = &bi->libs[i];
        json_t *x = json_pack("{s:o, s:o, s:b}", "version", qr_json_string(l->version), "minimum",
                              qr_json_string_or_null(l->minimum), "ok", l->ok);
        if (!x || json_object_set_new(libs, l->name, x) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
