/*
 * The credential chain against a real fake IMDS/ECS server (tests/tools/fake_imds.py)
 * on loopback, inside a private network namespace: order (env > file > ECS >
 * IMDS), the IMDSv2 token flow, refresh inside the window, caching outside it,
 * credentials-missing naming the sources, no secret in errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>

#include "aws/aws_internal.h"
#include "aws_test_util.h"
#include "qr/aws.h"
#include "qr/http.h"
#include "qr_test.h"

typedef struct fx {
    char *dir;
    char port_file[4096];
    char cred_file[4096];
    char token_file[4096];
    pid_t server;
    int port;
    char base[64];
    char ecs_uri[96];
    const char *kv[40];
} fx;

static const char *lookup(const char *name, void *ud)
{
    fx *f = ud;
    for (size_t i = 0; f->kv[i]; i += 2)
        if (strcmp(f->kv[i], name) == 0)
            return f->kv[i + 1];
    return NULL;
}

static void set_env(fx *f, const char *const *kv)
{
    size_t i = 0;
    for (; kv[i]; i++)
        f->kv[i] = kv[i];
    f->kv[i] = NULL;
}

static void start_server(fx *f, const char *expires_in, const char *ecs_token)
{
    char script[4096];
    snprintf(script, sizeof(script), "%s/tests/tools/fake_imds.py", QR_TEST_SRCDIR);
    char exp[32], tok[64];
    snprintf(exp, sizeof(exp), "%s", expires_in);
    snprintf(tok, sizeof(tok), "%s", ecs_token);
    char *argv[] = {"python3", script,        "--port-file", f->port_file, "--expires-in",
                    exp,       "--ecs-token", tok,           NULL};
    f->server = aws_test_spawn(argv, f->port_file, &f->port, 20);
    assert_true(f->server > 0);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", f->port);
    snprintf(f->ecs_uri, sizeof(f->ecs_uri), "http://127.0.0.1:%d/ecs/task", f->port);
}

static json_t *counters(fx *f)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_count", f->base);
    qr_buf b = QR_BUF_INIT(4096);
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    req.method = "GET";
    req.url = url;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    resp.body = &b;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_http_perform(NULL, &req, &resp, &err), 0);
    json_error_t je;
    json_t *j = json_loadb((const char *)b.data, b.len, 0, &je);
    qr_http_response_free(&resp);
    qr_buf_free(&b);
    assert_non_null(j);
    return j;
}

static long counter(fx *f, const char *name)
{
    json_t *j = counters(f);
    long v = (long)json_integer_value(json_object_get(j, name));
    json_decref(j);
    return v;
}

static int group_setup(void **state)
{
    (void)state;
    if (aws_test_private_netns() != 0) {
        fprintf(stderr, "note: no private network namespace (not root?): credential tests skip\n");
        return 0;
    }
    return qr_http_global_init(NULL) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = qr_test_tmpdir();
    snprintf(f->port_file, sizeof(f->port_file), "%s/port", f->dir);
    snprintf(f->cred_file, sizeof(f->cred_file), "%s/credentials", f->dir);
    snprintf(f->token_file, sizeof(f->token_file), "%s/ecs-token", f->dir);
    FILE *c = fopen(f->cred_file, "w");
    fputs("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = filesecret\n", c);
    fclose(c);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    aws_test_stop(f->server);
    qr_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void need_netns(void)
{
    /* The namespace holds only loopback: no route to 169.254.169.254 at all. */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(80);
    a.sin_addr.s_addr = htonl(0xA9FEA9FE);
    int rc = connect(s, (struct sockaddr *)&a, sizeof(a));
    close(s);
    if (rc == 0)
        skip();
}

/* Loads the config from f->kv and gets credentials once through a new provider. */
static int get_once(qr_aws_creds *out, fx *f, int64_t window, qr_aws_provider **keep, qr_error *err)
{
    qr_aws_config cfg;
    int rc = qr_aws_config_load(&cfg, lookup, f, err);
    qr_aws_provider_opts o = QR_AWS_PROVIDER_OPTS_INIT;
    o.refresh_window_s = window;
    qr_aws_provider *p = NULL;
    if (rc == 0)
        rc = qr_aws_provider_new(&p, &cfg, &o, err);
    qr_aws_config_free(&cfg);
    if (rc == 0)
        rc = qr_aws_provider_get(p, out, err);
    if (keep)
        *keep = p;
    else
        qr_aws_provider_free(p);
    return rc;
}

