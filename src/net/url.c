/* URL redaction for messages (pure). */
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

/*
 * Keeps scheme, host, port and path; drops userinfo ("user:secret@"), the
 * query (presigned URLs carry signatures there) and the fragment. Control
 * bytes are percent-encoded so a message stays one line.
 */
char *qr_http_redact_url(const char *url)
{
    if (!url)
        url = "";
    size_t len = strcspn(url, "?#");
    const char *auth = url;
    const char *sep = strstr(url, "://");
    if (sep && (size_t)(sep - url) < len)
        auth = sep + 3;
    /* The authority ends at the first '/' (or where the query begins). */
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + auth_len; p++)
        if (*p == '@')
            at = p;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = url + i;
        if (at && p >= auth && p <= at)
            continue;
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789ABCDEF";
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
    return out;
}
