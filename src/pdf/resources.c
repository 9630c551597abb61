/*
 * Dropping the resources a page never uses, before the page is copied into
 * a slice (as qpdf --split-pages does with --remove-unreferenced-resources).
 *
 * Books often hang one /Resources dictionary, naming every image and font of
 * the document, on the page tree; every page inherits it, and qpdf_add_page
 * copies everything it names into every slice. Here the page gets its own
 * direct /Resources whose name sub-dictionaries keep only the names that its
 * content uses; the shared objects themselves are not touched.
 *
 * The rule is "never drop what might be used": the name scan takes every
 * `/` in the content as the start of a name, inside strings, comments and
 * inline-image data too, so it finds a superset of the name tokens (a
 * spurious name only keeps a resource). Streams that borrow the page's
 * resources because they have none of their own (Form XObjects the page
 * draws, Type 3 glyph procedures, annotation appearances) are scanned too.
 * Whatever cannot be read or exceeds a bound leaves the page unchanged; the
 * streams decoded for one page may store at most 2 MB (qpdf's decoding has
 * no output limit: this caps what a small, hostile file makes it inflate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdf/pdf_internal.h"

#define NAME_MAX_BYTES 512     /* longer resource names are always kept */
#define NAMES_MAX 200000       /* distinct names per page */
#define EXTRA_STREAMS_MAX 2000 /* borrowing streams scanned per page */
/* Stored bytes of the streams decoded for one page: decoding is not bounded by qpdf. */
#define STORED_BYTES_MAX (2LL * 1024 * 1024)
#define KEYS_MAX 100000 /* keys of one resource sub-dictionary */

/* The resource categories whose entries are looked up by name from content. */
static const char *const name_categories[] = {
    "/XObject", "/Font", "/ExtGState", "/Pattern", "/Shading", "/Properties", "/ColorSpace",
};

/* A set of names ("/Im1", #xx escapes decoded), open addressing. */
typedef struct name_set {
    char **slots;
    size_t cap; /* power of two */
    size_t len;
} name_set;

static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static void name_set_free(name_set *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    s->slots = NULL;
    s->cap = s->len = 0;
}

static bool name_set_has(const name_set *s, const char *name)
{
    if (!s->cap)
        return false;
    size_t len = strlen(name);
    size_t j = (size_t)name_hash(name, len) & (s->cap - 1);
    while (s->slots[j]) {
        if (strcmp(s->slots[j], name) == 0)
            return true;
        j = (j + 1) & (s->cap - 1);
    }
    return false;
}

