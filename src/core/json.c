/* The one sanitising JSON-string constructor (qr/json.h). */
#include "qr/json.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at `p`, or 0 if it is not one (RFC 3629 table). */
static size_t utf8_seq(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

json_t *qr_json_string(const char *s)
{
    if (!s)
        return NULL;
    json_t *j = json_string(s);
    if (j)
        return j;
    /* Not valid UTF-8 (or out of memory): replace each bad byte and try once more. */
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        size_t k = utf8_seq(p);
        if (k == 0) {
            copy[o++] = '?';
            p++;
            continue;
        }
        memcpy(copy + o, p, k);
        o += k;
        p += k;
    }
    copy[o] = '\0';
    j = json_string(copy);
    free(copy);
    return j;
}

json_t *qr_json_string_or_null(const char *s)
{
    return s ? qr_json_string(s) : json_null();
}

const char *qr_json_library_version(void)
{
    return jansson_version_str();
}
