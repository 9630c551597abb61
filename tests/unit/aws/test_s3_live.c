/*
 * The S3 client and store against a real s3rver (tests/s3, npm) on loopback,
 * started here in a private network namespace. s3rver does not check
 * signatures: tests/data/sigv4 (test_sigv4.c) is how SigV4 is checked.
 * Skips when s3rver is not installed (scripts/setup.sh installs it), unless CI=true.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aws/aws_internal.h"
#include "aws_test_util.h"
#include "qr/log.h"
#include "qr/package.h"
#include "qr/s3.h"
#include "qr_test.h"

#define BUCKET "quire-test"

typedef struct fx {
    char *dir;
    pid_t server;
    int port;
    char endpoint[64];
    const char *kv[24];
    qr_s3_client *client;
} fx;

static fx *g; /* the group's server, shared by its tests */

static const char *lookup(const char *name, void *ud)
{
    fx *f = ud;
    for (size_t i = 0; f->kv[i]; i += 2)
        if (strcmp(f->kv[i], name) == 0)
            return f->kv[i + 1];
    return NULL;
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof(a);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

static bool port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

static int make_client(qr_s3_client **out, fx *f, const char *part, const char *threshold)
{
    f->kv[0] = "AWS_ENDPOINT_URL_S3";
    f->kv[1] = f->endpoint;
    f->kv[2] = "AWS_ACCESS_KEY_ID";
    f->kv[3] = "S3RVER";
    f->kv[4] = "AWS_SECRET_ACCESS_KEY";
    f->kv[5] = "S3RVER";
    f->kv[6] = "HOME";
    f->kv[7] = f->dir;
    f->kv[8] = "QUIRE_S3_PART_SIZE";
    f->kv[9] = part;
    f->kv[10] = "QUIRE_S3_MULTIPART_THRESHOLD";
    f->kv[11] = threshold;
    f->kv[12] = NULL;
    qr_aws_config cfg;
    qr_error err = QR_ERROR_INIT;
    int rc = qr_aws_config_load(&cfg, lookup, f, &err);
    if (rc == 0)
        rc = qr_s3_client_new(out, &cfg, NULL, &err);
    qr_aws_config_free(&cfg);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    char bin[4096];
    snprintf(bin, sizeof(bin), "%s/tests/s3/node_modules/.bin/s3rver", QR_TEST_SRCDIR);
    const char *ci = getenv("CI");
    bool must = ci && strcmp(ci, "true") == 0;
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "note: %s missing (scripts/setup.sh installs it): S3 tests skip\n", bin);
        return must ? -1 : 0;
    }
    if (aws_test_private_netns() != 0) {
        fprintf(stderr, "note: no private network namespace (not root?): S3 tests skip\n");
        return must ? -1 : 0;
    }
    if (qr_http_global_init(NULL) != 0)
        return -1;
    g = calloc(1, sizeof(*g));
    g->dir = qr_test_tmpdir();
    g->port = free_port();
    char data[4200], port[16];
    snprintf(data, sizeof(data), "%s/data", g->dir);
    mkdir(data, 0700);
    snprintf(port, sizeof(port), "%d", g->port);
    snprintf(g->endpoint, sizeof(g->endpoint), "http://127.0.0.1:%d", g->port);
    char *argv[] = {bin,      "--directory", data,       "--address",          "127.0.0.1",
                    "--port", port,          "--silent", "--configure-bucket", BUCKET,
                    NULL};
    /* s3rver writes no port file: wait for the port to accept connections. */
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0)
            dup2(dn, 1);
        execv(bin, argv);
        _exit(127);
    }
    g->server = pid;
    for (int i = 0; i < 600 && !port_open(g->port); i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!port_open(g->port))
        return -1;
    return make_client(&g->client, g, "5M", "6M");
}

static int group_teardown(void **state)
{
    (void)state;
    if (!g)
        return 0;
    qr_s3_client_free(g->client);
    aws_test_stop(g->server);
    qr_test_rmtree(g->dir);
    free(g->dir);
    free(g);
    g = NULL;
    return 0;
}

static void need_server(void)
{
    if (!g)
        skip();
}

static void write_file(const char *path, uint64_t size, unsigned seed)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t buf[65536];
    uint32_t x = seed * 2654435761u + 1;
    for (uint64_t done = 0; done < size;) {
        size_t n = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = (uint8_t)x;
        }
        assert_int_equal(fwrite(buf, 1, n, f), n);
        done += n;
    }
    fclose(f);
}

