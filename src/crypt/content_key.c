/*
 * Per-book content keys and their wrapping under the service KEK.
 * Layout in docs/format.md "Key wrapping".
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypt_internal.h"

#define WRAP_ALG "xchacha20poly1305-ietf"
#define WRAP_FORMAT "quire-wrapped-key"
#define WRAP_VERSION 1
/* Domain separation: these bytes start the associated data of every wrapped key. */
static const char wrap_ad_prefix[] = "quire-key-wrap-v1";

struct qr_content_key {
    uint8_t *key; /* QR_CRYPT__KEY_BYTES, sodium_malloc'd, read-only once filled */
};

const uint8_t *qr_crypt__content_key_bytes(const qr_content_key *ck)
{
    return ck->key;
}

void qr_content_key_free(qr_content_key *ck)
{
    if (!ck)
        return;
    sodium_free(ck->key);
    free(ck);
}

static int content_key_alloc(qr_content_key **out, qr_error *err)
{
    *out = NULL;
    qr_content_key *ck = calloc(1, sizeof(*ck));
    if (!ck)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt", "cannot allocate a content key");
    ck->key = sodium_malloc(QR_CRYPT__KEY_BYTES);
    if (!ck->key) {
        free(ck);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt",
                            "cannot allocate guarded memory for a content key");
    }
    *out = ck;
    return 0;
}

int qr_content_key_new(qr_content_key **out, qr_error *err)
{
    int rc = content_key_alloc(out, err);
    if (rc < 0)
        return rc;
    crypto_aead_xchacha20poly1305_ietf_keygen((*out)->key);
    sodium_mprotect_readonly((*out)->key);
    return 0;
}

int qr_content_key_from_bytes(qr_content_key **out, const uint8_t key[32], qr_error *err)
{
    if (!key) {
        *out = NULL;
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "no key bytes");
    }
    int rc = content_key_alloc(out, err);
    if (rc < 0)
        return rc;
    memcpy((*out)->key, key, QR_CRYPT__KEY_BYTES);
    sodium_mprotect_readonly((*out)->key);
    return 0;
}

/* "quire-key-wrap-v1" || str16(kek_id) || str16(book_id) || str16(revision). */
static int wrap_ad(qr_buf *ad, const char *kek_id, const char *book_id, const char *revision,
                   qr_error *err)
{
    int rc = qr_buf_append(ad, wrap_ad_prefix, strlen(wrap_ad_prefix), err);
    if (rc == 0)
        rc = qr_crypt__ad_put_str(ad, kek_id, "key id", err);
    if (rc == 0)
        rc = qr_crypt__ad_put_str(ad, book_id, "book id", err);
    if (rc == 0)
        rc = qr_crypt__ad_put_str(ad, revision, "revision", err);
    return rc;
}

int qr_content_key_wrap_nonce(json_t **out, const qr_content_key *ck, const qr_keyring *k,
                              const char *book_id, const char *revision, const uint8_t nonce[24],
                              qr_error *err)
{
    int rc = 0;
    qr_buf ad = QR_BUF_INIT(4 * QR_CRYPT__FIELD_MAX);
    json_t *o = NULL;
    uint8_t n[QR_CRYPT__NONCE_BYTES];
    uint8_t wrapped[QR_CRYPT__KEY_BYTES + QR_CRYPT__TAG_BYTES];
    *out = NULL;
    if (!ck || !k)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt",
                            "content key and keyring needed");
    rc = wrap_ad(&ad, qr_keyring_kek_id(k), book_id, revision, err);
    if (rc < 0)
        goto out;
    if (nonce)
        memcpy(n, nonce, sizeof(n));
    else
        randombytes_buf(n, sizeof(n));
    crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped, NULL, ck->key, QR_CRYPT__KEY_BYTES, ad.data,
                                               ad.len, NULL, n, qr_crypt__keyring_kek(k));
    o = json_object();
    if (!o || json_object_set_new(o, "format", json_string(WRAP_FORMAT)) != 0 ||
        json_object_set_new(o, "version", json_integer(WRAP_VERSION)) != 0 ||
        json_object_set_new(o, "kek_id", json_string(qr_keyring_kek_id(k))) != 0 ||
        json_object_set_new(o, "alg", json_string(WRAP_ALG)) != 0 ||
        json_object_set_new(o, "nonce", qr_crypt__b64_json(n, sizeof(n))) != 0 ||
        json_object_set_new(o, "wrapped", qr_crypt__b64_json(wrapped, sizeof(wrapped))) != 0) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt", "cannot build the wrapped key");
        goto out;
    }
    *out = o;
    o = NULL;
