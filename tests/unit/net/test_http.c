/*
 * http.c and fetch_file.c against a real misbehaving server on loopback
 * (tests/tools/httpfault.py): retries and attempt counts, no retry on 4xx,
 * deadlines, the size cap, redirects, bodies resent intact, atomic
 * fetch_file, and the guard refusing loopback without the allowlist.
 */
#include "qr_test.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#include "faultsrv.h"
#include "qr/http.h"
#include "qr/log.h"

static faultsrv srv;
static const char *const loopback_allow[] = {"127.0.0.1/32"};

static int group_setup(void **state)
{
    (void)state;
    qr_error err = QR_ERROR_INIT;
    if (qr_http_global_init(&err) < 0)
        return -1;
    return faultsrv_start(&srv);
}

static int group_teardown(void **state)
{
    (void)state;
    faultsrv_stop(&srv);
    qr_http_global_cleanup();
    return 0;
}

/* Fast retries; one place sets them for every test. */
static qr_http_opts fast_opts(unsigned attempts)
{
    qr_http_opts o = QR_HTTP_OPTS_INIT;
    o.max_attempts = attempts;
    o.backoff_base_s = 0.01;
    o.backoff_max_s = 0.05;
    o.connect_timeout_s = 5;
    o.timeout_s = 30;
    o.stall_s = 10;
    return o;
}

typedef struct result {
    int rc;
    qr_error err;
    qr_http_response resp;
    qr_buf body;
} result;

static void get(result *r, const qr_http_opts *o, const char *path)
{
    char url[256];
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response init = QR_HTTP_RESPONSE_INIT;
    qr_error_clear(&r->err);
    qr_buf_init(&r->body, 1 << 20);
    r->resp = init;
    r->resp.body = &r->body;
    req.method = "GET";
    req.url = faultsrv_url(url, sizeof(url), &srv, path);
    r->rc = qr_http_perform(o, &req, &r->resp, &r->err);
}

static void done(result *r)
{
    qr_http_response_free(&r->resp);
    qr_buf_free(&r->body);
}

static void test_get_ok(void **state)
{
    (void)state;
    qr_http_opts o = fast_opts(3);
    result r;
    get(&r, &o, "/big/1000?k=ok");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.resp.status, 200);
    assert_int_equal(r.resp.attempts, 1);
    assert_int_equal(r.resp.body_bytes, 1000);
    assert_int_equal(r.body.len, 1000);
    assert_string_equal(qr_http_response_header(&r.resp, "content-length"), "1000");
    assert_string_equal(qr_http_response_header(&r.resp, "Content-Length"), "1000");
    assert_null(qr_http_response_header(&r.resp, "x-absent"));
    assert_non_null(strstr(r.resp.final_url, "/big/1000"));
    assert_null(strchr(r.resp.final_url, '?'));
    done(&r);
}

static void test_flaky_retried(void **state)
{
    (void)state;
    qr_http_opts o = fast_opts(5);
    result r;
    get(&r, &o, "/flaky/2?k=flaky");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.resp.status, 200);
    assert_int_equal(r.resp.attempts, 3);
    assert_int_equal(r.body.len, 2);
    assert_memory_equal(r.body.data, "ok", 2);
    done(&r);
}

typedef struct capture {
    int lines;
    bool leaked;
} capture;

static void capture_sink(const qr_log_event *ev, void *ud)
{
    capture *c = ud;
    if (ev->stage && strcmp(ev->stage, "net") == 0)
        c->lines++;
    if (strstr(ev->msg, "s3cr3t"))
        c->leaked = true;
}

static void test_5xx_exhausted(void **state)
{
    (void)state;
    qr_http_opts o = fast_opts(3);
    result r;
    capture cap = {0, false};
    qr_log_set_sink(capture_sink, &cap, QR_LOG_DEBUG);
    get(&r, &o, "/status/500?token=s3cr3t");
    qr_log_set_sink(NULL, NULL, QR_LOG_OFF);
    /* One warning per retry, none carrying the query string. */
    assert_int_equal(cap.lines, 2);
    assert_false(cap.leaked);
    assert_int_equal(r.rc, QR_ENET);
    assert_string_equal(r.err.id, "fetch-failed");
    assert_int_equal(r.resp.attempts, 3);
    assert_int_equal(r.resp.status, 500);
    assert_non_null(strstr(r.err.msg, "GET http://127.0.0.1:"));
    assert_non_null(strstr(r.err.msg, "/status/500"));
    assert_non_null(strstr(r.err.msg, "HTTP 500"));
    assert_non_null(strstr(r.err.msg, "3 attempts"));
    assert_null(strstr(r.err.msg, "s3cr3t"));
    done(&r);
}

