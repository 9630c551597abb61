/* AWS configuration: env precedence, config/credentials files, profiles, defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_internal.h"
#include "qr/aws.h"
#include "qr_test.h"

typedef struct fake_env {
    const char *kv[40]; /* name, value, name, value, ..., NULL */
} fake_env;

static const char *lookup(const char *name, void *ud)
{
    fake_env *e = ud;
    for (size_t i = 0; e->kv[i]; i += 2)
        if (strcmp(e->kv[i], name) == 0)
            return e->kv[i + 1];
    return NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

typedef struct fx {
    char *dir;
    char cfg[4096];
    char cred[4096];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = qr_test_tmpdir();
    snprintf(f->cfg, sizeof(f->cfg), "%s/config", f->dir);
    snprintf(f->cred, sizeof(f->cred), "%s/credentials", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    qr_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char *CONFIG = "# a comment\n"
                            "[default]\n"
                            "region = eu-west-1\n"
                            "\n"
                            "; another comment\n"
                            "[profile dev]\n"
                            "  region=ap-south-1   \n"
                            "endpoint_url = http://127.0.0.1:9000/\n"
                            "s3 =\n"
                            "  addressing_style = virtual\n"
                            "  other = x\n"
                            "output = json\n"
                            "[profile staged]\n"
                            "services = local\n"
                            "aws_access_key_id = AKIDCONFIG\n"
                            "aws_secret_access_key = configsecret\n"
                            "[services local]\n"
                            "s3 =\n"
                            "  endpoint_url = http://localhost:4568\n"
                            "[profile proc]\n"
                            "credential_process = /usr/bin/get-creds\n";

static const char *CREDS = "[default]\n"
                           "aws_access_key_id = AKIDFILE\n"
                           "aws_secret_access_key = filesecret\n"
                           "[dev]\n"
                           "aws_access_key_id=AKIDDEV\n"
                           "aws_secret_access_key =  devsecret  \n"
                           "aws_session_token = devtoken\n";

static void test_defaults_without_files(void **state)
{
    fx *f = *state;
    fake_env e = {{"HOME", f->dir, NULL}};
    qr_aws_config c;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws_config_load(&c, lookup, &e, &err), 0);
    assert_string_equal(c.profile, "default");
    assert_string_equal(c.region, "us-east-1");
    assert_null(c.endpoint_url);
    assert_false(c.path_style);
    assert_int_equal(c.part_size, 8 << 20);
    assert_int_equal(c.multipart_threshold, 16 << 20);
    assert_string_equal(c.cache_control, "public, max-age=31536000, immutable");
    assert_null(c.env_creds.access_key_id);
    assert_null(c.file_creds.access_key_id);
    assert_string_equal(c.imds_endpoint, "http://169.254.169.254");
    assert_false(c.imds_disabled);
    char want[4200];
    snprintf(want, sizeof(want), "%s/.aws/config", f->dir);
    assert_string_equal(c.config_file, want);
    qr_aws_config_free(&c);
}

static void test_default_profile_files(void **state)
{
    fx *f = *state;
    write_file(f->cfg, CONFIG);
    write_file(f->cred, CREDS);
    fake_env e = {{"AWS_CONFIG_FILE", f->cfg, "AWS_SHARED_CREDENTIALS_FILE", f->cred, NULL}};
    qr_aws_config c;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws_config_load(&c, lookup, &e, &err), 0);
    assert_string_equal(c.region, "eu-west-1");
    assert_string_equal(c.file_creds.access_key_id, "AKIDFILE");
    assert_string_equal(c.file_creds.secret_access_key, "filesecret");
    assert_null(c.file_creds.session_token);
    assert_string_equal(c.file_creds.source, "credentials-file");
    qr_aws_config_free(&c);
}

static void test_named_profile(void **state)
{
    fx *f = *state;
    write_file(f->cfg, CONFIG);
    write_file(f->cred, CREDS);
    fake_env e = {{"AWS_CONFIG_FILE", f->cfg, "AWS_SHARED_CREDENTIALS_FILE", f->cred, "AWS_PROFILE",
                   "dev", NULL}};
    qr_aws_config c;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws_config_load(&c, lookup, &e, &err), 0);
    assert_string_equal(c.region, "ap-south-1");
    assert_string_equal(c.endpoint_url, "http://127.0.0.1:9000");
    assert_false(c.path_style); /* the profile asks for virtual-hosted */
    assert_string_equal(c.file_creds.access_key_id, "AKIDDEV");
    assert_string_equal(c.file_creds.secret_access_key, "devsecret");
    assert_string_equal(c.file_creds.session_token, "devtoken");
    qr_aws_config_free(&c);
}

static void test_services_section_and_config_creds(void **state)
{
    fx *f = *state;
    write_file(f->cfg, CONFIG);
    fake_env e = {{"AWS_CONFIG_FILE", f->cfg, "AWS_SHARED_CREDENTIALS_FILE", f->cred, "AWS_PROFILE",
                   "staged", NULL}};
    qr_aws_config c;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws_config_load(&c, lookup, &e, &err), 0);
    assert_string_equal(c.endpoint_url, "http://localhost:4568");
    assert_true(c.path_style); /* a custom endpoint defaults to path-style */
    assert_string_equal(c.file_creds.access_key_id, "AKIDCONFIG");
    assert_string_equal(c.file_creds.source, "config-file");
    assert_false(c.credential_process);
    qr_aws_config_free(&c);
}

