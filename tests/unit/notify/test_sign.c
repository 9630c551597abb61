/*
 * The callback signature and the idempotency key against vectors computed
 * outside quire, so a receiver written from docs/operations/callbacks.md
 * agrees with what quire sends.
 */
#include "qr_test.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "qr/notify.h"

#define SECRET "whsec_quire_test_secret_0123456789"
#define T ((int64_t)1795690589) /* 2026-11-26 10:56:29 UTC */
#define BODY "{\"event\":\"book.published\",\"book_id\":\"42\"}"

static int group_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void test_sign_vector(void **state)
{
    (void)state;
    char sig[QR_CALLBACK_SIGNATURE_MAX];
    qr_error err = QR_ERROR_INIT;
    /*
     * Computed with:
     *   python3 -c 'import hmac,hashlib; print(hmac.new(
     *     b"whsec_quire_test_secret_0123456789",
     *     b"1795690589." + b"{\"event\":\"book.published\",\"book_id\":\"42\"}",
     *     hashlib.sha256).hexdigest())'
     */
    assert_int_equal(qr_callback_sign(sig, SECRET, T, BODY, strlen(BODY), &err), 0);
    assert_string_equal(
        sig, "t=1795690589,v1=2f2da914d8351d0e31d552aac6881c2d59124aa55e0980d08712753e7722479a");
}

static void test_sign_changes_with_each_input(void **state)
{
    (void)state;
    char a[QR_CALLBACK_SIGNATURE_MAX], b[QR_CALLBACK_SIGNATURE_MAX];
    assert_int_equal(qr_callback_sign(a, SECRET, T, BODY, strlen(BODY), NULL), 0);
    /* Another timestamp: the t= part and the MAC both change. */
    assert_int_equal(qr_callback_sign(b, SECRET, T + 1, BODY, strlen(BODY), NULL), 0);
    assert_string_not_equal(strchr(a, ','), strchr(b, ','));
    /* One body byte. */
    assert_int_equal(qr_callback_sign(b, SECRET, T, BODY, strlen(BODY) - 1, NULL), 0);
    assert_string_not_equal(a, b);
    /* Another secret. */
    assert_int_equal(qr_callback_sign(b, SECRET "x", T, BODY, strlen(BODY), NULL), 0);
    assert_string_not_equal(a, b);
}

static void test_sign_refuses_short_secret(void **state)
{
    (void)state;
    char sig[QR_CALLBACK_SIGNATURE_MAX];
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_callback_sign(sig, "short", T, BODY, strlen(BODY), &err), QR_EINVAL);
    assert_string_equal(err.id, "invalid-argument");
    assert_null(strstr(err.msg, "short"));
    qr_error_clear(&err);
    assert_int_equal(qr_callback_sign(sig, NULL, T, BODY, strlen(BODY), &err), QR_EINVAL);
    qr_error_clear(&err);
    assert_int_equal(qr_callback_sign(sig, SECRET, -1, BODY, strlen(BODY), &err), QR_EINVAL);
}

static void test_key_activejob_id(void **state)
{
    (void)state;
    char key[QR_CALLBACK_KEY_MAX];
    qr_job job = {0};
    job.book_id = "42";
    job.source = "s3://books/in/42.epub";
    job.active_job = true;
    job.active_job_id = "1f0e7c7a-5f3d-4f0b-9d53-2f6f6b1a9e21";
    assert_int_equal(qr_callback_idempotency_key(key, &job, NULL), 0);
    assert_string_equal(key, "1f0e7c7a-5f3d-4f0b-9d53-2f6f6b1a9e21");
}

/* A job_id carried in args[0] is the key, under the same token rule. */
static void test_key_job_id(void **state)
{
    (void)state;
    char key[QR_CALLBACK_KEY_MAX];
    qr_error err = QR_ERROR_INIT;
    qr_job job = {0};
    job.book_id = "42";
    job.source = "s3://books/in/42.epub";
    job.job_id = "5f0c1d2e3f405162738495a6b7c8d9e0";
    assert_int_equal(qr_callback_idempotency_key(key, &job, NULL), 0);
    assert_string_equal(key, "5f0c1d2e3f405162738495a6b7c8d9e0");
    job.job_id = "a b";
    assert_int_equal(qr_callback_idempotency_key(key, &job, &err), QR_EFORMAT);
    assert_string_equal(err.id, "job-payload-invalid");
}

