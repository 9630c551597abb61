/*
 * What this quire is: its version, the commit it was built from, and the
 * version of every native library it loaded at run time, with the minimum
 * quire needs of each (cmake/QrDeps.cmake). `quire version` prints it, the
 * worker publishes it beside its Resque registration and as
 * quire_build_info on /metrics, and `quire status` shows it per worker, so
 * an operator sees from one command which instance runs an old library.
 */
#ifndef QR_BUILDINFO_H
#define QR_BUILDINFO_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;

#define QR_BUILDINFO_MAX_LIBS 12

typedef struct qr_buildinfo_lib {
    const char *name;    /* "libvips", "qpdf", ... (a Prometheus label name) */
    char version[64];    /* as loaded: the library's own call, or its file's version */
    const char *minimum; /* quire's minimum, or NULL when none is checked */
    bool ok;             /* version >= minimum (true when no minimum) */
} qr_buildinfo_lib;

typedef struct qr_buildinfo {
    const char *version; /* quire's */
    const char *commit;  /* the commit it was built from, or "unknown" */
    qr_buildinfo_lib libs[QR_BUILDINFO_MAX_LIBS];
    size_t nlibs;
} qr_buildinfo;

/* Reads the run-time versions. libvips must have been initialised for its version. */
void qr_buildinfo_get(qr_buildinfo *out);

/*
 * True when every library is at least its minimum; otherwise false and
 * `why` names the first that is not ("libvips 8.12.1 is older than 8.14").
 */
bool qr_buildinfo_ok(const qr_buildinfo *bi, char *why, size_t n);

/*
 * {"version","commit","libraries":{"libvips":{"version","minimum","ok"},...}}
 * as a new reference; NULL when out of memory.
 */
struct json_t *qr_buildinfo_json(const qr_buildinfo *bi);

/*
 * Compares dotted version strings numerically ("8.14.1" >= "8.14"); a part
 * that is not a number ends the comparison there. <0, 0 or >0.
 */
int qr_version_compare(const char *a, const char *b);

#endif
