/*
 * The lossy encoder's shortcuts (encode.c, docs/internals/image.md): nearly
 * opaque alpha PNGs resized as 8-bit samples, real transparency still
 * premultiplied. Inputs are made here with libvips.
 */
#include "qr_test.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "image/image_internal.h"
#include "qr/image.h"

static uint32_t rnd(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

typedef enum alpha_kind {
    ALPHA_CONST,      /* every pixel `a` */
    ALPHA_ONE_PIXEL,  /* 255 everywhere, `a` at one pixel */
    ALPHA_RIGHT_HALF, /* 255 on the left half; `a` on the right half */
} alpha_kind;

/*
 * A photograph stand-in (gradients plus noise) of `bands` 8-bit bands, as a
 * PNG at zlib level 1. With alpha (2 or 4 bands) the alpha is set by `kind`;
 * under ALPHA_RIGHT_HALF the left half is pure red (or white) and the right
 * half pure green (or black): colours that must not bleed.
 */
static void make_png(void **data, size_t *len, int w, int h, int bands, alpha_kind kind, uint8_t a)
{
    size_t n = (size_t)w * (size_t)h * (size_t)bands;
    uint8_t *p = malloc(n);
    uint32_t s = 11;
    assert_non_null(p);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * (size_t)w + (size_t)x) * (size_t)bands;
            int colours = bands >= 3 ? 3 : 1;
            for (int b = 0; b < colours; b++)
                q[b] = (uint8_t)((x * (b + 1) / 8 + y / 4 + (int)(rnd(&s) % 16)) & 0xff);
            if (bands != 2 && bands != 4)
                continue;
            uint8_t *alpha = q + bands - 1;
            switch (kind) {
            case ALPHA_CONST:
                *alpha = a;
                break;
            case ALPHA_ONE_PIXEL:
                *alpha = (x == w / 3 && y == h / 2) ? a : 255;
                break;
            case ALPHA_RIGHT_HALF:
                *alpha = x < w / 2 ? 255 : a;
                if (bands == 4) {
                    q[0] = x < w / 2 ? 255 : 0;
                    q[1] = x < w / 2 ? 0 : 255;
                    q[2] = 0;
                } else {
                    q[0] = x < w / 2 ? 255 : 0;
                }
                break;
            }
        }
    VipsImage *img = vips_image_new_from_memory_copy(p, n, w, h, bands, VIPS_FORMAT_UCHAR);
    assert_non_null(img);
    img->Type = bands >= 3 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W;
    assert_int_equal(vips_pngsave_buffer(img, data, len, "compression", 1, NULL), 0);
    g_object_unref(img);
    free(p);
}

/* qr_image__encode_lossy under `profile`, as qr_image_compress calls it. */
static void encode(qr_image__blob *out, const void *data, size_t len, const char *profile)
{
    qr_image__sniff sniff;
    qr_image__header hdr;
    qr_error err = QR_ERROR_INIT;
    qr_image__sniff_buffer(&sniff, data, len);
    assert_int_equal(sniff.format, QR_IMAGE_FMT_PNG);
    assert_int_equal(qr_image__read_header(&hdr, &sniff, data, len, &err), 0);
    assert_int_equal(
        qr_image__encode_lossy(out, &sniff, &hdr, qr_profile_get(profile), data, len, &err), 0);
    assert_non_null(out->data);
}

/* The same, where the trial may skip the encode (no data). */
static void encode_any(qr_image__blob *out, const void *data, size_t len, const char *profile)
{
    qr_image__sniff sniff;
    qr_image__header hdr;
    qr_error err = QR_ERROR_INIT;
    qr_image__sniff_buffer(&sniff, data, len);
    assert_int_equal(qr_image__read_header(&hdr, &sniff, data, len, &err), 0);
    assert_int_equal(
        qr_image__encode_lossy(out, &sniff, &hdr, qr_profile_get(profile), data, len, &err), 0);
}

static VipsImage *decode(const qr_image__blob *b)
{
    VipsImage *img = vips_image_new_from_buffer(b->data, b->len, "", NULL);
    assert_non_null(img);
    assert_non_null(vips_image_get_data(img));
    return img;
}

