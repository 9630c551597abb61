/*
 * EPUB ingest: qr_epub_open orchestration, the parser buffer entry points
 * and the accessors. The order of checks matters: ZIP safety first (nothing
 * is inflated before every declared size passed), then DRM markers, the
 * container, encryption.xml, the OPF, and navigation last.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stdio.h>

#include <libxml/parser.h>

#include "parse/epub_internal.h"
#include "qr/fs.h"
#include "qr/log.h"

/* ---- allocation helpers ---- */

qr_epub *qr_epub__new(const qr_epub_opts *opts)
{
    qr_epub *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    qr_epub_opts def = QR_EPUB_OPTS_INIT;
    if (!opts)
        opts = &def;
    e->limits = opts->limits;
    e->warnings = opts->warnings;
    e->info.version = "";
    e->info.opf_path = "";
    e->info.unique_identifier = "";
    e->info.title = "";
    e->info.language = "";
    e->info.creator = "";
    e->info.publisher = "";
    e->info.modified = "";
    e->info.page_progression = "";
    e->info.page_source = "";
    e->info.cover_item = -1;
    e->info.nav_item = -1;
    e->info.ncx_item = -1;
    return e;
}

int qr_epub__grow(void **arr, size_t *cap, size_t len, size_t elem, size_t max, qr_error *err)
{
    if (len < *cap)
        return 0;
    if (len >= max)
        return qr_error_set(err, QR_ERR_TOO_MANY_ENTRIES, QR_EPUB_STAGE,
                            "more than %zu items in one list", max);
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > max)
        ncap = max;
    void *n = realloc(*arr, ncap * elem);
    if (!n)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot grow a list");
    *arr = n;
    *cap = ncap;
    return 0;
}

const char *qr_epub__take(qr_epub *e, char *s)
{
    if (!s)
        return NULL;
    if (e->n_pool == e->cap_pool) {
        size_t ncap = e->cap_pool ? e->cap_pool * 2 : 64;
        char **n = realloc(e->pool, ncap * sizeof(*n));
        if (!n) {
            e->oom = true;
            free(s);
            return NULL;
        }
        e->pool = n;
        e->cap_pool = ncap;
    }
    e->pool[e->n_pool++] = s;
    return s;
}

const char *qr_epub__strndup(qr_epub *e, const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (!c) {
        e->oom = true;
        return NULL;
    }
    memcpy(c, s, len);
    c[len] = 0;
    return qr_epub__take(e, c);
}

const char *qr_epub__strdup(qr_epub *e, const char *s)
{
    return qr_epub__strndup(e, s, strlen(s));
}

void qr_epub_free(qr_epub *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_pool; i++)
        free(e->pool[i]);
    free(e->pool);
    free(e->entries);
    free(e->by_path);
    free(e->nfc_paths);
    free(e->nfc_warned);
    free(e->items);
    free(e->spine);
    free(e->toc);
    free(e->pages);
    free(e->src_path);
    memset(e->idpf_key, 0, sizeof(e->idpf_key));
    memset(e->adobe_key, 0, sizeof(e->adobe_key));
    free(e);
}

/* ---- open ---- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* Reads the XML entry `i` (capped at max_xml_bytes) into `b`. */
static int read_xml(qr_buf *b, qr_epub *e, zip_t *za, int i, qr_error *err)
{
    qr_buf_init(b,
                (size_t)(e->limits.max_xml_bytes < SIZE_MAX ? e->limits.max_xml_bytes : SIZE_MAX));
    int rc = qr_epub__zip_read(b, e, za, (size_t)i, e->limits.max_xml_bytes, QR_ERR_ENTRY_TOO_LARGE,
                               err);
    if (rc < 0)
        qr_error_set_context(err, "%s", e->entries[i].path);
    return rc;
}

/* Finds a META-INF file, tolerating a case mismatch with a warning. */
static int find_meta(qr_epub *e, const char *path)
{
    bool folded = false;
    int i = qr_epub__lookup(e, path, &folded);
    if (i >= 0 && folded)
        qr_warn(e->warnings, "href-case-mismatch", QR_EPUB_STAGE, path,
                "found as %s (case differs)", e->entries[i].path);
    return i;
}