static void assert_same_files(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    assert_true(fa >= 0 && fb >= 0);
    char ha[65], hb[65];
    struct stat sa, sb;
    fstat(fa, &sa);
    fstat(fb, &sb);
    assert_int_equal(sa.st_size, sb.st_size);
    assert_int_equal(qr_aws_sha256_fd_hex(ha, fa, 0, (uint64_t)sa.st_size, NULL), 0);
    assert_int_equal(qr_aws_sha256_fd_hex(hb, fb, 0, (uint64_t)sb.st_size, NULL), 0);
    assert_string_equal(ha, hb);
    close(fa);
    close(fb);
}

/* A header of the object as stored, read with a plain signed HEAD (malloc'd). */
static char *raw_head(const char *key, const char *name)
{
    char url[256];
    qr_error err = QR_ERROR_INIT;
    snprintf(url, sizeof(url), "%s/%s/%s", g->endpoint, BUCKET, key);
    qr_aws_creds c = {"S3RVER", "S3RVER", NULL, 0, "test"};
    qr_aws_sigv4_request sr = {"HEAD",      url,  NULL,      0, QR_AWS_EMPTY_SHA256,
                               "us-east-1", "s3", time(NULL)};
    qr_aws_sigv4 sig = QR_AWS_SIGV4_INIT;
    assert_int_equal(qr_aws_sigv4_sign(&sig, &sr, &c, &err), 0);
    qr_http_header hs[] = {{"x-amz-date", sig.amz_date},
                           {"x-amz-content-sha256", QR_AWS_EMPTY_SHA256},
                           {"Authorization", sig.authorization}};
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    req.method = "HEAD";
    req.url = url;
    req.headers = hs;
    req.nheaders = 3;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    assert_int_equal(qr_http_perform(NULL, &req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    const char *v = qr_http_response_header(&resp, name);
    char *out = v ? strdup(v) : NULL;
    qr_http_response_free(&resp);
    qr_aws_sigv4_free(&sig);
    return out;
}

static void test_round_trip_odd_keys(void **state)
{
    (void)state;
    need_server();
    const char *keys[] = {"plain.json", "dir/with space/and+plus~tilde(1)!.qs",
                          "unicode/caf\xc3\xa9 \xe2\x82\xac \xe6\x9b\xb8.json", "a=b&c?d#e.sig"};
    qr_error err = QR_ERROR_INIT;
    for (size_t i = 0; i < 4; i++) {
        char body[128];
        int n = snprintf(body, sizeof(body), "object %zu: %s", i, keys[i]);
        assert_int_equal(qr_s3_put(g->client, BUCKET, keys[i], body, (size_t)n,
                                   qr_s3_content_type(keys[i]), "no-cache", &err),
                         0);
        bool ex = false;
        uint64_t size = 0;
        assert_int_equal(qr_s3_head(g->client, BUCKET, keys[i], &ex, &size, &err), 0);
        assert_true(ex);
        assert_int_equal(size, n);
        qr_buf b = QR_BUF_INIT(1024);
        assert_int_equal(qr_s3_get(g->client, BUCKET, keys[i], &b, &err), 0);
        assert_int_equal(b.len, n);
        assert_memory_equal(b.data, body, (size_t)n);
        qr_buf_free(&b);
        assert_int_equal(qr_s3_delete(g->client, BUCKET, keys[i], &err), 0);
        assert_int_equal(qr_s3_head(g->client, BUCKET, keys[i], &ex, NULL, &err), 0);
        assert_false(ex);
        /* Deleting again is not an error. */
        assert_int_equal(qr_s3_delete(g->client, BUCKET, keys[i], &err), 0);
    }
    /* An empty object. */
    assert_int_equal(qr_s3_put(g->client, BUCKET, "empty", "", 0, NULL, NULL, &err), 0);
    qr_buf b = QR_BUF_INIT(16);
    assert_int_equal(qr_s3_get(g->client, BUCKET, "empty", &b, &err), 0);
    assert_int_equal(b.len, 0);
    qr_buf_free(&b);
}

static void test_errors_name_bucket_and_key(void **state)
{
    (void)state;
    need_server();
    qr_error err = QR_ERROR_INIT;
    qr_buf b = QR_BUF_INIT(1024);
    assert_true(qr_s3_get(g->client, BUCKET, "no/such key.json", &b, &err) < 0);
    assert_string_equal(err.id, "source-not-found");
    assert_non_null(strstr(err.msg, "s3://" BUCKET "/no/such key.json"));
    assert_non_null(strstr(err.msg, "NoSuchKey"));
    assert_int_equal(b.len, 0);
    qr_buf_free(&b);

    char path[4200];
    snprintf(path, sizeof(path), "%s/missing.out", g->dir);
    qr_error_clear(&err);
    assert_true(qr_s3_get_file(g->client, "no-such-bucket", "k", path, 0, NULL, &err) < 0);
    assert_string_equal(err.id, "source-not-found");
    assert_non_null(strstr(err.msg, "NoSuchBucket"));
    assert_non_null(strstr(err.context, "s3://no-such-bucket/k"));
    assert_int_equal(access(path, F_OK), -1); /* nothing left behind */

    /* A get bounded below the size of the error document still names the missing key. */
    qr_buf tiny = QR_BUF_INIT(4);
    qr_error_clear(&err);
    assert_true(qr_s3_get(g->client, BUCKET, "no/such key.json", &tiny, &err) < 0);
    assert_string_equal(err.id, "source-not-found");
    qr_buf_free(&tiny);
}

static void test_file_round_trips(void **state)
{
    (void)state;
    need_server();
    qr_error err = QR_ERROR_INIT;
    char src[4200], dst[4200];
    snprintf(src, sizeof(src), "%s/src.bin", g->dir);
    snprintf(dst, sizeof(dst), "%s/dst.bin", g->dir);
    /* Below the threshold (one PUT), and 40 MiB in 5 MiB parts (multipart). */
    const uint64_t sizes[] = {0, 1, 3 * 1024 * 1024 + 7, 40ull * 1024 * 1024 + 3};
    for (size_t i = 0; i < 4; i++) {
        write_file(src, sizes[i], (unsigned)i + 1);
        assert_int_equal(qr_s3_put_file(g->client, BUCKET, "big/file.qs", src, NULL, NULL, &err),
                         0);
        uint64_t got = 0;
        assert_int_equal(qr_s3_get_file(g->client, BUCKET, "big/file.qs", dst, 0, &got, &err), 0);
        assert_int_equal(got, sizes[i]);
        assert_same_files(src, dst);
    }
    /* The cap on a download. */
    qr_error_clear(&err);
    assert_true(qr_s3_get_file(g->client, BUCKET, "big/file.qs", dst, 1024 * 1024, NULL, &err) < 0);
    assert_string_equal(err.id, "input-too-large");
    unlink(src);
    unlink(dst);
}

static char logged[4096];

static void capture(const qr_log_event *ev, void *ud)
{
    (void)ud;
    size_t n = strlen(logged);
    snprintf(logged + n, sizeof(logged) - n, "%s\n", ev->msg);
}

static void test_multipart_8m_parts(void **state)
{
    (void)state;
    need_server();
    /* The default part size (8 MiB) and threshold (16 MiB): 40 MiB is 5 parts. */
    qr_s3_client *c = NULL;
    fx f2 = *g;
    assert_int_equal(make_client(&c, &f2, "8M", "16M"), 0);
    qr_error err = QR_ERROR_INIT;
    char src[4200], dst[4200];
    snprintf(src, sizeof(src), "%s/src40.bin", g->dir);
    snprintf(dst, sizeof(dst), "%s/dst40.bin", g->dir);
    write_file(src, 40ull * 1024 * 1024, 9);
    logged[0] = '\0';
    qr_log_set_sink(capture, NULL, QR_LOG_DEBUG);
    assert_int_equal(qr_s3_put_file(c, BUCKET, "mp/40m.qs", src, NULL, NULL, &err), 0);
    qr_log_set_sink(NULL, NULL, QR_LOG_OFF);
    /* It went up as a multipart upload of 5 parts. */
    assert_non_null(strstr(logged, "41943040 bytes in 5 parts"));
    assert_int_equal(qr_s3_get_file(c, BUCKET, "mp/40m.qs", dst, 0, NULL, &err), 0);
    assert_same_files(src, dst);
    assert_int_equal(qr_s3_delete(c, BUCKET, "mp/40m.qs", &err), 0);
    qr_s3_client_free(c);
    unlink(src);
    unlink(dst);
}

/* The contract the local store keeps (tests/unit/package), here over S3. */
static void store_contract(qr_store *s, const char *tmpdir)
{
    qr_error err = QR_ERROR_INIT;
    bool ex = true;
    assert_int_equal(qr_store_exists(s, "books/1/manifest.json", &ex, &err), 0);
    assert_false(ex);
    assert_int_equal(qr_store_put(s, "books/1/manifest.json", "{}", 2, &err), 0);
    assert_int_equal(qr_store_exists(s, "books/1/manifest.json", &ex, &err), 0);
    assert_true(ex);
    qr_buf b = QR_BUF_INIT(16);
    assert_int_equal(qr_store_get(s, "books/1/manifest.json", &b, &err), 0);
    assert_int_equal(b.len, 2);
    qr_buf_free(&b);
    /* Overwrite. */
    assert_int_equal(qr_store_put(s, "books/1/manifest.json", "{\"a\":1}", 7, &err), 0);
    assert_int_equal(qr_store_get(s, "books/1/manifest.json", &b, &err), 0);
    assert_int_equal(b.len, 7);
    qr_buf_free(&b);
    /* get is bounded by out->max. */
    qr_buf small = QR_BUF_INIT(3);
    assert_true(qr_store_get(s, "books/1/manifest.json", &small, &err) < 0);
    assert_string_equal(err.id, "input-too-large");
    qr_buf_free(&small);
    qr_error_clear(&err);
    /* A missing object is source-not-found. */
    assert_true(qr_store_get(s, "books/1/nope.qs", &b, &err) < 0);
    assert_string_equal(err.id, "source-not-found");
    qr_buf_free(&b);
    qr_error_clear(&err);
    /* put_file. */
    char src[4200];
    snprintf(src, sizeof(src), "%s/slice.qs", tmpdir);
    write_file(src, 100000, 3);
    assert_int_equal(qr_store_put_file(s, "books/1/slices/0001.qs", src, 1 << 20, &err), 0);
    qr_buf big = QR_BUF_INIT(1 << 20);
    assert_int_equal(qr_store_get(s, "books/1/slices/0001.qs", &big, &err), 0);
    assert_int_equal(big.len, 100000);
    qr_buf_free(&big);
    unlink(src);
    /* remove, twice. */
    assert_int_equal(qr_store_remove(s, "books/1/manifest.json", &err), 0);
    assert_int_equal(qr_store_remove(s, "books/1/manifest.json", &err), 0);
    assert_int_equal(qr_store_exists(s, "books/1/manifest.json", &ex, &err), 0);
    assert_false(ex);
    assert_int_equal(qr_store_remove(s, "books/1/slices/0001.qs", &err), 0);
    /* Keys that could escape are refused. */
    const char *bad[] = {"../x", "/abs", "a//b", "a/./b", ""};
    for (size_t i = 0; i < 5; i++) {
        qr_error_clear(&err);
        assert_int_equal(qr_store_put(s, bad[i], "x", 1, &err), QR_EINVAL);
    }
}

static void test_store_contract(void **state)
{
    (void)state;
    need_server();
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_s3_new(&s, g->client, BUCKET, "tenant/a", &err), 0);
    store_contract(s, g->dir);
    /* The prefix is where the objects went. */
    assert_int_equal(qr_store_put(s, "k.json", "1", 1, &err), 0);
    bool ex = false;
    assert_int_equal(qr_s3_head(g->client, BUCKET, "tenant/a/k.json", &ex, NULL, &err), 0);
    assert_true(ex);
    assert_int_equal(qr_store_remove(s, "k.json", &err), 0);
    /* A key naming a "directory" is refused too. */
    assert_int_equal(qr_store_put(s, "dir/", "x", 1, &err), QR_EINVAL);
    qr_store_free(s);

    /* The local store passes the same contract. */
    char root[4200];
    snprintf(root, sizeof(root), "%s/local-store", g->dir);
    assert_int_equal(qr_store_local_new(&s, root, &err), 0);
    store_contract(s, g->dir);
    qr_store_free(s);
}

static void test_store_headers(void **state)
{
    (void)state;
    need_server();
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_s3_new(&s, g->client, BUCKET, "", &err), 0);
    assert_int_equal(qr_store_put(s, "h/manifest.json", "{}", 2, &err), 0);
    assert_int_equal(qr_store_put(s, "h/cover.png", "png", 3, &err), 0);
    qr_store_free(s);
    const char *keys[] = {"h/manifest.json", "h/cover.png"};
    const char *want_ct[] = {"application/json", "image/png"};
    const char *want_cc[] = {"no-cache", "public, max-age=31536000, immutable"};
    for (size_t i = 0; i < 2; i++) {
        char *ct = raw_head(keys[i], "Content-Type"), *cc = raw_head(keys[i], "Cache-Control");
        assert_string_equal(ct, want_ct[i]);
        assert_string_equal(cc, want_cc[i]);
        free(ct);
        free(cc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_odd_keys),
        cmocka_unit_test(test_errors_name_bucket_and_key),
        cmocka_unit_test(test_file_round_trips),
        cmocka_unit_test(test_multipart_8m_parts),
        cmocka_unit_test(test_store_contract),
        cmocka_unit_test(test_store_headers),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