/*
 * Opaque and nearly opaque RGBA and grey+alpha PNGs take the 8-bit path and
 * come out at the size vips_thumbnail gives the same image without alpha
 * (odd sizes, landscape and portrait), with colours within a few levels.
 */
static void test_nearly_opaque_same_size(void **state)
{
    (void)state;
    /* width, height, bands with alpha */
    static const int cases[][3] = {{2817, 1587, 4}, {1587, 2817, 4}, {2563, 2561, 2}};
    static const uint8_t alphas[] = {255, QR_IMAGE_NEARLY_OPAQUE};
    for (size_t si = 0; si < sizeof(cases) / sizeof(cases[0]); si++) {
        int w = cases[si][0], h = cases[si][1], bands = cases[si][2];
        void *plain = NULL;
        size_t plain_len = 0;
        qr_image__blob ref = {.data = NULL};
        make_png(&plain, &plain_len, w, h, bands - 1, ALPHA_CONST, 0);
        encode(&ref, plain, plain_len, "tablet");
        assert_false(ref.resized_opaque); /* no alpha: vips_thumbnail */
        VipsImage *ri = decode(&ref);
        for (size_t ai = 0; ai < sizeof(alphas); ai++) {
            void *png = NULL;
            size_t len = 0;
            qr_image__blob b = {.data = NULL};
            make_png(&png, &len, w, h, bands, ALPHA_CONST, alphas[ai]);
            encode(&b, png, len, "tablet");
            assert_true(b.resized_opaque);
            assert_int_equal(b.width, ref.width);
            assert_int_equal(b.height, ref.height);
            VipsImage *bi = decode(&b);
            assert_int_equal(bi->Xsize, ri->Xsize);
            assert_int_equal(bi->Ysize, ri->Ysize);
            assert_int_equal(bi->Bands, bands);
            /* Same source colours: the two resizes agree within rounding. */
            const uint8_t *pr = vips_image_get_data(ri), *pb = vips_image_get_data(bi);
            int maxdiff = 0;
            for (size_t i = 0; i < (size_t)bi->Xsize * (size_t)bi->Ysize; i++)
                for (int c = 0; c < bands - 1; c++) {
                    int d = abs((int)pr[i * (size_t)(bands - 1) + (size_t)c] -
                                (int)pb[i * (size_t)bands + (size_t)c]);
                    if (d > maxdiff)
                        maxdiff = d;
                }
            assert_true(maxdiff <= 8);
            g_object_unref(bi);
            qr_image__blob_free(&b);
            g_free(png);
        }
        g_object_unref(ri);
        qr_image__blob_free(&ref);
        g_free(plain);
    }
}

/* One pixel below the threshold is enough to keep the premultiplied path. */
static void test_one_translucent_pixel(void **state)
{
    (void)state;
    void *png = NULL;
    size_t len = 0;
    qr_image__blob b = {.data = NULL};
    make_png(&png, &len, 2817, 1587, 4, ALPHA_ONE_PIXEL, QR_IMAGE_NEARLY_OPAQUE - 1);
    encode(&b, png, len, "tablet");
    assert_false(b.resized_opaque);
    assert_int_equal(b.width, 2560);
    qr_image__blob_free(&b);
    g_free(png);
    /* Not resized at all: no alpha pass, the image goes through as before. */
    make_png(&png, &len, 2400, 1200, 4, ALPHA_CONST, 255);
    encode(&b, png, len, "tablet");
    assert_false(b.resized_opaque);
    assert_int_equal(b.width, 2400);
    qr_image__blob_free(&b);
    g_free(png);
}

/*
 * Real transparency: opaque red (or white) beside transparent green (or
 * black). The premultiplied resize gives the transparent pixels no weight,
 * so no visible pixel near the edge takes any of their colour.
 */
