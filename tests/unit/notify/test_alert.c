/*
 * Alert mails: a book id, message or log line cannot add a header or break
 * the message's lines; a non-ASCII subject is RFC 2047 encoded and decodes
 * back to what it said; the JSON the webhook and the digest carry.
 */
#include "qr_test.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "qr/alert.h"

#define NOW ((int64_t)1795690589) /* 2026-11-26 10:56:29 UTC */

static int group_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static qr_alert_smtp smtp_of(void)
{
    qr_alert_smtp s;
    memset(&s, 0, sizeof(s));
    s.url = "smtp://127.0.0.1:2525";
    s.from = "quire@ops.example";
    s.to[0] = "oncall@ops.example";
    s.to[1] = "books@ops.example";
    s.nto = 2;
    return s;
}

static qr_alert alert_of(const char *book)
{
    qr_alert a = QR_ALERT_INIT;
    a.kind = "crashed";
    a.book_id = book;
    a.revision = "3";
    a.error_id = "internal";
    a.message =
        "Child process received unhandled signal pid 4242 SIGKILL (signal 9) in stage slice";
    a.stage = "slice";
    a.worker = "host-a:4200:books";
    a.host = "host-a";
    a.queue = "books";
    a.job_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    a.log = "line one\nline two\nthe last line\n";
    a.at = NOW;
    return a;
}

/* The header block (up to the blank line), as a copy. */
static char *headers_of(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    assert_non_null(end);
    return strndup(msg, (size_t)(end - msg) + 2);
}

/* Every line ends in CRLF, none is longer than 998 bytes, no bare CR or LF. */
static void assert_lines_ok(const char *msg, size_t len)
{
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\r') {
            assert_true(i + 1 < len && msg[i + 1] == '\n');
            i++;
            col = 0;
            continue;
        }
        assert_true(msg[i] != '\n');
        col++;
        assert_true(col <= 998);
    }
    assert_int_equal(col, 0);
}

static void test_mail_content(void **state)
{
    (void)state;
    qr_alert_smtp s = smtp_of();
    qr_alert a = alert_of("42");
    char *msg = NULL;
    size_t len = 0;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_alert_mail(&msg, &len, &a, &s, NOW, &err), 0);
    assert_lines_ok(msg, len);
    char *h = headers_of(msg);
    assert_non_null(strstr(h, "From: quire <quire@ops.example>\r\n"));
    assert_non_null(strstr(h, "To: oncall@ops.example, books@ops.example\r\n"));
    assert_non_null(strstr(h, "Subject: [quire] crashed: book 42: internal at slice\r\n"));
    assert_non_null(strstr(h, "Date: Thu, 26 Nov 2026 10:56:29 +0000\r\n"));
    assert_non_null(strstr(h, "Message-ID: <quire-alert.1795690589."));
    assert_non_null(strstr(h, "@ops.example>\r\n"));
    assert_non_null(strstr(h, "Content-Type: text/plain; charset=UTF-8\r\n"));
    const char *body = strstr(msg, "\r\n\r\n") + 4;
    assert_non_null(strstr(body, "Book:      42\r\n"));
    assert_non_null(strstr(body, "Revision:  3\r\n"));
    assert_non_null(strstr(body, "Error:     internal\r\n"));
    assert_non_null(strstr(body, "Stage:     slice\r\n"));
    assert_non_null(strstr(body, "Worker:    host-a:4200:books\r\n"));
    assert_non_null(strstr(body, "  the last line\r\n"));
    assert_non_null(strstr(body, "  quire logs " /* the job id */
                                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                                 "\r\n"));
    free(h);
    free(msg);
}

static void test_book_id_cannot_inject_headers(void **state)
{
    (void)state;
    qr_alert_smtp s = smtp_of();
    qr_alert a = alert_of("42\r\nBcc: victim@evil.example\r\n\r\nforged body");
    a.stage = "slice\nX-Evil: 1";
    a.message = "boom\r\n.\r\nQUIT";
    char *msg = NULL;
    size_t len = 0;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_alert_mail(&msg, &len, &a, &s, NOW, &err), 0);
    assert_lines_ok(msg, len);
    char *h = headers_of(msg);
    /* Every header line is one of ours or a continuation. */
    static const char *const names[] = {
        "From: ",           "To: ",           "Subject:",       "Date: ",
        "Message-ID: ",     "MIME-Version: ", "Content-Type: ", "Content-Transfer-Encoding: ",
        "Auto-Submitted: ", "X-Quire-Event: "};
    for (char *l = h; *l;) {
        char *e = strstr(l, "\r\n");
        assert_non_null(e);
        bool known = l[0] == ' ';
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            known = known || strncmp(l, names[i], strlen(names[i])) == 0;
        if (!known)
            fail_msg("unexpected header line: %.*s", (int)(e - l), l);
        l = e + 2;
    }
    assert_null(strstr(h, "\r\nBcc:"));
    assert_null(strstr(h, "\r\nX-Evil:"));
    assert_non_null(strstr(h, "book 42  Bcc: victim@evil.example    forged body"));
    /* In the body the message's own lines stay lines, and none is "." alone at its start. */
    assert_null(strstr(msg, "\r\nBcc:"));
    free(h);
    free(msg);
}

