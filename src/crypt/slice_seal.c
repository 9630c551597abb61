/*
 * Slice files: a 16-byte header, a 24-byte nonce, then XChaCha20-Poly1305
 * ciphertext and tag under a per-slice subkey of the content key. Layout,
 * associated data and subkey derivation in docs/format.md "Slice files".
 */
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "crypt_internal.h"

static const uint8_t slice_magic[4] = {'Q', 'R', 'S', 'L'};
#define SLICE_HEADER_BYTES 16
#define SLICE_OVERHEAD (SLICE_HEADER_BYTES + QR_CRYPT__NONCE_BYTES + QR_CRYPT__TAG_BYTES)
/* crypto_kdf context: exactly crypto_kdf_CONTEXTBYTES (8) bytes, no NUL. */
static const char slice_kdf_ctx[crypto_kdf_CONTEXTBYTES + 1] = "quireslc";

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

static void slice_header(uint8_t h[SLICE_HEADER_BYTES], uint64_t plain_len)
{
    memcpy(h, slice_magic, 4);
    put_be(h + 4, QR_PACKAGE_FORMAT_VERSION, 2);
    put_be(h + 6, 0, 2); /* flags: none defined */
    put_be(h + 8, plain_len, 8);
}

/* header || str16(book_id) || str16(revision) || u32be(index) || u32be(count) */
static int slice_ad(qr_buf *ad, const uint8_t header[SLICE_HEADER_BYTES], const qr_slice_binding *b,
                    qr_error *err)
{
    uint8_t tail[8];
    put_be(tail, b->index, 4);
    put_be(tail + 4, b->count, 4);
    int rc = qr_buf_append(ad, header, SLICE_HEADER_BYTES, err);
    if (rc == 0)
        rc = qr_crypt__ad_put_str(ad, b->book_id, "book id", err);
    if (rc == 0)
        rc = qr_crypt__ad_put_str(ad, b->revision, "revision", err);
    if (rc == 0)
        rc = qr_buf_append(ad, tail, sizeof(tail), err);
    return rc;
}

static int check_binding(const qr_slice_binding *b, qr_error *err)
{
    if (!b)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "no slice binding");
    if (b->count == 0 || b->index >= b->count)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt",
                            "slice index %u is not below the slice count %u", b->index, b->count);
    return 0;
}

/*
 * Each thread's guarded block for a subkey (sodium_malloc: guard pages,
 * mlock, left out of core dumps), made at its first slice and freed when
 * the thread exits: a sodium_malloc and sodium_free per slice cost 240-340
 * us, 0.3 s on a book of 1,151 one-page slices. Wiped after every use.
 */
static pthread_once_t block_once = PTHREAD_ONCE_INIT;
static pthread_key_t block_key;
static bool block_key_ok;

static void block_free(void *p)
{
    sodium_free(p);
}

static void block_key_make(void)
{
    block_key_ok = pthread_key_create(&block_key, block_free) == 0;
}

/* The subkey for slice `index`, in this thread's block; the caller wipes it (subkey_wipe). */
static int slice_subkey(uint8_t **out, const qr_content_key *ck, uint32_t index, qr_error *err)
{
    *out = NULL;
    pthread_once(&block_once, block_key_make);
    uint8_t *sk = block_key_ok ? pthread_getspecific(block_key) : NULL;
    if (!sk && block_key_ok && (sk = sodium_malloc(QR_CRYPT__KEY_BYTES)) &&
        pthread_setspecific(block_key, sk) != 0) {
        sodium_free(sk);
        sk = NULL;
    }
    if (!sk)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt",
                            "cannot allocate guarded memory for a subkey");
    if (crypto_kdf_derive_from_key(sk, QR_CRYPT__KEY_BYTES, index, slice_kdf_ctx,
                                   qr_crypt__content_key_bytes(ck)) != 0) {
        sodium_memzero(sk, QR_CRYPT__KEY_BYTES);
        return qr_error_set(err, QR_ERR_INTERNAL, "crypt", "subkey derivation failed");
    }
    *out = sk;
    return 0;
}

static void subkey_wipe(uint8_t *sk)
{
    if (sk)
        sodium_memzero(sk, QR_CRYPT__KEY_BYTES);
}