/* 1 added, 0 present, QR_ENOMEM, QR_ELIMIT (too many names). */
static int name_set_add(name_set *s, const char *name, size_t len)
{
    if ((s->len + 1) * 2 > s->cap) {
        if (s->len >= NAMES_MAX)
            return QR_ELIMIT;
        size_t ncap = s->cap ? s->cap * 2 : 64;
        char **n = calloc(ncap, sizeof(*n));
        if (!n)
            return QR_ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t j = (size_t)name_hash(s->slots[i], strlen(s->slots[i])) & (ncap - 1);
            while (n[j])
                j = (j + 1) & (ncap - 1);
            n[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = n;
        s->cap = ncap;
    }
    size_t j = (size_t)name_hash(name, len) & (s->cap - 1);
    while (s->slots[j]) {
        if (strlen(s->slots[j]) == len && memcmp(s->slots[j], name, len) == 0)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    if (!(s->slots[j] = strndup(name, len)))
        return QR_ENOMEM;
    s->len++;
    return 1;
}

static bool is_pdf_space_or_delim(unsigned char c)
{
    switch (c) {
    case 0:
    case '\t':
    case '\n':
    case '\f':
    case '\r':
    case ' ':
    case '(':
    case ')':
    case '<':
    case '>':
    case '[':
    case ']':
    case '{':
    case '}':
    case '/':
    case '%':
        return true;
    default:
        return false;
    }
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int scan_names(name_set *s, const unsigned char *p, size_t len, bool *added)
{
    char name[NAME_MAX_BYTES + 2];
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '/')
            continue;
        size_t n = 0;
        name[n++] = '/';
        size_t j = i + 1;
        while (j < len && !is_pdf_space_or_delim(p[j])) {
            int c = p[j];
            int hi = j + 2 < len ? hex_value(p[j + 1]) : -1;
            int lo = hi >= 0 ? hex_value(p[j + 2]) : -1;
            if (c == '#' && hi >= 0 && lo >= 0) {
                c = hi * 16 + lo;
                j += 3;
            } else {
                j++;
            }
            /* A NUL cannot be matched against qpdf's C-string keys. */
            if (c == 0)
                return QR_ELIMIT;
            if (n <= NAME_MAX_BYTES)
                name[n] = (char)c;
            n++;
        }
        i = j - 1;
        /* Longer tokens (inline-image bytes, mostly) are not kept; long keys always are. */
        if (n > NAME_MAX_BYTES)
            continue;
        name[n] = '\0';
        int rc = name_set_add(s, name, n);
        if (rc < 0)
            return rc;
        if (rc > 0 && added)
            *added = true;
    }
    return 0;
}

/* The scanning state of one page. */
typedef struct pruner {
    qpdf_data q;
    name_set used;
    name_set scanned; /* "/XObject/Fm1", "/Font/T3": borrowing objects already scanned */
    size_t extra;     /* borrowing streams scanned */
    long long budget; /* stored bytes that may still be decoded */
    bool added;       /* a scan found a new name */
} pruner;

/* The stored /Length of a stream, or STORED_BYTES_MAX + 1 when it has none. */
static long long stored_length(qpdf_data q, qpdf_oh stream)
{
    qpdf_oh d = qpdf_oh_get_dict(q, stream);
    qpdf_oh l = qpdf_oh_get_key(q, d, "/Length");
    long long len = qr_pdf__int(q, l, STORED_BYTES_MAX + 1);
    qpdf_oh_release(q, l);
    qpdf_oh_release(q, d);
    return len < 0 ? STORED_BYTES_MAX + 1 : len;
}

/* Charges `stream`'s stored size to the page's budget; false when over it. */
static bool charge(long long *budget, qpdf_data q, qpdf_oh stream)
{
    *budget -= stored_length(q, stream);
    return *budget >= 0;
}

/* Adds the names of a stream's decoded data. Negative when it cannot be read. */
static int scan_stream(pruner *pr, qpdf_oh stream)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    QPDF_BOOL filtered = QPDF_FALSE;
    if (++pr->extra > EXTRA_STREAMS_MAX || !charge(&pr->budget, pr->q, stream))
        return QR_ELIMIT;
    QPDF_ERROR_CODE st =
        qpdf_oh_get_stream_data(pr->q, stream, qpdf_dl_specialized, &filtered, &buf, &len);
    if ((st & QPDF_ERRORS) || qr_pdf__failed(pr->q) || !filtered) {
        free(buf);
        return QR_EFORMAT;
    }
    int rc = scan_names(&pr->used, buf, len, &pr->added);
    free(buf);
    return rc;
}

/* True when `oh` has no /Resources dictionary of its own (it borrows the page's). */
static bool borrows_resources(qpdf_data q, qpdf_oh dict)
{
    qpdf_oh r = qpdf_oh_get_key(q, dict, "/Resources");
    bool own = qpdf_oh_is_dictionary(q, r);
    qpdf_oh_release(q, r);
    return !own;
}

/* Scans a form stream if it has no resources of its own. */
static int scan_if_borrowing(pruner *pr, qpdf_oh oh)
{
    int rc = 0;
    if (!qpdf_oh_is_stream(pr->q, oh))
        return 0;
    qpdf_oh d = qpdf_oh_get_dict(pr->q, oh);
    if (borrows_resources(pr->q, d))
        rc = scan_stream(pr, oh);
    qpdf_oh_release(pr->q, d);
    return rc;
}