static void test_env_wins(void **state)
{
    fx *f = *state;
    write_file(f->cfg, CONFIG);
    write_file(f->cred, CREDS);
    fake_env e = {{"AWS_CONFIG_FILE",
                   f->cfg,
                   "AWS_SHARED_CREDENTIALS_FILE",
                   f->cred,
                   "AWS_PROFILE",
                   "dev",
                   "AWS_REGION",
                   "us-west-2",
                   "AWS_DEFAULT_REGION",
                   "ignored-1",
                   "AWS_ENDPOINT_URL",
                   "http://all:1",
                   "AWS_ENDPOINT_URL_S3",
                   "http://s3only:2",
                   "QUIRE_S3_PATH_STYLE",
                   "1",
                   "QUIRE_S3_PART_SIZE",
                   "6M",
                   "QUIRE_S3_MULTIPART_THRESHOLD",
                   "1048576",
                   "QUIRE_S3_CACHE_CONTROL",
                   "max-age=60",
                   "AWS_ACCESS_KEY_ID",
                   "AKIDENV",
                   "AWS_SECRET_ACCESS_KEY",
                   "envsecret",
                   "AWS_EC2_METADATA_DISABLED",
                   "TRUE",
                   "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                   "http://127.0.0.1:1/",
                   NULL}};
    qr_aws_config c;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws_config_load(&c, lookup, &e, &err), 0);
    assert_string_equal(c.region, "us-west-2");
    assert_string_equal(c.endpoint_url, "http://s3only:2");
    assert_true(c.path_style);
    assert_int_equal(c.part_size, 6 << 20);
    assert_int_equal(c.multipart_threshold, 1 << 20);
    assert_string_equal(c.cache_control, "max-age=60");
    assert_string_equal(c.env_creds.access_key_id, "AKIDENV");
    assert_string_equal(c.env_creds.source, "env");
    assert_string_equal(c.file_creds.access_key_id, "AKIDDEV");
    assert_true(c.imds_disabled);
    assert_string_equal(c.imds_endpoint, "http://127.0.0.1:1");
    qr_aws_config_free(&c);

    fake_env e2 = {{"HOME", f->dir, "AWS_DEFAULT_REGION", "sa-east-1", "AWS_ENDPOINT_URL",
                    "http://all:1", "QUIRE_S3_PATH_STYLE", "0", NULL}};
    assert_int_equal(qr_aws_config_load(&c, lookup, &e2, &err), 0);
    assert_string_equal(c.region, "sa-east-1");
    assert_string_equal(c.endpoint_url, "http://all:1");
    assert_false(c.path_style);
    qr_aws_config_free(&c);
}

static void test_credential_process_flagged(void **state)
{
    fx *f = *state;
    write_file(f->cfg, CONFIG);
    fake_env e = {{"AWS_CONFIG_FILE", f->cfg, "AWS_PROFILE", "proc", "HOME", f->dir, NULL}};
    qr_aws_config c;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws_config_load(&c, lookup, &e, &err), 0);
    assert_true(c.credential_process);
    assert_null(c.file_creds.access_key_id);
    qr_aws_config_free(&c);
}

static void test_rejects(void **state)
{
    fx *f = *state;
    write_file(f->cfg, CONFIG);
    const char *bad[][4] = {
        {"AWS_PROFILE", "nope", NULL, NULL},
        {"QUIRE_S3_PATH_STYLE", "yes", NULL, NULL},
        {"QUIRE_S3_PART_SIZE", "1M", NULL, NULL},
        {"QUIRE_S3_PART_SIZE", "8Q", NULL, NULL},
        {"QUIRE_S3_MULTIPART_THRESHOLD", "-1", NULL, NULL},
        {"AWS_ENDPOINT_URL_S3", "ftp://x", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fake_env e = {{"AWS_CONFIG_FILE", f->cfg, bad[i][0], bad[i][1], NULL}};
        qr_aws_config c;
        qr_error err = QR_ERROR_INIT;
        assert_int_equal(qr_aws_config_load(&c, lookup, &e, &err), QR_EINVAL);
        assert_string_equal(err.id, "invalid-argument");
        qr_aws_config_free(&c);
    }
}

static void test_ini_get(void **state)
{
    (void)state;
    const char *t = "[a]\nk = 1\n [ b ] \n\tk=2\nk = 3\ns3 =\n  k = 4\nx = \n";
    char *v = NULL;
    bool found = false;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_aws__ini_get(&v, &found, t, strlen(t), "b", "k", &err), 0);
    assert_true(found);
    assert_string_equal(v, "3"); /* the last assignment wins */
    free(v);
    assert_int_equal(qr_aws__ini_get(&v, &found, t, strlen(t), "b", "s3.k", &err), 0);
    assert_string_equal(v, "4");
    free(v);
    assert_int_equal(qr_aws__ini_get(&v, &found, t, strlen(t), "c", "k", &err), 0);
    assert_false(found);
    assert_null(v);
    /* No trailing newline, CRLF line ends. */
    const char *t2 = "[a]\r\nk = v\r\n[z]\r\nk=last";
    assert_int_equal(qr_aws__ini_get(&v, NULL, t2, strlen(t2), "a", "k", &err), 0);
    assert_string_equal(v, "v");
    free(v);
    assert_int_equal(qr_aws__ini_get(&v, NULL, t2, strlen(t2), "z", "k", &err), 0);
    assert_string_equal(v, "last");
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_without_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_profile_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_services_section_and_config_creds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_process_flagged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects, setup, teardown),
        cmocka_unit_test(test_ini_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
