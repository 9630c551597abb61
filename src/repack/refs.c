/*
 * References to renamed entries (the -jpeg profiles, docs/profiles.md):
 * found and rewritten at the byte level, so a document keeps every byte
 * that is not part of a rewritten reference (docs/internals/repack.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qr/repack.h"

typedef struct edit {
    size_t pos, len;
    const char *text;
    size_t text_len;
} edit;

static bool is_delim(uint8_t c)
{
    return c == '"' || c == '\'' || c == '(' || c == ')' || c == ' ' || c == '\t' || c == '\n' ||
           c == '\r' || c == '\f' || c == ',' || c == '<' || c == '>' || c == '=';
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Resolves the reference `ref` (`n` bytes, no fragment) against the folder
 * of `doc_path` into `out` (percent-decoded, dot segments removed). False if
 * it is not a relative path into the archive (a scheme, a network path,
 * escaping the root, bad percent-encoding) or does not fit.
 */
static bool resolve(char *out, size_t cap, const char *doc_path, const uint8_t *ref, size_t n)
{
    char dec[1024];
    size_t dn = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = ref[i];
        if (c == ':' || c == '\\' || c == 0)
            return false; /* a scheme (http:, data:, ...) or not a path */
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int h = hexval(ref[i + 1]), l = hexval(ref[i + 2]);
            if (h < 0 || l < 0)
                return false;
            c = (uint8_t)(h * 16 + l);
            if (c == 0)
                return false;
            i += 2;
        }
        if (dn + 1 >= sizeof(dec))
            return false;
        dec[dn++] = (char)c;
    }
    dec[dn] = 0;
    if (dn >= 2 && dec[0] == '/' && dec[1] == '/')
        return false;
    /* Base: the document's folder, unless the reference is rooted. */
    char buf[2048];
    size_t bl = 0;
    if (dec[0] != '/') {
        const char *slash = strrchr(doc_path, '/');
        bl = slash ? (size_t)(slash - doc_path) + 1 : 0;
        if (bl >= sizeof(buf))
            return false;
        memcpy(buf, doc_path, bl);
    }
    if (bl + dn + 1 > sizeof(buf))
        return false;
    memcpy(buf + bl, dec[0] == '/' ? dec + 1 : dec, dec[0] == '/' ? dn : dn + 1);
    /* Remove dot segments into `out`. */
    size_t on = 0;
    const char *p = buf;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t sl = e ? (size_t)(e - p) : strlen(p);
        if (sl == 0 || (sl == 1 && p[0] == '.')) {
            /* skip */
        } else if (sl == 2 && p[0] == '.' && p[1] == '.') {
            if (on == 0)
                return false;
            on--;
            while (on > 0 && out[on - 1] != '/')
                on--;
        } else {
            if (on + sl + 2 > cap)
                return false;
            memcpy(out + on, p, sl);
            on += sl;
            if (e)
                out[on++] = '/';
        }
        if (!e)
            break;
        p = e + 1;
    }
    out[on] = 0;
    return on > 0;
}

