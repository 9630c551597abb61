/*
 * Slice files: the published test vector (docs/format.md), round trips, and
 * every kind of tampering mapped to its specific error id.
 */
#include "qr_test.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qr/crypt.h"

#define BOOK "urn:isbn:9780000000000"
#define PLAIN "quire test vector\n"
/* docs/format.md "Test vectors", cross-checked with an independent Python implementation. */
#define VECTOR_SLICE                                                                               \
    "5152534c000100000000000000000012404142434445464748494a4b4c4d4e4f5051525354555657155e7b725d"   \
    "c75386e9655c4a527af6367ba0ff8221e7921f3a3e8eb151d0c9b25f57"

typedef struct fixture {
    qr_content_key *ck;
    qr_buf sealed;
    qr_buf plain;
} fixture;

static int setup(void **state)
{
    if (qr_crypt_global_init(NULL) < 0)
        return -1;
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    if (qr_content_key_from_bytes(&f->ck, key, NULL) < 0)
        return -1;
    qr_buf_init(&f->sealed, 64u << 20);
    qr_buf_init(&f->plain, 64u << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_content_key_free(f->ck);
    qr_buf_free(&f->sealed);
    qr_buf_free(&f->plain);
    free(f);
    return 0;
}

static qr_slice_binding binding(uint32_t index, uint32_t count, uint64_t plain_len)
{
    qr_slice_binding b = {BOOK, "r1", index, count, plain_len};
    return b;
}

static void seal_vector_input(fixture *f)
{
    uint8_t nonce[24];
    for (int i = 0; i < 24; i++)
        nonce[i] = (uint8_t)(0x40 + i);
    qr_slice_binding b = binding(2, 5, strlen(PLAIN));
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(
        qr_slice_seal(&f->sealed, f->ck, &b, (const uint8_t *)PLAIN, strlen(PLAIN), nonce, &err),
        0);
}

static void test_vector(void **state)
{
    fixture *f = *state;
    seal_vector_input(f);
    char hex[2 * 200 + 1];
    assert_true(f->sealed.len < 200);
    sodium_bin2hex(hex, sizeof(hex), f->sealed.data, f->sealed.len);
    assert_string_equal(hex, VECTOR_SLICE);
    assert_int_equal(f->sealed.len, 16 + 24 + strlen(PLAIN) + 16);

    qr_slice_binding b = binding(2, 5, strlen(PLAIN));
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_slice_open(&f->plain, f->ck, &b, f->sealed.data, f->sealed.len, &err), 0);
    assert_int_equal(f->plain.len, strlen(PLAIN));
    assert_memory_equal(f->plain.data, PLAIN, strlen(PLAIN));
}

static void round_trip(fixture *f, size_t n)
{
    uint8_t *data = malloc(n ? n : 1);
    assert_non_null(data);
    randombytes_buf(data, n);
    qr_slice_binding b = binding(0, 1, n);
    qr_error err = QR_ERROR_INIT;
    qr_buf_reset(&f->sealed);
    qr_buf_reset(&f->plain);
    assert_int_equal(qr_slice_seal(&f->sealed, f->ck, &b, data, n, NULL, &err), 0);
    assert_int_equal(f->sealed.len, n + 56);
    assert_int_equal(qr_slice_open(&f->plain, f->ck, &b, f->sealed.data, f->sealed.len, &err), 0);
    assert_int_equal(f->plain.len, n);
    if (n)
        assert_memory_equal(f->plain.data, data, n);
    free(data);
}

static void test_round_trip_sizes(void **state)
{
    fixture *f = *state;
    round_trip(f, 0);
    round_trip(f, 1);
    round_trip(f, 1u << 20);
}

static void test_random_nonces_differ(void **state)
{
    fixture *f = *state;
    qr_slice_binding b = binding(0, 1, 4);
    qr_buf other = QR_BUF_INIT(1024);
    assert_int_equal(qr_slice_seal(&f->sealed, f->ck, &b, (const uint8_t *)"abcd", 4, NULL, NULL),
                     0);
    assert_int_equal(qr_slice_seal(&other, f->ck, &b, (const uint8_t *)"abcd", 4, NULL, NULL), 0);
    assert_int_equal(other.len, f->sealed.len);
    assert_memory_not_equal(other.data + 16, f->sealed.data + 16, 24);
    qr_buf_free(&other);
}

/* Opens `data` under binding `b` with key `ck` and checks the error id. */
static void expect_open_fails(fixture *f, const qr_content_key *ck, qr_slice_binding b,
                              const uint8_t *data, size_t len, const char *id)
{
    qr_error err = QR_ERROR_INIT;
    qr_buf_reset(&f->plain);
    assert_true(qr_slice_open(&f->plain, ck, &b, data, len, &err) < 0);
    assert_non_null(err.id);
    assert_string_equal(err.id, id);
    assert_int_equal(f->plain.len, 0);
}

