/*
 * href resolution: URL-ish hrefs from the OPF, nav, NCX and encryption.xml
 * to container paths. Lenient about encoding and separators, strict about
 * escaping the container (absolute paths, drive letters, '..' above root).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/epub_internal.h"

char *qr_epub__dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * Collapses '.', '..' and empty segments of `s` in place. Returns false when
 * '..' climbs above the root. Sets QR_HREF_DOTSEG when anything changed.
 */
static bool collapse(char *s, unsigned *flags)
{
    size_t n = strlen(s);
    size_t w = 0; /* write position; s[0..w) is the normalised prefix */
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != '/')
            j++;
        size_t seglen = j - i;
        const char *seg = s + i;
        bool last = j >= n;
        if (seglen == 0 && !last) {
            *flags |= QR_HREF_DOTSEG;
        } else if (seglen == 1 && seg[0] == '.') {
            *flags |= QR_HREF_DOTSEG;
        } else if (seglen == 2 && seg[0] == '.' && seg[1] == '.') {
            *flags |= QR_HREF_DOTSEG;
            if (w == 0)
                return false;
            /* drop the last written segment (and its '/') */
            size_t k = w - 1; /* s[w-1] is '/' after a segment */
            while (k > 0 && s[k - 1] != '/')
                k--;
            w = k;
        } else if (seglen > 0) {
            memmove(s + w, seg, seglen);
            w += seglen;
            if (!last)
                s[w++] = '/';
        }
        i = j + 1;
    }
    /* A trailing '/' left behind by a final '.'/'..' or "a/": drop it. */
    while (w > 0 && s[w - 1] == '/')
        w--;
    s[w] = 0;
    return true;
}

/* Length of a URL scheme at the start of s ("http" in "http://"), 0 if none. */
static size_t scheme_len(const char *s)
{
    if (!isalpha((unsigned char)s[0]))
        return 0;
    size_t i = 1;
    while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    return s[i] == ':' ? i : 0;
}

static int unsafe(qr_error *err, const char *what, const char *href)
{
    int rc = qr_error_set(err, QR_ERR_UNSAFE_PATH, QR_EPUB_STAGE, "%s: %s", what, href);
    qr_error_set_context(err, "%s", href);
    return rc;
}

int qr_epub__href_resolve(char **path, char **frag, unsigned *flags, const char *base,
                          const char *href, bool decode, qr_error *err)
{
    char *buf = NULL, *f = NULL;
    int rc = 0;
    *path = NULL;
    if (frag)
        *frag = NULL;
    *flags = 0;

    while (*href && isspace((unsigned char)*href))
        href++;
    size_t hlen = strlen(href);
    while (hlen && isspace((unsigned char)href[hlen - 1]))
        hlen--;
    const char *hash = memchr(href, '#', hlen);
    size_t plen = hash ? (size_t)(hash - href) : hlen;
    if (hash) {
        *flags |= QR_HREF_FRAGMENT;
        if (frag) {
            size_t fl = hlen - plen - 1;
            f = malloc(fl + 1);
            if (!f)
                goto nomem;
            memcpy(f, hash + 1, fl);
            f[fl] = 0;
        }
    }
    const char *q = memchr(href, '?', plen);
    if (q)
        plen = (size_t)(q - href);

    size_t sl = scheme_len(href);
    if (sl == 1 && sl < plen) {
        rc = unsafe(err, "path with a drive letter", href);
        goto out;
    }
    if (sl > 1 && sl < plen) {
        *flags |= QR_HREF_REMOTE;
        goto done;
    }

    size_t blen = 0;
    if (plen == 0) {
        /* "#frag" alone: the referencing document itself. */
        buf = strdup(base);
        if (!buf)
            goto nomem;
        goto done_path;
    }
    const char *slash = strrchr(base, '/');
    blen = slash ? (size_t)(slash - base) + 1 : 0;
    buf = malloc(blen + plen + 1);
    if (!buf)
        goto nomem;
    memcpy(buf, base, blen);
    size_t w = blen;
    for (size_t i = 0; i < plen; i++) {
        char c = href[i];
        if (c == '\\') {
            *flags |= QR_HREF_BACKSLASH;
            c = '/';
        } else if (c == '%' && decode && i + 2 < plen && hexval(href[i + 1]) >= 0 &&
                   hexval(href[i + 2]) >= 0) {
            int v = hexval(href[i + 1]) * 16 + hexval(href[i + 2]);
            if (v == 0) {
                rc = unsafe(err, "href with an encoded NUL byte", href);
                goto out;
            }
            *flags |= QR_HREF_PERCENT;
            c = (char)v;
            if (c == '\\') {
                *flags |= QR_HREF_BACKSLASH;
                c = '/';
            }
            i += 2;
        }
        if (w == blen && c == '/') {
            rc = unsafe(err, "absolute path", href);
            goto out;
        }
        buf[w++] = c;
    }
    buf[w] = 0;
    if (!collapse(buf, flags)) {
        rc = unsafe(err, "path climbs above the container root", href);
        goto out;
    }
done_path:
    *path = buf;
    buf = NULL;
done:
    if (frag) {
        *frag = f;
        f = NULL;
    }
    goto out;
nomem:
    rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot resolve an href");
out:
    free(buf);
    free(f);
    return rc;
}

