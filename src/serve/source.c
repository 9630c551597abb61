/*
 * qr_serve_check_source: a job's source checked when it is submitted, by
 * the rules the worker's download applies (qr/http.h: the scheme, no
 * userinfo, and every address the host resolves to allowed by the SSRF
 * policy), so a request the worker would refuse is refused at once. The
 * worker checks again when it connects: DNS may answer differently later.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "serve_int.h"

#define STAGE QR_SERVE_STAGE

int qr_serve_check_source(const char *url, const qr_net_policy *policy, qr_error *err)
{
    char host[256];
    const char *auth;
    if (!url || strlen(url) > 4096)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "source must be a URL");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                                "source has a space or a control byte");
    if (strncmp(url, "s3://", 5) == 0) {
        const char *slash = strchr(url + 5, '/');
        if (!slash || slash == url + 5 || !slash[1])
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                                "an s3:// source is s3://bucket/key");
        return 0;
    }
    if (strncmp(url, "https://", 8) == 0)
        auth = url + 8;
    else if (strncmp(url, "http://", 7) == 0 && policy && policy->allow_http)
        auth = url + 7;
    else if (strncmp(url, "http://", 7) == 0)
        return qr_error_set(err, QR_ERR_SOURCE_FORBIDDEN, STAGE,
                            "plain http:// sources are not allowed (QUIRE_NET_ALLOW_HTTP)");
    else if (strstr(url, "://"))
        return qr_error_set(err, QR_ERR_SOURCE_FORBIDDEN, STAGE,
                            "source scheme is not s3:// or https://");
    else
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE,
                            "source must be an s3:// or https:// URL");
    size_t alen = strcspn(auth, "/?#");
    if (memchr(auth, '@', alen))
        return qr_error_set(err, QR_ERR_SOURCE_FORBIDDEN, STAGE, "source URL carries userinfo");
    const char *hs = auth, *he;
    if (*hs == '[') {
        he = memchr(hs, ']', alen);
        if (!he)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "source host is malformed");
        hs++;
    } else {
        he = hs;
        while (he < auth + alen && *he != ':')
            he++;
    }
    if (he == hs || (size_t)(he - hs) >= sizeof(host))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "source has no host");
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    struct addrinfo hints, *res = NULL, *ai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, NULL, &hints, &res);
    if (g != 0)
        return qr_error_set(err, QR_ERR_FETCH_FAILED, STAGE, "source host does not resolve: %s",
                            gai_strerror(g));
    int rc = 0;
    for (ai = res; ai && rc == 0; ai = ai->ai_next) {
        char ip[INET6_ADDRSTRLEN] = "";
        if (ai->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, ip,
                      sizeof(ip));
        else if (ai->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, ip,
                      sizeof(ip));
        else
            continue;
        /* Without a policy the worker uses the default one: public addresses only. */
        qr_net_policy def = QR_NET_POLICY_INIT;
        if (!qr_net_address_allowed(policy ? policy : &def, ip))
            rc = qr_error_set(err, QR_ERR_SOURCE_FORBIDDEN, STAGE,
                              "source host %.100s resolves to %s, which the network guard refuses",
                              host, ip);
    }
    freeaddrinfo(res);
    return rc;
}