static void test_long_lines_fold(void **state)
{
    (void)state;
    qr_alert_smtp s = smtp_of();
    qr_alert a = alert_of("long");
    size_t n = 5000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    /* A multi-byte character across the fold point stays whole. */
    memcpy(big + 890, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 12);
    big[n] = '\0';
    a.message = big;
    a.log = big;
    char *msg = NULL;
    size_t len = 0;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_alert_mail(&msg, &len, &a, &s, NOW, &err), 0);
    assert_lines_ok(msg, len);
    /* The body is still UTF-8: no character was cut. */
    json_t *j = json_stringn(msg, len);
    assert_non_null(j);
    json_decref(j);
    free(msg);
    free(big);
}

static void test_utf8_subject_rfc2047(void **state)
{
    (void)state;
    qr_alert_smtp s = smtp_of();
    const char *book = "Les Misérables — tome premier, édition illustrée, ünïcödé 📚 ×3";
    qr_alert a = alert_of(book);
    char *msg = NULL;
    size_t len = 0;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_alert_mail(&msg, &len, &a, &s, NOW, &err), 0);
    assert_lines_ok(msg, len);
    char *h = headers_of(msg);
    char *subj = strstr(h, "\r\nSubject:");
    assert_non_null(subj);
    subj += 2;
    /* Decode each encoded word of the (folded) header; the whole is the subject. */
    char decoded[1024] = "";
    size_t dl = 0;
    const char *p = subj + strlen("Subject:");
    for (;;) {
        while (*p == ' ' || *p == '\r' || *p == '\n')
            p++;
        if (strncmp(p, "=?UTF-8?B?", 10) != 0)
            break;
        const char *e = strstr(p + 10, "?=");
        assert_non_null(e);
        assert_true((size_t)(e + 2 - p) <= 75);
        size_t got = 0;
        assert_int_equal(sodium_base642bin((unsigned char *)decoded + dl, sizeof(decoded) - dl - 1,
                                           p + 10, (size_t)(e - p - 10), NULL, &got, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        dl += got;
        p = e + 2;
        if (strncmp(p, "\r\n ", 3) != 0)
            break;
    }
    decoded[dl] = '\0';
    char want[512];
    snprintf(want, sizeof(want), "[quire] crashed: book %s: internal at slice", book);
    assert_string_equal(decoded, want);
    free(h);
    free(msg);
}

static void test_invalid_utf8_and_addresses(void **state)
{
    (void)state;
    qr_alert_smtp s = smtp_of();
    qr_alert a = alert_of("b\xff\xfe");
    a.log = "ok\nbad \xc3\x28 byte\n";
    char *msg = NULL;
    size_t len = 0;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_alert_mail(&msg, &len, &a, &s, NOW, &err), 0);
    json_t *j = json_stringn(msg, len);
    assert_non_null(j); /* valid UTF-8 throughout */
    json_decref(j);
    assert_non_null(strstr(msg, "Book b?? crashed"));
    assert_non_null(strstr(msg, "  bad ?( byte\r\n"));
    free(msg);

    assert_true(qr_alert_address_ok("ops@example.com"));
    assert_false(qr_alert_address_ok("ops@example.com\r\nBcc: x@y"));
    assert_false(qr_alert_address_ok("<ops@example.com>"));
    assert_false(qr_alert_address_ok("a@b,c@d"));
    assert_false(qr_alert_address_ok("no-at-sign"));
    s.to[1] = "x@y>\r\nRCPT TO:<z@w";
    a = alert_of("42");
    assert_int_equal(qr_alert_mail(&msg, &len, &a, &s, NOW, &err), QR_EINVAL);
    assert_string_equal(err.id, "invalid-argument");
    assert_null(msg);
}

static void test_json_and_digest(void **state)
{
    (void)state;
    qr_alert a = alert_of("42");
    char *js = NULL;
    size_t jl = 0;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_alert_json(&js, &jl, &a, 2, NOW, &err), 0);
    json_t *o = json_loads(js, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "event")), "quire.alert");
    assert_string_equal(json_string_value(json_object_get(o, "book_id")), "42");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "error"), "stage")),
                        "slice");
    assert_int_equal(json_array_size(json_object_get(o, "log")), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 2);
    assert_string_equal(json_string_value(json_object_get(o, "sent_at")), "2026-11-26T10:56:29Z");
    assert_string_equal(
        json_string_value(json_object_get(o, "logs_command")),
        "quire logs 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    json_decref(o);

    qr_alert b = alert_of("43\r\nBcc: x@y");
    char *js2 = NULL;
    size_t jl2 = 0;
    assert_int_equal(qr_alert_json(&js2, &jl2, &b, 0, 0, &err), 0);
    const char *entries[] = {js, js2};
    qr_alert_smtp s = smtp_of();
    char *msg = NULL;
    size_t len = 0;
    assert_int_equal(qr_alert_digest_mail(&msg, &len, entries, 2, 3, &s, NOW, &err), 0);
    assert_lines_ok(msg, len);
    assert_non_null(strstr(msg, "Subject: [quire] digest: 5 more books crashed or failed\r\n"));
    assert_non_null(strstr(msg, "- book 42 (crashed): internal at slice on host-a; quire logs "));
    assert_non_null(strstr(msg, "- book 43  Bcc: x@y (crashed)"));
    assert_non_null(strstr(msg, "- and 3 more not listed\r\n"));
    free(msg);
    free(js);
    free(js2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_content),
        cmocka_unit_test(test_book_id_cannot_inject_headers),
        cmocka_unit_test(test_long_lines_fold),
        cmocka_unit_test(test_utf8_subject_rfc2047),
        cmocka_unit_test(test_invalid_utf8_and_addresses),
        cmocka_unit_test(test_json_and_digest),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
