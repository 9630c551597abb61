/* Helpers shared by the files of src/crypt/ (not part of the public API). */
#ifndef QR_CRYPT_INTERNAL_H
#define QR_CRYPT_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/crypt.h"

#define QR_CRYPT__KEY_BYTES 32
#define QR_CRYPT__NONCE_BYTES 24
#define QR_CRYPT__TAG_BYTES 16
/* Longest book id, revision or key id bound into associated data (u16 length prefix). */
#define QR_CRYPT__FIELD_MAX 1024

/* The 32 content-key bytes (guarded memory, read-only). */
const uint8_t *qr_crypt__content_key_bytes(const qr_content_key *ck);
/* The 32 KEK bytes of a keyring (guarded memory, read-only). */
const uint8_t *qr_crypt__keyring_kek(const qr_keyring *k);
/* The 64-byte Ed25519 secret key of a keyring (guarded memory, read-only). */
const uint8_t *qr_crypt__keyring_sign_secret(const qr_keyring *k);

/*
 * Appends `s` to `ad` as a u16 big-endian length followed by its bytes.
 * Fails with invalid-argument when `s` is NULL, empty or longer than
 * QR_CRYPT__FIELD_MAX (`what` names the field in the message).
 */
int qr_crypt__ad_put_str(qr_buf *ad, const char *s, const char *what, qr_error *err) QR_WUR;

/*
 * Decodes standard padded base64 `b64` into exactly `want` bytes at `dst`.
 * Returns 0 on success and -1 when the text is not base64 or has another length;
 * the caller chooses the error id.
 */
int qr_crypt__b64_decode_exact(uint8_t *dst, size_t want, const char *b64);

/* Base64 (standard, padded) of `len` bytes as a new json string; NULL on allocation failure. */
json_t *qr_crypt__b64_json(const uint8_t *bin, size_t len);

/*
 * For tests: makes qr_sha256_init pick `which` (1 SHA-NI, 2 libcrypto, 3
 * libsodium; 0 probes the processor again) for contexts started afterwards.
 * SHA-NI on a processor without it faults.
 */
void qr_crypt__sha256_use(int which);

#endif
