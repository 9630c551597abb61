/*
 * HTTP(S) over libcurl, with the rules every remote call in quire follows:
 * retries with exponential backoff and full jitter on 5xx, 429, timeouts and
 * dropped connections (never on other 4xx), deadlines, a cap on the response
 * size, redirects followed by hand (each hop checked), and for URLs that come
 * from a job the SSRF guard (qr_net_policy), applied to the address actually
 * connected to. docs/internals/net.md explains the code;
 * docs/operations/network.md the options.
 *
 * Secrets never reach logs or errors: URLs are reported without their query
 * string and userinfo, and request headers are never logged.
 *
 * Process-wide: qr_http_global_init once before any thread starts (the binary
 * calls it in main); it is curl_global_init.
 */
#ifndef QR_HTTP_H
#define QR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/error.h"

/*
 * curl_global_init(CURL_GLOBAL_DEFAULT), and sodium_init for the backoff
 * jitter (idempotent). Errors: internal. All errors of this module carry
 * stage "net".
 */
int qr_http_global_init(qr_error *err) QR_WUR;
void qr_http_global_cleanup(void);

/*
 * Makes sure libcurl is there. The `quire` binary does not link libcurl: it
 * loads it on the first request (docs/internals/dlmod.md), and this loads
 * it now. Every request calls it first; the worker and serve commands call
 * it at start, before they fork or start threads. Where libcurl is linked
 * (the library tests use) it does nothing. Errors: internal, with the
 * loader's reason ("cannot load libcurl.so.4 (FILE): ...").
 */
int qr_http_ready(qr_error *err) QR_WUR;

/*
 * Which destinations an untrusted URL (a job's source or callback) may reach.
 * By default only https to public unicast addresses: loopback, link-local
 * (169.254.0.0/16, so the instance-metadata service, and fe80::/10),
 * private (10/8, 172.16/12, 192.168/16, fc00::/7), CGNAT (100.64/10),
 * unspecified, multicast, broadcast, reserved and documentation ranges, and
 * IPv4-mapped/NAT64 forms of them, are refused with `source-forbidden`.
 */
typedef struct qr_net_policy {
    bool allow_http;          /* also plain http:// */
    const char *const *allow; /* CIDRs ("127.0.0.1/32", "10.0.0.0/8", "::1/128") that are */
    size_t nallow;            /*   allowed even though not public */
} qr_net_policy;

#define QR_NET_POLICY_INIT                                                                         \
    {                                                                                              \
        .allow_http = false, .allow = NULL, .nallow = 0                                            \
    }

/*
 * Parses a comma- or space-separated CIDR list (the QUIRE_NET_ALLOW form)
 * into *out (malloc'd array of malloc'd strings, *n entries; free with
 * qr_net_allow_free). An entry is "a.b.c.d/n" (n 0..32), "v6/n" (n 0..128)
 * or a bare address (= /32 or /128); host bits past the prefix must be clear
 * ("10.0.0.1/8" is refused). NULL or an empty list: *out NULL, *n 0. At
 * most 256 entries and 64 KiB of text. On failure *out is NULL and *n 0.
 * Errors: invalid-argument naming the bad entry (out-of-memory).
 */
int qr_net_allow_parse(char ***out, size_t *n, const char *list, qr_error *err) QR_WUR;
void qr_net_allow_free(char **v, size_t n);

/*
 * Whether the numeric address `ip` (IPv4 or IPv6 text, no brackets, no
 * zone) may be connected to under `policy`. Pure; exposed for tests and the
 * fuzzer. False for anything that is not a numeric address. `policy` NULL
 * (trusted): every valid address. An IPv4-mapped address (::ffff:a.b.c.d)
 * is judged, and matched against IPv4 allowlist entries, as its IPv4;
 * NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses take the class of
 * their embedded IPv4 but are not matched by IPv4 entries (they reach
 * another host). Malformed allowlist entries match nothing.
 */
bool qr_net_address_allowed(const qr_net_policy *policy, const char *ip);

typedef struct qr_http_opts {
    const qr_net_policy *policy; /* NULL: trusted destination (the operator's S3 endpoint) */
    double connect_timeout_s;    /* per attempt; 0: 10 */
    double timeout_s;            /* whole attempt; 0: 600 */
    double stall_s;              /* abort an attempt that moves no byte this long (whole
                                    seconds, rounded up); 0: 30 */
    unsigned max_attempts;       /* including the first, per redirect hop; 0: 5 */
    double backoff_base_s;       /* first retry waits up to this (full jitter); 0: 0.5 */
    double backoff_max_s;        /* cap of one wait; 0: 20 */
    unsigned max_redirects;      /* GET/HEAD only (301 302 303 307 308, same method);
                                    0: redirects are returned, not followed */
    uint64_t max_body_bytes;     /* response body cap (input-too-large); 0: none */
    const char *ca_file;         /* NULL: the system store */
    const char *user_agent;      /* NULL: "quire/<version>" */
} qr_http_opts;

#define QR_HTTP_OPTS_INIT                                                                          \
    {                                                                                              \
        .policy = NULL, .connect_timeout_s = 0, .timeout_s = 0, .stall_s = 0, .max_attempts = 0,   \
        .backoff_base_s = 0, .backoff_max_s = 0, .max_redirects = 0, .max_body_bytes = 0,          \
        .ca_file = NULL, .user_agent = NULL                                                        \
    }