static void test_429_retry_after(void **state)
{
    (void)state;
    qr_http_opts o = fast_opts(2);
    result r;
    /* Retry-After: 1 is capped by backoff_max_s (0.05 s). */
    get(&r, &o, "/status/429?retry_after=1&k=s3cr3t");
    assert_int_equal(r.rc, QR_ENET);
    assert_string_equal(r.err.id, "fetch-failed");
    assert_int_equal(r.resp.attempts, 2);
    assert_int_equal(r.resp.status, 429);
    assert_string_equal(qr_http_response_header(&r.resp, "retry-after"), "1");
    assert_null(strstr(r.err.msg, "s3cr3t"));
    done(&r);
    o = fast_opts(3);
    get(&r, &o, "/status/503?retry_after=1&k=503");
    assert_string_equal(r.err.id, "fetch-failed");
    assert_int_equal(r.resp.attempts, 3);
    assert_int_equal(r.resp.status, 503);
    done(&r);
}

static void test_4xx_not_retried(void **state)
{
    (void)state;
    const char *paths[] = {"/status/404?k=a", "/status/403?k=b", "/status/400?k=c",
                           "/status/401?k=d", "/status/410?k=e"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        qr_http_opts o = fast_opts(5);
        result r;
        long before = faultsrv_count(&srv);
        get(&r, &o, paths[i]);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.resp.attempts, 1);
        assert_true(r.resp.status >= 400 && r.resp.status < 500);
        assert_int_equal(faultsrv_count(&srv), before + 1);
        done(&r);
    }
}

static void test_stall_and_timeout(void **state)
{
    (void)state;
    qr_http_opts o = fast_opts(1);
    result r;
    o.stall_s = 1;
    get(&r, &o, "/stall?k=stall");
    assert_int_equal(r.rc, QR_ETIMEOUT);
    assert_string_equal(r.err.id, "timeout");
    assert_int_equal(r.resp.attempts, 1);
    done(&r);

    o = fast_opts(2);
    o.timeout_s = 1;
    get(&r, &o, "/stall?k=deadline");
    assert_int_equal(r.rc, QR_ETIMEOUT);
    assert_string_equal(r.err.id, "timeout");
    assert_int_equal(r.resp.attempts, 2);
    assert_non_null(strstr(r.err.msg, "2 attempts"));
    done(&r);
}

static void test_dropped_retried(void **state)
{
    (void)state;
    const char *paths[] = {"/drop", "/short"};
    for (size_t i = 0; i < 2; i++) {
        qr_http_opts o = fast_opts(2);
        result r;
        long before = faultsrv_count(&srv);
        get(&r, &o, paths[i]);
        assert_int_equal(r.rc, QR_ENET);
        assert_string_equal(r.err.id, "fetch-failed");
        assert_int_equal(r.resp.attempts, 2);
        assert_int_equal(faultsrv_count(&srv), before + 2);
        done(&r);
    }
}

