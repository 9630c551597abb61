/*
 * Driver for tests/integration/test_s3_stream.sh: one S3 upload or download
 * of a large file, then the peak RSS, so the script can check memory stays
 * bounded whatever the object size. Parameters come from the environment:
 *   QR_S3_STREAM_ENDPOINT  http://127.0.0.1:PORT (an s3rver)
 *   QR_S3_STREAM_BUCKET, QR_S3_STREAM_KEY, QR_S3_STREAM_FILE
 *   QR_S3_STREAM_MODE      put | get
 * Prints "baseline_kib N" (after setup) and "peak_kib N" (getrusage
 * ru_maxrss after the transfer). Without QR_S3_STREAM_ENDPOINT (a plain
 * ctest run) it skips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "qr/aws.h"
#include "qr/http.h"
#include "qr/s3.h"
#include "qr_test.h"

static const char *envfn(const char *name, void *ud)
{
    (void)ud;
    if (strcmp(name, "AWS_ENDPOINT_URL_S3") == 0)
        return getenv("QR_S3_STREAM_ENDPOINT");
    if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0 || strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
        return "S3RVER";
    if (strcmp(name, "AWS_EC2_METADATA_DISABLED") == 0)
        return "true";
    if (strcmp(name, "AWS_CONFIG_FILE") == 0 || strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0)
        return "/nonexistent";
    return NULL;
}

static long maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_stream(void **state)
{
    (void)state;
    const char *mode = getenv("QR_S3_STREAM_MODE");
    const char *bucket = getenv("QR_S3_STREAM_BUCKET");
    const char *key = getenv("QR_S3_STREAM_KEY");
    const char *file = getenv("QR_S3_STREAM_FILE");
    if (!getenv("QR_S3_STREAM_ENDPOINT") || !mode || !bucket || !key || !file)
        skip();
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_http_global_init(&err), 0);
    qr_aws_config cfg;
    assert_int_equal(qr_aws_config_load(&cfg, envfn, NULL, &err), 0);
    qr_s3_client *c = NULL;
    assert_int_equal(qr_s3_client_new(&c, &cfg, NULL, &err), 0);
    qr_aws_config_free(&cfg);
    printf("baseline_kib %ld\n", maxrss_kib());
    int rc;
    uint64_t bytes = 0;
    if (strcmp(mode, "put") == 0)
        rc = qr_s3_put_file(c, bucket, key, file, NULL, NULL, &err);
    else
        rc = qr_s3_get_file(c, bucket, key, file, 0, &bytes, &err);
    if (rc < 0)
        fprintf(stderr, "%s: %s (%s)\n", err.id, err.msg, err.context);
    assert_int_equal(rc, 0);
    printf("peak_kib %ld\n", maxrss_kib());
    fflush(stdout);
    qr_s3_client_free(c);
    qr_http_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_stream)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