static void test_key_activejob_id_not_a_token(void **state)
{
    (void)state;
    char key[QR_CALLBACK_KEY_MAX];
    char longid[200];
    qr_error err = QR_ERROR_INIT;
    qr_job job = {0};
    job.book_id = "42";
    job.source = "s3://books/in/42.epub";
    job.active_job_id = "abc\r\nX-Injected: 1";
    assert_int_equal(qr_callback_idempotency_key(key, &job, &err), QR_EFORMAT);
    assert_string_equal(err.id, "job-payload-invalid");
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    job.active_job_id = longid;
    qr_error_clear(&err);
    assert_true(qr_callback_idempotency_key(key, &job, &err) < 0);
    job.active_job_id = "";
    qr_error_clear(&err);
    assert_true(qr_callback_idempotency_key(key, &job, &err) < 0);
}

static void test_key_resque_vectors(void **state)
{
    (void)state;
    char key[QR_CALLBACK_KEY_MAX];
    qr_job job = {0};
    /*
     * Computed with python3 from the documented canonical form:
     *   c = "quire-job-v1\n" + "".join("%s:%d:%s\n" % (k, len(v.encode()), v)
     *       for k, v in fields if v is not None)
     *   hashlib.sha256(c.encode()).hexdigest()
     */
    job.book_id = "42";
    job.source = "s3://books/in/42.epub";
    assert_int_equal(qr_callback_idempotency_key(key, &job, NULL), 0);
    assert_string_equal(key, "43e39fe1bb0741333f0cd0cf1c69a615185bd081d2307344b28a29598d19f733");

    /* Every field, and a value whose byte length differs from its character count. */
    job.book_id = "9780000000001";
    job.source = "https://pub.example/livres/\xc3\xa9t\xc3\xa9.epub";
    job.revision = "3";
    job.profile = "phone";
    job.callback_url = "https://app.example/quire/callback";
    assert_int_equal(qr_callback_idempotency_key(key, &job, NULL), 0);
    assert_string_equal(key, "112d7dab01e47e8c8a0ccafb51095c970642adfe3ce301cf6bbfe7bcca9fc625");
}

static void test_key_distinguishes_jobs(void **state)
{
    (void)state;
    char a[QR_CALLBACK_KEY_MAX], b[QR_CALLBACK_KEY_MAX];
    qr_job job = {0};
    job.book_id = "42";
    job.source = "s3://books/in/42.epub";
    assert_int_equal(qr_callback_idempotency_key(a, &job, NULL), 0);
    /* Same job again (a re-run): same key. */
    assert_int_equal(qr_callback_idempotency_key(b, &job, NULL), 0);
    assert_string_equal(a, b);
    /* Each field counts. */
    job.revision = "2";
    assert_int_equal(qr_callback_idempotency_key(b, &job, NULL), 0);
    assert_string_not_equal(a, b);
    job.revision = NULL;
    job.profile = "phone";
    assert_int_equal(qr_callback_idempotency_key(b, &job, NULL), 0);
    assert_string_not_equal(a, b);
    job.profile = NULL;
    job.callback_url = "https://app.example/cb";
    assert_int_equal(qr_callback_idempotency_key(b, &job, NULL), 0);
    assert_string_not_equal(a, b);
    job.callback_url = NULL;
    job.book_id = "43";
    assert_int_equal(qr_callback_idempotency_key(b, &job, NULL), 0);
    assert_string_not_equal(a, b);
    /* An empty revision is not an absent one; a shifted boundary is not the same job. */
    job.book_id = "42";
    job.revision = "";
    assert_int_equal(qr_callback_idempotency_key(b, &job, NULL), 0);
    assert_string_not_equal(a, b);
    job.revision = NULL;
    job.book_id = "4";
    job.source = "2s3://books/in/42.epub";
    assert_int_equal(qr_callback_idempotency_key(b, &job, NULL), 0);
    assert_string_not_equal(a, b);
}

static void test_key_needs_book_and_source(void **state)
{
    (void)state;
    char key[QR_CALLBACK_KEY_MAX];
    qr_error err = QR_ERROR_INIT;
    qr_job job = {0};
    job.book_id = "42";
    assert_int_equal(qr_callback_idempotency_key(key, &job, &err), QR_EINVAL);
    assert_string_equal(err.id, "invalid-argument");
    assert_string_equal(key, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_vector),
        cmocka_unit_test(test_sign_changes_with_each_input),
        cmocka_unit_test(test_sign_refuses_short_secret),
        cmocka_unit_test(test_key_activejob_id),
        cmocka_unit_test(test_key_activejob_id_not_a_token),
        cmocka_unit_test(test_key_job_id),
        cmocka_unit_test(test_key_resque_vectors),
        cmocka_unit_test(test_key_distinguishes_jobs),
        cmocka_unit_test(test_key_needs_book_and_source),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