static void test_chain_order(void **state)
{
    fx *f = *state;
    need_netns();
    start_server(f, "3600", "ecs-secret");
    qr_aws_creds c = QR_AWS_CREDS_INIT;
    qr_error err = QR_ERROR_INIT;
    const char *all[] = {"HOME",
                         f->dir,
                         "AWS_SHARED_CREDENTIALS_FILE",
                         f->cred_file,
                         "AWS_ACCESS_KEY_ID",
                         "AKIDENV",
                         "AWS_SECRET_ACCESS_KEY",
                         "envsecret",
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                         f->ecs_uri,
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                         "ecs-secret",
                         "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                         f->base,
                         NULL};
    set_env(f, all);
    assert_int_equal(get_once(&c, f, 0, NULL, &err), 0);
    assert_string_equal(c.source, "env");
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_null(c.session_token);

    /* Without the env variables: the credentials file. */
    const char *no_env[] = {"HOME",
                            f->dir,
                            "AWS_SHARED_CREDENTIALS_FILE",
                            f->cred_file,
                            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                            f->ecs_uri,
                            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                            "ecs-secret",
                            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                            f->base,
                            NULL};
    set_env(f, no_env);
    assert_int_equal(get_once(&c, f, 0, NULL, &err), 0);
    assert_string_equal(c.source, "credentials-file");
    assert_string_equal(c.access_key_id, "AKIDFILE");

    /* Without the file: ECS. */
    const char *no_file[] = {"HOME",
                             f->dir,
                             "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                             f->ecs_uri,
                             "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                             "ecs-secret",
                             "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                             f->base,
                             NULL};
    set_env(f, no_file);
    assert_int_equal(get_once(&c, f, 0, NULL, &err), 0);
    assert_string_equal(c.source, "ecs");
    assert_string_equal(c.access_key_id, "ASIAECS0001");
    assert_string_equal(c.session_token, "fake-session-token-1");
    assert_true(c.expiration > 0);
    assert_int_equal(counter(f, "imds"), 0);

    /* Without ECS: the instance metadata. */
    const char *imds[] = {"HOME", f->dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT", f->base, NULL};
    set_env(f, imds);
    assert_int_equal(get_once(&c, f, 0, NULL, &err), 0);
    assert_string_equal(c.source, "imds");
    assert_string_equal(c.access_key_id, "ASIAIMDS0001");
    assert_string_equal(c.secret_access_key, "fake-secret-1");
    /* IMDSv2: one token, every GET carried it (the server answers 401 otherwise). */
    assert_int_equal(counter(f, "token"), 1);
    assert_int_equal(counter(f, "unauthorized"), 0);
    qr_aws_creds_clear(&c);
}

static void test_ecs_token_file_and_refusal(void **state)
{
    fx *f = *state;
    need_netns();
    start_server(f, "3600", "tok-from-file");
    FILE *t = fopen(f->token_file, "w");
    fputs("tok-from-file\n", t);
    fclose(t);
    qr_aws_creds c = QR_AWS_CREDS_INIT;
    qr_error err = QR_ERROR_INIT;
    const char *env[] = {"HOME",
                         f->dir,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                         f->ecs_uri,
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                         "wrong",
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                         f->token_file,
                         "AWS_EC2_METADATA_DISABLED",
                         "true",
                         NULL};
    set_env(f, env);
    assert_int_equal(get_once(&c, f, 0, NULL, &err), 0);
    assert_string_equal(c.source, "ecs");

    const char *bad[] = {"HOME",
                         f->dir,
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                         f->ecs_uri,
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                         "wrong-token-value",
                         "AWS_EC2_METADATA_DISABLED",
                         "true",
                         NULL};
    set_env(f, bad);
    assert_int_equal(get_once(&c, f, 0, NULL, &err), QR_EAUTH);
    assert_string_equal(err.id, "access-denied");
    assert_null(strstr(err.msg, "wrong-token-value"));
    assert_null(c.access_key_id);
}

static void test_ecs_relative_uri(void **state)
{
    fx *f = *state;
    need_netns();
    start_server(f, "3600", "");
    qr_aws_config cfg;
    qr_error err = QR_ERROR_INIT;
    const char *env[] = {"HOME", f->dir, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/ecs/v2/creds",
                         NULL};
    set_env(f, env);
    assert_int_equal(qr_aws_config_load(&cfg, lookup, f, &err), 0);
    assert_string_equal(cfg.ecs_host, "http://169.254.170.2");
    /* The base is the link-local ECS address; point it at the fake server. */
    free(cfg.ecs_host);
    cfg.ecs_host = strdup(f->base);
    qr_aws_provider *p = NULL;
    assert_int_equal(qr_aws_provider_new(&p, &cfg, NULL, &err), 0);
    qr_aws_config_free(&cfg);
    qr_aws_creds c = QR_AWS_CREDS_INIT;
    assert_int_equal(qr_aws_provider_get(p, &c, &err), 0);
    assert_string_equal(c.access_key_id, "ASIAECS0001");
    qr_aws_creds_clear(&c);
    qr_aws_provider_free(p);
}

static void refresh_case(fx *f, const char *expires_in, int64_t window, const char *second_id,
                         unsigned resolutions)
{
    start_server(f, expires_in, "");
    const char *env[] = {"HOME", f->dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT", f->base, NULL};
    set_env(f, env);
    qr_aws_creds c = QR_AWS_CREDS_INIT;
    qr_error err = QR_ERROR_INIT;
    qr_aws_provider *p = NULL;
    assert_int_equal(get_once(&c, f, window, &p, &err), 0);
    assert_string_equal(c.access_key_id, "ASIAIMDS0001");
    assert_int_equal(qr_aws_provider_get(p, &c, &err), 0);
    assert_string_equal(c.access_key_id, second_id);
    assert_int_equal(qr_aws_provider_resolutions(p), resolutions);
    qr_aws_creds_clear(&c);
    qr_aws_provider_free(p);
}

static void test_refresh_inside_window(void **state)
{
    need_netns();
    /* Expire in 60 s, refresh when less than 300 s remain: the next get refreshes. */
    refresh_case(*state, "60", 300, "ASIAIMDS0002", 2);
}

static void test_cached_outside_window(void **state)
{
    need_netns();
    /* Expire in an hour, window 300 s: the next get is served from the cache. */
    refresh_case(*state, "3600", 300, "ASIAIMDS0001", 1);
}

static void test_window_is_an_option(void **state)
{
    need_netns();
    /* Expire in 60 s, window 30 s: cached. */
    refresh_case(*state, "60", 30, "ASIAIMDS0001", 1);
}

static void test_missing_names_sources(void **state)
{
    fx *f = *state;
    need_netns();
    qr_aws_creds c = QR_AWS_CREDS_INIT;
    qr_error err = QR_ERROR_INIT;
    /* Nothing listens on port 1; the default IMDS address is unreachable here. */
    const char *closed[] = {"HOME", f->dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                            "http://127.0.0.1:1", NULL};
    const char *dflt[] = {"HOME", f->dir, NULL};
    const char *dis[] = {"HOME", f->dir, "AWS_EC2_METADATA_DISABLED", "true", NULL};
    const char *const *cases[] = {closed, dflt, dis};
    for (size_t i = 0; i < 3; i++) {
        set_env(f, cases[i]);
        qr_error_clear(&err);
        assert_int_equal(get_once(&c, f, 0, NULL, &err), QR_EAUTH);
        assert_string_equal(err.id, "credentials-missing");
        assert_non_null(strstr(err.msg, "env"));
        assert_non_null(strstr(err.msg, "credentials file"));
        assert_non_null(strstr(err.msg, "config file"));
        assert_non_null(strstr(err.msg, "ECS"));
        assert_non_null(strstr(err.msg, "instance metadata"));
    }
    assert_non_null(strstr(err.msg, "disabled"));
}

static void test_creds_json(void **state)
{
    (void)state;
    qr_aws_creds c = QR_AWS_CREDS_INIT;
    qr_error err = QR_ERROR_INIT;
    const char *ok = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\","
                     "\"Expiration\":\"2026-11-26T12:34:56Z\"}";
    assert_int_equal(qr_aws__parse_creds_json(&c, ok, strlen(ok), "ecs", &err), 0);
    assert_int_equal(c.expiration, 1795696496);
    qr_aws_creds_clear(&c);
    const char *bad[] = {"[]", "{\"AccessKeyId\":\"A\"}", "{\"Code\":\"Failed\"}",
                         "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"x\"}"};
    for (size_t i = 0; i < 4; i++) {
        qr_error_clear(&err);
        assert_true(qr_aws__parse_creds_json(&c, bad[i], strlen(bad[i]), "imds", &err) < 0);
        assert_null(c.access_key_id);
    }
    assert_int_equal(qr_aws__parse_iso8601("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(qr_aws__parse_iso8601("2000-03-01T00:00:01.5Z"), 951868801);
    assert_int_equal(qr_aws__parse_iso8601("2000-13-01T00:00:00Z"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecs_token_file_and_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecs_relative_uri, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_inside_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_outside_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_is_an_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_names_sources, setup, teardown),
        cmocka_unit_test(test_creds_json),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