static void test_connection_refused(void **state)
{
    (void)state;
    /* A port that was free a moment ago: nothing listens there. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    qr_http_opts o = fast_opts(3);
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_error err = QR_ERROR_INIT;
    req.method = "GET";
    req.url = url;
    assert_int_equal(qr_http_perform(&o, &req, &resp, &err), QR_ENET);
    assert_string_equal(err.id, "fetch-failed");
    assert_int_equal(resp.attempts, 3);
    assert_int_equal(resp.status, 0);
    qr_http_response_free(&resp);
}

static void test_size_cap(void **state)
{
    (void)state;
    const char *paths[] = {"/big/100000", "/big/100000?chunked=1"};
    for (size_t i = 0; i < 2; i++) {
        qr_http_opts o = fast_opts(3);
        result r;
        o.max_body_bytes = 1000;
        get(&r, &o, paths[i]);
        assert_int_equal(r.rc, QR_ELIMIT);
        assert_string_equal(r.err.id, "input-too-large");
        assert_int_equal(r.resp.attempts, 1);
        assert_true(r.body.len <= 1000);
        done(&r);
    }
    /* Exactly at the cap is fine. */
    qr_http_opts o = fast_opts(1);
    result r;
    o.max_body_bytes = 1000;
    get(&r, &o, "/big/1000?chunked=1");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.body.len, 1000);
    done(&r);
    /* The buffer's own maximum is a cap too. */
    char url[128];
    qr_buf small = QR_BUF_INIT(500);
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_error err = QR_ERROR_INIT;
    o = fast_opts(3);
    req.method = "GET";
    req.url = faultsrv_url(url, sizeof(url), &srv, "/big/501?chunked=1");
    resp.body = &small;
    assert_int_equal(qr_http_perform(&o, &req, &resp, &err), QR_ELIMIT);
    assert_string_equal(err.id, "input-too-large");
    assert_int_equal(resp.attempts, 1);
    qr_http_response_free(&resp);
    qr_buf_free(&small);
}

static void test_head_and_delete(void **state)
{
    (void)state;
    char url[256];
    qr_buf out = QR_BUF_INIT(1 << 16);
    qr_http_opts o = fast_opts(1);
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_error err = QR_ERROR_INIT;
    /* HEAD: a large Content-Length describes a body that is not sent; not over the cap. */
    o.max_body_bytes = 1000;
    req.method = "HEAD";
    req.url = faultsrv_url(url, sizeof(url), &srv, "/big/100000");
    resp.body = &out;
    assert_int_equal(qr_http_perform(&o, &req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_bytes, 0);
    assert_string_equal(qr_http_response_header(&resp, "content-length"), "100000");
    qr_http_response_free(&resp);
    /* Another method without a body. */
    req.method = "DELETE";
    req.url = faultsrv_url(url, sizeof(url), &srv, "/echo?k=delete");
    assert_int_equal(qr_http_perform(&o, &req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    json_t *j = json_loadb((const char *)out.data, out.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "DELETE");
    assert_int_equal(json_integer_value(json_object_get(j, "body_len")), 0);
    json_decref(j);
    qr_http_response_free(&resp);
    qr_buf_free(&out);
}

static void test_redirects(void **state)
{
    (void)state;
    qr_http_opts o = fast_opts(2);
    result r;
    o.max_redirects = 5;
    get(&r, &o, "/redirect/3");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.resp.status, 200);
    assert_int_equal(r.resp.attempts, 4);
    assert_int_equal(r.body.len, 4);
    assert_memory_equal(r.body.data, "done", 4);
    assert_non_null(strstr(r.resp.final_url, "/redirect/0"));
    done(&r);

    o.max_redirects = 2;
    get(&r, &o, "/redirect/3");
    assert_int_equal(r.rc, QR_ENET);
    assert_string_equal(r.err.id, "too-many-redirects");
    done(&r);

    /* 0: the redirect is the answer. */
    o.max_redirects = 0;
    get(&r, &o, "/redirect/1");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.resp.status, 302);
    assert_string_equal(qr_http_response_header(&r.resp, "location"), "/redirect/0");
    done(&r);
}

static json_t *echo_json(const qr_buf *b)
{
    json_t *j = json_loadb((const char *)b->data, b->len, 0, NULL);
    assert_non_null(j);
    return j;
}

static void sha_hex(char out[65], const uint8_t *d, size_t n)
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, d, n);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

