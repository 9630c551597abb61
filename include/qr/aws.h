/*
 * AWS plumbing for the S3 client: configuration read the way the AWS CLI and
 * SDKs read it, the credential provider chain, and Signature Version 4.
 * docs/internals/aws.md explains the code; docs/operations/s3.md lists every
 * variable.
 *
 * The library never calls getenv: the binary passes a lookup function.
 * Secrets (secret access key, session token, the IMDS token) are never
 * logged nor put in errors, and are wiped (sodium_memzero) when freed.
 */
#ifndef QR_AWS_H
#define QR_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "qr/error.h"
#include "qr/http.h"

/* Returns the value of variable `name`, or NULL when unset. */
typedef const char *(*qr_aws_env_fn)(const char *name, void *ud);

/* Credentials. Strings are malloc'd; session_token NULL when there is none. */
typedef struct qr_aws_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    int64_t expiration; /* unix seconds; 0: never expires */
    const char *source; /* static: "env", "credentials-file", "config-file", "ecs", "imds" */
} qr_aws_creds;

#define QR_AWS_CREDS_INIT                                                                          \
    {                                                                                              \
        .access_key_id = NULL, .secret_access_key = NULL, .session_token = NULL, .expiration = 0,  \
        .source = NULL                                                                             \
    }

/* Wipes and frees the strings; `c` becomes QR_AWS_CREDS_INIT. NULL-safe. */
void qr_aws_creds_clear(qr_aws_creds *c);
/* Deep copy into `dst` (cleared first). Errors: out-of-memory. */
int qr_aws_creds_copy(qr_aws_creds *dst, const qr_aws_creds *src, qr_error *err) QR_WUR;

/*
 * Everything the S3 client needs to know, resolved once from the
 * environment and the shared config/credentials files. Owns its strings.
 */
typedef struct qr_aws_config {
    char *profile;      /* AWS_PROFILE, "default" */
    char *region;       /* AWS_REGION > AWS_DEFAULT_REGION > profile region > "us-east-1" */
    char *endpoint_url; /* AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > profile s3.endpoint_url
                           > profile endpoint_url; NULL: AWS */
    bool path_style;    /* QUIRE_S3_PATH_STYLE > profile s3.addressing_style;
                           default: path-style with a custom endpoint, else virtual-hosted */
    uint64_t part_size; /* QUIRE_S3_PART_SIZE, 8 MiB (5 MiB .. 5 GiB) */
    uint64_t multipart_threshold; /* QUIRE_S3_MULTIPART_THRESHOLD, 16 MiB */
    char *cache_control;          /* QUIRE_S3_CACHE_CONTROL for immutable objects,
                                     "public, max-age=31536000, immutable" */
    char *config_file;            /* resolved AWS_CONFIG_FILE, ~/.aws/config (NULL without HOME) */
    char *credentials_file;       /* resolved AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials */
    /* Static credentials found in the environment and the files (secrets). */
    qr_aws_creds env_creds;
    qr_aws_creds file_creds;
    bool credential_process; /* the profile names a credential_process (not supported) */
    /* Container (ECS) and instance (IMDS) credential endpoints. */
    char *ecs_relative_uri;    /* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI */
    char *ecs_full_uri;        /* AWS_CONTAINER_CREDENTIALS_FULL_URI */
    char *ecs_auth_token;      /* AWS_CONTAINER_AUTHORIZATION_TOKEN (secret) */
    char *ecs_auth_token_file; /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE */
    char *ecs_host;            /* "http://169.254.170.2" (the relative URI's base) */
    char *imds_endpoint;       /* AWS_EC2_METADATA_SERVICE_ENDPOINT, "http://169.254.169.254" */
    /* Endpoints of the other services (the fleet): AWS_ENDPOINT_URL_<SERVICE> > AWS_ENDPOINT_URL;
       NULL: https://<service>.<region>.amazonaws.com. */
    char *endpoint_autoscaling; /* AWS_ENDPOINT_URL_AUTO_SCALING */
    char *endpoint_cloudwatch;  /* AWS_ENDPOINT_URL_CLOUDWATCH */
    char *endpoint_ssm;         /* AWS_ENDPOINT_URL_SSM */
    bool imds_disabled;         /* AWS_EC2_METADATA_DISABLED=true */
    bool region_set;            /* the region was configured (else the us-east-1 default) */
} qr_aws_config;

/*
 * Fills `out` from the variables `env` returns (HOME for "~") and the files
 * they name. Missing files are not errors; an unreadable one is (io). A
 * profile named by AWS_PROFILE that is in neither file is invalid-argument
 * unless it is "default". Bad numbers or QUIRE_S3_PATH_STYLE values:
 * invalid-argument. Free with qr_aws_config_free, also on failure.
 */