static int load_navigation(qr_epub *e, zip_t *za, qr_error *err)
{
    qr_buf b = QR_BUF_INIT(0);
    int rc = 0;
    int nav = e->info.nav_item, ncx = e->info.ncx_item;
    if (nav >= 0) {
        const qr_epub_item *it = &e->items[nav];
        if (it->entry < 0) {
            qr_warn(e->warnings, "missing-optional", QR_EPUB_STAGE, it->href,
                    "navigation document is not in the archive");
        } else {
            rc = read_xml(&b, e, za, it->entry, err);
            if (rc < 0)
                goto out;
            rc = qr_epub__parse_nav(e, (const char *)b.data, b.len, it->path, err);
            if (rc < 0)
                goto out;
            qr_buf_free(&b);
        }
    }
    if (ncx >= 0 && (e->n_toc == 0 || e->n_pages == 0)) {
        const qr_epub_item *it = &e->items[ncx];
        if (it->entry < 0) {
            qr_warn(e->warnings, "missing-optional", QR_EPUB_STAGE, it->href,
                    "NCX is not in the archive");
        } else {
            rc = read_xml(&b, e, za, it->entry, err);
            if (rc < 0)
                goto out;
            rc = qr_epub__parse_ncx(e, (const char *)b.data, b.len, it->path, err);
            if (rc < 0)
                goto out;
        }
    }
    if (nav < 0 && ncx < 0)
        qr_warn(e->warnings, "missing-optional", QR_EPUB_STAGE, e->info.opf_path,
                "no navigation document and no NCX");
out:
    qr_buf_free(&b);
    return rc;
}

static int open_common(qr_epub *e, qr_error *err)
{
    zip_t *za = NULL;
    qr_buf b = QR_BUF_INIT(0);
    int rc;

    pthread_once(&xml_once, qr_epub__xml_init);
    rc = qr_limits_validate(&e->limits, err);
    if (rc < 0)
        goto out;
    rc = qr_epub__zip_open(&za, e, err);
    if (rc < 0)
        goto out;
    rc = qr_epub__zip_scan(e, za, err);
    if (rc < 0)
        goto out;
    rc = qr_epub__check_drm_files(e, err);
    if (rc < 0)
        goto out;
    qr_epub__check_mimetype(e, za);

    int ci = find_meta(e, QR_EPUB_CONTAINER);
    if (ci < 0) {
        rc = qr_error_set(err, QR_ERR_CONTAINER_MISSING, QR_EPUB_STAGE,
                          "no META-INF/container.xml in the archive");
        goto out;
    }
    rc = read_xml(&b, e, za, ci, err);
    if (rc < 0)
        goto out;
    rc = qr_epub__parse_container(e, (const char *)b.data, b.len, err);
    if (rc < 0)
        goto out;
    qr_buf_free(&b);

    int ei = find_meta(e, QR_EPUB_ENCRYPTION);
    if (ei >= 0) {
        e->info.has_encryption_xml = true;
        rc = read_xml(&b, e, za, ei, err);
        if (rc < 0)
            goto out;
        rc = qr_epub__parse_encryption(e, (const char *)b.data, b.len, err);
        if (rc < 0)
            goto out;
        qr_buf_free(&b);
    }

    int di = qr_epub__lookup(e, QR_EPUB_DISPLAY_OPTIONS, NULL);
    if (di >= 0) {
        rc = read_xml(&b, e, za, di, err);
        if (rc < 0)
            goto out;
        rc = qr_epub__parse_display_options(e, (const char *)b.data, b.len, err);
        if (rc < 0)
            goto out;
        qr_buf_free(&b);
    }

    unsigned how = 0;
    int oi = qr_epub__lookup_how(e, e->info.opf_path, &how);
    if (oi < 0) {
        rc = qr_error_set(err, QR_ERR_OPF_MISSING, QR_EPUB_STAGE,
                          "package document %s is not in the archive", e->info.opf_path);
        qr_error_set_context(err, "%s", e->info.opf_path);
        goto out;
    }
    if (how) {
        /* Case or Unicode form differ: the archive's own name is the OPF's path. */
        qr_epub__warn_match(e, oi, how, "package document", e->info.opf_path);
        e->info.opf_path = e->entries[oi].path;
    }
    rc = read_xml(&b, e, za, oi, err);
    if (rc < 0)
        goto out;
    rc = qr_epub__parse_opf(e, (const char *)b.data, b.len, true, err);
    if (rc < 0)
        goto out;
    qr_buf_free(&b);

    rc = load_navigation(e, za, err);
    if (rc < 0)
        goto out;
    rc = qr_epub__derive_keys(e, err);
out:
    if (rc == 0 && e->oom)
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "out of memory");
    qr_buf_free(&b);
    if (za)
        zip_discard(za);
    return rc;
}

