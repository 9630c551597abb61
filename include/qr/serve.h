/*
 * `quire serve`: the HTTP intake of the book-processing app (libmicrohttpd,
 * one internal polling thread, jansson). A web app POSTs a book (a source
 * URL, or the book itself streamed in the body) and gets a job id; it reads
 * the job's and the book's status back; it deletes a job still queued.
 * Every /v1 route is authenticated (bearer tokens, or HMAC-signed requests
 * in the callbacks' scheme). docs/operations/serve.md is the operator's and
 * the client's page, docs/api/openapi.yaml the contract, and
 * docs/internals/serve.md explains the code.
 *
 * The server owns one Redis context (qr/resque.h), used only from its
 * thread. libsodium must have been initialised (qr_crypt_global_init).
 */
#ifndef QR_SERVE_H
#define QR_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/error.h"
#include "qr/http.h"
#include "qr/remote.h"
#include "qr/resque.h"
#include "qr/store.h"

typedef struct qr_serve qr_serve;

typedef struct qr_serve_opts {
    const char *listen;          /* "A.B.C.D:PORT"; NULL: "127.0.0.1:9188" */
    qr_resque *redis;            /* borrowed; used only from the server's thread */
    const char *queue;           /* NULL: "books" */
    const char *job_class;       /* NULL: QR_PAYLOAD_DEFAULT_CLASS */
    const qr_net_policy *policy; /* the worker's SSRF guard for https:// sources */
    /* Uploads: written to `store` under `upload_prefix`; the job's source is
     * `upload_base` + key (a directory path with a trailing '/', or
     * "s3://bucket/prefix/"). store NULL: uploads are refused. */
    const qr_store *store;
    const char *upload_prefix; /* NULL: "uploads/" */
    const char *upload_base;
    const char *spool_dir; /* where an upload is written before the store; NULL: $TMPDIR or /tmp */
    /* Manifest URLs of published books: qr_remote_manifest_url(remote, store_spec, prefix). */
    const qr_remote *remote; /* NULL: no manifest_url */
    const char *store_spec;
    /* Authentication: at least one of them, or `open` (tests of a loopback-only setup). */
    const char *const *tokens; /* bearer tokens (each at least 16 bytes) */
    size_t ntokens;
    const char *hmac_secret; /* NULL: no signed requests */
    long hmac_tolerance_s;   /* 0: 300 */
    bool open;               /* no authentication at all */
    /* Limits. */
    size_t max_json_bytes;     /* 0: 64 KiB */
    uint64_t max_upload_bytes; /* 0: 512 MiB */
    size_t max_header_bytes;   /* 0: 8 KiB (all request headers together) */
    unsigned max_connections;  /* 0: 256 */
    double rate;               /* requests per second per client address; 0: 50; <0: none */
    long idempotency_ttl_s;    /* 0: 86400 */
    /* The dashboard under /ui: off unless set; when the listen address is not
     * loopback it needs a bearer token (or HTTP Basic with a token as password). */
    bool ui;
} qr_serve_opts;

#define QR_SERVE_OPTS_INIT                                                                         \
    {                                                                                              \
        .listen = NULL, .redis = NULL, .queue = NULL, .job_class = NULL, .policy = NULL,           \
        .store = NULL, .upload_prefix = NULL, .upload_base = NULL, .spool_dir = NULL,              \
        .remote = NULL, .store_spec = NULL, .tokens = NULL, .ntokens = 0, .hmac_secret = NULL,     \
        .hmac_tolerance_s = 0, .open = false, .max_json_bytes = 0, .max_upload_bytes = 0,          \
        .max_header_bytes = 0, .max_connections = 0, .rate = 0, .idempotency_ttl_s = 0,            \
        .ui = false                                                                                \
    }

/*
 * Starts serving (`opts` and what it points to are borrowed: they must
 * outlive the server). Errors: invalid-argument (bad address, no
 * authentication configured, a token shorter than 16 bytes), io (cannot
 * bind), out-of-memory.
 */
int qr_serve_start(qr_serve **out, const qr_serve_opts *opts, qr_error *err) QR_WUR;
/* Stops (no handler runs afterwards) and frees. NULL-safe. */
void qr_serve_stop(qr_serve *s);

/*
 * Whether `id` may be a book id: 1 to 128 bytes of [A-Za-z0-9._-], not
 * starting with '.' (no "..", no '/', so it is safe in store keys and paths).
 */
bool qr_serve_book_id_ok(const char *id);

/*
 * Checks a job source as the worker's guard will: s3://bucket/key, or
 * https:// (http:// when policy->allow_http) without userinfo whose host
 * resolves only to addresses the policy allows. Errors: invalid-argument
 * (not such a URL), source-forbidden (scheme, userinfo, or an address the
 * guard refuses), fetch-failed (the host does not resolve).
 */
int qr_serve_check_source(const char *url, const qr_net_policy *policy, qr_error *err) QR_WUR;

#endif
