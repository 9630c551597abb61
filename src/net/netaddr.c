/*
 * Address classification for the SSRF guard, and the CIDR allowlist.
 * Pure functions: no I/O, no allocation except in qr_net_allow_parse.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t nat64_prefix[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

bool qr_net__addr_parse(qr_net__addr *out, const char *ip)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (!ip)
        return false;
    if (inet_pton(AF_INET, ip, &v4) == 1) {
        memcpy(out->b, mapped_prefix, 12);
        memcpy(out->b + 12, &v4, 4);
        return true;
    }
    if (inet_pton(AF_INET6, ip, &v6) == 1) {
        memcpy(out->b, &v6, 16);
        return true;
    }
    return false;
}

bool qr_net__addr_from_sockaddr(qr_net__addr *out, const struct sockaddr *sa, size_t salen)
{
    if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        memcpy(out->b, mapped_prefix, 12);
        memcpy(out->b + 12, &s4->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->b, &s6->sin6_addr, 16);
        return true;
    }
    return false;
}

static bool is_v4(const qr_net__addr *a)
{
    return memcmp(a->b, mapped_prefix, 12) == 0;
}

void qr_net__addr_str(char *out, size_t outlen, const qr_net__addr *a)
{
    if (is_v4(a)) {
        snprintf(out, outlen, "%u.%u.%u.%u", a->b[12], a->b[13], a->b[14], a->b[15]);
        return;
    }
    if (!inet_ntop(AF_INET6, a->b, out, (socklen_t)outlen) && outlen)
        out[0] = 0;
}

static qr_net__class classify_v4(const uint8_t *p)
{
    uint8_t a = p[0], b = p[1], c = p[2];
    if (a == 255 && b == 255 && c == 255 && p[3] == 255)
        return QR_NET__BROADCAST;
    if (a == 0)
        return p[1] | p[2] | p[3] ? QR_NET__RESERVED : QR_NET__UNSPECIFIED; /* 0/8 "this network" */
    if (a == 10)
        return QR_NET__PRIVATE;
    if (a == 100 && (b & 0xc0) == 64)
        return QR_NET__SHARED;
    if (a == 127)
        return QR_NET__LOOPBACK;
    if (a == 169 && b == 254)
        return QR_NET__LINK_LOCAL;
    if (a == 172 && (b & 0xf0) == 16)
        return QR_NET__PRIVATE;
    if (a == 192 && b == 0 && c == 0)
        return QR_NET__RESERVED; /* IETF protocol assignments */
    if (a == 192 && b == 0 && c == 2)
        return QR_NET__DOCUMENTATION;
    if (a == 192 && b == 88 && c == 99)
        return QR_NET__RESERVED; /* 6to4 relay anycast */
    if (a == 192 && b == 168)
        return QR_NET__PRIVATE;
    if (a == 198 && (b & 0xfe) == 18)
        return QR_NET__RESERVED; /* benchmarking */
    if (a == 198 && b == 51 && c == 100)
        return QR_NET__DOCUMENTATION;
    if (a == 203 && b == 0 && c == 113)
        return QR_NET__DOCUMENTATION;
    if ((a & 0xf0) == 224)
        return QR_NET__MULTICAST;
    if ((a & 0xf0) == 240)
        return QR_NET__RESERVED;
    return QR_NET__PUBLIC;
}

qr_net__class qr_net__classify(const qr_net__addr *a)
{
    const uint8_t *b = a->b;
    static const uint8_t zero[16] = {0};
    if (is_v4(a))
        return classify_v4(b + 12);
    if (memcmp(b, nat64_prefix, 12) == 0)
        return classify_v4(b + 12);
    if (memcmp(b, zero, 16) == 0)
        return QR_NET__UNSPECIFIED;
    if (memcmp(b, zero, 15) == 0 && b[15] == 1)
        return QR_NET__LOOPBACK;
    if (b[0] == 0xff)
        return QR_NET__MULTICAST;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return QR_NET__LINK_LOCAL;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return QR_NET__PRIVATE; /* deprecated site-local */
    if ((b[0] & 0xfe) == 0xfc)
        return QR_NET__PRIVATE; /* unique local */
    /* Only 2000::/3 is global unicast; everything else left is reserved. */
    if ((b[0] & 0xe0) != 0x20)
        return QR_NET__RESERVED;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return QR_NET__DOCUMENTATION;
    if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0)
        return QR_NET__DOCUMENTATION; /* 3fff::/20 */
    if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0)
        return QR_NET__RESERVED; /* 2001::/23, Teredo included */
    if (b[0] == 0x20 && b[1] == 0x02)
        return classify_v4(b + 2); /* 6to4 carries its IPv4 */
    return QR_NET__PUBLIC;
}

