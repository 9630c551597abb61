/* buildinfo.c: version comparison, the minimum check and its message, the JSON shape. */
#include "qr_test.h"

#include <jansson.h>
#include <string.h>

#include "qr/buildinfo.h"

static void test_compare(void **state)
{
    (void)state;
    assert_true(qr_version_compare("8.14.1", "8.14") > 0);
    assert_true(qr_version_compare("8.14", "8.14") == 0);
    assert_true(qr_version_compare("8.14.0", "8.14") == 0);
    assert_true(qr_version_compare("8.9", "8.14") < 0);
    assert_true(qr_version_compare("11.3.0", "11.3") == 0);
    assert_true(qr_version_compare("12.2.0", "11.3") > 0);
    assert_true(qr_version_compare("1.1.0", "0.14") > 0);
    assert_true(qr_version_compare("0.9.75", "0.9.71") > 0);
    assert_true(qr_version_compare("1.0.18", "1.0.18") == 0);
    assert_true(qr_version_compare("unknown", "1.0") < 0);
    assert_true(qr_version_compare("7.88.1-DEV", "7.88") > 0);
}

static void test_runtime_meets_minimums(void **state)
{
    (void)state;
    qr_buildinfo bi;
    char why[256];
    qr_buildinfo_get(&bi);
    assert_true(bi.nlibs >= 10);
    if (!qr_buildinfo_ok(&bi, why, sizeof(why)))
        fail_msg("%s", why);
    assert_string_equal(why, "");
}

static void test_too_old_is_named(void **state)
{
    (void)state;
    qr_buildinfo bi;
    char why[256];
    qr_buildinfo_get(&bi);
    /* What a stale machine would load. */
    for (size_t i = 0; i < bi.nlibs; i++)
        if (strcmp(bi.libs[i].name, "libvips") == 0) {
            strcpy(bi.libs[i].version, "8.12.1");
            bi.libs[i].ok = qr_version_compare("8.12.1", bi.libs[i].minimum) >= 0;
        }
    assert_false(qr_buildinfo_ok(&bi, why, sizeof(why)));
    assert_non_null(strstr(why, "libvips 8.12.1 is older than 8.14"));
    json_t *j = qr_buildinfo_json(&bi);
    assert_non_null(j);
    json_t *lib = json_object_get(json_object_get(j, "libraries"), "libvips");
    assert_string_equal(json_string_value(json_object_get(lib, "version")), "8.12.1");
    assert_string_equal(json_string_value(json_object_get(lib, "minimum")), "8.14");
    assert_true(json_is_false(json_object_get(lib, "ok")));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_runtime_meets_minimums),
        cmocka_unit_test(test_too_old_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