static void test_body_resent_memory(void **state)
{
    (void)state;
    char url[256], hex[65];
    uint8_t body[5000];
    qr_buf out = QR_BUF_INIT(1 << 20);
    qr_http_opts o = fast_opts(4);
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_error err = QR_ERROR_INIT;
    const qr_http_header hdrs[] = {{"X-Quire-Test", "yes"}, {"Content-Type", "application/json"}};
    randombytes_buf(body, sizeof(body));
    req.method = "POST";
    req.url = faultsrv_url(url, sizeof(url), &srv, "/echo?fail=2&k=mem");
    req.headers = hdrs;
    req.nheaders = 2;
    req.body = body;
    req.body_len = sizeof(body);
    resp.body = &out;
    assert_int_equal(qr_http_perform(&o, &req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 3);
    json_t *j = echo_json(&out);
    sha_hex(hex, body, sizeof(body));
    assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
    assert_int_equal(json_integer_value(json_object_get(j, "body_len")), sizeof(body));
    assert_string_equal(json_string_value(json_object_get(j, "body_sha256")), hex);
    json_t *h = json_object_get(j, "headers");
    assert_string_equal(json_string_value(json_object_get(h, "x-quire-test")), "yes");
    json_decref(j);
    qr_http_response_free(&resp);
    qr_buf_free(&out);
}

static void test_body_resent_file(void **state)
{
    (void)state;
    char url[256], hex[65], path[512];
    char *dir = qr_test_tmpdir();
    size_t total = 300000, off = 1000, len = 200000;
    uint8_t *data = malloc(total);
    assert_non_null(data);
    randombytes_buf(data, total);
    snprintf(path, sizeof(path), "%s/body", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, total), (ssize_t)total);
    const char *methods[] = {"PUT", "POST"};
    for (size_t m = 0; m < 2; m++) {
        qr_buf out = QR_BUF_INIT(1 << 20);
        qr_http_opts o = fast_opts(3);
        qr_http_request req = QR_HTTP_REQUEST_INIT;
        qr_http_response resp = QR_HTTP_RESPONSE_INIT;
        qr_error err = QR_ERROR_INIT;
        char p[64];
        snprintf(p, sizeof(p), "/echo?fail=2&k=file-%s", methods[m]);
        req.method = methods[m];
        req.url = faultsrv_url(url, sizeof(url), &srv, p);
        req.body_fd = fd;
        req.body_off = off;
        req.body_len = len;
        resp.body = &out;
        assert_int_equal(qr_http_perform(&o, &req, &resp, &err), 0);
        assert_int_equal(resp.status, 200);
        assert_int_equal(resp.attempts, 3);
        json_t *j = echo_json(&out);
        sha_hex(hex, data + off, len);
        assert_string_equal(json_string_value(json_object_get(j, "method")), methods[m]);
        assert_int_equal(json_integer_value(json_object_get(j, "body_len")), len);
        assert_string_equal(json_string_value(json_object_get(j, "body_sha256")), hex);
        json_decref(j);
        qr_http_response_free(&resp);
        qr_buf_free(&out);
    }
    /* A range past the end of the file is an io error, not a short upload. */
    qr_http_opts o = fast_opts(3);
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_error err = QR_ERROR_INIT;
    req.method = "PUT";
    req.url = faultsrv_url(url, sizeof(url), &srv, "/echo?k=past-end");
    req.body_fd = fd;
    req.body_off = total - 10;
    req.body_len = 100;
    assert_int_equal(qr_http_perform(&o, &req, &resp, &err), QR_EIO);
    assert_string_equal(err.id, "io");
    qr_http_response_free(&resp);
    close(fd);
    free(data);
    qr_test_rmtree(dir);
    free(dir);
}

