/*
 * Package cryptography (libsodium): the service key file, per-book content
 * keys, slice sealing, key wrapping and manifest signatures. The byte layouts
 * are specified in docs/format.md, with test vectors the unit tests check.
 *
 * Keys live in sodium_malloc'd memory, are wiped on free and never logged.
 * Call qr_crypt_global_init() (sodium_init) once from main before anything here.
 */
#ifndef QR_CRYPT_H
#define QR_CRYPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/error.h"

/* Package format version, bound into every slice's associated data. */
#define QR_PACKAGE_FORMAT_VERSION 1

int qr_crypt_global_init(qr_error *err) QR_WUR;

/* ---- the service key file: KEK (with key id) + Ed25519 signing key pair ---- */

typedef struct qr_keyring qr_keyring;

/* New random KEK and signing key pair. `kek_id` NULL: a random id "kek-<16 hex>". */
int qr_keyring_generate(qr_keyring **out, const char *kek_id, qr_error *err) QR_WUR;
/*
 * Writes the key file (JSON, docs/format.md) with mode 0600, atomically;
 * refuses to overwrite an existing file. Errors: io, write-failed, invalid-argument.
 */
int qr_keyring_save(const qr_keyring *k, const char *path, qr_error *err) QR_WUR;
/*
 * Loads a key file. Refuses files that group or others can read
 * (key-file-insecure) and malformed ones (key-file-invalid).
 */
int qr_keyring_load(qr_keyring **out, const char *path, qr_error *err) QR_WUR;
/*
 * As qr_keyring_load for a key file's text already in memory (guarded
 * memory, say: a SecureString read from SSM); `what` names it in messages.
 */
int qr_keyring_parse(qr_keyring **out, const char *text, size_t len, const char *what,
                     qr_error *err) QR_WUR;
/*
 * A keyring from known bytes: KEK and the 32-byte Ed25519 seed (test vectors,
 * key escrow). `kek_id`: 1-64 characters of A-Z a-z 0-9 . _ : - (invalid-argument).
 */
int qr_keyring_from_seed(qr_keyring **out, const char *kek_id, const uint8_t kek[32],
                         const uint8_t sign_seed[32], qr_error *err) QR_WUR;
void qr_keyring_free(qr_keyring *k);
const char *qr_keyring_kek_id(const qr_keyring *k);
/* The Ed25519 public key (32 bytes), e.g. for the reading app. */
const uint8_t *qr_keyring_public_key(const qr_keyring *k);

/* ---- per-book content key ---- */

typedef struct qr_content_key qr_content_key;

int qr_content_key_new(qr_content_key **out, qr_error *err) QR_WUR;
/* From 32 known bytes (test vectors, unwrapping). */
int qr_content_key_from_bytes(qr_content_key **out, const uint8_t key[32], qr_error *err) QR_WUR;
void qr_content_key_free(qr_content_key *ck);

/*
 * Wraps the content key under the keyring's KEK, bound to book id and
 * revision: {"kek_id", "alg", "nonce", "wrapped"} (base64), written as key.json.
 */
int qr_content_key_wrap(json_t **out, const qr_content_key *ck, const qr_keyring *k,
                        const char *book_id, const char *revision, qr_error *err) QR_WUR;
/* As qr_content_key_wrap with a given 24-byte nonce (test vectors only; NULL: random). */
int qr_content_key_wrap_nonce(json_t **out, const qr_content_key *ck, const qr_keyring *k,
                              const char *book_id, const char *revision, const uint8_t nonce[24],
                              qr_error *err) QR_WUR;
/* Errors: wrong-key (other KEK id or authentication failed), key-file-invalid. */
int qr_content_key_unwrap(qr_content_key **out, const json_t *wrapped, const qr_keyring *k,
                          const char *book_id, const char *revision, qr_error *err) QR_WUR;

/* ---- slices ---- */

