/* Content keys: the key-wrap test vector (docs/format.md) and wrong-key cases. */
#include "qr_test.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "qr/crypt.h"

#define BOOK "urn:isbn:9780000000000"
/* docs/format.md "Test vectors", cross-checked with an independent Python implementation. */
#define VECTOR_WRAPPED                                                                             \
    "d1011037b4784afde593e9a059534ffd1a2300cce3ffdeb0b0ab5a09bfe36ef1536ff7c1296d3aa2fc1a2beb76"   \
    "e5f836"

typedef struct fixture {
    qr_keyring *k;
    qr_content_key *ck;
} fixture;

static void fill(uint8_t *p, size_t n, uint8_t first)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(first + i);
}

static int setup(void **state)
{
    if (qr_crypt_global_init(NULL) < 0)
        return -1;
    fixture *f = calloc(1, sizeof(*f));
    uint8_t kek[32], seed[32], ck[32];
    fill(kek, 32, 0x80);
    fill(seed, 32, 0xa0);
    fill(ck, 32, 0x00);
    if (!f || qr_keyring_from_seed(&f->k, "kek-test-vector", kek, seed, NULL) < 0 ||
        qr_content_key_from_bytes(&f->ck, ck, NULL) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_keyring_free(f->k);
    qr_content_key_free(f->ck);
    free(f);
    return 0;
}

static void test_wrap_vector(void **state)
{
    fixture *f = *state;
    uint8_t nonce[24], bin[48];
    fill(nonce, 24, 0x60);
    json_t *w = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_content_key_wrap_nonce(&w, f->ck, f->k, BOOK, "r1", nonce, &err), 0);
    assert_string_equal(json_string_value(json_object_get(w, "format")), "quire-wrapped-key");
    assert_int_equal(json_integer_value(json_object_get(w, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(w, "kek_id")), "kek-test-vector");
    assert_string_equal(json_string_value(json_object_get(w, "alg")), "xchacha20poly1305-ietf");
    assert_string_equal(json_string_value(json_object_get(w, "nonce")),
                        "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3");
    const char *b64 = json_string_value(json_object_get(w, "wrapped"));
    size_t got = 0;
    assert_int_equal(sodium_base642bin(bin, sizeof(bin), b64, strlen(b64), NULL, &got, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(got, 48);
    char hex[97];
    sodium_bin2hex(hex, sizeof(hex), bin, sizeof(bin));
    assert_string_equal(hex, VECTOR_WRAPPED);

    /* Unwrapping gives back a key that opens what the original sealed. */
    qr_content_key *back = NULL;
    assert_int_equal(qr_content_key_unwrap(&back, w, f->k, BOOK, "r1", &err), 0);
    qr_slice_binding b = {BOOK, "r1", 0, 1, 3};
    qr_buf sealed = QR_BUF_INIT(1024), plain = QR_BUF_INIT(1024);
    assert_int_equal(qr_slice_seal(&sealed, f->ck, &b, (const uint8_t *)"abc", 3, NULL, &err), 0);
    assert_int_equal(qr_slice_open(&plain, back, &b, sealed.data, sealed.len, &err), 0);
    assert_memory_equal(plain.data, "abc", 3);
    qr_buf_free(&sealed);
    qr_buf_free(&plain);
    qr_content_key_free(back);
    json_decref(w);
}

static void expect_unwrap_fails(const json_t *w, const qr_keyring *k, const char *book,
                                const char *rev, const char *id)
{
    qr_content_key *ck = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_content_key_unwrap(&ck, w, k, book, rev, &err) < 0);
    assert_null(ck);
    assert_string_equal(err.id, id);
}

static void test_wrong_keys(void **state)
{
    fixture *f = *state;
    json_t *w = NULL;
    assert_int_equal(qr_content_key_wrap(&w, f->ck, f->k, BOOK, "r1", NULL), 0);

    /* Another key file: other key id. */
    qr_keyring *other = NULL;
    assert_int_equal(qr_keyring_generate(&other, NULL, NULL), 0);
    expect_unwrap_fails(w, other, BOOK, "r1", "wrong-key");
    qr_keyring_free(other);
    /* Another KEK that claims the same key id. */
    uint8_t kek[32], seed[32];
    fill(kek, 32, 0x81);
    fill(seed, 32, 0xa0);
    assert_int_equal(qr_keyring_from_seed(&other, "kek-test-vector", kek, seed, NULL), 0);
    expect_unwrap_fails(w, other, BOOK, "r1", "wrong-key");
    qr_keyring_free(other);
    /* Another book or revision. */
    expect_unwrap_fails(w, f->k, "urn:isbn:9780000000001", "r1", "wrong-key");
    expect_unwrap_fails(w, f->k, BOOK, "r2", "wrong-key");
    /* A modified wrapped key. */
    json_t *c = json_deep_copy(w);
    char mod[80];
    snprintf(mod, sizeof(mod), "%s", json_string_value(json_object_get(c, "wrapped")));
    mod[0] = mod[0] == 'A' ? 'B' : 'A';
    assert_int_equal(json_object_set_new(c, "wrapped", json_string(mod)), 0);
    expect_unwrap_fails(c, f->k, BOOK, "r1", "wrong-key");
    json_decref(c);

    /* Malformed objects. */
    c = json_deep_copy(w);
    assert_int_equal(json_object_set_new(c, "nonce", json_string("AAAA")), 0);
    expect_unwrap_fails(c, f->k, BOOK, "r1", "key-file-invalid");
    json_decref(c);
    c = json_deep_copy(w);
    assert_int_equal(json_object_set_new(c, "alg", json_string("aes-256-gcm")), 0);
    expect_unwrap_fails(c, f->k, BOOK, "r1", "key-file-invalid");
    json_decref(c);
    c = json_array();
    expect_unwrap_fails(c, f->k, BOOK, "r1", "key-file-invalid");
    json_decref(c);
    json_decref(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wrap_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