int qr_slice_seal(qr_buf *out, const qr_content_key *ck, const qr_slice_binding *b,
                  const uint8_t *plain, size_t len, const uint8_t *nonce, qr_error *err)
{
    int rc = 0;
    qr_buf ad = QR_BUF_INIT(2 * QR_CRYPT__FIELD_MAX + 64);
    uint8_t *sk = NULL;
    uint8_t header[SLICE_HEADER_BYTES];
    if (!out || !ck || (!plain && len))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "nothing to seal");
    rc = check_binding(b, err);
    if (rc < 0)
        return rc;
    if (b->plain_len != (uint64_t)len)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt",
                            "binding says %llu plaintext bytes, %zu given",
                            (unsigned long long)b->plain_len, len);
    if (len > SIZE_MAX - SLICE_OVERHEAD)
        return qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, "crypt", "slice too large");
    slice_header(header, len);
    rc = slice_ad(&ad, header, b, err);
    if (rc < 0)
        goto out;
    rc = slice_subkey(&sk, ck, b->index, err);
    if (rc < 0)
        goto out;
    rc = qr_buf_reserve(out, SLICE_OVERHEAD + len, err);
    if (rc < 0)
        goto out;
    uint8_t *p = out->data + out->len;
    memcpy(p, header, SLICE_HEADER_BYTES);
    if (nonce)
        memcpy(p + SLICE_HEADER_BYTES, nonce, QR_CRYPT__NONCE_BYTES);
    else
        randombytes_buf(p + SLICE_HEADER_BYTES, QR_CRYPT__NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(p + SLICE_HEADER_BYTES + QR_CRYPT__NONCE_BYTES, NULL,
                                               plain ? plain : (const uint8_t *)"", len, ad.data,
                                               ad.len, NULL, p + SLICE_HEADER_BYTES, sk);
    out->len += SLICE_OVERHEAD + len;
    out->data[out->len] = 0;
out:
    subkey_wipe(sk);
    qr_buf_free(&ad);
    return rc;
}

int qr_slice_open(qr_buf *out, const qr_content_key *ck, const qr_slice_binding *b,
                  const uint8_t *sealed, size_t len, qr_error *err)
{
    int rc = 0;
    qr_buf ad = QR_BUF_INIT(2 * QR_CRYPT__FIELD_MAX + 64);
    uint8_t *sk = NULL;
    if (!out || !ck || (!sealed && len))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "nothing to open");
    rc = check_binding(b, err);
    if (rc < 0)
        return rc;
    if (len >= 4 && memcmp(sealed, slice_magic, 4) != 0)
        return qr_error_set(err, QR_ERR_SLICE_INVALID, "crypt",
                            "slice %u does not start with the magic \"QRSL\"", b->index);
    if (len < SLICE_OVERHEAD)
        return qr_error_set(err, QR_ERR_SLICE_TRUNCATED, "crypt",
                            "slice %u is %zu bytes, shorter than the %d bytes of header, nonce "
                            "and tag",
                            b->index, len, SLICE_OVERHEAD);
    uint64_t version = get_be(sealed + 4, 2);
    uint64_t flags = get_be(sealed + 6, 2);
    uint64_t plain_len = get_be(sealed + 8, 8);
    if (version != QR_PACKAGE_FORMAT_VERSION || flags != 0)
        return qr_error_set(err, QR_ERR_SLICE_INVALID, "crypt",
                            "slice %u has format version %llu flags %llu; this quire reads "
                            "version %d with no flags",
                            b->index, (unsigned long long)version, (unsigned long long)flags,
                            QR_PACKAGE_FORMAT_VERSION);
    uint64_t body = len - SLICE_OVERHEAD;
    if (plain_len > body)
        return qr_error_set(err, QR_ERR_SLICE_TRUNCATED, "crypt",
                            "slice %u holds %llu ciphertext bytes, its header declares %llu",
                            b->index, (unsigned long long)body, (unsigned long long)plain_len);
    if (plain_len < body)
        return qr_error_set(err, QR_ERR_SLICE_INVALID, "crypt",
                            "slice %u has %llu bytes after its declared end", b->index,
                            (unsigned long long)(body - plain_len));
    if (plain_len != b->plain_len)
        return qr_error_set(err, QR_ERR_SLICE_AUTH_FAILED, "crypt",
                            "slice %u declares %llu plaintext bytes, the manifest %llu", b->index,
                            (unsigned long long)plain_len, (unsigned long long)b->plain_len);
    rc = slice_ad(&ad, sealed, b, err);
    if (rc < 0)
        goto out;
    rc = slice_subkey(&sk, ck, b->index, err);
    if (rc < 0)
        goto out;
    rc = qr_buf_reserve(out, (size_t)plain_len, err);
    if (rc < 0)
        goto out;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            out->data + out->len, NULL, NULL, sealed + SLICE_HEADER_BYTES + QR_CRYPT__NONCE_BYTES,
            (size_t)plain_len + QR_CRYPT__TAG_BYTES, ad.data, ad.len, sealed + SLICE_HEADER_BYTES,
            sk) != 0) {
        rc = qr_error_set(err, QR_ERR_SLICE_AUTH_FAILED, "crypt",
                          "slice %u of %u does not authenticate for this book, revision and "
                          "content key",
                          b->index, b->count);
        goto out;
    }
    out->len += (size_t)plain_len;
    out->data[out->len] = 0;
out:
    subkey_wipe(sk);
    qr_buf_free(&ad);
    return rc;
}
