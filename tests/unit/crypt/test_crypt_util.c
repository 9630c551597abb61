/* Manifest signatures (with the published vector) and SHA-256 (one call and running). */
#include "qr_test.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt/crypt_internal.h"
#include "qr/crypt.h"

#define MSG "quire test vector\n"
/* docs/format.md "Test vectors", cross-checked with pyca/cryptography's Ed25519. */
#define VECTOR_PUBLIC "4fd099ccd47d7893dfe9ec24414ecb0d9b5420232aad30d91c465be33cbe65c4"
#define VECTOR_SIG                                                                                 \
    "febcd88df40cd62b0b75beabf8678fdadee3f7b557e3a738e11bf9036858ccc3a3354c7df52d3e4757bac76c5e"   \
    "4e7aa0e9923878604ffc7cda0e01497d95fd0d"

static int setup(void **state)
{
    if (qr_crypt_global_init(NULL) < 0)
        return -1;
    uint8_t kek[32], seed[32];
    for (int i = 0; i < 32; i++) {
        kek[i] = (uint8_t)(0x80 + i);
        seed[i] = (uint8_t)(0xa0 + i);
    }
    qr_keyring *k = NULL;
    if (qr_keyring_from_seed(&k, "kek-test-vector", kek, seed, NULL) < 0)
        return -1;
    *state = k;
    return 0;
}

static int teardown(void **state)
{
    qr_keyring_free(*state);
    return 0;
}

static void test_sign_vector(void **state)
{
    qr_keyring *k = *state;
    char hex[129];
    sodium_bin2hex(hex, sizeof(hex), qr_keyring_public_key(k), 32);
    assert_string_equal(hex, VECTOR_PUBLIC);
    uint8_t sig[64];
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_crypt_sign(sig, k, (const uint8_t *)MSG, strlen(MSG), &err), 0);
    sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
    assert_string_equal(hex, VECTOR_SIG);
    assert_int_equal(
        qr_crypt_verify(sig, qr_keyring_public_key(k), (const uint8_t *)MSG, strlen(MSG), &err), 0);
}

static void test_verify_rejects(void **state)
{
    qr_keyring *k = *state;
    uint8_t sig[64];
    char msg[] = "{\"metadata\":{\"title\":\"A\"}}";
    size_t n = strlen(msg);
    assert_int_equal(qr_crypt_sign(sig, k, (const uint8_t *)msg, n, NULL), 0);
    const uint8_t *pk = qr_keyring_public_key(k);
    qr_error err = QR_ERROR_INIT;

    msg[20] ^= 1; /* an edited manifest */
    assert_int_equal(qr_crypt_verify(sig, pk, (const uint8_t *)msg, n, &err), QR_ECRYPTO);
    assert_string_equal(err.id, "manifest-signature-invalid");
    msg[20] ^= 1;

    sig[5] ^= 0x80; /* an edited signature */
    qr_error_clear(&err);
    assert_int_equal(qr_crypt_verify(sig, pk, (const uint8_t *)msg, n, &err), QR_ECRYPTO);
    assert_string_equal(err.id, "manifest-signature-invalid");
    sig[5] ^= 0x80;

    qr_keyring *other = NULL; /* another signer's public key */
    assert_int_equal(qr_keyring_generate(&other, NULL, NULL), 0);
    qr_error_clear(&err);
    assert_int_equal(
        qr_crypt_verify(sig, qr_keyring_public_key(other), (const uint8_t *)msg, n, &err),
        QR_ECRYPTO);
    assert_string_equal(err.id, "manifest-signature-invalid");
    qr_keyring_free(other);
    assert_int_equal(qr_crypt_verify(sig, pk, (const uint8_t *)msg, n, NULL), 0);
}