/* A request header. No CR or LF in either part (invalid-argument); values are never logged. */
typedef struct qr_http_header {
    const char *name;
    const char *value;
} qr_http_header;

/*
 * A request. The body is either in memory (`body`, `body_len`) or a byte
 * range of an open file (`body_fd` >= 0, from `body_off`, `body_len` bytes,
 * read with pread so every retry resends it from the start without holding
 * it in memory; a file shorter than the range fails with `io`). `body_fd`
 * -1 and `body` NULL: no body. `method` is upper-case letters only.
 * On a redirect to another origin (scheme, host or port), Authorization,
 * Cookie and Proxy-Authorization headers are not sent again.
 */
typedef struct qr_http_request {
    const char *method; /* "GET", "HEAD", "PUT", "POST", "DELETE" */
    const char *url;
    const qr_http_header *headers;
    size_t nheaders;
    const void *body;
    int body_fd;
    uint64_t body_off;
    uint64_t body_len;
} qr_http_request;

#define QR_HTTP_REQUEST_INIT                                                                       \
    {                                                                                              \
        .method = NULL, .url = NULL, .headers = NULL, .nheaders = 0, .body = NULL, .body_fd = -1,  \
        .body_off = 0, .body_len = 0                                                               \
    }

/*
 * The response. Set at most one sink before the call: `body` (appended,
 * bounded by body->max and opts->max_body_bytes; every attempt and hop
 * restarts from the length it had at the call) or `body_fd` >= 0 (written
 * from offset 0; truncated before every attempt). Neither: the body is read
 * and dropped (bounded all the same). The sink holds the body of the last
 * response received, whatever its status. What a previous call left in
 * final_url/headers is freed first. On failure status, attempts,
 * final_url and headers still describe the last attempt.
 */
typedef struct qr_http_response {
    long status; /* the final HTTP status; 0 when none was received */
    qr_buf *body;
    int body_fd;
    uint64_t body_bytes; /* bytes of the final body */
    unsigned attempts;   /* requests sent, every retry and redirect hop counted */
    char *final_url;     /* after redirects, redacted (malloc'd) */
    char **headers;      /* "name: value" of the final response (malloc'd; at most 256) */
    size_t nheaders;
} qr_http_response;

#define QR_HTTP_RESPONSE_INIT                                                                      \
    {                                                                                              \
        .status = 0, .body = NULL, .body_fd = -1, .body_bytes = 0, .attempts = 0,                  \
        .final_url = NULL, .headers = NULL, .nheaders = 0                                          \
    }

/* Frees what the call allocated in `r` (not the sinks). NULL-safe. */
void qr_http_response_free(qr_http_response *r);
/* Value of a response header, case-insensitive, without surrounding blanks; NULL if absent. */
const char *qr_http_response_header(const qr_http_response *r, const char *name);

/*
 * Performs `req`, retrying as described above: an attempt is retried after
 * HTTP 5xx or 429, a timeout or stall, a refused connection, or a dropped
 * one (reset, nothing received, short body, send/receive error); never
 * after another 4xx, DNS or TLS failures, or a refusal by the guard. The
 * wait before retry n is uniform in [0, min(backoff_max_s,
 * backoff_base_s * 2^(n-1))], or Retry-After (seconds or HTTP date) capped
 * by backoff_max_s. `opts` NULL: every default, trusted destination.
 * Returns 0 when a final
 * response arrived whose status is not retryable (2xx, 3xx, 4xx other than
 * 429): the caller interprets resp->status. Errors:
 *   source-forbidden   (policy set) scheme not allowed, userinfo in the URL,
 *                      or an address refused by the policy (checked on every
 *                      connection, redirects included; the message names the
 *                      host, the address and its class);
 *   too-many-redirects more hops than opts->max_redirects;
 *   input-too-large    the body exceeds the cap, or its Content-Length
 *                      announces it will (no retry);
 *   timeout            the last attempt hit a deadline or stalled;
 *   fetch-failed       DNS, connection or TLS failure, dropped connection,
 *                      or 5xx/429 on the last attempt (resp->status set);
 *   invalid-argument   malformed URL or request; io (a file sink or body
 *                      failed); out-of-memory.
 * err->msg names the method, the redacted URL, the status and attempts.
 */
int qr_http_perform(const qr_http_opts *opts, const qr_http_request *req, qr_http_response *resp,
                    qr_error *err) QR_WUR;

/*
 * GETs `url` into the file at `path` (created 0600, replaced atomically on
 * success), following up to opts->max_redirects redirects. The download
 * goes to a temporary ".<name>.XXXXXX" next to `path`, is fsynced and
 * renamed; on any failure it is removed and `path` is untouched.
 * *bytes_out (may be NULL) is the size written, 0 on failure. A non-2xx final
 * status fails: 404/410 source-not-found, 401/403 access-denied, other
 * remote-error. Errors: those of qr_http_perform, write-failed.
 */
int qr_http_fetch_file(const qr_http_opts *opts, const char *url, const char *path,
                       uint64_t *bytes_out, qr_error *err) QR_WUR;

/*
 * `url` without userinfo, query and fragment, for messages (malloc'd; NULL
 * on ENOMEM). Control bytes are percent-encoded. NULL is taken as "".
 */
char *qr_http_redact_url(const char *url);

/* The version of the libcurl loaded at run time ("7.88.1"). */
const char *qr_http_library_version(void);

#endif
