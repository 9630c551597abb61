/*
 * The callback body: parsed back with jansson, every field and its type, the
 * key order, failures, warnings, and strings that are not UTF-8.
 */
#include "qr_test.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qr/notify.h"
#include "qr/package.h"

#define KEY "43e39fe1bb0741333f0cd0cf1c69a615185bd081d2307344b28a29598d19f733"
#define T ((int64_t)1795690589) /* 2026-11-26T10:56:29Z */

static json_t *parse(const char *text, size_t len)
{
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(o);
    assert_true(json_is_object(o));
    return o;
}

static json_t *build(const qr_callback_result *r, unsigned attempt)
{
    char *text = NULL;
    size_t len = 0;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_callback_body(&text, &len, r, KEY, attempt, T, &err), 0);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    /* Compact: no blank outside strings. */
    assert_null(strstr(text, ", "));
    assert_null(strstr(text, "\": "));
    assert_null(strchr(text, '\n'));
    json_t *o = parse(text, len);
    free(text);
    return o;
}

static void test_published(void **state)
{
    (void)state;
    qr_warnings *w = qr_warnings_new();
    assert_non_null(w);
    qr_warn(w, "href-percent-encoded", "epub", "OEBPS/c%201.xhtml", "decoded %s", "c 1.xhtml");
    qr_process_report rep;
    memset(&rep, 0, sizeof(rep));
    strcpy(rep.book_id, "42");
    strcpy(rep.revision, "r-7f3a");
    rep.already_published = true;
    rep.pages = 312;
    rep.positions = 640;
    rep.slices = 9;
    rep.source_bytes = 5000000000ULL; /* past 32 bits */
    rep.sealed_bytes = 1234567;
    rep.t_total = 12.3456789;
    rep.warnings = w;

    qr_callback_result r;
    qr_callback_result_from_report(&r, &rep);
    r.manifest_url = "s3://pkg/books/42/r-7f3a/manifest.json";
    json_t *o = build(&r, 3);

    static const char *const order[] = {
        "event",     "job_id",     "book_id",      "revision",
        "status",    "profile",    "manifest_url", "already_published",
        "pages",     "positions",  "slices",       "bytes_in",
        "bytes_out", "duration_s", "warnings",     "warnings_dropped",
        "error",     "attempt",    "sent_at"};
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        assert_true(i < sizeof(order) / sizeof(order[0]));
        assert_string_equal(k, order[i]);
        i++;
    }
    assert_int_equal(i, sizeof(order) / sizeof(order[0]));

    assert_string_equal(json_string_value(json_object_get(o, "event")), "book.published");
    assert_string_equal(json_string_value(json_object_get(o, "job_id")), KEY);
    assert_string_equal(json_string_value(json_object_get(o, "book_id")), "42");
    assert_string_equal(json_string_value(json_object_get(o, "revision")), "r-7f3a");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "published");
    assert_true(json_is_null(json_object_get(o, "profile")));
    assert_string_equal(json_string_value(json_object_get(o, "manifest_url")),
                        "s3://pkg/books/42/r-7f3a/manifest.json");
    assert_true(json_is_true(json_object_get(o, "already_published")));
    assert_int_equal(json_integer_value(json_object_get(o, "pages")), 312);
    assert_int_equal(json_integer_value(json_object_get(o, "positions")), 640);
    assert_int_equal(json_integer_value(json_object_get(o, "slices")), 9);
    assert_true(json_integer_value(json_object_get(o, "bytes_in")) == 5000000000LL);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_out")), 1234567);
    assert_true(json_is_real(json_object_get(o, "duration_s")));
    assert_true(json_real_value(json_object_get(o, "duration_s")) == 12.346);
    json_t *ws = json_object_get(o, "warnings");
    assert_int_equal(json_array_size(ws), 1);
    json_t *w0 = json_array_get(ws, 0);
    assert_string_equal(json_string_value(json_object_get(w0, "code")), "href-percent-encoded");
    assert_string_equal(json_string_value(json_object_get(w0, "stage")), "epub");
    assert_string_equal(json_string_value(json_object_get(w0, "context")), "OEBPS/c%201.xhtml");
    assert_string_equal(json_string_value(json_object_get(w0, "message")), "decoded c 1.xhtml");
    assert_int_equal(json_integer_value(json_object_get(o, "warnings_dropped")), 0);
    assert_true(json_is_null(json_object_get(o, "error")));
    assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 3);
    assert_string_equal(json_string_value(json_object_get(o, "sent_at")), "2026-11-26T10:56:29Z");
    json_decref(o);
    qr_warnings_free(w);
}