/* What a sealed slice is bound to (its associated data, docs/format.md). */
typedef struct qr_slice_binding {
    const char *book_id;
    const char *revision;
    uint32_t index;     /* 0-based slice index */
    uint32_t count;     /* number of slices in the book */
    uint64_t plain_len; /* plaintext length */
} qr_slice_binding;

/*
 * Seals `plain` with XChaCha20-Poly1305 under the subkey derived for
 * b->index; appends the slice file bytes (header, nonce, ciphertext, tag)
 * to `out`. `nonce` NULL: random (tests pass a fixed one for vectors).
 */
int qr_slice_seal(qr_buf *out, const qr_content_key *ck, const qr_slice_binding *b,
                  const uint8_t *plain, size_t len, const uint8_t *nonce, qr_error *err) QR_WUR;
/*
 * Opens a slice file. Errors (ids): slice-truncated (too short / length
 * mismatch), slice-invalid (bad magic or version), slice-auth-failed (wrong
 * key, flipped byte, slice from another position, book or revision).
 */
int qr_slice_open(qr_buf *out, const qr_content_key *ck, const qr_slice_binding *b,
                  const uint8_t *sealed, size_t len, qr_error *err) QR_WUR;

/* ---- manifest signature ---- */

/* Detached Ed25519 signature (64 bytes) of `msg`. */
int qr_crypt_sign(uint8_t sig[64], const qr_keyring *k, const uint8_t *msg, size_t len,
                  qr_error *err) QR_WUR;
/* Errors: manifest-signature-invalid. */
int qr_crypt_verify(const uint8_t sig[64], const uint8_t pk[32], const uint8_t *msg, size_t len,
                    qr_error *err) QR_WUR;

/* ---- SHA-256 of bulk data (sha256.c: SHA-NI here, else libcrypto's, else libsodium's) ---- */

#define QR_SHA256_BYTES 32

/* A running SHA-256, held here: nothing allocated, nothing to free, nothing that fails. */
typedef struct qr_sha256_ctx {
    _Alignas(16) unsigned char state[128]; /* sha256.c's own, libcrypto's or libsodium's state */
} qr_sha256_ctx;

void qr_sha256_init(qr_sha256_ctx *s);
void qr_sha256_update(qr_sha256_ctx *s, const void *data, size_t len);
/* `dst` (not initialised) continues from where `src` is: one pass over data, two digests. */
void qr_sha256_copy(qr_sha256_ctx *dst, const qr_sha256_ctx *src);
/* The digest; the state is wiped. */
void qr_sha256_final(qr_sha256_ctx *s, uint8_t out[QR_SHA256_BYTES]);
/* One call; `data` NULL hashes nothing. */
void qr_sha256(uint8_t out[QR_SHA256_BYTES], const void *data, size_t len);
/* 64 lowercase hex characters and a NUL. */
void qr_sha256_to_hex(char out[65], const uint8_t h[QR_SHA256_BYTES]);
/* The libcrypto loaded at run time ("3.0.19"; the `quire` binary loads it to answer). */
const char *qr_sha256_library_version(void);
/* What hashes on this processor: "SHA-NI" (sha256.c's own) or "libcrypto". */
const char *qr_sha256_implementation(void);
/* Whether this processor hashes through libcrypto (it lacks the SHA extensions). */
bool qr_sha256_needs_libcrypto(void);
/*
 * Loads libcrypto now if this processor hashes through it (the `quire`
 * binary loads it on first use; a process that forks loads it at start).
 * Errors: internal (cannot load it; hashing then falls back to libsodium).
 */
int qr_sha256_ready(qr_error *err) QR_WUR;

/* SHA-256 of `data` as 64 lowercase hex characters plus NUL. */
void qr_crypt_sha256_hex(char out[65], const uint8_t *data, size_t len);

/* The version of the libsodium loaded at run time ("1.0.18"). */
const char *qr_crypt_library_version(void);

#endif
