/*
 * The PDF page-range planner (qr_package__pdf_plan): fixed pages per slice,
 * greedy packing toward a target size, a page larger than the target alone
 * in its slice, and ranges that always tile the document.
 */
#include "qr_test.h"

#include <stdlib.h>
#include <string.h>

#include "package/package_internal.h"

/* Ranges are consecutive, non-empty and cover 0..pages-1 exactly. */
static void assert_tiles(const qr_pdf_range *r, size_t n, uint32_t pages)
{
    uint32_t next = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r[i].first, next);
        assert_true(r[i].count >= 1);
        next += r[i].count;
    }
    assert_int_equal(next, pages);
}

static void test_fixed_pages(void **state)
{
    (void)state;
    qr_pdf_range *r = NULL;
    size_t n = 0;
    assert_int_equal(qr_package__pdf_plan(&r, &n, NULL, 10, 0, 3, NULL), 0);
    assert_int_equal(n, 4);
    assert_tiles(r, n, 10);
    assert_int_equal(r[0].count, 3);
    assert_int_equal(r[3].first, 9);
    assert_int_equal(r[3].count, 1);
    free(r);

    assert_int_equal(qr_package__pdf_plan(&r, &n, NULL, 7, 0, 1, NULL), 0);
    assert_int_equal(n, 7);
    assert_tiles(r, n, 7);
    free(r);

    /* More pages per slice than the document has: one slice. */
    assert_int_equal(qr_package__pdf_plan(&r, &n, NULL, 7, 0, 100, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].count, 7);
    free(r);
}

static void test_greedy_target(void **state)
{
    (void)state;
    /* 100 + 100 + 100 fit 300; the fourth opens a new slice. */
    const uint64_t pb[] = {100, 100, 100, 100, 50, 250, 10};
    qr_pdf_range *r = NULL;
    size_t n = 0;
    assert_int_equal(qr_package__pdf_plan(&r, &n, pb, 7, 300, 0, NULL), 0);
    assert_tiles(r, n, 7);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].count, 3); /* 300 */
    assert_int_equal(r[1].count, 2); /* 100 + 50; 250 would pass 300 */
    assert_int_equal(r[2].first, 5); /* 250 + 10 */
    assert_int_equal(r[2].count, 2);
    free(r);
}

static void test_large_page_alone(void **state)
{
    (void)state;
    /* A page over the target gets a slice of its own; its neighbours are not added to it. */
    const uint64_t pb[] = {10, 5000, 10, 10};
    qr_pdf_range *r = NULL;
    size_t n = 0;
    assert_int_equal(qr_package__pdf_plan(&r, &n, pb, 4, 100, 0, NULL), 0);
    assert_tiles(r, n, 4);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].count, 1);
    assert_int_equal(r[1].first, 1);
    assert_int_equal(r[1].count, 1);
    assert_int_equal(r[2].count, 2);
    free(r);
}

static void test_huge_estimates(void **state)
{
    (void)state;
    /* Sums near UINT64_MAX must not wrap into "fits". */
    const uint64_t pb[] = {UINT64_MAX - 5, UINT64_MAX - 5, 1};
    qr_pdf_range *r = NULL;
    size_t n = 0;
    assert_int_equal(qr_package__pdf_plan(&r, &n, pb, 3, UINT64_MAX - 1, 0, NULL), 0);
    assert_tiles(r, n, 3);
    assert_int_equal(n, 2);
    assert_int_equal(r[1].count, 2);
    free(r);
}

static void test_zero_pages(void **state)
{
    (void)state;
    qr_pdf_range *r = NULL;
    size_t n = 7;
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_package__pdf_plan(&r, &n, NULL, 0, 100, 1, &err) < 0);
    assert_string_equal(err.id, "invalid-argument");
    assert_null(r);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_pages),      cmocka_unit_test(test_greedy_target),
        cmocka_unit_test(test_large_page_alone), cmocka_unit_test(test_huge_estimates),
        cmocka_unit_test(test_zero_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