/* Annotation appearance streams (/AP /N /R /D, each a stream or a state dictionary). */
static int scan_annotations(pruner *pr, qpdf_oh page)
{
    static const char *const kinds[] = {"/N", "/R", "/D"};
    qpdf_data q = pr->q;
    qpdf_oh annots = qpdf_oh_get_key(q, page, "/Annots");
    int rc = 0, n = qpdf_oh_is_array(q, annots) ? qpdf_oh_get_array_n_items(q, annots) : 0;
    for (int i = 0; i < n && rc == 0; i++) {
        qpdf_oh a = qpdf_oh_get_array_item(q, annots, i);
        qpdf_oh ap = qpdf_oh_get_key_if_dict(q, a, "/AP");
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && rc == 0; k++) {
            qpdf_oh v = qpdf_oh_get_key_if_dict(q, ap, kinds[k]);
            if (qpdf_oh_is_stream(q, v)) {
                rc = scan_if_borrowing(pr, v);
            } else if (qpdf_oh_is_dictionary(q, v)) {
                qpdf_oh states = qpdf_oh_new_array(q);
                qpdf_oh_begin_dict_key_iter(q, v);
                while (qpdf_oh_dict_more_keys(q)) {
                    const char *key = qpdf_oh_dict_next_key(q);
                    qpdf_oh s = qpdf_oh_get_key(q, v, key);
                    qpdf_oh_append_item(q, states, s);
                    qpdf_oh_release(q, s);
                }
                int ns = qpdf_oh_get_array_n_items(q, states);
                for (int j = 0; j < ns && rc == 0; j++) {
                    qpdf_oh s = qpdf_oh_get_array_item(q, states, j);
                    rc = scan_if_borrowing(pr, s);
                    qpdf_oh_release(q, s);
                }
                qpdf_oh_release(q, states);
            }
            qpdf_oh_release(q, v);
        }
        qpdf_oh_release(q, ap);
        qpdf_oh_release(q, a);
    }
    qpdf_oh_release(q, annots);
    return rc;
}

/* The keys of a dictionary, copied (qpdf's key strings are overwritten by the next call). */
static int dict_keys(char ***out, size_t *n, qpdf_data q, qpdf_oh dict)
{
    char **keys = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    qpdf_oh_begin_dict_key_iter(q, dict);
    while (qpdf_oh_dict_more_keys(q)) {
        const char *k = qpdf_oh_dict_next_key(q);
        if (!k)
            continue;
        if (len == KEYS_MAX) {
            rc = QR_ELIMIT;
            break;
        }
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nk = realloc(keys, ncap * sizeof(*nk));
            if (!nk) {
                rc = QR_ENOMEM;
                break;
            }
            keys = nk;
            cap = ncap;
        }
        if (!(keys[len] = strdup(k))) {
            rc = QR_ENOMEM;
            break;
        }
        len++;
    }
    if (rc < 0) {
        for (size_t i = 0; i < len; i++)
            free(keys[i]);
        free(keys);
        keys = NULL;
        len = 0;
    }
    *out = keys;
    *n = len;
    return rc;
}

