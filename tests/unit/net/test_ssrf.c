/*
 * The SSRF guard against destinations that, were the guard wrong, would put
 * packets on a real network (instance metadata, private ranges). So this
 * runs only inside a network namespace holding nothing but loopback:
 * tests/integration/test_net_ssrf.sh makes one and sets
 * QR_NETNS_ONLY_LOOPBACK=1; anywhere else every test skips.
 */
#include "qr_test.h"

#include <curl/curl.h>
#include <ifaddrs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultsrv.h"
#include "qr/http.h"

static faultsrv srv;
static bool in_netns;
static const char *const loopback_allow[] = {"127.0.0.1/32"};

/* True when every interface is loopback (the namespace the shell test made). */
static bool only_loopback(void)
{
    struct ifaddrs *ifa = NULL;
    bool ok = true;
    if (getifaddrs(&ifa) < 0)
        return false;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
        if (strcmp(i->ifa_name, "lo") != 0)
            ok = false;
    freeifaddrs(ifa);
    return ok;
}

static int group_setup(void **state)
{
    (void)state;
    const char *e = getenv("QR_NETNS_ONLY_LOOPBACK");
    qr_error err = QR_ERROR_INIT;
    in_netns = e && strcmp(e, "1") == 0;
    if (!in_netns)
        return 0;
    /* Told we are isolated but we are not: refuse rather than send packets. */
    if (!only_loopback())
        return -1;
    if (qr_http_global_init(&err) < 0)
        return -1;
    return faultsrv_start(&srv);
}

static int group_teardown(void **state)
{
    (void)state;
    if (in_netns) {
        faultsrv_stop(&srv);
        qr_http_global_cleanup();
    }
    return 0;
}

#define NEED_NETNS()                                                                               \
    do {                                                                                           \
        if (!in_netns) {                                                                           \
            print_message(                                                                         \
                "needs QR_NETNS_ONLY_LOOPBACK=1 (tests/integration/test_net_ssrf.sh)\n");          \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Performs a GET under `policy` and checks it is refused by the guard naming `want`. */
static void expect_forbidden(const qr_net_policy *policy, unsigned redirects, const char *url,
                             const char *want)
{
    qr_http_opts o = QR_HTTP_OPTS_INIT;
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_error err = QR_ERROR_INIT;
    o.policy = policy;
    o.max_attempts = 3;
    o.backoff_base_s = 0.01;
    o.connect_timeout_s = 2;
    o.timeout_s = 5;
    o.max_redirects = redirects;
    req.method = "GET";
    req.url = url;
    int rc = qr_http_perform(&o, &req, &resp, &err);
    if (rc != QR_EINVAL || !err.id || strcmp(err.id, "source-forbidden") != 0)
        fail_msg("%s: rc %d, %s (%s); expected source-forbidden", url, rc,
                 err.id ? err.id : "no error", err.msg);
    if (want && !strstr(err.msg, want))
        fail_msg("%s: message '%s' does not name '%s'", url, err.msg, want);
    /* Refused before any retry: the guard is not a transient failure. */
    assert_true(resp.attempts <= 1 + redirects);
    qr_http_response_free(&resp);
}

static void test_direct_destinations(void **state)
{
    (void)state;
    NEED_NETNS();
    qr_net_policy p = {true, NULL, 0};
    expect_forbidden(&p, 0, "http://169.254.169.254/latest/meta-data/", "169.254.169.254");
    expect_forbidden(&p, 0, "http://169.254.169.254/latest/meta-data/", "link-local");
    expect_forbidden(&p, 0, "http://10.0.0.1/", "private");
    expect_forbidden(&p, 0, "https://[::ffff:10.0.0.1]/", "10.0.0.1");
    expect_forbidden(&p, 0, "http://[::ffff:169.254.169.254]/", "link-local");
    expect_forbidden(&p, 0, "http://[64:ff9b::a00:1]/", "private");
    expect_forbidden(&p, 0, "http://100.64.0.1/", "CGNAT");
    expect_forbidden(&p, 0, "http://[fe80::1]/", "link-local");
    expect_forbidden(&p, 0, "http://[fd00::1]/", "private");
    expect_forbidden(&p, 0, "http://192.168.0.1:8080/", "private");
    expect_forbidden(&p, 0, "http://172.31.255.255/", "private");
    expect_forbidden(&p, 0, "http://224.0.0.1/", "multicast");
}

static void test_loopback_spellings(void **state)
{
    (void)state;
    NEED_NETNS();
    qr_net_policy p = {true, NULL, 0};
    char url[128];
    long before = faultsrv_count(&srv);
    assert_true(before >= 0);
    const char *forms[] = {"localhost", "127.0.0.1", "127.1", "2130706433",        "0x7f000001",
                           "0.0.0.0",   "[::1]",     "[::]",  "[::ffff:127.0.0.1]"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(url, sizeof(url), "http://%s:%d/count", forms[i], srv.port);
        expect_forbidden(&p, 0, url, NULL);
    }
    /* The server never saw any of them. */
    assert_int_equal(faultsrv_count(&srv), before);
}

static void test_redirect_off_loopback(void **state)
{
    (void)state;
    NEED_NETNS();
    qr_net_policy p = {true, loopback_allow, 1};
    const struct {
        const char *target;
        const char *status;
        const char *want;
    } c[] = {
        {"http://169.254.169.254/latest/meta-data/", "302", "169.254.169.254"},
        {"http://169.254.169.254/latest/meta-data/", "307", "link-local"},
        {"http://10.0.0.1/", "301", "10.0.0.1"},
        {"http://10.0.0.1/", "308", "private"},
        {"http://[::ffff:10.0.0.1]/", "302", "10.0.0.1"},
        {"http://[::1]/", "303", "loopback"},
        {"file:///etc/passwd", "302", "scheme"},
        {"ftp://10.0.0.1/", "302", "scheme"},
        {"http://user:pw@10.0.0.1/", "302", "credentials"},
    };
    long before = faultsrv_count(&srv);
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char url[512], path[400];
        char *enc = curl_easy_escape(NULL, c[i].target, 0);
        assert_non_null(enc);
        snprintf(path, sizeof(path), "/redirect-to?status=%s&url=%s", c[i].status, enc);
        curl_free(enc);
        expect_forbidden(&p, 3, faultsrv_url(url, sizeof(url), &srv, path), c[i].want);
    }
    /* Each case reached the (allowlisted) first hop once, and nothing more. */
    assert_int_equal(faultsrv_count(&srv), before + (long)(sizeof(c) / sizeof(c[0])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_destinations),
        cmocka_unit_test(test_loopback_spellings),
        cmocka_unit_test(test_redirect_off_loopback),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
