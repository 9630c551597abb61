/*
 * Reading a package back: the manifest and its signature, the content key,
 * then each slice (size and SHA-256 from the signed manifest, authenticated
 * decryption under its binding, and the ZIP it must hold). The order of the
 * checks decides which error a damaged package gets; docs/format.md lists it.
 */
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "package_internal.h"

typedef struct rslice {
    const char *href;
    const char *sha256;
    uint64_t size;
    uint64_t plain_len;
    json_t *resources; /* borrowed from the manifest */
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
    qr_content_key *ck;
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
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(links, i);
        json_t *p = json_object_get(l, "properties");
        rslice *s = &r->slices[i];
        s->href = json_string_value(json_object_get(l, "href"));
        s->sha256 = json_string_value(json_object_get(p, "sha256"));
        json_t *size = json_object_get(p, "size");
        json_t *plen = json_object_get(p, "plainLength");
        s->resources = json_object_get(p, "resources");
        if (!s->href || !s->sha256 || strlen(s->sha256) != 64 || !json_is_integer(size) ||
            !json_is_integer(plen) || json_integer_value(size) < 0 ||
            json_integer_value(plen) < 0 || !json_is_array(s->resources))
            return bad_manifest(err, "a slice link lacks href, size, plainLength, sha256 or "
                                     "resources");
        /* Slice hrefs name objects in the store: never outside the package. */
        if (strncmp(s->href, "slices/", 7) != 0 || strstr(s->href, "..") ||
            strchr(s->href + 7, '/'))
            return bad_manifest(err, "a slice href is not slices/<name>");
        s->size = (uint64_t)json_integer_value(size);
        s->plain_len = (uint64_t)json_integer_value(plen);
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
                     const qr_keyring *k, const qr_limits *limits, qr_error *err)
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

size_t qr_package__nresources(const qr_package__reader *r, size_t i)
{
    return json_array_size(r->slices[i].resources);
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

int qr_package__read_slice(qr_buf *plain, uint64_t *sealed_len, const qr_package__reader *r,
                           size_t i, qr_error *err)
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
    rc = check_zip(plain, s, err);
out:
    if (rc < 0)
        qr_error_set_context(err, "%s", s->href);
    qr_buf_free(&sealed);
    return rc;
}

int qr_package_verify(qr_verify_report *out, const qr_store *store, const char *prefix,
                      const qr_keyring *k, const qr_limits *limits, qr_error *err)
{
    qr_package__reader *r = NULL;
    qr_verify_report rep;
    memset(&rep, 0, sizeof(rep));
    qr_limits dl = QR_LIMITS_INIT;
    const qr_limits *lim = limits ? limits : &dl;
    qr_buf plain = QR_BUF_INIT(lim->max_total_bytes > SIZE_MAX / 2 ? SIZE_MAX / 2
                                                                   : (size_t)lim->max_total_bytes);
    int rc = qr_package__open(&r, store, prefix, k, lim, err);
    if (rc < 0)
        goto out;
    snprintf(rep.book_id, sizeof(rep.book_id), "%s", r->book_id);
    snprintf(rep.revision, sizeof(rep.revision), "%s", r->revision);
    for (size_t i = 0; i < r->nslices; i++) {
        uint64_t sl = 0;
        rc = qr_package__read_slice(&plain, &sl, r, i, err);
        if (rc < 0)
            goto out;
        rep.sealed_bytes += sl;
        rep.plain_bytes += plain.len;
        rep.resources += qr_package__nresources(r, i);
    }
    rep.slices = r->nslices;
    if (out)
        *out = rep;
out:
    qr_buf_free(&plain);
    qr_package__close(r);
    return rc;
}