int qr_epub__name_normalise(char **path, unsigned *flags, const char *name, qr_error *err)
{
    *path = NULL;
    *flags = 0;
    size_t n = strlen(name);
    if (n == 0)
        return unsafe(err, "empty entry name", name);
    if (name[0] == '/' || name[0] == '\\')
        return unsafe(err, "absolute entry name", name);
    if (isalpha((unsigned char)name[0]) && name[1] == ':')
        return unsafe(err, "entry name with a drive letter", name);
    char *s = strdup(name);
    if (!s)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot copy a name");
    for (char *p = s; *p; p++) {
        if (*p == '\\') {
            *p = '/';
            *flags |= QR_HREF_BACKSLASH;
        }
    }
    if (!collapse(s, flags)) {
        free(s);
        return unsafe(err, "entry name climbs above the root", name);
    }
    *path = s;
    return 0;
}

int qr_epub__href_find(const char **path, const char **frag, int *entry, qr_epub *e,
                       const char *base, const char *href, const char *context, qr_error *err)
{
    char *p = NULL, *f = NULL, *raw = NULL;
    unsigned flags = 0, rflags = 0;
    int rc;
    *path = NULL;
    if (frag)
        *frag = NULL;
    *entry = -1;
    rc = qr_epub__href_resolve(&p, &f, &flags, base, href, true, err);
    if (rc < 0)
        goto out;
    if (frag && f && !(*frag = qr_epub__take(e, f))) {
        f = NULL;
        goto nomem;
    }
    f = NULL;
    if (!p)
        goto out; /* remote */
    unsigned how = 0;
    int i = qr_epub__lookup_how(e, p, &how);
    if (i < 0 && (flags & QR_HREF_PERCENT)) {
        /* The publisher zipped the escaped name literally ("a%20b.xhtml"). */
        rc = qr_epub__href_resolve(&raw, NULL, &rflags, base, href, false, err);
        if (rc < 0)
            goto out;
        unsigned rhow = 0;
        int j = raw ? qr_epub__lookup_how(e, raw, &rhow) : -1;
        if (j >= 0) {
            i = j;
            how = rhow;
            qr_warn(e->warnings, "href-percent-encoded", QR_EPUB_STAGE, context,
                    "href %s matches the entry only without percent-decoding", href);
        }
    }
    {
        char ref[300];
        snprintf(ref, sizeof(ref), "href %s", href);
        qr_epub__warn_match(e, i, how, ref, context);
    }
    if (flags & QR_HREF_BACKSLASH)
        qr_warn(e->warnings, "href-backslash", QR_EPUB_STAGE, context,
                "href %s uses '\\' separators", href);
    if (i >= 0) {
        *path = e->entries[i].path;
        *entry = i;
    } else {
        *path = qr_epub__take(e, p);
        p = NULL;
        if (!*path)
            goto nomem;
    }
    goto out;
nomem:
    rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot resolve an href");
out:
    free(p);
    free(f);
    free(raw);
    return rc;
}
