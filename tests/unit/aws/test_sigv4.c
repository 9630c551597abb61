/* SigV4: quire's canonical request, string to sign and Authorization equal botocore's. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/aws_internal.h"
#include "qr/aws.h"
#include "qr_test.h"

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void check_vector(const char *path)
{
    json_error_t je;
    json_t *v = json_load_file(path, 0, &je);
    assert_non_null(v);
    json_t *hs = json_object_get(v, "headers");
    size_t nh = json_array_size(hs);
    qr_http_header h[8];
    assert_true(nh <= 8);
    for (size_t i = 0; i < nh; i++) {
        h[i].name = json_string_value(json_array_get(json_array_get(hs, i), 0));
        h[i].value = json_string_value(json_array_get(json_array_get(hs, i), 1));
    }
    char *ak = strdup(str(v, "access_key_id")), *sk = strdup(str(v, "secret_access_key"));
    char *tok = str(v, "session_token") ? strdup(str(v, "session_token")) : NULL;
    qr_aws_creds c = {ak, sk, tok, 0, "test"};
    const char *payload = str(v, "payload_hash");
    /* The payload hash is the body's unless the request is unsigned. */
    if (strcmp(payload, QR_AWS_UNSIGNED_PAYLOAD) != 0)
        assert_string_equal(payload, str(v, "body_sha256"));
    qr_aws_sigv4_request r = {str(v, "method"),
                              str(v, "url"),
                              h,
                              nh,
                              payload,
                              str(v, "region"),
                              str(v, "service"),
                              (time_t)json_integer_value(json_object_get(v, "epoch"))};
    qr_aws_sigv4 s = QR_AWS_SIGV4_INIT;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws_sigv4_sign(&s, &r, &c, &err), 0);
    assert_string_equal(s.amz_date, str(v, "timestamp"));
    assert_string_equal(s.canonical_request, str(v, "canonical_request"));
    assert_string_equal(s.string_to_sign, str(v, "string_to_sign"));
    assert_string_equal(s.authorization, str(v, "authorization"));
    /* The key, encoded by quire, is exactly the path botocore's serializer produced. */
    const char *key = str(v, "key");
    if (key) {
        char *enc = qr_aws_uri_encode(key, true);
        assert_non_null(enc);
        qr_aws_url_parts u;
        assert_int_equal(qr_aws__url_split(&u, r.url, &err), 0);
        size_t el = strlen(enc);
        assert_true(u.path_len > el);
        assert_memory_equal(u.path + u.path_len - el, enc, el);
        assert_int_equal(u.path[u.path_len - el - 1], '/');
        free(enc);
    }
    qr_aws_sigv4_free(&s);
    qr_aws_creds_clear(&c);
    json_decref(v);
}

static void test_vectors(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/data/sigv4", QR_TEST_SRCDIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        char p[8192];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        check_vector(p);
        n++;
    }
    closedir(d);
    assert_true(n >= 12);
}

static void test_uri_encode(void **state)
{
    (void)state;
    char *s = qr_aws_uri_encode("a b/c+d~e_f.g-h%=&\xe2\x82\xac", true);
    assert_string_equal(s, "a%20b/c%2Bd~e_f.g-h%25%3D%26%E2%82%AC");
    free(s);
    s = qr_aws_uri_encode("a/b", false);
    assert_string_equal(s, "a%2Fb");
    free(s);
}

static void test_url_split(void **state)
{
    (void)state;
    qr_aws_url_parts u;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws__url_split(&u, "HTTPS://Bucket.S3.amazonaws.com:443", &err), 0);
    assert_string_equal(u.host_header, "bucket.s3.amazonaws.com");
    assert_int_equal(u.path_len, 0);
    assert_int_equal(qr_aws__url_split(&u, "http://user:pw@[::1]:9000/b/k?x=1#f", &err), 0);
    assert_string_equal(u.host_header, "[::1]:9000");
    assert_int_equal(u.query_len, 3);
    assert_int_equal(qr_aws__url_split(&u, "https://h:99999/", &err), QR_EINVAL);
    qr_error_clear(&err);
    assert_int_equal(qr_aws__url_split(&u, "no-scheme/x", &err), QR_EINVAL);
}

static void test_sign_rejects_incomplete(void **state)
{
    (void)state;
    qr_aws_creds c = {NULL, NULL, NULL, 0, NULL};
    qr_aws_sigv4_request r = {"GET",       "https://h/", NULL, 0, QR_AWS_EMPTY_SHA256,
                              "us-east-1", "s3",         0};
    qr_aws_sigv4 s = QR_AWS_SIGV4_INIT;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws_sigv4_sign(&s, &r, &c, &err), QR_EINVAL);
    assert_null(s.authorization);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_url_split),
        cmocka_unit_test(test_sign_rejects_incomplete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