int qr_aws_config_load(qr_aws_config *out, qr_aws_env_fn env, void *ud, qr_error *err) QR_WUR;
void qr_aws_config_free(qr_aws_config *c);

/* ---- credential provider ---- */

typedef struct qr_aws_provider qr_aws_provider;

typedef struct qr_aws_provider_opts {
    int64_t refresh_window_s;          /* refresh when less than this remains; 0: 300 */
    double metadata_connect_timeout_s; /* ECS and IMDS; 0: 1 */
    double metadata_timeout_s;         /* one metadata request; 0: 3 */
    unsigned metadata_attempts;        /* 0: 2 */
} qr_aws_provider_opts;

#define QR_AWS_PROVIDER_OPTS_INIT                                                                  \
    {                                                                                              \
        .refresh_window_s = 0, .metadata_connect_timeout_s = 0, .metadata_timeout_s = 0,           \
        .metadata_attempts = 0                                                                     \
    }

/*
 * A credential provider over `cfg` (copied: the provider does not keep it).
 * The chain, first hit wins: environment, shared credentials file, config
 * file, ECS container endpoint (when its variables are set), EC2 instance
 * metadata (IMDSv2; unless disabled). Errors: out-of-memory.
 */
int qr_aws_provider_new(qr_aws_provider **out, const qr_aws_config *cfg,
                        const qr_aws_provider_opts *opts, qr_error *err) QR_WUR;
void qr_aws_provider_free(qr_aws_provider *p);

/*
 * Current credentials, copied into `out` (initialised: it is cleared first;
 * clear it with qr_aws_creds_clear).
 * Cached; resolved again when they expire within the refresh window. Not
 * thread-safe. Errors: credentials-missing (naming every source tried),
 * access-denied (a metadata service refused), remote-error (it answered
 * nonsense), timeout, out-of-memory.
 */
int qr_aws_provider_get(qr_aws_provider *p, qr_aws_creds *out, qr_error *err) QR_WUR;
/* How many times the chain has been resolved (for tests and debug logs). */
unsigned qr_aws_provider_resolutions(const qr_aws_provider *p);

/* ---- Signature Version 4 ---- */

#define QR_AWS_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define QR_AWS_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct qr_aws_sigv4_request {
    const char *method;            /* "GET", "PUT", ... */
    const char *url;               /* scheme://host[:port]/path?query, path and query already
                                      URI-encoded (qr_aws_uri_encode); S3: not normalised */
    const qr_http_header *headers; /* further headers to sign (Content-Type, ...) */
    size_t nheaders;
    const char *payload_hash; /* hex SHA-256 of the body, or QR_AWS_UNSIGNED_PAYLOAD */
    const char *region;
    const char *service; /* "s3" */
    time_t when;
} qr_aws_sigv4_request;

typedef struct qr_aws_sigv4 {
    char amz_date[17];       /* "20261126T123456Z" */
    char *authorization;     /* the Authorization header value */
    char *canonical_request; /* for tests and debugging (holds the session token) */
    char *string_to_sign;
} qr_aws_sigv4;

#define QR_AWS_SIGV4_INIT                                                                          \
    {                                                                                              \
        .amz_date = {0}, .authorization = NULL, .canonical_request = NULL, .string_to_sign = NULL  \
    }

/*
 * Signs `req` with `c`. The headers the request must carry are then Host
 * (as in the URL, without a default port), X-Amz-Date (out->amz_date),
 * X-Amz-Content-SHA256 (req->payload_hash), X-Amz-Security-Token (when
 * c->session_token) and Authorization (out->authorization), plus
 * req->headers. Errors: invalid-argument (URL), out-of-memory.
 */
int qr_aws_sigv4_sign(qr_aws_sigv4 *out, const qr_aws_sigv4_request *req, const qr_aws_creds *c,
                      qr_error *err) QR_WUR;
void qr_aws_sigv4_free(qr_aws_sigv4 *s);

/* Lowercase hex SHA-256 of `len` bytes (out: 65 bytes). */
void qr_aws_sha256_hex(char out[65], const void *data, size_t len);
/* SHA-256 of `len` bytes of `fd` from `off` (pread; bounded memory). Errors: io. */
int qr_aws_sha256_fd_hex(char out[65], int fd, uint64_t off, uint64_t len, qr_error *err) QR_WUR;

/*
 * URI-encodes `s` as S3 wants it (every byte except A-Z a-z 0-9 - _ . ~ is
 * %XX; '/' kept when `keep_slash`). malloc'd; NULL when out of memory.
 */
char *qr_aws_uri_encode(const char *s, bool keep_slash);

/* ---- AWS's query and JSON APIs (api.c): Auto Scaling, CloudWatch, SSM ---- */