static void test_fd_sink_truncated_each_attempt(void **state)
{
    (void)state;
    char url[256], path[512], got[64];
    char *dir = qr_test_tmpdir();
    snprintf(path, sizeof(path), "%s/sink", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "stale content that is long", 26), 26);
    qr_http_opts o = fast_opts(3);
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_error err = QR_ERROR_INIT;
    req.method = "GET";
    req.url = faultsrv_url(url, sizeof(url), &srv, "/flaky/1?k=sink");
    resp.body_fd = fd;
    assert_int_equal(qr_http_perform(&o, &req, &resp, &err), 0);
    assert_int_equal(resp.attempts, 2);
    assert_int_equal(resp.body_bytes, 2);
    assert_int_equal(pread(fd, got, sizeof(got), 0), 2);
    assert_memory_equal(got, "ok", 2);
    qr_http_response_free(&resp);
    close(fd);
    qr_test_rmtree(dir);
    free(dir);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_fetch_file(void **state)
{
    (void)state;
    char url[256], path[512];
    char *dir = qr_test_tmpdir();
    struct stat st;
    uint64_t bytes = 0;
    qr_error err = QR_ERROR_INIT;
    qr_http_opts o = fast_opts(2);
    o.max_redirects = 3;
    snprintf(path, sizeof(path), "%s/book.epub", dir);
    faultsrv_url(url, sizeof(url), &srv, "/redirect-to?url=/big/5000");
    assert_int_equal(qr_http_fetch_file(&o, url, path, &bytes, &err), 0);
    assert_int_equal(bytes, 5000);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 5000);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(count_entries(dir), 1);

    /* Failures leave the old file untouched and no temporary behind. */
    const struct {
        const char *path, *id;
    } fails[] = {
        {"/drop", "fetch-failed"},           {"/short", "fetch-failed"},
        {"/status/404", "source-not-found"}, {"/status/410", "source-not-found"},
        {"/status/403", "access-denied"},    {"/status/401", "access-denied"},
        {"/status/500", "fetch-failed"},     {"/status/418", "remote-error"},
        {"/big/999999", "input-too-large"},  {"/redirect/9", "too-many-redirects"},
    };
    o.max_body_bytes = 100000;
    for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
        qr_error_clear(&err);
        bytes = 7;
        faultsrv_url(url, sizeof(url), &srv, fails[i].path);
        assert_true(qr_http_fetch_file(&o, url, path, &bytes, &err) < 0);
        if (strcmp(err.id, fails[i].id) != 0)
            fail_msg("%s: %s (%s), expected %s", fails[i].path, err.id, err.msg, fails[i].id);
        assert_int_equal(bytes, 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 5000);
        assert_int_equal(count_entries(dir), 1);
    }
    /* Nothing at all when the first fetch fails. */
    snprintf(path, sizeof(path), "%s/other.pdf", dir);
    qr_error_clear(&err);
    faultsrv_url(url, sizeof(url), &srv, "/drop");
    assert_true(qr_http_fetch_file(&o, url, path, NULL, &err) < 0);
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(count_entries(dir), 1);
    qr_test_rmtree(dir);
    free(dir);
}

static void test_guard_refuses_loopback(void **state)
{
    (void)state;
    qr_net_policy strict = {true, NULL, 0};
    qr_net_policy allowed = {true, loopback_allow, 1};
    qr_http_opts o = fast_opts(3);
    result r;
    long before = faultsrv_count(&srv);
    o.policy = &strict;
    get(&r, &o, "/big/10?k=guard");
    assert_int_equal(r.rc, QR_EINVAL);
    assert_string_equal(r.err.id, "source-forbidden");
    assert_int_equal(r.resp.attempts, 1);
    assert_non_null(strstr(r.err.msg, "127.0.0.1"));
    assert_non_null(strstr(r.err.msg, "loopback"));
    assert_null(strstr(r.err.msg, "k=guard"));
    done(&r);
    assert_int_equal(faultsrv_count(&srv), before);

    o.policy = &allowed;
    get(&r, &o, "/big/10?k=guard");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.resp.status, 200);
    done(&r);
    assert_int_equal(faultsrv_count(&srv), before + 1);
}

