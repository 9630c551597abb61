/* libsodium initialisation, manifest signatures, SHA-256 and small encoders. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypt_internal.h"

int qr_crypt_global_init(qr_error *err)
{
    if (sodium_init() < 0)
        return qr_error_set(err, QR_ERR_INTERNAL, "crypt", "libsodium failed to initialise");
    return 0;
}

int qr_crypt_sign(uint8_t sig[64], const qr_keyring *k, const uint8_t *msg, size_t len,
                  qr_error *err)
{
    if (!sig || !k || (!msg && len))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "nothing to sign");
    if (crypto_sign_detached(sig, NULL, msg ? msg : (const uint8_t *)"", len,
                             qr_crypt__keyring_sign_secret(k)) != 0)
        return qr_error_set(err, QR_ERR_INTERNAL, "crypt", "Ed25519 signing failed");
    return 0;
}

int qr_crypt_verify(const uint8_t sig[64], const uint8_t pk[32], const uint8_t *msg, size_t len,
                    qr_error *err)
{
    if (!sig || !pk || (!msg && len))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "nothing to verify");
    if (crypto_sign_verify_detached(sig, msg ? msg : (const uint8_t *)"", len, pk) != 0)
        return qr_error_set(err, QR_ERR_MANIFEST_SIGNATURE_INVALID, "crypt",
                            "the Ed25519 signature does not match the manifest and public key");
    return 0;
}

void qr_crypt_sha256_hex(char out[65], const uint8_t *data, size_t len)
{
    uint8_t h[QR_SHA256_BYTES];
    qr_sha256(h, data, len);
    qr_sha256_to_hex(out, h);
}

int qr_crypt__ad_put_str(qr_buf *ad, const char *s, const char *what, qr_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > QR_CRYPT__FIELD_MAX)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "%s must be 1 to %d bytes long",
                            what, QR_CRYPT__FIELD_MAX);
    uint8_t be[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    int rc = qr_buf_append(ad, be, 2, err);
    if (rc < 0)
        return rc;
    return qr_buf_append(ad, s, n, err);
}

int qr_crypt__b64_decode_exact(uint8_t *dst, size_t want, const char *b64)
{
    if (!b64)
        return -1;
    size_t b64_len = strlen(b64);
    size_t got = 0;
    const char *end = NULL;
    if (sodium_base642bin(dst, want, b64, b64_len, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != want || end != b64 + b64_len)
        return -1;
    return 0;
}

json_t *qr_crypt__b64_json(const uint8_t *bin, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(n);
    if (!s)
        return NULL;
    sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
    json_t *j = json_string(s);
    sodium_memzero(s, n);
    free(s);
    return j;
}

const char *qr_crypt_library_version(void)
{
    return sodium_version_string();
}