typedef struct qr_aws_client qr_aws_client;

typedef enum qr_aws_service {
    QR_AWS_AUTOSCALING = 0, /* query API, version 2011-01-01, signing name "autoscaling" */
    QR_AWS_CLOUDWATCH,      /* query API, version 2010-08-01, signing name "monitoring" */
    QR_AWS_SSM              /* JSON API 1.1, target prefix "AmazonSSM", signing name "ssm" */
} qr_aws_service;

/*
 * A client for the services above, in `region` (NULL: cfg's), with the
 * credential chain of `cfg` (copied). Endpoints: cfg's per service, else
 * https://<service>.<region>.amazonaws.com. Errors: out-of-memory.
 */
int qr_aws_client_new(qr_aws_client **out, const qr_aws_config *cfg, const char *region,
                      qr_error *err) QR_WUR;
void qr_aws_client_free(qr_aws_client *c);
const char *qr_aws_client_region(const qr_aws_client *c);

/*
 * Calls `action` of a query API (Auto Scaling, CloudWatch): a signed form
 * POST of Action, Version and the `nparams` name/value pairs in `params`
 * (params[2i] = name, params[2i+1] = value; values encoded here). On
 * success *xml (malloc'd, NUL-terminated) holds the answer. Transport errors
 * and 5xx are retried by qr_http; Throttling answers are retried here with
 * backoff. Failures carry the API's error Code in the message and map to:
 * AccessDenied, UnauthorizedOperation, InvalidClientTokenId,
 * SignatureDoesNotMatch, ExpiredToken → access-denied; ValidationError and
 * other 4xx → invalid-argument; the rest → remote-error; plus
 * credentials-missing, timeout and fetch-failed from below.
 */
int qr_aws_query(char **xml, qr_aws_client *c, qr_aws_service svc, const char *action,
                 const char *const *params, size_t nparams, qr_error *err) QR_WUR;

/*
 * Calls `action` of a JSON API (SSM) with the JSON text `body` ("{}" when
 * NULL); *json (malloc'd) holds the answer. Errors as for qr_aws_query, the
 * error being the answer's __type (ParameterNotFound → source-not-found).
 */
int qr_aws_json_call(char **json, qr_aws_client *c, qr_aws_service svc, const char *action,
                     const char *body, qr_error *err) QR_WUR;

/*
 * The value of the SSM parameter `name`, decrypted (GetParameter with
 * WithDecryption), in libsodium guarded memory (*out, *len; free with
 * qr_aws_secret_free); never logged. Errors: source-not-found (no such
 * parameter, the name in the message), access-denied, and those of
 * qr_aws_json_call.
 */
int qr_aws_ssm_secret(char **out, size_t *len, qr_aws_client *c, const char *name,
                      qr_error *err) QR_WUR;
void qr_aws_secret_free(char *s, size_t len);

/*
 * Query-API answers (xml.c): the text of the first element named `name`
 * into out (cap bytes, truncated; "" when absent); true when found.
 */
bool qr_aws_xml_text(char *out, size_t cap, const char *xml, size_t len, const char *name);
/* How many elements named `name` (whose text is `text`, when not NULL); -1: not XML. */
long qr_aws_xml_count(const char *xml, size_t len, const char *name, const char *text);

/* ---- instance metadata (imds.c) ---- */

/*
 * GETs /latest/<path> from the instance metadata service of `cfg` with an
 * IMDSv2 session token, within `timeout_s` per request (one attempt: off EC2
 * nothing answers and callers must learn that quickly). *out (malloc'd) is
 * the body; *status the HTTP status (404: the path does not exist here).
 * Errors: timeout, fetch-failed (nothing answers: not on EC2),
 * access-denied (a token was refused), invalid-argument (metadata disabled
 * by AWS_EC2_METADATA_DISABLED), out-of-memory.
 */
int qr_aws_imds_get(char **out, long *status, const qr_aws_config *cfg, const char *path,
                    double timeout_s, qr_error *err) QR_WUR;

/*
 * A plain value (printable, no spaces, shorter than `cap`) at /latest/<path>
 * into `out`. Errors: those of qr_aws_imds_get, remote-error (no such value,
 * or not a plain one).
 */
int qr_aws_imds_value(char *out, size_t cap, const qr_aws_config *cfg, const char *path,
                      double timeout_s, qr_error *err) QR_WUR;
/*
 * The region: AWS_REGION / AWS_DEFAULT_REGION / the config file when set,
 * else the instance's own (IMDS placement/region). Errors: invalid-argument
 * "no AWS region: set AWS_REGION (...)" saying why the metadata service did
 * not give one.
 */
int qr_aws_region(char *out, size_t cap, const qr_aws_config *cfg, double timeout_s,
                  qr_error *err) QR_WUR;

#endif
