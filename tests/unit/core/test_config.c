/* qr_limits validation and the built-in compression profiles. */
#include "qr_test.h"

#include <stddef.h>
#include <string.h>

#include "qr/config.h"

static void test_defaults_validate(void **state)
{
    (void)state;
    qr_limits l = QR_LIMITS_INIT;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_limits_validate(&l, &err), 0);
    assert_int_equal(err.code, 0);
    /* Sanity of the defaults themselves. */
    assert_true(l.max_entry_bytes <= l.max_total_bytes);
    assert_true(l.max_xml_bytes <= l.max_entry_bytes);
    assert_true(l.max_ratio >= 100);
    /* 0 for ratio_min_bytes is allowed: every entry gets the ratio check. */
    l.ratio_min_bytes = 0;
    assert_int_equal(qr_limits_validate(&l, NULL), 0);
}

typedef struct field {
    const char *name;
    size_t offset;
    size_t size;
} field;

#define FIELD(f)                                                                                   \
    {                                                                                              \
#f, offsetof(qr_limits, f), sizeof(((qr_limits *)0)->f)                                    \
    }

/* Each limit set to zero fails with invalid-argument, and the message names it. */
static void test_zero_field_named(void **state)
{
    (void)state;
    static const field fields[] = {
        FIELD(max_input_bytes),  FIELD(max_entries),    FIELD(max_entry_bytes),
        FIELD(max_total_bytes),  FIELD(max_ratio),      FIELD(max_xml_bytes),
        FIELD(max_image_pixels), FIELD(max_path_bytes),
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        qr_limits l = QR_LIMITS_INIT;
        memset((char *)&l + fields[i].offset, 0, fields[i].size);
        qr_error err = QR_ERROR_INIT;
        int rc = qr_limits_validate(&l, &err);
        if (rc != QR_EINVAL)
            fail_msg("zero %s was accepted", fields[i].name);
        assert_string_equal(err.id, "invalid-argument");
        assert_string_equal(err.stage, "config");
        if (!strstr(err.msg, fields[i].name))
            fail_msg("message '%s' does not name %s", err.msg, fields[i].name);
    }
}

static void test_inconsistent_limits(void **state)
{
    (void)state;
    qr_limits l = QR_LIMITS_INIT;
    l.max_entry_bytes = l.max_total_bytes + 1;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_limits_validate(&l, &err), QR_EINVAL);
    assert_non_null(strstr(err.msg, "max_entry_bytes"));
    assert_int_equal(qr_limits_validate(NULL, NULL), QR_EINVAL);
}

static void test_profiles_by_name(void **state)
{
    (void)state;
    const qr_profile *t = qr_profile_get("tablet");
    assert_non_null(t);
    assert_int_equal(t->id, QR_PROFILE_TABLET);
    assert_string_equal(t->name, "tablet");
    assert_int_equal(t->max_long_edge, 2560);
    assert_true(t->lossy);
    assert_true(t->jpeg_quality > 0 && t->jpeg_quality <= 100);

    const qr_profile *p = qr_profile_get("phone");
    assert_non_null(p);
    assert_int_equal(p->id, QR_PROFILE_PHONE);
    assert_true(p->max_long_edge > 0 && p->max_long_edge < t->max_long_edge);
    assert_true(p->lossy);

    const qr_profile *l = qr_profile_get("lossless");
    assert_non_null(l);
    assert_int_equal(l->id, QR_PROFILE_LOSSLESS);
    assert_int_equal(l->max_long_edge, 0);
    assert_false(l->lossy);
    assert_false(l->png_palette);
    assert_false(l->strip_metadata);

    for (const qr_profile *x = t; x; x = x == t ? p : x == p ? l : NULL) {
        assert_true(x->png_compression >= 0 && x->png_compression <= 9);
        assert_true(x->png_effort >= 0 && x->png_effort <= 10);
    }

    /* Unknown names (names are exact and lower case) are NULL; NULL means the default. */
    assert_null(qr_profile_get("desktop"));
    assert_null(qr_profile_get("Tablet"));
    assert_null(qr_profile_get(""));
    assert_ptr_equal(qr_profile_get(NULL), t);
}

static void test_profiles_by_id_and_names(void **state)
{
    (void)state;
    assert_ptr_equal(qr_profile_by_id(QR_PROFILE_TABLET), qr_profile_get("tablet"));
    assert_ptr_equal(qr_profile_by_id(QR_PROFILE_PHONE), qr_profile_get("phone"));
    assert_ptr_equal(qr_profile_by_id(QR_PROFILE_LOSSLESS), qr_profile_get("lossless"));
    const char *names = qr_profile_names();
    assert_non_null(names);
    static const char *const all[] = {"tablet", "phone", "lossless"};
    for (size_t i = 0; i < 3; i++) {
        assert_non_null(strstr(names, all[i]));
        assert_non_null(qr_profile_get(all[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_validate),        cmocka_unit_test(test_zero_field_named),
        cmocka_unit_test(test_inconsistent_limits),      cmocka_unit_test(test_profiles_by_name),
        cmocka_unit_test(test_profiles_by_id_and_names),
    };
    return cmocka_run_group_tests_name("core/config", tests, NULL, NULL);
}