out:
    json_decref(o);
    qr_buf_free(&ad);
    return rc;
}

int qr_content_key_wrap(json_t **out, const qr_content_key *ck, const qr_keyring *k,
                        const char *book_id, const char *revision, qr_error *err)
{
    return qr_content_key_wrap_nonce(out, ck, k, book_id, revision, NULL, err);
}

int qr_content_key_unwrap(qr_content_key **out, const json_t *wrapped, const qr_keyring *k,
                          const char *book_id, const char *revision, qr_error *err)
{
    int rc = 0;
    qr_buf ad = QR_BUF_INIT(4 * QR_CRYPT__FIELD_MAX);
    qr_content_key *ck = NULL;
    uint8_t n[QR_CRYPT__NONCE_BYTES];
    uint8_t ct[QR_CRYPT__KEY_BYTES + QR_CRYPT__TAG_BYTES];
    *out = NULL;
    if (!k)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "keyring needed");
    const char *fmt = json_string_value(json_object_get(wrapped, "format"));
    json_t *ver = json_object_get(wrapped, "version");
    const char *kek_id = json_string_value(json_object_get(wrapped, "kek_id"));
    const char *alg = json_string_value(json_object_get(wrapped, "alg"));
    if (!json_is_object(wrapped) || !fmt || strcmp(fmt, WRAP_FORMAT) != 0 ||
        !json_is_integer(ver) || json_integer_value(ver) != WRAP_VERSION || !kek_id || !alg ||
        strcmp(alg, WRAP_ALG) != 0 ||
        qr_crypt__b64_decode_exact(n, sizeof(n),
                                   json_string_value(json_object_get(wrapped, "nonce"))) != 0 ||
        qr_crypt__b64_decode_exact(ct, sizeof(ct),
                                   json_string_value(json_object_get(wrapped, "wrapped"))) != 0) {
        return qr_error_set(err, QR_ERR_KEY_FILE_INVALID, "crypt",
                            "the wrapped key is not a \"%s\" version %d object with alg \"%s\" "
                            "and base64 nonce (24 bytes) and wrapped (48 bytes)",
                            WRAP_FORMAT, WRAP_VERSION, WRAP_ALG);
    }
    if (strcmp(kek_id, qr_keyring_kek_id(k)) != 0)
        return qr_error_set(err, QR_ERR_WRONG_KEY, "crypt",
                            "the content key is wrapped under key id \"%.64s\", the key file "
                            "holds \"%s\"",
                            kek_id, qr_keyring_kek_id(k));
    rc = wrap_ad(&ad, kek_id, book_id, revision, err);
    if (rc < 0)
        goto out;
    rc = content_key_alloc(&ck, err);
    if (rc < 0)
        goto out;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(ck->key, NULL, NULL, ct, sizeof(ct), ad.data,
                                                   ad.len, n, qr_crypt__keyring_kek(k)) != 0) {
        rc = qr_error_set(err, QR_ERR_WRONG_KEY, "crypt",
                          "the content key does not unwrap under key id \"%s\" for this book "
                          "and revision (other KEK with the same id, or key.json modified)",
                          kek_id);
        goto out;
    }
    sodium_mprotect_readonly(ck->key);
    *out = ck;
    ck = NULL;
out:
    qr_content_key_free(ck);
    qr_buf_free(&ad);
    return rc;
}
