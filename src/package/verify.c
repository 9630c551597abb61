/*
 * Reading a package back: the manifest and its signature, the content key,
 * then each slice (size and SHA-256 from the signed manifest, authenticated
 * decryption under its binding, and the ZIP or PDF it must hold). The order
 * of the checks decides which error a damaged package gets; docs/format.md
 * lists it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "package_internal.h"
#include "qr/fs.h"
#include "qr/log.h"

typedef struct rslice {
    const char *href;
    const char *sha256;
    uint64_t size;
    uint64_t plain_len;
    json_t *resources;   /* borrowed from the manifest; NULL for a PDF slice */
    uint32_t first_page; /* PDF: 1-based, inclusive */
    uint32_t last_page;
} rslice;

struct qr_package__reader {
    const qr_store *store;
    char *prefix;
    qr_limits limits;
    json_t *manifest;
    const char *book_id;
    const char *revision;
    rslice *slices;
    size_t nslices;
    bool pdf;
    qr_content_key *ck;
    char *work_parent;
    char *workdir; /* made on the first PDF slice that needs a temporary file */
};

static int get_object(qr_buf *out, const qr_package__reader *r, const char *name, qr_error *err)
{
    char *key = qr_package__key(r->prefix, name);
    if (!key)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "verify", "out of memory");
    int rc = qr_store_get(r->store, key, out, err);
    free(key);
    return rc;
}

static int bad_manifest(qr_error *err, const char *what)
{
    int rc = qr_error_set(err, QR_ERR_MANIFEST_INVALID, "verify", "%s", what);
    qr_error_set_context(err, "%s", QR_PKG_MANIFEST);
    return rc;
}

/* A PDF slice's page range: integers, and it starts right after the previous slice's. */
static int load_pages(rslice *s, json_t *props, uint32_t prev_last, qr_error *err)
{
    json_t *fp = json_object_get(props, "firstPage");
    json_t *lp = json_object_get(props, "lastPage");
    if (!json_is_integer(fp) || !json_is_integer(lp))
        return bad_manifest(err, "a PDF slice link lacks firstPage or lastPage");
    json_int_t first = json_integer_value(fp), last = json_integer_value(lp);
    if (first != (json_int_t)prev_last + 1 || last < first || last > (json_int_t)UINT32_MAX)
        return bad_manifest(err, "the PDF slices' page ranges do not tile the document");
    s->first_page = (uint32_t)first;
    s->last_page = (uint32_t)last;
    return 0;
}

/* The slices collection: every field verify and unpack rely on, with its type. */
static int load_slices(qr_package__reader *r, qr_error *err)
{
    json_t *coll = json_object_get(r->manifest, QR_PKG_ROLE_SLICES);
    json_t *meta = json_object_get(coll, "metadata");
    json_t *links = json_object_get(coll, "links");
    r->book_id = json_string_value(json_object_get(meta, "bookId"));
    r->revision = json_string_value(json_object_get(meta, "revision"));
    json_t *ver = json_object_get(meta, "formatVersion");
    if (!json_is_array(links) || !r->book_id || !r->revision || !json_is_integer(ver))
        return bad_manifest(err, "no " QR_PKG_ROLE_SLICES " collection with bookId, revision, "
                                 "formatVersion and links");
    if (json_integer_value(ver) != QR_PACKAGE_FORMAT_VERSION)
        return bad_manifest(err, "unknown package format version");
    size_t n = json_array_size(links);
    if (n == 0 || n > UINT32_MAX)
        return bad_manifest(err, "the slices collection is empty");
    r->slices = calloc(n, sizeof(*r->slices));
    if (!r->slices)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "verify", "out of memory");
    r->nslices = n;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(links, i);
        json_t *p = json_object_get(l, "properties");
        rslice *s = &r->slices[i];
        s->href = json_string_value(json_object_get(l, "href"));
        s->sha256 = json_string_value(json_object_get(p, "sha256"));
        json_t *size = json_object_get(p, "size");
        json_t *plen = json_object_get(p, "plainLength");
        s->resources = json_object_get(p, "resources");
        const char *ctype = json_string_value(json_object_get(p, "contentType"));
        bool is_pdf = ctype && strcmp(ctype, QR_PKG_PDF_TYPE) == 0 && !s->resources;
        if (i == 0)
            r->pdf = is_pdf;
        if (is_pdf != r->pdf)
            return bad_manifest(err, "the slices mix PDF slices and ZIP slices");
        if (!s->href || !s->sha256 || strlen(s->sha256) != 64 || !json_is_integer(size) ||
            !json_is_integer(plen) || json_integer_value(size) < 0 ||
            json_integer_value(plen) < 0 || (!is_pdf && !json_is_array(s->resources)))
            return bad_manifest(err, "a slice link lacks href, size, plainLength, sha256 or "
                                     "resources");
        if (is_pdf) {
            rc = load_pages(s, p, i == 0 ? 0 : r->slices[i - 1].last_page, err);
            if (rc < 0)
                return rc;
        }
        /* Slice hrefs name objects in the store: never outside the package. */
        if (strncmp(s->href, "slices/", 7) != 0 || strstr(s->href, "..") ||
            strchr(s->href + 7, '/'))
            return bad_manifest(err, "a slice href is not slices/<name>");
        s->size = (uint64_t)json_integer_value(size);
        s->plain_len = (uint64_t)json_integer_value(plen);
    }
    if (r->pdf) {
        json_t *pages = json_object_get(json_object_get(r->manifest, "metadata"), "numberOfPages");
        if (!json_is_integer(pages) || json_integer_value(pages) != r->slices[n - 1].last_page)
            return bad_manifest(err, "the PDF slices do not end at metadata.numberOfPages");
    }
    return 0;
}

