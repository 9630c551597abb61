/* netaddr.c and url.c: address classification, the CIDR allowlist, URL redaction. */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"
#include "qr/http.h"

typedef struct addr_case {
    const char *ip;
    qr_net__class cls;
} addr_case;

static const addr_case cases[] = {
    /* IPv4 */
    {"0.0.0.0", QR_NET__UNSPECIFIED},
    {"0.1.2.3", QR_NET__RESERVED},
    {"255.255.255.255", QR_NET__BROADCAST},
    {"10.0.0.1", QR_NET__PRIVATE},
    {"10.255.255.255", QR_NET__PRIVATE},
    {"11.0.0.1", QR_NET__PUBLIC},
    {"100.63.255.255", QR_NET__PUBLIC},
    {"100.64.0.1", QR_NET__SHARED},
    {"100.127.255.255", QR_NET__SHARED},
    {"100.128.0.0", QR_NET__PUBLIC},
    {"127.0.0.1", QR_NET__LOOPBACK},
    {"127.255.255.254", QR_NET__LOOPBACK},
    {"169.254.169.254", QR_NET__LINK_LOCAL},
    {"169.253.255.255", QR_NET__PUBLIC},
    {"172.15.255.255", QR_NET__PUBLIC},
    {"172.16.0.0", QR_NET__PRIVATE},
    {"172.31.255.255", QR_NET__PRIVATE},
    {"172.32.0.0", QR_NET__PUBLIC},
    {"192.0.0.8", QR_NET__RESERVED},
    {"192.0.2.1", QR_NET__DOCUMENTATION},
    {"192.88.99.1", QR_NET__RESERVED},
    {"192.167.255.255", QR_NET__PUBLIC},
    {"192.168.1.1", QR_NET__PRIVATE},
    {"198.18.0.1", QR_NET__RESERVED},
    {"198.19.255.255", QR_NET__RESERVED},
    {"198.20.0.0", QR_NET__PUBLIC},
    {"198.51.100.7", QR_NET__DOCUMENTATION},
    {"203.0.113.9", QR_NET__DOCUMENTATION},
    {"224.0.0.1", QR_NET__MULTICAST},
    {"239.255.255.250", QR_NET__MULTICAST},
    {"240.0.0.1", QR_NET__RESERVED},
    {"8.8.8.8", QR_NET__PUBLIC},
    {"1.1.1.1", QR_NET__PUBLIC},
    {"223.255.255.255", QR_NET__PUBLIC},
    /* IPv6 */
    {"::", QR_NET__UNSPECIFIED},
    {"::1", QR_NET__LOOPBACK},
    {"::2", QR_NET__RESERVED},
    {"fe80::1", QR_NET__LINK_LOCAL},
    {"febf:ffff::1", QR_NET__LINK_LOCAL},
    {"fec0::1", QR_NET__PRIVATE},
    {"fc00::1", QR_NET__PRIVATE},
    {"fd12:3456::1", QR_NET__PRIVATE},
    {"ff02::1", QR_NET__MULTICAST},
    {"2001:db8::1", QR_NET__DOCUMENTATION},
    {"3fff::1", QR_NET__DOCUMENTATION},
    {"2001::1", QR_NET__RESERVED},
    {"100::1", QR_NET__RESERVED},
    {"64:ff9b:1::1", QR_NET__RESERVED},
    {"2606:4700::1111", QR_NET__PUBLIC},
    {"2a00:1450:4001::200e", QR_NET__PUBLIC},
    /* IPv4 inside IPv6 takes the IPv4's class */
    {"::ffff:10.0.0.1", QR_NET__PRIVATE},
    {"::ffff:127.0.0.1", QR_NET__LOOPBACK},
    {"::ffff:169.254.169.254", QR_NET__LINK_LOCAL},
    {"::ffff:8.8.8.8", QR_NET__PUBLIC},
    {"::ffff:a9fe:a9fe", QR_NET__LINK_LOCAL},
    {"64:ff9b::10.0.0.1", QR_NET__PRIVATE},
    {"64:ff9b::7f00:1", QR_NET__LOOPBACK},
    {"64:ff9b::8.8.8.8", QR_NET__PUBLIC},
    {"2002:0a00:0001::1", QR_NET__PRIVATE},
    {"2002:0808:0808::1", QR_NET__PUBLIC},
};