static void test_transparent_edge_does_not_bleed(void **state)
{
    (void)state;
    for (int bands = 2; bands <= 4; bands += 2) {
        void *png = NULL;
        size_t len = 0;
        qr_image__blob b = {.data = NULL};
        make_png(&png, &len, 2817, 1587, bands, ALPHA_RIGHT_HALF, 0);
        encode(&b, png, len, "tablet");
        assert_false(b.resized_opaque);
        VipsImage *img = decode(&b);
        assert_int_equal(img->Bands, bands);
        const uint8_t *p = vips_image_get_data(img);
        int visible = 0, partial = 0;
        for (int y = 0; y < img->Ysize; y++)
            for (int x = 0; x < img->Xsize; x++) {
                const uint8_t *q = p + ((size_t)y * (size_t)img->Xsize + (size_t)x) * (size_t)bands;
                uint8_t alpha = q[bands - 1];
                if (alpha == 0)
                    continue;
                visible++;
                if (alpha < 255)
                    partial++;
                if (bands == 4) {
                    assert_true(q[0] >= 253); /* red stays red */
                    assert_true(q[1] <= 2);   /* no green from the hidden half */
                } else {
                    assert_true(q[0] >= 253); /* white stays white, no black */
                }
            }
        assert_true(visible > 0);
        assert_true(partial > 0); /* the edge itself was resampled */
        g_object_unref(img);
        qr_image__blob_free(&b);
        g_free(png);
    }
}

/* An RGB image whose rows repeat a short pattern: zlib 9 finds the long matches level 4 misses.
 */
static VipsImage *patterned(int w, int h)
{
    size_t n = (size_t)w * (size_t)h * 3;
    uint8_t *p = malloc(n);
    uint32_t s = 3;
    assert_non_null(p);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                p[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] =
                    (uint8_t)(((x / 7 + y / 5) % 3) * 80 + (int)(rnd(&s) % 2));
    VipsImage *img = vips_image_new_from_memory_copy(p, n, w, h, 3, VIPS_FORMAT_UCHAR);
    assert_non_null(img);
    img->Type = VIPS_INTERPRETATION_sRGB;
    free(p);
    return img;
}

static int run_compress(qr_buf *out, qr_image_result *res, const void *data, size_t len,
                        const char *profile)
{
    qr_image_opts o = QR_IMAGE_OPTS_INIT;
    qr_error err = QR_ERROR_INIT;
    o.profile = qr_profile_get(profile);
    qr_buf_free(out);
    return qr_image_compress(out, res, data, len, NULL, &o, &err);
}

/* The source's bytes per row range: whole image, strips, refusals. */
static void test_png_strip_bytes(void **state)
{
    (void)state;
    void *png = NULL;
    size_t len = 0, strips[2], idat = 0;
    /* Top half noise, bottom half flat. */
    int w = 400, h = 256;
    uint8_t *p = calloc((size_t)w * (size_t)h, 3);
    uint32_t s = 9;
    assert_non_null(p);
    for (size_t i = 0; i < (size_t)w * (size_t)(h / 2) * 3; i++)
        p[i] = (uint8_t)rnd(&s);
    VipsImage *img =
        vips_image_new_from_memory_copy(p, (size_t)w * (size_t)h * 3, w, h, 3, VIPS_FORMAT_UCHAR);
    assert_int_equal(vips_pngsave_buffer(img, &png, &len, "compression", 6, NULL), 0);
    const int all[] = {0};
    assert_int_equal(qr_image__png_strip_bytes(strips, &idat, png, len, all, 1, h), 0);
    assert_true(idat > 0 && idat < len);
    assert_true(strips[0] <= idat && strips[0] + 16 >= idat); /* all but zlib's trailer */
    const int two[] = {8, 200};
    assert_int_equal(qr_image__png_strip_bytes(strips, &idat, png, len, two, 2, 16), 0);
    assert_true(strips[0] > 16 * (size_t)w * 3 * 9 / 10); /* noise: barely compressed */
    assert_true(strips[1] * 20 < strips[0]);
    /* Overlapping, out of order, past the end: refused. */
    const int overlap[] = {8, 10}, past[] = {250};
    assert_int_equal(qr_image__png_strip_bytes(strips, &idat, png, len, overlap, 2, 16), -1);
    assert_int_equal(qr_image__png_strip_bytes(strips, &idat, png, len, past, 1, 16), -1);
    assert_int_equal(qr_image__png_strip_bytes(strips, &idat, png, len - 100, all, 1, h), -1);
    g_free(png);
    /* Interlaced: rows are not contiguous in the stream. */
    assert_int_equal(vips_pngsave_buffer(img, &png, &len, "interlace", TRUE, NULL), 0);
    assert_int_equal(qr_image__png_strip_bytes(strips, &idat, png, len, all, 1, h), -1);
    g_free(png);
    g_object_unref(img);
    free(p);
}