static void test_scheme_and_url_checks(void **state)
{
    (void)state;
    qr_net_policy https_only = {false, loopback_allow, 1};
    qr_net_policy with_http = {true, loopback_allow, 1};
    char url[256];
    long before = faultsrv_count(&srv);
    const struct {
        const qr_net_policy *policy;
        const char *url;
        const char *id;
    } c[] = {
        {&https_only, faultsrv_url(url, sizeof(url), &srv, "/big/1"), "source-forbidden"},
        {&with_http, "ftp://127.0.0.1/x", "source-forbidden"},
        {&with_http, "file:///etc/passwd", "source-forbidden"},
        {&with_http, "gopher://127.0.0.1/x", "source-forbidden"},
        {&with_http, "http://user:pw@127.0.0.1:1/x", "source-forbidden"},
        {&with_http, "https://user@127.0.0.1:1/x", "source-forbidden"},
        {NULL, "ftp://127.0.0.1/x", "invalid-argument"},
        {NULL, "not a url", "invalid-argument"},
        {&with_http, "/relative/only", "invalid-argument"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        qr_http_opts o = fast_opts(3);
        qr_http_request req = QR_HTTP_REQUEST_INIT;
        qr_http_response resp = QR_HTTP_RESPONSE_INIT;
        qr_error err = QR_ERROR_INIT;
        o.policy = c[i].policy;
        req.method = "GET";
        req.url = c[i].url;
        assert_true(qr_http_perform(&o, &req, &resp, &err) < 0);
        if (strcmp(err.id, c[i].id) != 0)
            fail_msg("%s: %s (%s), expected %s", c[i].url, err.id, err.msg, c[i].id);
        assert_null(strstr(err.msg, "pw@"));
        assert_null(strstr(err.msg, "user@"));
        qr_http_response_free(&resp);
    }
    assert_int_equal(faultsrv_count(&srv), before);
}

static void test_bad_requests(void **state)
{
    (void)state;
    char url[256];
    qr_http_opts o = fast_opts(1);
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_error err = QR_ERROR_INIT;
    const qr_http_header evil[] = {{"X-Token", "s3cr3t\r\nX-Injected: 1"}};
    req.method = "GET";
    req.url = faultsrv_url(url, sizeof(url), &srv, "/echo");
    req.headers = evil;
    req.nheaders = 1;
    assert_int_equal(qr_http_perform(&o, &req, &resp, &err), QR_EINVAL);
    assert_string_equal(err.id, "invalid-argument");
    assert_null(strstr(err.msg, "s3cr3t"));
    qr_http_response_free(&resp);

    qr_error_clear(&err);
    req.headers = NULL;
    req.nheaders = 0;
    req.method = "get me";
    assert_int_equal(qr_http_perform(&o, &req, &resp, &err), QR_EINVAL);
    qr_http_response_free(&resp);
}

static void test_credentials_stay_on_origin(void **state)
{
    (void)state;
    char url[1024], path[600];
    qr_http_opts o = fast_opts(1);
    o.max_redirects = 2;
    const qr_http_header auth[] = {{"Authorization", "Bearer s3cr3t"}, {"X-Other", "kept"}};
    /* Same origin: the header follows; another origin ("localhost"): it does not. */
    char other[128];
    snprintf(other, sizeof(other), "http://localhost:%d/echo?k=other", srv.port);
    const struct {
        const char *target;
        bool kept;
    } c[] = {{"/echo?k=same", true}, {other, false}};
    for (size_t i = 0; i < 2; i++) {
        qr_buf out = QR_BUF_INIT(1 << 16);
        qr_http_request req = QR_HTTP_REQUEST_INIT;
        qr_http_response resp = QR_HTTP_RESPONSE_INIT;
        qr_error err = QR_ERROR_INIT;
        char *enc = curl_easy_escape(NULL, c[i].target, 0);
        assert_non_null(enc);
        snprintf(path, sizeof(path), "/redirect-to?url=%s", enc);
        curl_free(enc);
        req.method = "GET";
        req.url = faultsrv_url(url, sizeof(url), &srv, path);
        req.headers = auth;
        req.nheaders = 2;
        resp.body = &out;
        assert_int_equal(qr_http_perform(&o, &req, &resp, &err), 0);
        assert_int_equal(resp.status, 200);
        json_t *j = echo_json(&out);
        json_t *h = json_object_get(j, "headers");
        assert_string_equal(json_string_value(json_object_get(h, "x-other")), "kept");
        if (c[i].kept)
            assert_string_equal(json_string_value(json_object_get(h, "authorization")),
                                "Bearer s3cr3t");
        else
            assert_null(json_object_get(h, "authorization"));
        json_decref(j);
        qr_http_response_free(&resp);
        qr_buf_free(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_ok),
        cmocka_unit_test(test_flaky_retried),
        cmocka_unit_test(test_5xx_exhausted),
        cmocka_unit_test(test_429_retry_after),
        cmocka_unit_test(test_4xx_not_retried),
        cmocka_unit_test(test_stall_and_timeout),
        cmocka_unit_test(test_dropped_retried),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_head_and_delete),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_body_resent_memory),
        cmocka_unit_test(test_body_resent_file),
        cmocka_unit_test(test_fd_sink_truncated_each_attempt),
        cmocka_unit_test(test_fetch_file),
        cmocka_unit_test(test_guard_refuses_loopback),
        cmocka_unit_test(test_scheme_and_url_checks),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_credentials_stay_on_origin),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
