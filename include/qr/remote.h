/*
 * Where books come from and where packages go, by name: a local path,
 * `s3://bucket/key` (through qr/s3.h) or an `https://` URL (through
 * qr/http.h, under the SSRF guard: a job's URLs are untrusted). Used by
 * `quire process` and by the worker's children; docs/internals/remote.md
 * explains it, docs/operations/network.md and docs/operations/s3.md list
 * the settings.
 */
#ifndef QR_REMOTE_H
#define QR_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "qr/aws.h"
#include "qr/error.h"
#include "qr/http.h"
#include "qr/store.h"

typedef struct qr_remote_opts {
    const qr_aws_config *aws;    /* NULL: s3:// names are refused (invalid-argument) */
    const qr_net_policy *policy; /* for https:// sources; NULL: the default (public https) */
    double http_timeout_s;       /* one attempt of a source download; 0: qr_http's default */
    unsigned http_attempts;      /* 0: qr_http's default */
    unsigned max_redirects;      /* for https:// sources; 0: 5 */
    uint64_t source_max_bytes;   /* largest source accepted; 0: 4 GiB */
    const char *public_base_url; /* base of manifest URLs (a CDN); NULL: s3:// or file names */
} qr_remote_opts;

#define QR_REMOTE_OPTS_INIT                                                                        \
    {                                                                                              \
        .aws = NULL, .policy = NULL, .http_timeout_s = 0, .http_attempts = 0, .max_redirects = 0,  \
        .source_max_bytes = 0, .public_base_url = NULL                                             \
    }

typedef struct qr_remote qr_remote;

/* A context over `opts` (borrowed: it and what it points to must outlive it). Errors:
 * out-of-memory. */
int qr_remote_new(qr_remote **out, const qr_remote_opts *opts, qr_error *err) QR_WUR;
void qr_remote_free(qr_remote *r);

typedef enum qr_remote_kind {
    QR_REMOTE_LOCAL = 0, /* a path */
    QR_REMOTE_S3 = 1,    /* s3://bucket/key */
    QR_REMOTE_HTTP = 2,  /* https:// (or http://, which the policy may refuse) */
    QR_REMOTE_OTHER = 3  /* another scheme: refused */
} qr_remote_kind;

/* What kind of name `s` is (anything with "scheme://" that is not s3/http(s) is OTHER). */
qr_remote_kind qr_remote_classify(const char *s);

/*
 * Downloads the source `url` (s3:// or https://) into directory `dir` as
 * "source" (0600), streamed with bounded memory, after checking that the
 * file system of `dir` has room for it (S3: the object's size from HEAD;
 * https: the cap). *path_out is malloc'd; *bytes (may be NULL) the size.
 * Errors: invalid-argument (a local path or another scheme, a malformed
 * URL, s3 without configuration), disk-full, source-forbidden,
 * source-not-found, access-denied, credentials-missing, input-too-large,
 * too-many-redirects, timeout, fetch-failed, remote-error, io.
 */
int qr_remote_fetch(qr_remote *r, const char *url, const char *dir, char **path_out,
                    uint64_t *bytes, qr_error *err) QR_WUR;

/*
 * Opens the store `spec` names: "s3://bucket" or "s3://bucket/prefix" (the
 * operator's, trusted), else a local directory (qr_store_local_new). The
 * store borrows from `r`: free it before `r`.
 * Errors: invalid-argument, io, out-of-memory.
 */
int qr_remote_store_open(qr_remote *r, const char *spec, qr_store **out, qr_error *err) QR_WUR;

/*
 * Where the manifest of the package under `prefix` in the store `spec` can
 * be read (malloc'd; NULL on ENOMEM): public_base_url + the object's key in
 * the bucket when a base is set, else "s3://bucket/<key>" or the local file
 * path.
 */
char *qr_remote_manifest_url(const qr_remote *r, const char *spec, const char *prefix);

#endif
