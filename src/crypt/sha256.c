/*
 * SHA-256 over bulk data: libcrypto's, which runs on the CPU's SHA
 * extensions (SHA-NI) or AVX2 where there are some, against libsodium's
 * portable code (docs/internals/crypt.md has the numbers).
 *
 * Through libcrypto's own SHA-256 functions (SHA256_Init/Update/Final), not
 * EVP: the same assembly, picked by the CPU probe libcrypto runs when it is
 * loaded, but without starting OpenSSL's provider machinery, which reads
 * openssl.cnf and registers every algorithm on the first EVP call (3.5 ms
 * of every run, a tenth of a small PDF's). The functions are deprecated in
 * OpenSSL 3 in favour of EVP, not removed (OPENSSL_SUPPRESS_DEPRECATED); the
 * state lives in the caller's qr_sha256_ctx, so hashing allocates nothing
 * and cannot fail.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <string.h>

#include "qr/crypt.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((qr_sha256_ctx *)0)->state),
               "qr_sha256_ctx.state must hold libcrypto's SHA256_CTX");
_Static_assert(SHA256_DIGEST_LENGTH == QR_SHA256_BYTES, "SHA-256 is 32 bytes");

static SHA256_CTX *ctx(qr_sha256_ctx *s)
{
    return (SHA256_CTX *)(void *)s->state;
}

void qr_sha256_init(qr_sha256_ctx *s)
{
    SHA256_Init(ctx(s));
}

void qr_sha256_update(qr_sha256_ctx *s, const void *data, size_t len)
{
    if (len)
        SHA256_Update(ctx(s), data, len);
}

void qr_sha256_copy(qr_sha256_ctx *dst, const qr_sha256_ctx *src)
{
    memcpy(dst, src, sizeof(*dst));
}

void qr_sha256_final(qr_sha256_ctx *s, uint8_t out[QR_SHA256_BYTES])
{
    SHA256_Final(out, ctx(s));
    sodium_memzero(s->state, sizeof(s->state));
}

/* Not libcrypto's SHA256(): in OpenSSL 3 that one goes through EVP. */
void qr_sha256(uint8_t out[QR_SHA256_BYTES], const void *data, size_t len)
{
    qr_sha256_ctx s;
    qr_sha256_init(&s);
    if (data)
        qr_sha256_update(&s, data, len);
    qr_sha256_final(&s, out);
}

void qr_sha256_to_hex(char out[65], const uint8_t h[QR_SHA256_BYTES])
{
    sodium_bin2hex(out, 65, h, QR_SHA256_BYTES);
}

const char *qr_sha256_library_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION_STRING);
}