static void test_flipped_bytes(void **state)
{
    fixture *f = *state;
    seal_vector_input(f);
    qr_slice_binding b = binding(2, 5, strlen(PLAIN));
    size_t len = f->sealed.len;
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    /* Every byte: magic, version, flags -> invalid; declared length -> truncated;
     * nonce, ciphertext, tag -> authentication failure. */
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, f->sealed.data, len);
        copy[i] ^= 0x01;
        const char *id = "slice-auth-failed";
        if (i < 8)
            id = "slice-invalid";
        else if (i < 16)
            id = "slice-truncated"; /* the declared length grows past the file */
        expect_open_fails(f, f->ck, b, copy, len, id);
    }
    free(copy);
}

static void test_swapped_and_replayed(void **state)
{
    fixture *f = *state;
    seal_vector_input(f);
    const uint8_t *d = f->sealed.data;
    size_t n = f->sealed.len;
    uint64_t pl = strlen(PLAIN);
    /* Another position of the same book. */
    expect_open_fails(f, f->ck, binding(3, 5, pl), d, n, "slice-auth-failed");
    /* Same position, book with another slice count. */
    expect_open_fails(f, f->ck, binding(2, 6, pl), d, n, "slice-auth-failed");
    /* Another book, another revision. */
    qr_slice_binding other_book = {"urn:isbn:9780000000001", "r1", 2, 5, pl};
    expect_open_fails(f, f->ck, other_book, d, n, "slice-auth-failed");
    qr_slice_binding other_rev = {BOOK, "r2", 2, 5, pl};
    expect_open_fails(f, f->ck, other_rev, d, n, "slice-auth-failed");
    /* The manifest says another length. */
    expect_open_fails(f, f->ck, binding(2, 5, pl + 1), d, n, "slice-auth-failed");
    /* Another content key. */
    qr_content_key *other = NULL;
    assert_int_equal(qr_content_key_new(&other, NULL), 0);
    expect_open_fails(f, other, binding(2, 5, pl), d, n, "slice-auth-failed");
    qr_content_key_free(other);
}

static void test_truncated(void **state)
{
    fixture *f = *state;
    seal_vector_input(f);
    qr_slice_binding b = binding(2, 5, strlen(PLAIN));
    expect_open_fails(f, f->ck, b, f->sealed.data, f->sealed.len - 1, "slice-truncated");
    expect_open_fails(f, f->ck, b, f->sealed.data, 10, "slice-truncated");
    expect_open_fails(f, f->ck, b, f->sealed.data, 0, "slice-truncated");
    /* Trailing garbage is not a valid slice either. */
    assert_int_equal(qr_buf_append(&f->sealed, "x", 1, NULL), 0);
    expect_open_fails(f, f->ck, b, f->sealed.data, f->sealed.len, "slice-invalid");
    expect_open_fails(f, f->ck, b, (const uint8_t *)"PK\x03\x04 not a slice", 17, "slice-invalid");
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    qr_error err = QR_ERROR_INIT;
    qr_slice_binding b = binding(5, 5, 1);
    assert_int_equal(qr_slice_seal(&f->sealed, f->ck, &b, (const uint8_t *)"a", 1, NULL, &err),
                     QR_EINVAL);
    qr_error_clear(&err);
    b = binding(0, 5, 2); /* binding length differs from the data */
    assert_int_equal(qr_slice_seal(&f->sealed, f->ck, &b, (const uint8_t *)"a", 1, NULL, &err),
                     QR_EINVAL);
    qr_error_clear(&err);
    qr_slice_binding nobook = {"", "r1", 0, 1, 1};
    assert_int_equal(qr_slice_seal(&f->sealed, f->ck, &nobook, (const uint8_t *)"a", 1, NULL, &err),
                     QR_EINVAL);
    assert_int_equal(f->sealed.len, 0);
}

/* Not an assertion: prints seal and open throughput on 1 MiB slices for the report. */
static void test_throughput(void **state)
{
    fixture *f = *state;
    size_t n = 1u << 20;
    int rounds = 64;
    uint8_t *data = calloc(1, n);
    assert_non_null(data);
    qr_slice_binding b = binding(0, 1, n);
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < rounds; i++) {
        qr_buf_reset(&f->sealed);
        assert_int_equal(qr_slice_seal(&f->sealed, f->ck, &b, data, n, NULL, NULL), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int i = 0; i < rounds; i++) {
        qr_buf_reset(&f->plain);
        assert_int_equal(qr_slice_open(&f->plain, f->ck, &b, f->sealed.data, f->sealed.len, NULL),
                         0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    double s1 = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double s2 = (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9;
    print_message("seal %.0f MB/s, open %.0f MB/s (1 MiB slices, %d rounds)\n",
                  rounds * (double)n / 1e6 / s1, rounds * (double)n / 1e6 / s2, rounds);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_nonces_differ, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_and_replayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