int qr_epub_open(qr_epub **out, const char *path, const qr_epub_opts *opts, qr_error *err)
{
    qr_epub *e = NULL;
    int rc;
    *out = NULL;
    if (!path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_EPUB_STAGE, "no path");
    uint64_t size = 0;
    rc = qr_fs_file_size(&size, path, err);
    if (rc == 0)
        rc = qr_epub_zip_ready(err);
    if (rc == 0)
        rc = qr_epub_xml_ready(err);
    if (rc < 0)
        goto out;
    e = qr_epub__new(opts);
    if (!e || !(e->src_path = strdup(path))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot allocate the book");
        goto out;
    }
    if (size > e->limits.max_input_bytes) {
        rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, QR_EPUB_STAGE,
                          "%llu bytes exceeds the limit of %llu", (unsigned long long)size,
                          (unsigned long long)e->limits.max_input_bytes);
        goto out;
    }
    e->info.file_bytes = size;
    rc = open_common(e, err);
    if (rc < 0)
        goto out;
    /* One line per parse: the test that a book is parsed once counts these. */
    qr_log(QR_LOG_DEBUG, QR_EPUB_STAGE,
           "parsed %s: %zu entries, %zu manifest items, %zu in the spine", path, e->n_entries,
           e->n_items, e->n_spine);
    *out = e;
    e = NULL;
out:
    qr_epub_free(e);
    return rc;
}

int qr_epub_open_buffer(qr_epub **out, const void *data, size_t len, const qr_epub_opts *opts,
                        qr_error *err)
{
    qr_epub *e = NULL;
    int rc;
    *out = NULL;
    if (!data && len)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_EPUB_STAGE, "no data");
    e = qr_epub__new(opts);
    if (!e) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot allocate the book");
        goto out;
    }
    e->src_data = data ? data : "";
    e->src_len = len;
    e->info.file_bytes = len;
    if (len > e->limits.max_input_bytes) {
        rc = qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, QR_EPUB_STAGE,
                          "%zu bytes exceeds the limit of %llu", len,
                          (unsigned long long)e->limits.max_input_bytes);
        goto out;
    }
    rc = open_common(e, err);
    if (rc < 0)
        goto out;
    *out = e;
    e = NULL;
out:
    qr_epub_free(e);
    return rc;
}

/* ---- parser buffer entry points (fuzzers, tests) ---- */

int qr_epub_parse_container_buffer(char **opf_path, const void *xml, size_t len,
                                   const qr_epub_opts *opts, qr_error *err)
{
    int rc;
    *opf_path = NULL;
    qr_epub *e = qr_epub__new(opts);
    if (!e)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot allocate");
    pthread_once(&xml_once, qr_epub__xml_init);
    rc = qr_epub__parse_container(e, xml, len, err);
    if (rc == 0 && e->oom)
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "out of memory");
    if (rc < 0)
        goto out;
    *opf_path = strdup(e->info.opf_path);
    if (!*opf_path)
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot allocate");
out:
    qr_epub_free(e);
    return rc;
}

int qr_epub_parse_opf_buffer(qr_epub **out, const void *xml, size_t len, const char *opf_path,
                             const qr_epub_opts *opts, qr_error *err)
{
    int rc;
    *out = NULL;
    qr_epub *e = qr_epub__new(opts);
    if (!e)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot allocate");
    pthread_once(&xml_once, qr_epub__xml_init);
    e->info.opf_path = qr_epub__strdup(e, opf_path ? opf_path : "package.opf");
    if (!e->info.opf_path) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot allocate");
        goto out;
    }
    rc = qr_epub__parse_opf(e, xml, len, false, err);
    if (rc < 0)
        goto out;
    rc = qr_epub__derive_keys(e, err);
    if (rc == 0 && e->oom)
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "out of memory");
    if (rc < 0)
        goto out;
    *out = e;
    e = NULL;
