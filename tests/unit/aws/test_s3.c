/* S3 pure parts: s3:// URLs and bucket rules, error documents, error ids, content types. */
#include <stdlib.h>
#include <string.h>

#include "aws/aws_internal.h"
#include "qr/s3.h"
#include "qr_test.h"

static void test_url_parse(void **state)
{
    (void)state;
    char *b = NULL, *k = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_s3_url_parse(&b, &k, "s3://my-bucket.v2/in/a b+c%20.epub", &err), 0);
    assert_string_equal(b, "my-bucket.v2");
    assert_string_equal(k, "in/a b+c%20.epub"); /* verbatim */
    free(b);
    free(k);
    const char *bad[] = {
        "s3://",       "s3://bucket",        "s3://bucket/",        "https://bucket/k",
        "s3://ab/k",   "s3://Upper/k",       "s3://-lead/k",        "s3://trail-/k",
        "s3://a..b/k", "s3://192.168.1.1/k", "s3://xn--punycode/k", "s3://under_score/k",
        NULL};
    for (size_t i = 0; bad[i]; i++) {
        qr_error_clear(&err);
        assert_int_equal(qr_s3_url_parse(&b, &k, bad[i], &err), QR_EINVAL);
        assert_string_equal(err.id, "invalid-argument");
        assert_null(b);
        assert_null(k);
    }
    char longkey[1100] = "s3://bucket/";
    memset(longkey + 12, 'k', 1025);
    longkey[12 + 1025] = '\0';
    assert_int_equal(qr_s3_url_parse(&b, &k, longkey, &err), QR_EINVAL);
    assert_true(qr_s3_bucket_valid("abc"));
    assert_true(qr_s3_bucket_valid("1.2.3.example"));
    assert_false(qr_s3_bucket_valid(NULL));
}

static void test_error_documents(void **state)
{
    (void)state;
    const char *x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
                    "<Message>The specified key does not exist.</Message><Key>a</Key>"
                    "<RequestId>1</RequestId></Error>";
    char code[64], msg[128];
    assert_true(qr_s3__parse_error(code, sizeof(code), msg, sizeof(msg), x, strlen(x)));
    assert_string_equal(code, "NoSuchKey");
    assert_string_equal(msg, "The specified key does not exist.");
    /* An entity is never expanded, a DTD never loaded. */
    const char *evil = "<!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                       "<Error><Code>&x;</Code></Error>";
    qr_s3__parse_error(code, sizeof(code), msg, sizeof(msg), evil, strlen(evil));
    assert_null(strstr(code, "root"));
    assert_false(qr_s3__parse_error(code, sizeof(code), msg, sizeof(msg), "not xml", 7));
    assert_false(qr_s3__parse_error(code, sizeof(code), msg, sizeof(msg), "<Other/>", 8));
    assert_false(qr_s3__parse_error(code, sizeof(code), msg, sizeof(msg), NULL, 0));
    const char *up = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                     "<UploadId>VXBsb2Fk+/=</UploadId></InitiateMultipartUploadResult>";
    char id[64];
    assert_true(qr_s3__parse_upload_id(id, sizeof(id), up, strlen(up)));
    assert_string_equal(id, "VXBsb2Fk+/=");
    assert_false(qr_s3__parse_upload_id(id, sizeof(id), x, strlen(x)));
}

static void test_errids(void **state)
{
    (void)state;
    assert_int_equal(qr_s3__errid(404, "NoSuchKey"), QR_ERR_SOURCE_NOT_FOUND);
    assert_int_equal(qr_s3__errid(404, "NoSuchBucket"), QR_ERR_SOURCE_NOT_FOUND);
    assert_int_equal(qr_s3__errid(404, ""), QR_ERR_SOURCE_NOT_FOUND);
    assert_int_equal(qr_s3__errid(403, "AccessDenied"), QR_ERR_ACCESS_DENIED);
    assert_int_equal(qr_s3__errid(403, "SignatureDoesNotMatch"), QR_ERR_ACCESS_DENIED);
    assert_int_equal(qr_s3__errid(400, "ExpiredToken"), QR_ERR_ACCESS_DENIED);
    assert_int_equal(qr_s3__errid(403, "InvalidAccessKeyId"), QR_ERR_ACCESS_DENIED);
    assert_int_equal(qr_s3__errid(403, ""), QR_ERR_ACCESS_DENIED);
    assert_int_equal(qr_s3__errid(400, "EntityTooSmall"), QR_ERR_REMOTE_ERROR);
    assert_int_equal(qr_s3__errid(409, ""), QR_ERR_REMOTE_ERROR);
}

static void test_content_types(void **state)
{
    (void)state;
    assert_string_equal(qr_s3_content_type("books/x/manifest.json"), "application/json");
    assert_string_equal(qr_s3_content_type("slices/0001.qs"), "application/octet-stream");
    assert_string_equal(qr_s3_content_type("manifest.json.sig"), "application/octet-stream");
    assert_string_equal(qr_s3_content_type("cover.JPG"), "image/jpeg");
    assert_string_equal(qr_s3_content_type("cover.png"), "image/png");
    assert_string_equal(qr_s3_content_type("cover.webp"), "image/webp");
    assert_string_equal(qr_s3_content_type("dir.json/noext"), "application/octet-stream");
    assert_string_equal(qr_s3_content_type("noext"), "application/octet-stream");
}

static void test_store_rejects(void **state)
{
    (void)state;
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_s3_new(&s, NULL, "bucket", "", &err), QR_EINVAL);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),     cmocka_unit_test(test_error_documents),
        cmocka_unit_test(test_errids),        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_store_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
