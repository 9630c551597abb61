/* Helpers shared by the files of src/net/ (addresses, URLs, the transfer). */
#ifndef QR_NET_INTERNAL_H
#define QR_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "qr/error.h"
#include "qr/http.h"

/* Most entries an allowlist may hold, and the longest list text accepted. */
#define QR_NET__MAX_ALLOW 256
#define QR_NET__MAX_ALLOW_TEXT 65536

/* What an address is, as far as the guard cares. */
typedef enum qr_net__class {
    QR_NET__PUBLIC = 0,
    QR_NET__UNSPECIFIED,
    QR_NET__LOOPBACK,
    QR_NET__PRIVATE,
    QR_NET__LINK_LOCAL,
    QR_NET__SHARED, /* CGNAT 100.64.0.0/10 */
    QR_NET__MULTICAST,
    QR_NET__BROADCAST,
    QR_NET__DOCUMENTATION,
    QR_NET__RESERVED
} qr_net__class;

/* An address as 16 bytes; IPv4 is stored as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
typedef struct qr_net__addr {
    uint8_t b[16];
} qr_net__addr;

typedef struct qr_net__cidr {
    qr_net__addr net;
    unsigned prefix; /* over the 128-bit form: an IPv4 /8 is stored as /104 */
} qr_net__cidr;

/* Parses a numeric IPv4 or IPv6 address (no brackets, no zone). */
bool qr_net__addr_parse(qr_net__addr *out, const char *ip);
/* From a connected-to socket address (AF_INET or AF_INET6); false for other families. */
bool qr_net__addr_from_sockaddr(qr_net__addr *out, const struct sockaddr *sa, size_t salen);
/* Text form ("10.0.0.1", "fe80::1"); IPv4-mapped addresses print as IPv4. */
void qr_net__addr_str(char *out, size_t outlen, const qr_net__addr *a);

/* Classifies an address; mapped, NAT64 and 6to4 forms take their IPv4's class. */
qr_net__class qr_net__classify(const qr_net__addr *a);
/* "private", "loopback", ... for messages. */
const char *qr_net__class_str(qr_net__class c);

/* Parses one allowlist entry ("10.0.0.0/8", "::1", "::1/128"); false if malformed. */
bool qr_net__cidr_parse(qr_net__cidr *out, const char *s, size_t len);
bool qr_net__cidr_contains(const qr_net__cidr *c, const qr_net__addr *a);

/*
 * The guard's decision for one address under `policy` (non-NULL). Sets
 * *why to the class that made it refuse (QR_NET__PUBLIC when allowed).
 * Malformed allowlist entries match nothing.
 */
bool qr_net__allowed(const qr_net_policy *policy, const qr_net__addr *a, qr_net__class *why);

/* ---- libcurl results (curl_error.c) ---- */

/* Whether a libcurl result is worth another attempt (timeouts, refused, reset, short bodies). */
bool qr_net__curl_transient(int /* CURLcode */ code);

/* What the transfer knew when libcurl's result stopped it. */
typedef struct qr_net__curl_failure {
    const char *what;   /* the request, redacted ("GET https://host/path") */
    const char *reason; /* what happened ("HTTP 503, then Timeout was reached") */
    unsigned attempt;   /* the attempt that failed */
    bool last;          /* a retryable failure with no attempt left (else: not retryable) */
    double timeout_s;   /* the per-attempt deadline and stall limit, for timeouts */
    double stall_s;
} qr_net__curl_failure;

/*
 * Sets `err` for a transfer that libcurl result `code` stopped: out-of-memory,
 * invalid-argument (malformed URL), source-forbidden (protocol not allowed),
 * timeout (a deadline passed on the last attempt), or fetch-failed; stage
 * "net", cause = the CURLcode. Returns the class code.
 */
int qr_error_from_curl(qr_error *err, int code, const qr_net__curl_failure *f);

#endif
