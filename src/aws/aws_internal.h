/* Helpers shared by the files of src/aws (not part of the public API). */
#ifndef QR_AWS_INTERNAL_H
#define QR_AWS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "qr/aws.h"
#include "qr/buf.h"
#include "qr/error.h"

/* A URL cut into the pieces SigV4 needs. path/query point into the URL. */
typedef struct qr_aws_url_parts {
    char scheme[8];
    char host[256];        /* lowercase, brackets kept for IPv6 */
    unsigned port;         /* 0: none given */
    char host_header[264]; /* host[:port], the port only when not the scheme's default */
    const char *path;      /* "" when absent */
    size_t path_len;
    const char *query; /* without '?'; "" when absent */
    size_t query_len;
} qr_aws_url_parts;

int qr_aws__url_split(qr_aws_url_parts *out, const char *url, qr_error *err);

/*
 * Looks `key` up in section `section` of INI text as the AWS CLI writes it:
 * "[name]" sections, "key = value", full-line '#' or ';' comments, blanks
 * around names and values ignored, and nested sub-sections ("s3 =" followed
 * by indented "addressing_style = path"), looked up as "s3.addressing_style".
 * *out is malloc'd, or NULL when absent. *found_section tells whether the
 * section exists (may be NULL). Errors: out-of-memory.
 */
int qr_aws__ini_get(char **out, bool *found_section, const char *text, size_t len,
                    const char *section, const char *key, qr_error *err);

/* Wipes then frees a NUL-terminated secret. NULL-safe. */
void qr_aws__free_secret(char *s);

/* The metadata services (ECS, IMDS) over qr_http with short deadlines. */
typedef struct qr_aws_meta_opts {
    double connect_timeout_s;
    double timeout_s;
    unsigned attempts;
} qr_aws_meta_opts;

/* Parses the JSON the ECS and IMDS credential endpoints return. Errors: remote-error. */
int qr_aws__parse_creds_json(qr_aws_creds *out, const char *json, size_t len, const char *source,
                             qr_error *err);
/* Parses "2026-11-26T12:34:56Z" into unix seconds; -1 when malformed. */
int64_t qr_aws__parse_iso8601(const char *s);

int qr_aws__ecs_fetch(qr_aws_creds *out, const qr_aws_config *cfg, const qr_aws_meta_opts *o,
                      qr_error *err);
int qr_aws__imds_fetch(qr_aws_creds *out, const qr_aws_config *cfg, const qr_aws_meta_opts *o,
                       qr_error *err);

/* ---- S3 XML (s3_error.c; pure) ---- */

/* Code and Message of an S3 <Error> document (truncated to the caps); false if not one. */
bool qr_s3__parse_error(char *code, size_t code_cap, char *message, size_t msg_cap, const char *xml,
                        size_t len);
/* UploadId of an InitiateMultipartUploadResult; false if absent or longer than cap - 2. */
bool qr_s3__parse_upload_id(char *out, size_t cap, const char *xml, size_t len);
/* The error id for an S3 error Code (may be empty) and HTTP status. */
qr_errid qr_s3__errid(long status, const char *code);

/* ---- metadata services (creds.c) ---- */

/* One request to a metadata service (ECS, IMDS); *status and the body in `body`. */
int qr_aws__meta_call(long *status, qr_buf *body, const qr_aws_meta_opts *o, const char *method,
                      const char *url, const qr_http_header *hs, size_t nh, qr_error *err);

#endif