static void keys_free(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

/*
 * One pass over the used entries of `category` that borrow the page's
 * resources and were not scanned yet: Form XObjects (their content) or
 * Type 3 fonts (their glyph procedures).
 */
static int scan_borrowers(pruner *pr, qpdf_oh res, const char *category)
{
    qpdf_data q = pr->q;
    char **keys = NULL;
    size_t nkeys = 0;
    bool fonts = strcmp(category, "/Font") == 0;
    qpdf_oh sub = qpdf_oh_get_key(q, res, category);
    int rc = 0;
    if (!qpdf_oh_is_dictionary(q, sub))
        goto out;
    if ((rc = dict_keys(&keys, &nkeys, q, sub)) < 0)
        goto out;
    for (size_t i = 0; i < nkeys && rc == 0; i++) {
        char tag[NAME_MAX_BYTES + 16];
        if (!name_set_has(&pr->used, keys[i]))
            continue;
        int tl = snprintf(tag, sizeof(tag), "%s%s", category, keys[i]);
        if (tl < 0 || (size_t)tl >= sizeof(tag)) {
            rc = QR_ELIMIT;
            break;
        }
        if ((rc = name_set_add(&pr->scanned, tag, (size_t)tl)) <= 0)
            continue;
        rc = 0;
        qpdf_oh v = qpdf_oh_get_key(q, sub, keys[i]);
        if (!fonts) {
            qpdf_oh d = qpdf_oh_is_stream(q, v) ? qpdf_oh_get_dict(q, v) : 0;
            qpdf_oh subtype = d ? qpdf_oh_get_key(q, d, "/Subtype") : 0;
            if (d && qpdf_oh_is_name_and_equals(q, subtype, "/Form") && borrows_resources(q, d))
                rc = scan_stream(pr, v);
            if (subtype)
                qpdf_oh_release(q, subtype);
            if (d)
                qpdf_oh_release(q, d);
        } else if (qpdf_oh_is_dictionary_of_type(q, v, "", "/Type3") && borrows_resources(q, v)) {
            char **procs = NULL;
            size_t nprocs = 0;
            qpdf_oh cp = qpdf_oh_get_key(q, v, "/CharProcs");
            if (qpdf_oh_is_dictionary(q, cp))
                rc = dict_keys(&procs, &nprocs, q, cp);
            for (size_t j = 0; j < nprocs && rc == 0; j++) {
                qpdf_oh s = qpdf_oh_get_key(q, cp, procs[j]);
                if (qpdf_oh_is_stream(q, s))
                    rc = scan_stream(pr, s);
                qpdf_oh_release(q, s);
            }
            keys_free(procs, nprocs);
            qpdf_oh_release(q, cp);
        }
        qpdf_oh_release(q, v);
    }
out:
    keys_free(keys, nkeys);
    qpdf_oh_release(q, sub);
    return rc;
}

static bool is_default_colour_space(const char *category, const char *key)
{
    return strcmp(category, "/ColorSpace") == 0 &&
           (strcmp(key, "/DefaultGray") == 0 || strcmp(key, "/DefaultRGB") == 0 ||
            strcmp(key, "/DefaultCMYK") == 0);
}

/* A direct copy of `res` whose name categories keep only used names. */
static int build_pruned(qpdf_oh *out, pruner *pr, qpdf_oh res)
{
    qpdf_data q = pr->q;
    char **keys = NULL;
    size_t nkeys = 0;
    qpdf_oh nres = qpdf_oh_new_dictionary(q);
    int rc = dict_keys(&keys, &nkeys, q, res);
    for (size_t i = 0; i < nkeys && rc == 0; i++) {
        const char *category = NULL;
        for (size_t c = 0; c < sizeof(name_categories) / sizeof(name_categories[0]); c++)
            if (strcmp(keys[i], name_categories[c]) == 0)
                category = name_categories[c];
        qpdf_oh v = qpdf_oh_get_key(q, res, keys[i]);
        if (category && qpdf_oh_is_dictionary(q, v)) {
            char **names = NULL;
            size_t nnames = 0;
            qpdf_oh nsub = qpdf_oh_new_dictionary(q);
            rc = dict_keys(&names, &nnames, q, v);
            for (size_t j = 0; j < nnames && rc == 0; j++) {
                if (!name_set_has(&pr->used, names[j]) &&
                    !is_default_colour_space(category, names[j]) &&
                    strlen(names[j]) <= NAME_MAX_BYTES)
                    continue;
                qpdf_oh e = qpdf_oh_get_key(q, v, names[j]);
                qpdf_oh_replace_key(q, nsub, names[j], e);
                qpdf_oh_release(q, e);
            }
            keys_free(names, nnames);
            qpdf_oh_replace_key(q, nres, keys[i], nsub);
            qpdf_oh_release(q, nsub);
        } else {
            qpdf_oh_replace_key(q, nres, keys[i], v);
        }
        qpdf_oh_release(q, v);
    }
    keys_free(keys, nkeys);
    if (rc < 0) {
        qpdf_oh_release(q, nres);
        nres = 0;
    }
    *out = nres;
    return rc;
}

/* Charges the page's content streams; QR_ELIMIT when they are too large to decode here. */
static int charge_contents(pruner *pr, qpdf_oh page)
{
    qpdf_data q = pr->q;
    qpdf_oh c = qpdf_oh_get_key(q, page, "/Contents");
    int rc = 0;
    if (qpdf_oh_is_stream(q, c)) {
        rc = charge(&pr->budget, q, c) ? 0 : QR_ELIMIT;
    } else if (qpdf_oh_is_array(q, c)) {
        int n = qpdf_oh_get_array_n_items(q, c);
        for (int i = 0; i < n && rc == 0; i++) {
            qpdf_oh s = qpdf_oh_get_array_item(q, c, i);
            if (qpdf_oh_is_stream(q, s) && !charge(&pr->budget, q, s))
                rc = QR_ELIMIT;
            qpdf_oh_release(q, s);
        }
    }
    qpdf_oh_release(q, c);
    return rc;
}

int qr_pdf__prune_page_resources(qpdf_data q, qpdf_oh page)
{
    pruner pr = {.q = q, .budget = STORED_BYTES_MAX};
    unsigned char *content = NULL;
    size_t len = 0;
    qpdf_oh res = 0, nres = 0;
    int rc = 0;

    res = qpdf_oh_get_key(q, page, "/Resources");
    if (!qpdf_oh_is_dictionary(q, res))
        goto out;
    if ((rc = charge_contents(&pr, page)) < 0)
        goto out;
    if ((qpdf_oh_get_page_content_data(q, page, &content, &len) & QPDF_ERRORS) ||
        qr_pdf__failed(q)) {
        rc = QR_EFORMAT;
        goto out;
    }
    if ((rc = scan_names(&pr.used, content, len, NULL)) < 0)
        goto out;
    if ((rc = scan_annotations(&pr, page)) < 0)
        goto out;
    /* Borrowers can draw further borrowers: repeat until no new name appears. */
    do {
        pr.added = false;
        if ((rc = scan_borrowers(&pr, res, "/XObject")) < 0 ||
            (rc = scan_borrowers(&pr, res, "/Font")) < 0)
            goto out;
    } while (pr.added);
    if ((rc = build_pruned(&nres, &pr, res)) < 0)
        goto out;
    /* An object-handle call that failed on the way leaves the page as it was. */
    if (qr_pdf__failed(q)) {
        rc = QR_EFORMAT;
        goto out;
    }
    qpdf_oh_replace_key(q, page, "/Resources", nres);
    rc = qr_pdf__failed(q) ? QR_EFORMAT : 1;
out:
    (void)qr_pdf__failed(q);
    if (nres)
        qpdf_oh_release(q, nres);
    if (res)
        qpdf_oh_release(q, res);
    free(content);
    name_set_free(&pr.used);
    name_set_free(&pr.scanned);
    if (rc == QR_ENOMEM)
        return rc;
    return rc < 0 ? 0 : rc;
}

/* Calls `fn` on the page's /Resources and its name sub-dictionaries that are indirect. */
static int each_resource_dict(qpdf_data q, qpdf_oh page,
                              int (*fn)(void *ctx, qpdf_data q, qpdf_oh dict), void *ctx)
{
    qpdf_oh res = qpdf_oh_get_key(q, page, "/Resources");
    int rc = 0;
    if (!qpdf_oh_is_dictionary(q, res))
        goto out;
    if (qpdf_oh_is_indirect(q, res) && (rc = fn(ctx, q, res)) != 0)
        goto out;
    for (size_t c = 0; c < sizeof(name_categories) / sizeof(name_categories[0]) && rc == 0; c++) {
        qpdf_oh sub = qpdf_oh_get_key(q, res, name_categories[c]);
        if (qpdf_oh_is_indirect(q, sub) && qpdf_oh_is_dictionary(q, sub))
            rc = fn(ctx, q, sub);
        qpdf_oh_release(q, sub);
    }
out:
    (void)qr_pdf__failed(q);
    qpdf_oh_release(q, res);
    return rc;
}

typedef struct share_count {
    qr_pdf__idset seen;
    qr_pdf__idset *shared;
} share_count;

static int count_use(void *ctx, qpdf_data q, qpdf_oh dict)
{
    share_count *sc = ctx;
    int rc = qr_pdf__idset_add(&sc->seen, q, dict);
    if (rc == 0)
        rc = qr_pdf__idset_add(sc->shared, q, dict);
    return rc < 0 ? rc : 0;
}

int qr_pdf__shared_resources(qr_pdf__idset *shared, qpdf_data q)
{
    share_count sc = {.shared = shared};
    int n = qpdf_get_num_pages(q), rc = 0;
    (void)qr_pdf__failed(q);
    for (int i = 0; i < n && rc == 0; i++) {
        qpdf_oh page = qpdf_get_page_n(q, (size_t)i);
        rc = each_resource_dict(q, page, count_use, &sc);
        qpdf_oh_release(q, page);
    }
    qr_pdf__idset_free(&sc.seen);
    return rc;
}

static int is_shared(void *ctx, qpdf_data q, qpdf_oh dict)
{
    return qr_pdf__idset_has(ctx, q, dict) ? 1 : 0;
}

bool qr_pdf__page_resources_shared(const qr_pdf__idset *shared, qpdf_data q, qpdf_oh page)
{
    qr_pdf__idset lookup = *shared; /* read only: the callback's context is not const */
    return each_resource_dict(q, page, is_shared, &lookup) == 1;
}