/*
 * No resize and a source our zlib level cannot beat: the trial skips the
 * encode and says so, and a full encode confirms it would not have been
 * smaller.
 */
static void test_estimate_skips_larger(void **state)
{
    (void)state;
    VipsImage *img = patterned(1600, 1000);
    void *png = NULL, *full = NULL;
    size_t len = 0, full_len = 0;
    assert_int_equal(vips_pngsave_buffer(img, &png, &len, "compression", 9, "filter",
                                         VIPS_FOREIGN_PNG_FILTER_SUB, NULL),
                     0);
    qr_image__blob b = {.data = NULL};
    encode_any(&b, png, len, "tablet");
    assert_true(b.png_estimated);
    assert_null(b.data);
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    assert_int_equal(run_compress(&out, &res, png, len, "tablet"), 0);
    assert_int_equal(res.outcome, QR_IMAGE_NOT_SMALLER);
    assert_string_equal(res.reason, "estimate");
    assert_int_equal(res.out_bytes, len);
    assert_int_equal(out.len, 0);
    for (int f = 0; f < 2; f++) {
        int filter = f ? VIPS_FOREIGN_PNG_FILTER_ALL : VIPS_FOREIGN_PNG_FILTER_PAETH;
        assert_int_equal(
            vips_pngsave_buffer(img, &full, &full_len, "compression", 4, "filter", filter, NULL),
            0);
        assert_true(full_len > len);
        g_free(full);
    }
    qr_buf_free(&out);
    g_free(png);
    g_object_unref(img);
}

/*
 * The estimate never skips an image that shrinks: a photograph stored
 * uncompressed, or at zlib 1 unfiltered, is encoded and kept smaller; the
 * filter is one of the trial's candidates.
 */
static void test_estimate_keeps_shrinkable(void **state)
{
    (void)state;
    void *plain = NULL;
    size_t plain_len = 0;
    make_png(&plain, &plain_len, 1600, 1000, 3, ALPHA_CONST, 0);
    VipsImage *img = vips_image_new_from_buffer(plain, plain_len, "", NULL);
    assert_non_null(img);
    for (int level = 0; level <= 1; level++) {
        void *png = NULL;
        size_t len = 0;
        assert_int_equal(vips_pngsave_buffer(img, &png, &len, "compression", level, "filter",
                                             VIPS_FOREIGN_PNG_FILTER_NONE, NULL),
                         0);
        qr_image__blob b = {.data = NULL};
        encode_any(&b, png, len, "tablet");
        assert_false(b.png_estimated);
        assert_non_null(b.data);
        assert_true(b.png_filter == VIPS_FOREIGN_PNG_FILTER_SUB ||
                    b.png_filter == VIPS_FOREIGN_PNG_FILTER_PAETH);
        qr_image__blob_free(&b);
        qr_buf out = QR_BUF_INIT(64 << 20);
        qr_image_result res;
        assert_int_equal(run_compress(&out, &res, png, len, "tablet"), 0);
        assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
        assert_true(out.len < len * 9 / 10);
        qr_buf_free(&out);
        g_free(png);
    }
    g_object_unref(img);
    g_free(plain);
}

static int setup(void **state)
{
    (void)state;
    qr_error err = QR_ERROR_INIT;
    return qr_image_global_init("test_encode", &err);
}

static int teardown(void **state)
{
    (void)state;
    qr_image_global_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nearly_opaque_same_size),
        cmocka_unit_test(test_one_translucent_pixel),
        cmocka_unit_test(test_transparent_edge_does_not_bleed),
        cmocka_unit_test(test_png_strip_bytes),
        cmocka_unit_test(test_estimate_skips_larger),
        cmocka_unit_test(test_estimate_keeps_shrinkable),
    };
    return cmocka_run_group_tests_name("image_encode", tests, setup, teardown);
}
