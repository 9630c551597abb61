/* The photograph criterion of the -jpeg profiles (docs/profiles.md). */
#include "qr_test.h"

#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"

#define W 256
#define H 192

static uint32_t rnd(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* A photograph stand-in: smooth gradients plus sensor noise. */
static uint8_t *photo(int bands, uint8_t alpha)
{
    uint8_t *p = malloc((size_t)W * H * (size_t)bands);
    uint32_t s = 7;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *q = p + ((size_t)y * W + (size_t)x) * (size_t)bands;
            for (int b = 0; b < bands; b++)
                q[b] = (uint8_t)((x * (b + 1) + y * 2 + (int)(rnd(&s) % 24)) & 0xff);
            if (bands == 2 || bands == 4)
                q[bands - 1] = alpha;
        }
    return p;
}

/* A diagram stand-in: white page, a few flat coloured boxes and lines. */
static uint8_t *diagram(void)
{
    uint8_t *p = malloc((size_t)W * H * 3);
    memset(p, 255, (size_t)W * H * 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *q = p + ((size_t)y * W + (size_t)x) * 3;
            if ((x / 32 + y / 32) % 3 == 0) {
                q[0] = 200;
                q[1] = 40;
                q[2] = (uint8_t)(x / 32 * 20);
            }
            if (x % 50 == 0 || y % 40 == 0)
                q[0] = q[1] = q[2] = 0;
        }
    return p;
}

static void test_photo_passes(void **state)
{
    (void)state;
    qr_image__photo_stats st;
    uint8_t *p = photo(3, 255);
    qr_image__photo_measure(&st, p, W, H, 3, (size_t)W * 3);
    assert_true(st.opaque);
    assert_true(st.equal_left < QR_PHOTO_MAX_EQUAL_LEFT);
    assert_true(st.colours15 >= QR_PHOTO_MIN_COLOURS15);
    assert_string_equal(qr_image__photo_verdict(&st, W, H), "");
    free(p);
    /* An alpha band that is 255 everywhere carries nothing: still a photo. */
    p = photo(4, 255);
    qr_image__photo_measure(&st, p, W, H, 4, (size_t)W * 4);
    assert_string_equal(qr_image__photo_verdict(&st, W, H), "");
    free(p);
    /* Grey photographs count grey levels. */
    p = photo(1, 0);
    qr_image__photo_measure(&st, p, W, H, 1, (size_t)W);
    assert_true(st.grey);
    assert_string_equal(qr_image__photo_verdict(&st, W, H), "");
    free(p);
}

static void test_transparency_kept(void **state)
{
    (void)state;
    qr_image__photo_stats st;
    uint8_t *p = photo(4, 255);
    p[(size_t)(W * H / 2) * 4 + 3] = 254; /* one pixel not quite opaque */
    qr_image__photo_measure(&st, p, W, H, 4, (size_t)W * 4);
    assert_false(st.opaque);
    assert_string_equal(qr_image__photo_verdict(&st, W, H), "transparent");
    free(p);
}

static void test_diagram_kept(void **state)
{
    (void)state;
    qr_image__photo_stats st;
    uint8_t *p = diagram();
    qr_image__photo_measure(&st, p, W, H, 3, (size_t)W * 3);
    assert_true(st.equal_left > QR_PHOTO_MAX_EQUAL_LEFT);
    assert_string_equal(qr_image__photo_verdict(&st, W, H), "flat-areas");
    free(p);
}

static void test_few_colours_kept(void **state)
{
    (void)state;
    qr_image__photo_stats st;
    /* Noisy but from 8 colours only (dithered art): no runs, few colours. */
    uint8_t *p = malloc((size_t)W * H * 3);
    uint32_t s = 3;
    for (size_t i = 0; i < (size_t)W * H; i++) {
        uint32_t c = rnd(&s) % 8;
        p[i * 3] = (uint8_t)(c & 1 ? 255 : 0);
        p[i * 3 + 1] = (uint8_t)(c & 2 ? 255 : 0);
        p[i * 3 + 2] = (uint8_t)(c & 4 ? 255 : 0);
    }
    qr_image__photo_measure(&st, p, W, H, 3, (size_t)W * 3);
    assert_true(st.equal_left < QR_PHOTO_MAX_EQUAL_LEFT);
    assert_int_equal(st.colours15, 8);
    assert_string_equal(qr_image__photo_verdict(&st, W, H), "few-colours");
    free(p);
}

static void test_small_kept(void **state)
{
    (void)state;
    qr_image__photo_stats st;
    uint8_t *p = photo(3, 255);
    qr_image__photo_measure(&st, p, 60, 60, 3, (size_t)W * 3);
    assert_string_equal(qr_image__photo_verdict(&st, 60, 60), "small");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_photo_passes), cmocka_unit_test(test_transparency_kept),
        cmocka_unit_test(test_diagram_kept), cmocka_unit_test(test_few_colours_kept),
        cmocka_unit_test(test_small_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