static void test_classify_table(void **state)
{
    (void)state;
    qr_net_policy strict = QR_NET_POLICY_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        qr_net__addr a;
        if (!qr_net__addr_parse(&a, cases[i].ip))
            fail_msg("%s does not parse", cases[i].ip);
        qr_net__class got = qr_net__classify(&a);
        if (got != cases[i].cls)
            fail_msg("%s: class %s, expected %s", cases[i].ip, qr_net__class_str(got),
                     qr_net__class_str(cases[i].cls));
        bool allowed = qr_net_address_allowed(&strict, cases[i].ip);
        if (allowed != (cases[i].cls == QR_NET__PUBLIC))
            fail_msg("%s: allowed=%d under the default policy", cases[i].ip, allowed);
    }
}

static void test_not_addresses(void **state)
{
    (void)state;
    qr_net_policy strict = QR_NET_POLICY_INIT;
    const char *bad[] = {"",          "localhost",  "1.2.3",    "1.2.3.4.5", "256.1.1.1",
                         "[::1]",     "fe80::1%lo", "8.8.8.8 ", " 8.8.8.8",  "::ffff:1.2.3.4.5",
                         "1.2.3.4/32"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (qr_net_address_allowed(&strict, bad[i]))
            fail_msg("'%s' allowed", bad[i]);
    assert_false(qr_net_address_allowed(NULL, "not an address"));
    assert_false(qr_net_address_allowed(&strict, NULL));
    /* NULL policy: a trusted destination, any valid address. */
    assert_true(qr_net_address_allowed(NULL, "127.0.0.1"));
    assert_true(qr_net_address_allowed(NULL, "::1"));
}

static void test_allowlist(void **state)
{
    (void)state;
    const char *allow[] = {"127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8", "bogus"};
    qr_net_policy p = {false, allow, 5};
    assert_true(qr_net_address_allowed(&p, "127.0.0.1"));
    assert_false(qr_net_address_allowed(&p, "127.0.0.2"));
    assert_true(qr_net_address_allowed(&p, "::ffff:127.0.0.1"));
    assert_true(qr_net_address_allowed(&p, "10.200.3.4"));
    assert_true(qr_net_address_allowed(&p, "11.0.0.1")); /* public anyway */
    assert_false(qr_net_address_allowed(&p, "192.168.0.1"));
    assert_false(qr_net_address_allowed(&p, "169.254.169.254"));
    assert_true(qr_net_address_allowed(&p, "::1"));
    assert_true(qr_net_address_allowed(&p, "fd12::1"));
    assert_false(qr_net_address_allowed(&p, "fc00::1"));
    assert_false(qr_net_address_allowed(&p, "fe80::1"));
    /* An allowlisted IPv4 does not open its NAT64 form (another host). */
    assert_false(qr_net_address_allowed(&p, "64:ff9b::a00:1"));
    /* Whole address space, both families. */
    const char *all[] = {"0.0.0.0/0", "::/0"};
    qr_net_policy open = {false, all, 2};
    assert_true(qr_net_address_allowed(&open, "169.254.169.254"));
    assert_true(qr_net_address_allowed(&open, "fe80::1"));
    const char *v4only[] = {"0.0.0.0/0"};
    qr_net_policy o4 = {false, v4only, 1};
    assert_true(qr_net_address_allowed(&o4, "::ffff:10.1.1.1"));
    assert_false(qr_net_address_allowed(&o4, "fe80::1"));
}

static void test_allow_parse(void **state)
{
    (void)state;
    char **v = NULL;
    size_t n = 0;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_net_allow_parse(&v, &n, "127.0.0.1/32, 10.0.0.0/8 ::1/128", &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "127.0.0.1/32");
    assert_string_equal(v[1], "10.0.0.0/8");
    assert_string_equal(v[2], "::1/128");
    qr_net_allow_free(v, n);

    assert_int_equal(qr_net_allow_parse(&v, &n, " 192.168.1.5 ,,\tfd00::1\n", &err), 0);
    assert_int_equal(n, 2);
    qr_net_policy p = {false, (const char *const *)v, n};
    assert_true(qr_net_address_allowed(&p, "192.168.1.5"));
    assert_false(qr_net_address_allowed(&p, "192.168.1.6"));
    assert_true(qr_net_address_allowed(&p, "fd00::1"));
    assert_false(qr_net_address_allowed(&p, "fd00::2"));
    qr_net_allow_free(v, n);

    assert_int_equal(qr_net_allow_parse(&v, &n, "", &err), 0);
    assert_int_equal(n, 0);
    assert_null(v);
    assert_int_equal(qr_net_allow_parse(&v, &n, NULL, &err), 0);
    assert_int_equal(n, 0);

    const char *bad[] = {
        "10.0.0.0/33",       "::/129",      "10.0.0.1/8",    "10.0.0.0/",
        "10.0.0.0/-1",       "10.0.0.0/8x", "10.0.0.0/0008", "example.com",
        "1.2.3/24",          "/8",          "fe80::1/64",    "127.0.0.1/32,10.0.0.0/99",
        "::ffff:10.0.0.0/95"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        qr_error_clear(&err);
        v = (char **)&err; /* must be reset to NULL on failure */
        n = 7;
        if (qr_net_allow_parse(&v, &n, bad[i], &err) != QR_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_null(v);
        assert_int_equal(n, 0);
        assert_string_equal(err.id, "invalid-argument");
        assert_non_null(strstr(err.msg, "allowlist entry"));
    }
    /* Too many entries. */
    size_t cap = (QR_NET__MAX_ALLOW + 1) * 12 + 1;
    char *many = malloc(cap);
    assert_non_null(many);
    many[0] = 0;
    for (int i = 0; i <= QR_NET__MAX_ALLOW; i++)
        snprintf(many + strlen(many), cap - strlen(many), "10.0.%d.%d ", i / 256, i % 256);
    qr_error_clear(&err);
    assert_int_equal(qr_net_allow_parse(&v, &n, many, &err), QR_EINVAL);
    assert_non_null(strstr(err.msg, "more than"));
    free(many);
}

static void test_redact(void **state)
{
    (void)state;
    const struct {
        const char *in, *out;
    } r[] = {
        {"https://user:secret@host.example/a/b?X-Amz-Signature=abc#frag",
         "https://host.example/a/b"},
        {"https://host.example:8443/a?token=1", "https://host.example:8443/a"},
        {"http://127.0.0.1:8080/echo", "http://127.0.0.1:8080/echo"},
        {"https://a@b@host/p@q?x", "https://host/p@q"},
        {"https://host?x=1", "https://host"},
        {"https://u:p@host#f", "https://host"},
        {"https://[::1]:443/x", "https://[::1]:443/x"},
        {"s3://bucket/key?versionId=3", "s3://bucket/key"},
        {"no scheme?q", "no scheme"},
        {"https://host/a\r\nInjected: 1", "https://host/a%0D%0AInjected: 1"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        char *s = qr_http_redact_url(r[i].in);
        assert_non_null(s);
        assert_string_equal(s, r[i].out);
        free(s);
    }
    char *s = qr_http_redact_url(NULL);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_table), cmocka_unit_test(test_not_addresses),
        cmocka_unit_test(test_allowlist),      cmocka_unit_test(test_allow_parse),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