static void test_failed(void **state)
{
    (void)state;
    qr_job job = {0};
    job.book_id = "42";
    job.source = "s3://books/in/42.epub";
    job.profile = "phone";
    qr_error e = QR_ERROR_INIT;
    (void)qr_error_set(&e, QR_ERR_DRM_PROTECTED, "epub", "META-INF/encryption.xml encrypts %s",
                       "OEBPS/c1.xhtml");
    qr_callback_result r;
    qr_callback_result_from_error(&r, &job, &e, NULL);
    json_t *o = build(&r, 1);
    assert_string_equal(json_string_value(json_object_get(o, "event")), "book.failed");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(o, "book_id")), "42");
    assert_true(json_is_null(json_object_get(o, "revision")));
    assert_string_equal(json_string_value(json_object_get(o, "profile")), "phone");
    assert_true(json_is_null(json_object_get(o, "manifest_url")));
    assert_true(json_is_false(json_object_get(o, "already_published")));
    assert_int_equal(json_integer_value(json_object_get(o, "pages")), 0);
    assert_int_equal(json_array_size(json_object_get(o, "warnings")), 0);
    json_t *er = json_object_get(o, "error");
    assert_true(json_is_object(er));
    assert_string_equal(json_string_value(json_object_get(er, "code")), "drm-protected");
    assert_string_equal(json_string_value(json_object_get(er, "stage")), "epub");
    assert_string_equal(json_string_value(json_object_get(er, "message")),
                        "META-INF/encryption.xml encrypts OEBPS/c1.xhtml");
    assert_true(json_is_false(json_object_get(er, "transient")));
    json_decref(o);

    /* A transient failure says so; an empty error struct still names an id. */
    qr_error_clear(&e);
    (void)qr_error_set(&e, QR_ERR_FETCH_FAILED, "fetch", "connection refused");
    qr_callback_result_from_error(&r, &job, &e, NULL);
    o = build(&r, 1);
    assert_true(json_is_true(json_object_get(json_object_get(o, "error"), "transient")));
    json_decref(o);
    qr_error_clear(&e);
    qr_callback_result_from_error(&r, &job, &e, NULL);
    o = build(&r, 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "error"), "code")),
                        "internal");
    json_decref(o);
}

static void test_not_utf8(void **state)
{
    (void)state;
    qr_warnings *w = qr_warnings_new();
    assert_non_null(w);
    /* A Latin-1 file name, a lone continuation byte, an overlong '/', a surrogate. */
    qr_warn(w, "href-case-mismatch", "epub", "OEBPS/\xe9t\xe9.xhtml",
            "x\x80y\xc0\xafz\xed\xa0\x80");
    qr_callback_result r = QR_CALLBACK_RESULT_INIT;
    r.published = true;
    r.book_id = "b\xff";
    r.warnings = w;
    json_t *o = build(&r, 1);
    assert_string_equal(json_string_value(json_object_get(o, "book_id")), "b?");
    json_t *w0 = json_array_get(json_object_get(o, "warnings"), 0);
    assert_string_equal(json_string_value(json_object_get(w0, "context")), "OEBPS/?t?.xhtml");
    assert_string_equal(json_string_value(json_object_get(w0, "message")), "x?y??z???");
    json_decref(o);
    /* Valid UTF-8 passes untouched. */
    r.book_id = "\xc3\xa9t\xc3\xa9-\xf0\x9f\x93\x9a";
    o = build(&r, 1);
    assert_string_equal(json_string_value(json_object_get(o, "book_id")), r.book_id);
    json_decref(o);
    qr_warnings_free(w);
}

static void test_invalid(void **state)
{
    (void)state;
    char *text = (char *)"untouched";
    size_t len = 7;
    qr_error err = QR_ERROR_INIT;
    qr_callback_result r = QR_CALLBACK_RESULT_INIT;
    assert_int_equal(qr_callback_body(&text, &len, &r, KEY, 1, T, &err), QR_EINVAL);
    assert_null(text);
    assert_int_equal(len, 0);
    assert_string_equal(err.id, "invalid-argument");
    r.book_id = "42";
    qr_error_clear(&err);
    assert_int_equal(qr_callback_body(&text, &len, &r, "", 1, T, &err), QR_EINVAL);
    qr_error_clear(&err);
    assert_int_equal(qr_callback_body(&text, &len, &r, KEY, 1, -5, &err), QR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published),
        cmocka_unit_test(test_failed),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
