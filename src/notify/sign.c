/*
 * The callback signature (HMAC-SHA256 over "<t>.<body>", Stripe's scheme)
 * and the idempotency key. Pure, libsodium only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "qr/notify.h"

/* The longest ActiveJob job_id taken as a key (a UUID is 36 bytes). */
#define KEY_TOKEN_MAX (QR_CALLBACK_KEY_MAX - 1)

static bool is_token(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > KEY_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static void hash_field(crypto_hash_sha256_state *st, const char *name, const char *value)
{
    char head[64];
    if (!value)
        return;
    size_t vlen = strlen(value);
    int n = snprintf(head, sizeof(head), "%s:%zu:", name, vlen);
    crypto_hash_sha256_update(st, (const unsigned char *)head, (unsigned long long)n);
    crypto_hash_sha256_update(st, (const unsigned char *)value, vlen);
    crypto_hash_sha256_update(st, (const unsigned char *)"\n", 1);
}

int qr_callback_idempotency_key(char out[QR_CALLBACK_KEY_MAX], const qr_job *job, qr_error *err)
{
    static const char prefix[] = "quire-job-v1\n";
    crypto_hash_sha256_state st;
    unsigned char digest[crypto_hash_sha256_BYTES];

    out[0] = '\0';
    if (!job || !job->book_id || !job->source)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "notify",
                            "idempotency key needs a job with a book_id and a source");
    if (job->active_job_id) {
        if (!is_token(job->active_job_id))
            return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, "notify",
                                "ActiveJob job_id is not 1-%d bytes of [A-Za-z0-9._:-]",
                                KEY_TOKEN_MAX);
        memcpy(out, job->active_job_id, strlen(job->active_job_id) + 1);
        return 0;
    }
    if (job->job_id) {
        if (!is_token(job->job_id))
            return qr_error_set(err, QR_ERR_JOB_PAYLOAD_INVALID, "notify",
                                "job_id is not 1-%d bytes of [A-Za-z0-9._:-]", KEY_TOKEN_MAX);
        memcpy(out, job->job_id, strlen(job->job_id) + 1);
        return 0;
    }
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)prefix, sizeof(prefix) - 1);
    hash_field(&st, "book_id", job->book_id);
    hash_field(&st, "source", job->source);
    hash_field(&st, "revision", job->revision);
    hash_field(&st, "profile", job->profile);
    hash_field(&st, "callback_url", job->callback_url);
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(out, QR_CALLBACK_KEY_MAX, digest, sizeof(digest));
    return 0;
}

int qr_callback_sign(char out[QR_CALLBACK_SIGNATURE_MAX], const char *secret, int64_t t,
                     const char *body, size_t body_len, qr_error *err)
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char stamp[32], hex[2 * crypto_auth_hmacsha256_BYTES + 1];

    out[0] = '\0';
    if (!secret || strlen(secret) < QR_CALLBACK_SECRET_MIN)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "notify",
                            "callback secret must be at least %d bytes", QR_CALLBACK_SECRET_MIN);
    if (t < 0 || (!body && body_len > 0))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "notify", "bad signature input");
    int n = snprintf(stamp, sizeof(stamp), "%" PRId64 ".", t);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)stamp, (unsigned long long)n);
    if (body_len > 0)
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
    sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
    snprintf(out, QR_CALLBACK_SIGNATURE_MAX, "t=%" PRId64 ",v1=%s", t, hex);
    return 0;
}