static void test_sha256_hex(void **state)
{
    (void)state;
    char hex[65];
    qr_crypt_sha256_hex(hex, (const uint8_t *)MSG, strlen(MSG));
    assert_string_equal(hex, "db17b82b6aef717a69ea32a7637045b3b49abf3b8cd24010da63731367edb939");
    qr_crypt_sha256_hex(hex, NULL, 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/*
 * Runs `check` on each SHA-256 code this machine can run: its own on the SHA
 * extensions (where the processor has them: /proc/cpuinfo's sha_ni), then
 * libcrypto's and libsodium's, forced; then the probe again.
 */
static void each_sha256(void (*check)(void))
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    bool ni = false;
    while (f && !ni && fgets(line, sizeof(line), f))
        ni = strncmp(line, "flags", 5) == 0 && strstr(line, " sha_ni") != NULL;
    if (f)
        fclose(f);
    qr_crypt__sha256_use(0);
    assert_string_equal(qr_sha256_implementation(), ni ? "SHA-NI" : "libcrypto");
    assert_int_equal(qr_sha256_needs_libcrypto(), !ni);
    for (int which = ni ? 1 : 2; which <= 3; which++) {
        qr_crypt__sha256_use(which);
        check();
    }
    qr_crypt__sha256_use(0);
}

/* FIPS 180-2 vectors: "abc", the two-block message and a million 'a's fed unevenly. */
static void sha256_vectors(void)
{
    uint8_t h[QR_SHA256_BYTES];
    char hex[65];
    qr_sha256(h, "abc", 3);
    qr_sha256_to_hex(hex, h);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    qr_sha256(h, two, strlen(two));
    qr_sha256_to_hex(hex, h);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    qr_sha256_ctx st;
    qr_sha256_init(&st);
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t n = 1000000 - off < step ? 1000000 - off : step;
        qr_sha256_update(&st, a + off, n);
        off += n;
        step = step * 3 + 1; /* 1, 4, 13, ... crosses block edges at every offset class */
    }
    qr_sha256_update(&st, a, 0);
    qr_sha256_final(&st, h);
    qr_sha256_to_hex(hex, h);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    each_sha256(sha256_vectors);
}

/*
 * Every length around the block size, in one call or two, and 200 KB fed in
 * uneven pieces: the digest is libsodium's one-call digest.
 */
static void sha256_matches_libsodium(void)
{
    uint8_t buf[300], want[crypto_hash_sha256_BYTES], got[QR_SHA256_BYTES], run[QR_SHA256_BYTES];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(buf); n++) {
        crypto_hash_sha256(want, buf, n);
        qr_sha256(got, buf, n);
        assert_memory_equal(got, want, sizeof(want));
        qr_sha256_ctx st;
        qr_sha256_init(&st);
        qr_sha256_update(&st, buf, n / 2);
        qr_sha256_update(&st, buf + n / 2, n - n / 2);
        qr_sha256_final(&st, run);
        assert_memory_equal(run, want, sizeof(want));
    }
    size_t big = 200000;
    uint8_t *b = malloc(big);
    assert_non_null(b);
    randombytes_buf(b, big);
    crypto_hash_sha256(want, b, big);
    qr_sha256_ctx st;
    qr_sha256_init(&st);
    for (size_t off = 0, step = 1; off < big; step = step % 997 + 63) {
        size_t n = big - off < step ? big - off : step;
        qr_sha256_update(&st, b + off, n);
        off += n;
    }
    qr_sha256_final(&st, run);
    assert_memory_equal(run, want, sizeof(want));
    free(b);
}

static void test_sha256_matches_libsodium(void **state)
{
    (void)state;
    each_sha256(sha256_matches_libsodium);
    assert_non_null(qr_sha256_library_version());
}

/* A copy goes on from the same point: prefix -> digest of the prefix, and of prefix + tail. */
static void sha256_copy(void)
{
    uint8_t buf[300], want_a[QR_SHA256_BYTES], want_b[QR_SHA256_BYTES], a[QR_SHA256_BYTES],
        b[QR_SHA256_BYTES];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 13 + 7);
    crypto_hash_sha256(want_a, buf, 200);
    crypto_hash_sha256(want_b, buf, sizeof(buf));
    qr_sha256_ctx st, cp;
    qr_sha256_init(&st);
    qr_sha256_update(&st, buf, 200);
    qr_sha256_copy(&cp, &st);
    qr_sha256_update(&st, buf + 200, sizeof(buf) - 200);
    qr_sha256_final(&cp, a);
    qr_sha256_final(&st, b);
    assert_memory_equal(a, want_a, sizeof(a));
    assert_memory_equal(b, want_b, sizeof(b));
}

static void test_sha256_copy(void **state)
{
    (void)state;
    each_sha256(sha256_copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sign_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sha256_hex, setup, teardown),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_matches_libsodium),
        cmocka_unit_test(test_sha256_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