const char *qr_net__class_str(qr_net__class c)
{
    switch (c) {
    case QR_NET__PUBLIC:
        return "public";
    case QR_NET__UNSPECIFIED:
        return "unspecified";
    case QR_NET__LOOPBACK:
        return "loopback";
    case QR_NET__PRIVATE:
        return "private";
    case QR_NET__LINK_LOCAL:
        return "link-local";
    case QR_NET__SHARED:
        return "shared (CGNAT)";
    case QR_NET__MULTICAST:
        return "multicast";
    case QR_NET__BROADCAST:
        return "broadcast";
    case QR_NET__DOCUMENTATION:
        return "documentation";
    case QR_NET__RESERVED:
        return "reserved";
    }
    return "reserved";
}

bool qr_net__cidr_parse(qr_net__cidr *out, const char *s, size_t len)
{
    char text[INET6_ADDRSTRLEN + 8];
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    if (alen == 0 || alen >= INET6_ADDRSTRLEN)
        return false;
    memcpy(text, s, alen);
    text[alen] = 0;
    bool v4 = strchr(text, ':') == NULL;
    if (!qr_net__addr_parse(&out->net, text))
        return false;
    unsigned bits = v4 ? 32 : 128;
    unsigned prefix = bits;
    if (slash) {
        const char *p = slash + 1, *end = s + len;
        if (p == end || end - p > 3)
            return false;
        prefix = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return false;
            prefix = prefix * 10 + (unsigned)(*p - '0');
        }
        if (prefix > bits)
            return false;
    }
    out->prefix = v4 ? prefix + 96 : prefix;
    /* Host bits set ("10.0.0.1/8") is refused: the operator meant something else. */
    for (unsigned i = out->prefix; i < 128; i++)
        if (out->net.b[i / 8] & (0x80u >> (i % 8)))
            return false;
    return true;
}

bool qr_net__cidr_contains(const qr_net__cidr *c, const qr_net__addr *a)
{
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->net.b, a->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (c->net.b[full] & mask) == (a->b[full] & mask);
}

bool qr_net__allowed(const qr_net_policy *policy, const qr_net__addr *a, qr_net__class *why)
{
    qr_net__class c = qr_net__classify(a);
    *why = c;
    if (c == QR_NET__PUBLIC)
        return true;
    for (size_t i = 0; policy->allow && i < policy->nallow; i++) {
        qr_net__cidr cidr;
        const char *e = policy->allow[i];
        if (e && qr_net__cidr_parse(&cidr, e, strlen(e)) && qr_net__cidr_contains(&cidr, a)) {
            *why = QR_NET__PUBLIC;
            return true;
        }
    }
    return false;
}

bool qr_net_address_allowed(const qr_net_policy *policy, const char *ip)
{
    qr_net__addr a;
    qr_net__class why;
    if (!qr_net__addr_parse(&a, ip))
        return false;
    if (!policy)
        return true;
    return qr_net__allowed(policy, &a, &why);
}

void qr_net_allow_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool is_sep(char c)
{
    return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int qr_net_allow_parse(char ***out, size_t *n, const char *list, qr_error *err)
{
    char **v = NULL;
    size_t count = 0;
    int rc = 0;
    *out = NULL;
    *n = 0;
    if (!list)
        return 0;
    if (strlen(list) > QR_NET__MAX_ALLOW_TEXT)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net",
                            "network allowlist is longer than %d bytes", QR_NET__MAX_ALLOW_TEXT);
    for (const char *p = list; *p;) {
        while (*p && is_sep(*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && !is_sep(*p))
            p++;
        size_t len = (size_t)(p - start);
        qr_net__cidr cidr;
        if (!qr_net__cidr_parse(&cidr, start, len)) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net",
                              "network allowlist entry '%.*s' is not an address or CIDR "
                              "(like 10.0.0.0/8 or fd00::/8, host bits clear)",
                              (int)(len > 64 ? 64 : len), start);
            goto out;
        }
        if (count == QR_NET__MAX_ALLOW) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "net",
                              "network allowlist has more than %d entries", QR_NET__MAX_ALLOW);
            goto out;
        }
        if (!v && !(v = calloc(QR_NET__MAX_ALLOW, sizeof(*v)))) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
            goto out;
        }
        if (!(v[count] = strndup(start, len))) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "net", "out of memory");
            goto out;
        }
        count++;
    }
    *out = v;
    *n = count;
    v = NULL;
    count = 0;
out:
    qr_net_allow_free(v, count);
    return rc;
}