out:
    qr_epub_free(e);
    return rc;
}

int qr_epub_parse_nav_buffer(qr_epub **out, const void *xml, size_t len, const char *nav_path,
                             bool ncx, const qr_epub_opts *opts, qr_error *err)
{
    int rc;
    *out = NULL;
    qr_epub *e = qr_epub__new(opts);
    if (!e)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "cannot allocate");
    pthread_once(&xml_once, qr_epub__xml_init);
    const char *p = nav_path ? nav_path : (ncx ? "toc.ncx" : "nav.xhtml");
    rc = ncx ? qr_epub__parse_ncx(e, xml, len, p, err) : qr_epub__parse_nav(e, xml, len, p, err);
    if (rc == 0 && e->oom)
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "out of memory");
    if (rc < 0)
        goto out;
    *out = e;
    e = NULL;
out:
    qr_epub_free(e);
    return rc;
}

/* ---- accessors ---- */

const qr_epub_info *qr_epub_get_info(const qr_epub *e)
{
    return &e->info;
}

size_t qr_epub_entry_count(const qr_epub *e)
{
    return e->n_entries;
}

const qr_epub_entry *qr_epub_get_entry(const qr_epub *e, size_t i)
{
    return i < e->n_entries ? &e->entries[i] : NULL;
}

int qr_epub_find_entry(const qr_epub *e, const char *path)
{
    return path ? qr_epub__lookup(e, path, NULL) : -1;
}

int qr_epub_resolve_ref(long *entry, const qr_epub *e, const char *doc, const char *href,
                        qr_error *err)
{
    char *path = NULL, *raw = NULL;
    unsigned flags = 0;
    int rc = 0;
    *entry = -1;
    /* Unsafe or remote references name nothing in the book: -1, not an error. */
    qr_error local = QR_ERROR_INIT;
    if (qr_epub__href_resolve(&path, NULL, &flags, doc, href, true, &local) < 0) {
        if (local.errid == QR_ERR_OUT_OF_MEMORY)
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, QR_EPUB_STAGE, "%s", local.msg);
        goto out;
    }
    if (!path)
        goto out;
    bool folded = false;
    int i = qr_epub__lookup(e, path, &folded);
    /* A name that really holds '%': the reference's escapes kept as written. */
    if (i < 0 && (flags & QR_HREF_PERCENT) &&
        qr_epub__href_resolve(&raw, NULL, &flags, doc, href, false, &local) == 0 && raw)
        i = qr_epub__lookup(e, raw, &folded);
    *entry = i;
out:
    free(path);
    free(raw);
    return rc;
}

const qr_limits *qr_epub_limits(const qr_epub *e)
{
    return &e->limits;
}

bool qr_epub_has_token(const char *list, const char *token)
{
    return qr_epub__has_token(list, token);
}

size_t qr_epub_item_count(const qr_epub *e)
{
    return e->n_items;
}

const qr_epub_item *qr_epub_get_item(const qr_epub *e, size_t i)
{
    return i < e->n_items ? &e->items[i] : NULL;
}

size_t qr_epub_spine_count(const qr_epub *e)
{
    return e->n_spine;
}

const qr_epub_itemref *qr_epub_get_spine(const qr_epub *e, size_t i)
{
    return i < e->n_spine ? &e->spine[i] : NULL;
}

size_t qr_epub_toc_count(const qr_epub *e)
{
    return e->n_toc;
}

const qr_epub_navpoint *qr_epub_get_toc(const qr_epub *e, size_t i)
{
    return i < e->n_toc ? &e->toc[i] : NULL;
}

size_t qr_epub_pagelist_count(const qr_epub *e)
{
    return e->n_pages;
}

const qr_epub_navpoint *qr_epub_get_pagelist(const qr_epub *e, size_t i)
{
    return i < e->n_pages ? &e->pages[i] : NULL;
}

const char *qr_epub_source_path(const qr_epub *e)
{
    return e->src_path;
}