/* The key id of key.json, to tell "another key file" from "an edited manifest". */
static bool key_id_differs(const qr_package__reader *r, const qr_keyring *k)
{
    qr_buf b = QR_BUF_INIT(QR_PKG_MAX_JSON);
    bool differs = false;
    if (get_object(&b, r, QR_PKG_KEY, NULL) == 0) {
        json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "kek_id"));
        differs = id && strcmp(id, qr_keyring_kek_id(k)) != 0;
        json_decref(j);
    }
    qr_buf_free(&b);
    return differs;
}

int qr_package__open(qr_package__reader **out, const qr_store *store, const char *prefix,
                     const qr_keyring *k, const qr_limits *limits, const char *work_parent,
                     qr_error *err)
{
    qr_package__reader *r = NULL;
    qr_buf man = QR_BUF_INIT(QR_PKG_MAX_JSON);
    qr_buf sig = QR_BUF_INIT(4096);
    qr_buf key = QR_BUF_INIT(QR_PKG_MAX_JSON);
    json_t *wrapped = NULL;
    int rc = 0;
    *out = NULL;
    qr_limits dl = QR_LIMITS_INIT;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->prefix = strdup(prefix ? prefix : ""))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "verify", "out of memory");
        goto out;
    }
    r->store = store;
    r->limits = limits ? *limits : dl;
    if (work_parent && !(r->work_parent = strdup(work_parent))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "verify", "out of memory");
        goto out;
    }

    qr_error gerr = QR_ERROR_INIT;
    if (get_object(&man, r, QR_PKG_MANIFEST, &gerr) < 0) {
        rc = gerr.errid == QR_ERR_SOURCE_NOT_FOUND
                 ? bad_manifest(err, "no manifest.json: not a package, or not published yet")
                 : qr_error_set(err, gerr.errid, "verify", "%s", gerr.msg);
        goto out;
    }
    gerr = (qr_error)QR_ERROR_INIT;
    if (get_object(&sig, r, QR_PKG_SIGNATURE, &gerr) < 0 || sig.len != 64) {
        rc = qr_error_set(err, QR_ERR_MANIFEST_SIGNATURE_INVALID, "verify",
                          "manifest.json.sig is missing or not 64 bytes");
        qr_error_set_context(err, "%s", QR_PKG_SIGNATURE);
        goto out;
    }
    json_error_t je;
    r->manifest = json_loadb((const char *)man.data, man.len, 0, &je);
    if (!r->manifest) {
        rc = bad_manifest(err, "manifest.json is not JSON");
        goto out;
    }
    rc = load_slices(r, err);
    if (rc < 0)
        goto out;
    qr_error serr = QR_ERROR_INIT;
    if (qr_crypt_verify(sig.data, qr_keyring_public_key(k), man.data, man.len, &serr) < 0) {
        if (key_id_differs(r, k)) {
            rc = qr_error_set(err, QR_ERR_WRONG_KEY, "verify",
                              "the package was made with another key file than %s",
                              qr_keyring_kek_id(k));
            qr_error_set_context(err, "%s", QR_PKG_KEY);
        } else {
            rc = qr_error_set(err, QR_ERR_MANIFEST_SIGNATURE_INVALID, "verify",
                              "manifest.json does not match its signature: edited, or signed "
                              "with another key");
            qr_error_set_context(err, "%s", QR_PKG_MANIFEST);
        }
        goto out;
    }
    rc = get_object(&key, r, QR_PKG_KEY, err);
    if (rc < 0) {
        qr_error_set_context(err, "%s", QR_PKG_KEY);
        goto out;
    }
    wrapped = json_loadb((const char *)key.data, key.len, 0, &je);
    if (!wrapped) {
        rc = qr_error_set(err, QR_ERR_WRONG_KEY, "verify", "key.json is not JSON");
        qr_error_set_context(err, "%s", QR_PKG_KEY);
        goto out;
    }
    rc = qr_content_key_unwrap(&r->ck, wrapped, k, r->book_id, r->revision, err);
    if (rc < 0) {
        qr_error_set_context(err, "%s", QR_PKG_KEY);
        goto out;
    }
    *out = r;
    r = NULL;