static int cmp_edit(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* In the OPF: the media-type of the element around `at`, if image/png, becomes image/jpeg. */
static bool media_type_edit(edit *ed, const uint8_t *in, size_t len, size_t at)
{
    size_t s = at, e = at;
    while (s > 0 && in[s] != '<' && in[s] != '>')
        s--;
    while (e < len && in[e] != '>' && in[e] != '<')
        e++;
    if (in[s] != '<')
        return false;
    static const char key[] = "media-type";
    for (size_t i = s; i + sizeof(key) - 1 < e; i++) {
        if (memcmp(in + i, key, sizeof(key) - 1) != 0 || (i > s && !is_delim(in[i - 1])))
            continue;
        size_t j = i + sizeof(key) - 1;
        while (j < e && (in[j] == ' ' || in[j] == '\t' || in[j] == '\n' || in[j] == '\r'))
            j++;
        if (j >= e || in[j] != '=')
            continue;
        j++;
        while (j < e && (in[j] == ' ' || in[j] == '\t' || in[j] == '\n' || in[j] == '\r'))
            j++;
        if (j >= e || (in[j] != '"' && in[j] != '\''))
            continue;
        j++;
        if (j + 9 <= e && strncasecmp((const char *)in + j, "image/png", 9) == 0 &&
            (in[j + 9] == '"' || in[j + 9] == '\'')) {
            ed->pos = j;
            ed->len = 9;
            ed->text = "image/jpeg";
            ed->text_len = 10;
            return true;
        }
    }
    return false;
}

int qr_repack_rewrite_refs(qr_buf *out, size_t *nrefs, const char *doc_path, bool is_opf,
                           const uint8_t *in, size_t len, const qr_repack_rename *ren, size_t nren,
                           qr_error *err)
{
    edit *eds = NULL;
    size_t ned = 0, cap = 0;
    int rc = 0;
    char resolved[2048];

    *nrefs = 0;
    qr_buf_reset(out);
    if (!in || nren == 0)
        return 0;
    for (size_t i = 0; i + 4 <= len; i++) {
        if (in[i] != '.' || strncasecmp((const char *)in + i + 1, "png", 3) != 0)
            continue;
        size_t end = i + 4; /* one past ".png" */
        if (end < len && !is_delim(in[end]) && in[end] != '#' && in[end] != '?')
            continue;
        size_t start = i;
        while (start > 0 && !is_delim(in[start - 1]) && i - start < 1000)
            start--;
        if (start > 0 && !is_delim(in[start - 1]))
            continue;
        if (!resolve(resolved, sizeof(resolved), doc_path, in + start, end - start))
            continue;
        const qr_repack_rename *hit = NULL;
        for (size_t r = 0; r < nren && !hit; r++)
            if (strcmp(ren[r].from, resolved) == 0)
                hit = &ren[r];
        if (!hit)
            continue;
        const char *dot = strrchr(hit->from, '.');
        size_t stem = dot ? (size_t)(dot - hit->from) : strlen(hit->from);
        if (strncmp(hit->to, hit->from, stem) != 0)
            continue; /* not a name qr_repack_jpeg_name made */
        if (ned + 2 > cap) {
            size_t nc = cap ? cap * 2 : 16;
            edit *ne = realloc(eds, nc * sizeof(*ne));
            if (!ne) {
                rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "repack", "out of memory");
                goto out;
            }
            eds = ne;
            cap = nc;
        }
        eds[ned].pos = i;
        eds[ned].len = 4;
        eds[ned].text = hit->to + stem;
        eds[ned].text_len = strlen(hit->to + stem);
        ned++;
        (*nrefs)++;
        if (is_opf && media_type_edit(&eds[ned], in, len, start))
            ned++;
        i = end - 1;
    }
    if (ned == 0)
        goto out;
    qsort(eds, ned, sizeof(*eds), cmp_edit);
    size_t at = 0;
    for (size_t k = 0; k < ned; k++) {
        if (eds[k].pos < at)
            continue; /* overlapping (cannot happen with distinct tokens); keep the first */
        if ((rc = qr_buf_append(out, in + at, eds[k].pos - at, err)) < 0 ||
            (rc = qr_buf_append(out, eds[k].text, eds[k].text_len, err)) < 0)
            goto out;
        at = eds[k].pos + eds[k].len;
    }
    rc = qr_buf_append(out, in + at, len - at, err);
out:
    if (rc < 0) {
        qr_buf_reset(out);
        *nrefs = 0;
    }
    free(eds);
    return rc;
}

int qr_repack_jpeg_name(char **out, const char *from, bool (*taken)(void *ud, const char *name),
                        void *ud, qr_error *err)
{
    *out = NULL;
    size_t n = from ? strlen(from) : 0;
    if (n < 5 || strcasecmp(from + n - 4, ".png") != 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "repack", "%s does not end in .png",
                            from ? from : "(null)");
    size_t cap = n + 16;
    char *name = malloc(cap);
    if (!name)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "repack", "out of memory");
    for (unsigned k = 1; k < 100000; k++) {
        if (k == 1)
            snprintf(name, cap, "%.*s.jpg", (int)(n - 4), from);
        else
            snprintf(name, cap, "%.*s-%u.jpg", (int)(n - 4), from, k);
        if (!taken || !taken(ud, name)) {
            *out = name;
            return 0;
        }
    }
    free(name);
    return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "repack", "no free name for %s", from);
}
