/*
 * SHA-256 over bulk data: libcrypto's, which runs on the CPU's SHA
 * extensions (SHA-NI) or AVX2 where there are some, against libsodium's
 * portable code (docs/internals/crypt.md has the numbers). Should libcrypto
 * fail to set up a context (out of memory), the same digest comes from
 * libsodium: hashing never fails.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

#include "qr/crypt.h"

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((qr_sha256_ctx *)0)->fallback),
               "qr_sha256_ctx.fallback must hold a libsodium SHA-256 state");
_Static_assert(crypto_hash_sha256_BYTES == QR_SHA256_BYTES, "SHA-256 is 32 bytes");

static crypto_hash_sha256_state *fallback(qr_sha256_ctx *s)
{
    return (crypto_hash_sha256_state *)(void *)s->fallback;
}

void qr_sha256_init(qr_sha256_ctx *s)
{
    s->failed = false;
    s->ctx = EVP_MD_CTX_new();
    if (s->ctx && EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) == 1)
        return;
    EVP_MD_CTX_free(s->ctx);
    s->ctx = NULL;
    crypto_hash_sha256_init(fallback(s));
}

void qr_sha256_update(qr_sha256_ctx *s, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (s->ctx && EVP_DigestUpdate(s->ctx, data, len) == 1)
        return;
    if (s->ctx) {
        /* libcrypto's state is lost; nothing here can recover it. */
        EVP_MD_CTX_free(s->ctx);
        s->ctx = NULL;
        s->failed = true;
        return;
    }
    crypto_hash_sha256_update(fallback(s), data, len);
}

void qr_sha256_copy(qr_sha256_ctx *dst, const qr_sha256_ctx *src)
{
    memcpy(dst, src, sizeof(*dst));
    if (!src->ctx)
        return;
    dst->ctx = EVP_MD_CTX_new();
    if (dst->ctx && EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) == 1)
        return;
    EVP_MD_CTX_free(dst->ctx);
    dst->ctx = NULL;
    dst->failed = true;
}

bool qr_sha256_final(qr_sha256_ctx *s, uint8_t out[QR_SHA256_BYTES])
{
    bool ok = !s->failed;
    if (s->ctx) {
        unsigned int n = 0;
        ok = EVP_DigestFinal_ex(s->ctx, out, &n) == 1 && n == QR_SHA256_BYTES;
        EVP_MD_CTX_free(s->ctx);
        s->ctx = NULL;
    } else if (ok) {
        crypto_hash_sha256_final(fallback(s), out);
    }
    if (!ok)
        memset(out, 0, QR_SHA256_BYTES);
    return ok;
}

void qr_sha256(uint8_t out[QR_SHA256_BYTES], const void *data, size_t len)
{
    unsigned int n = 0;
    const void *p = data ? data : "";
    if (!data)
        len = 0;
    if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) == 1 && n == QR_SHA256_BYTES)
        return;
    crypto_hash_sha256(out, p, len);
}

void qr_sha256_to_hex(char out[65], const uint8_t h[QR_SHA256_BYTES])
{
    sodium_bin2hex(out, 65, h, QR_SHA256_BYTES);
}

const char *qr_sha256_library_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION_STRING);
}