out:
    json_decref(wrapped);
    qr_buf_free(&key);
    qr_buf_free(&sig);
    qr_buf_free(&man);
    qr_package__close(r);
    return rc;
}

void qr_package__close(qr_package__reader *r)
{
    if (!r)
        return;
    if (r->workdir) {
        qr_error rmerr = QR_ERROR_INIT;
        if (qr_workdir_remove(r->workdir, &rmerr) < 0)
            qr_log(QR_LOG_WARN, "verify", "cannot remove %s: %s", r->workdir, rmerr.msg);
    }
    free(r->workdir);
    free(r->work_parent);
    qr_content_key_free(r->ck);
    free(r->slices);
    json_decref(r->manifest);
    free(r->prefix);
    free(r);
}

size_t qr_package__count(const qr_package__reader *r)
{
    return r->nslices;
}

const char *qr_package__book_id(const qr_package__reader *r)
{
    return r->book_id;
}

const char *qr_package__revision(const qr_package__reader *r)
{
    return r->revision;
}

bool qr_package__is_pdf(const qr_package__reader *r)
{
    return r->pdf;
}

size_t qr_package__nresources(const qr_package__reader *r, size_t i)
{
    return r->slices[i].resources ? json_array_size(r->slices[i].resources) : 0;
}

uint32_t qr_package__npages(const qr_package__reader *r, size_t i)
{
    const rslice *s = &r->slices[i];
    return r->pdf ? s->last_page - s->first_page + 1 : 0;
}

/*
 * The decrypted slice must open as a PDF with the pages of its range. qpdf
 * reads files, so the plaintext goes to `path`, or to a temporary file in
 * the reader's work directory that is removed again.
 */
static int check_pdf(qr_package__reader *r, const qr_buf *plain, const rslice *s, size_t i,
                     const char *path, qr_error *err)
{
    char tmp[4096];
    qr_pdf *pdf = NULL;
    int rc = 0;
    if (!path) {
        if (!r->workdir) {
            rc = qr_workdir_create(&r->workdir, r->work_parent, "verify", err);
            if (rc < 0)
                return rc;
        }
        snprintf(tmp, sizeof(tmp), "%s/%04zu.pdf", r->workdir, i);
    }
    const char *at = path ? path : tmp;
    rc = qr_fs_write_atomic(at, plain->data, plain->len, 0600, err);
    if (rc < 0)
        return rc;
    qr_error perr = QR_ERROR_INIT;
    if (qr_pdf_open(&pdf, at, &r->limits, NULL, &perr) < 0) {
        rc = qr_error_set(err, QR_ERR_SLICE_INVALID, "verify",
                          "the decrypted slice is not a PDF that opens: %s: %s", perr.id, perr.msg);
        goto out;
    }
    uint32_t want = s->last_page - s->first_page + 1;
    uint32_t got = qr_pdf_info_get(pdf)->pages;
    if (got != want)
        rc = qr_error_set(err, QR_ERR_SLICE_INVALID, "verify",
                          "the slice PDF has %u pages, the manifest lists pages %u-%u (%u)", got,
                          s->first_page, s->last_page, want);
out:
    qr_pdf_close(pdf);
    if (!path || rc < 0)
        unlink(at);
    return rc;
}

/* The decrypted slice must be a ZIP holding exactly the resources the manifest lists, in order. */
static int check_zip(const qr_buf *plain, const rslice *s, qr_error *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(plain->data, plain->len, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    int rc = 0;
    if (!za) {
        zip_source_free(src);
        rc = qr_error_set(err, QR_ERR_SLICE_INVALID, "verify",
                          "the decrypted slice is not a "
                          "ZIP: %s",
                          zip_error_strerror(&ze));
        goto out;
    }
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0 || (size_t)n != json_array_size(s->resources)) {
        rc = qr_error_set(err, QR_ERR_SLICE_INVALID, "verify",
                          "the slice holds %lld entries, the manifest lists %zu", (long long)n,
                          json_array_size(s->resources));
        goto out;
    }
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        const char *want = json_string_value(json_array_get(s->resources, (size_t)i));
        char *href = name ? qr_package__href(name) : NULL;
        bool same = href && want && strcmp(href, want) == 0;
        free(href);
        if (!same) {
            rc = qr_error_set(err, QR_ERR_SLICE_INVALID, "verify",
                              "entry %lld is %s, the manifest lists %s", (long long)i,
                              name ? name : "?", want ? want : "?");
            goto out;
        }
    }