const void *qr_epub_source_data(const qr_epub *e, size_t *len)
{
    if (len)
        *len = e->src_data ? e->src_len : 0;
    return e->src_data;
}

int qr_epub_read_entry(qr_buf *out, const qr_epub *e, size_t i, qr_error *err)
{
    zip_t *za = NULL;
    int rc;
    if (i >= e->n_entries)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_EPUB_STAGE, "no entry %zu", i);
    rc = qr_epub__zip_open(&za, e, err);
    if (rc < 0)
        goto out;
    rc = qr_epub__zip_read(out, e, za, i, e->limits.max_entry_bytes, QR_ERR_ENTRY_TOO_LARGE, err);
out:
    if (rc < 0)
        qr_error_set_context(err, "%s", e->entries[i].path);
    if (za)
        zip_discard(za);
    return rc;
}

int qr_epub_verify_entry(const qr_epub *e, size_t i, qr_error *err)
{
    zip_t *za = NULL;
    int rc;
    if (i >= e->n_entries)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_EPUB_STAGE, "no entry %zu", i);
    rc = qr_epub__zip_open(&za, e, err);
    if (rc == 0)
        rc = qr_epub__zip_read(NULL, e, za, i, e->limits.max_entry_bytes, QR_ERR_ENTRY_TOO_LARGE,
                               err);
    if (rc < 0)
        qr_error_set_context(err, "%s", e->entries[i].path);
    if (za)
        zip_discard(za);
    return rc;
}

int qr_epub_deobfuscate(const qr_epub *e, qr_obfuscation alg, uint8_t *data, size_t len,
                        qr_error *err)
{
    const uint8_t *key;
    size_t klen, span;
    switch (alg) {
    case QR_OBF_NONE:
        return 0;
    case QR_OBF_IDPF:
        key = e->idpf_key;
        klen = sizeof(e->idpf_key);
        span = 1040;
        break;
    case QR_OBF_ADOBE:
        if (!e->has_adobe_key)
            return qr_error_set(err, QR_ERR_DRM_PROTECTED, QR_EPUB_STAGE,
                                "Adobe font obfuscation needs a urn:uuid identifier");
        key = e->adobe_key;
        klen = sizeof(e->adobe_key);
        span = 1024;
        break;
    default:
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, QR_EPUB_STAGE, "unknown obfuscation %d",
                            (int)alg);
    }
    if (len < span)
        span = len;
    for (size_t i = 0; i < span; i++)
        data[i] ^= key[i % klen];
    return 0;
}

/* Strips parameters ("; codecs=...") and compares case-insensitively. */
static bool media_eq(const char *mt, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(mt, want, n) != 0)
        return false;
    return mt[n] == 0 || mt[n] == ';' || mt[n] == ' ';
}

bool qr_media_is_image(const char *media_type)
{
    if (!media_type)
        return false;
    return strncasecmp(media_type, "image/", 6) == 0 && media_type[6] != 0;
}

bool qr_media_is_font(const char *media_type)
{
    static const char *const fonts[] = {
        "application/font-sfnt",       "application/vnd.ms-opentype", "application/font-woff",
        "application/font-woff2",      "application/x-font-ttf",      "application/x-font-otf",
        "application/x-font-opentype", "application/x-font-truetype", "application/x-font-woff",
        "application/x-truetype-font", "application/x-opentype-font"};
    if (!media_type)
        return false;
    if (strncasecmp(media_type, "font/", 5) == 0 && media_type[5] != 0)
        return true;
    for (size_t i = 0; i < sizeof(fonts) / sizeof(fonts[0]); i++)
        if (media_eq(media_type, fonts[i]))
            return true;
    return false;
}

void qr_epub_library_versions(char *libzip, char *libxml2, size_t n)
{
    snprintf(libzip, n, "%s", qr_epub_zip_ready(NULL) == 0 ? zip_libzip_version() : "unavailable");
    if (qr_epub_xml_ready(NULL) < 0) {
        snprintf(libxml2, n, "unavailable");
        return;
    }
    /* libxml2 says "21004" for 2.10.4. */
    long v = strtol(xmlParserVersion, NULL, 10);
    snprintf(libxml2, n, "%ld.%ld.%ld", v / 10000, (v / 100) % 100, v % 100);
}
