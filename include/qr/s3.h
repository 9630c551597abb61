/*
 * A small S3 client (GET to a file, GET to memory, HEAD, PUT from memory or
 * from a file with multipart above a threshold, DELETE) over qr_http and
 * SigV4, and the S3 store behind qr_store_ops. Works against AWS and
 * S3-compatible servers (MinIO, s3rver) through the endpoint, region and
 * addressing style of qr_aws_config. docs/internals/aws.md explains the
 * code; docs/operations/s3.md the settings and the IAM policy.
 *
 * Errors name the operation, "s3://bucket/key", the HTTP status and the S3
 * error Code (never credentials), and map as follows:
 *   NoSuchKey, NoSuchBucket, NoSuchUpload, 404     source-not-found
 *   AccessDenied, InvalidAccessKeyId,
 *   SignatureDoesNotMatch, ExpiredToken, 401, 403  access-denied
 *   SlowDown, 5xx                                  retried by qr_http; then fetch-failed
 *   anything else                                  remote-error
 * plus credentials-missing from the provider and the qr_http ids (timeout,
 * fetch-failed, input-too-large, ...).
 */
#ifndef QR_S3_H
#define QR_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/aws.h"
#include "qr/buf.h"
#include "qr/error.h"
#include "qr/http.h"
#include "qr/store.h"

typedef struct qr_s3_client qr_s3_client;

typedef struct qr_s3_client_opts {
    const qr_http_opts *http;             /* NULL: qr_http defaults. The policy is ignored:
                                             the S3 endpoint is the operator's, trusted */
    const qr_aws_provider_opts *provider; /* NULL: defaults */
} qr_s3_client_opts;

#define QR_S3_CLIENT_OPTS_INIT                                                                     \
    {                                                                                              \
        .http = NULL, .provider = NULL                                                             \
    }

/*
 * A client for the endpoint, region, addressing style, part size and
 * credential sources of `cfg` (copied; `cfg` may be freed afterwards).
 * Credentials are resolved on the first request. Errors: out-of-memory.
 */
int qr_s3_client_new(qr_s3_client **out, const qr_aws_config *cfg, const qr_s3_client_opts *opts,
                     qr_error *err) QR_WUR;
void qr_s3_client_free(qr_s3_client *c);
/* The client's configuration (borrowed). */
const qr_aws_config *qr_s3_client_config(const qr_s3_client *c);

/*
 * Splits "s3://bucket/key" into malloc'd *bucket and *key (the key verbatim,
 * not percent-decoded). The bucket must follow S3's naming rules (3..63
 * characters of a-z 0-9 . -, starting and ending with a letter or digit, no
 * "..", not an IPv4 address, no xn-- prefix); the key must be non-empty and
 * at most 1024 bytes. Errors: invalid-argument.
 */
int qr_s3_url_parse(char **bucket, char **key, const char *url, qr_error *err) QR_WUR;
bool qr_s3_bucket_valid(const char *bucket);

/*
 * GETs the object into the file at `path` (streamed: bounded memory; written
 * to a temporary file beside it and renamed on success, mode 0600).
 * `max_bytes` 0: no cap; otherwise a larger object fails with
 * input-too-large. *bytes (may be NULL) gets the size.
 */
int qr_s3_get_file(qr_s3_client *c, const char *bucket, const char *key, const char *path,
                   uint64_t max_bytes, uint64_t *bytes, qr_error *err) QR_WUR;
/* GETs the object, appending it to `out` (bounded by out->max: input-too-large). */
int qr_s3_get(qr_s3_client *c, const char *bucket, const char *key, qr_buf *out,
              qr_error *err) QR_WUR;
/* HEADs the object: *exists false on 404 (not an error); *size (may be NULL) its length. */
int qr_s3_head(qr_s3_client *c, const char *bucket, const char *key, bool *exists, uint64_t *size,
               qr_error *err) QR_WUR;
/*
 * PUTs `len` bytes with a payload hash. `content_type` NULL:
 * application/octet-stream; `cache_control` NULL: no Cache-Control header.
 */
int qr_s3_put(qr_s3_client *c, const char *bucket, const char *key, const void *data, size_t len,
              const char *content_type, const char *cache_control, qr_error *err) QR_WUR;
/*
 * PUTs the file at `path`, streamed from the file (pread; bounded memory).
 * Files larger than the multipart threshold go up in parts of the configured
 * size (grown when more than 10000 parts would be needed), each signed with
 * its own SHA-256; a failed upload is aborted (AbortMultipartUpload).
 * Errors: those above, io (the file).
 */
int qr_s3_put_file(qr_s3_client *c, const char *bucket, const char *key, const char *path,
                   const char *content_type, const char *cache_control, qr_error *err) QR_WUR;
/* DELETEs the object (a missing object is not an error, as in S3). */
int qr_s3_delete(qr_s3_client *c, const char *bucket, const char *key, qr_error *err) QR_WUR;

/*
 * An S3 store over `client` (borrowed: it must outlive the store) for the
 * objects under `prefix` ("" or NULL: the bucket's root; a missing trailing
 * '/' is added) in `bucket`. put sends a Content-Type derived from the key's
 * extension (.json application/json, .qs and .sig application/octet-stream,
 * .jpg/.jpeg image/jpeg, .png image/png, .webp image/webp, .gif image/gif)
 * and Cache-Control "no-cache" for keys ending in manifest.json (the commit
 * point, rewritten on republish) and the client's cache_control for every
 * other key (immutable). put_file streams (multipart when large). Keys are
 * checked as the local store checks them (invalid-argument).
 * Errors: invalid-argument (bucket), out-of-memory.
 */
int qr_store_s3_new(qr_store **out, qr_s3_client *client, const char *bucket, const char *prefix,
                    qr_error *err) QR_WUR;

/* The Content-Type qr_store_s3_new uses for `key`. Static string. */
const char *qr_s3_content_type(const char *key);

#endif