out:
    if (za)
        zip_discard(za);
    zip_error_fini(&ze);
    return rc;
}

int qr_package__read_slice(qr_buf *plain, uint64_t *sealed_len, qr_package__reader *r, size_t i,
                           const char *pdf_path, qr_error *err)
{
    const rslice *s = &r->slices[i];
    uint64_t cap = r->limits.max_total_bytes;
    qr_buf sealed = QR_BUF_INIT(cap > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)cap);
    qr_error gerr = QR_ERROR_INIT;
    int rc = 0;
    qr_buf_reset(plain);
    if (get_object(&sealed, r, s->href, &gerr) < 0) {
        rc = gerr.errid == QR_ERR_SOURCE_NOT_FOUND
                 ? qr_error_set(err, QR_ERR_SLICE_MISSING, "verify", "slice %zu is missing", i)
                 : qr_error_set(err, gerr.errid, "verify", "%s", gerr.msg);
        goto out;
    }
    if (sealed_len)
        *sealed_len = sealed.len;
    char hex[65];
    qr_crypt_sha256_hex(hex, sealed.data, sealed.len);
    if (sealed.len != s->size || strcmp(hex, s->sha256) != 0) {
        rc = qr_error_set(err, QR_ERR_SLICE_HASH_MISMATCH, "verify",
                          "slice %zu: %zu bytes with SHA-256 %.16s..., the manifest says %llu "
                          "bytes with %.16s...",
                          i, sealed.len, hex, (unsigned long long)s->size, s->sha256);
        goto out;
    }
    qr_slice_binding b = {r->book_id, r->revision, (uint32_t)i, (uint32_t)r->nslices, s->plain_len};
    rc = qr_slice_open(plain, r->ck, &b, sealed.data, sealed.len, err);
    if (rc < 0)
        goto out;
    rc = r->pdf ? check_pdf(r, plain, s, i, pdf_path, err) : check_zip(plain, s, err);
out:
    if (rc < 0)
        qr_error_set_context(err, "%s", s->href);
    qr_buf_free(&sealed);
    return rc;
}

int qr_package_verify_with(qr_verify_report *out, const qr_store *store, const char *prefix,
                           const qr_keyring *k, const qr_read_opts *opts, qr_error *err)
{
    qr_package__reader *r = NULL;
    qr_verify_report rep;
    memset(&rep, 0, sizeof(rep));
    qr_read_opts dopts = QR_READ_OPTS_INIT;
    const qr_read_opts *o = opts ? opts : &dopts;
    const qr_limits *lim = &o->limits;
    qr_buf plain = QR_BUF_INIT(lim->max_total_bytes > SIZE_MAX / 2 ? SIZE_MAX / 2
                                                                   : (size_t)lim->max_total_bytes);
    int rc = qr_package__open(&r, store, prefix, k, lim, o->work_parent, err);
    if (rc < 0)
        goto out;
    snprintf(rep.book_id, sizeof(rep.book_id), "%s", r->book_id);
    snprintf(rep.revision, sizeof(rep.revision), "%s", r->revision);
    rep.pdf = r->pdf;
    for (size_t i = 0; i < r->nslices; i++) {
        uint64_t sl = 0;
        rc = qr_package__read_slice(&plain, &sl, r, i, NULL, err);
        if (rc < 0)
            goto out;
        rep.sealed_bytes += sl;
        rep.plain_bytes += plain.len;
        rep.resources += qr_package__nresources(r, i);
        rep.pages += qr_package__npages(r, i);
    }
    rep.slices = r->nslices;
    if (out)
        *out = rep;
out:
    qr_buf_free(&plain);
    qr_package__close(r);
    return rc;
}

int qr_package_verify(qr_verify_report *out, const qr_store *store, const char *prefix,
                      const qr_keyring *k, const qr_limits *limits, qr_error *err)
{
    qr_read_opts o = QR_READ_OPTS_INIT;
    if (limits)
        o.limits = *limits;
    return qr_package_verify_with(out, store, prefix, k, &o, err);
}
