/*
 * qr_image_compress / qr_image_probe on images generated here with libvips
 * (the test, not the library, calls libvips directly to make inputs and to
 * inspect outputs).
 */
#include "qr_test.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>
#include <zlib.h>

#include "image/image_internal.h"
#include "qr/image.h"

typedef struct blob {
    void *data;
    size_t len;
} blob;

static void blob_free(blob *b)
{
    g_free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* A photo-like sRGB image: gradients plus Gaussian noise (w x h x bands). */
static VipsImage *make_rgb(int w, int h, double sigma)
{
    VipsImage *xyz = NULL, *x = NULL, *y = NULL, *noise = NULL, *r = NULL, *g = NULL, *b = NULL;
    VipsImage *rgb = NULL, *u = NULL, *out = NULL;
    VipsImage *bands[3];
    assert_int_equal(vips_xyz(&xyz, w, h, NULL), 0);
    assert_int_equal(vips_extract_band(xyz, &x, 0, NULL), 0);
    assert_int_equal(vips_extract_band(xyz, &y, 1, NULL), 0);
    assert_int_equal(vips_gaussnoise(&noise, w, h, "mean", 0.0, "sigma", sigma, NULL), 0);
    assert_int_equal(vips_linear1(x, &r, 255.0 / w, 0, NULL), 0);
    assert_int_equal(vips_linear1(y, &g, 255.0 / h, 0, NULL), 0);
    assert_int_equal(vips_add(r, noise, &b, NULL), 0);
    bands[0] = r;
    bands[1] = g;
    bands[2] = b;
    assert_int_equal(vips_bandjoin(bands, &rgb, 3, NULL), 0);
    assert_int_equal(vips_cast(rgb, &u, VIPS_FORMAT_UCHAR, NULL), 0);
    assert_int_equal(vips_copy(u, &out, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
    VipsImage *all[] = {xyz, x, y, noise, r, g, b, rgb, u};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        g_object_unref(all[i]);
    return out;
}

/* Attaches libvips' built-in sRGB profile (pixels unchanged). */
static VipsImage *with_icc(VipsImage *in)
{
    VipsImage *out = NULL;
    assert_int_equal(
        vips_icc_transform(in, &out, "srgb", "embedded", FALSE, "input_profile", "srgb", NULL), 0);
    assert_non_null(vips_image_get_typeof(out, VIPS_META_ICC_NAME));
    return out;
}

static blob jpeg_of(VipsImage *img, int q)
{
    blob b = {NULL, 0};
    assert_int_equal(vips_jpegsave_buffer(img, &b.data, &b.len, "Q", q, NULL), 0);
    return b;
}

static VipsImage *load(const void *data, size_t len)
{
    VipsImage *img = vips_image_new_from_buffer(data, len, "", NULL);
    assert_non_null(img);
    return img;
}

static bool has_field(const qr_buf *out, const char *name)
{
    VipsImage *img = load(out->data, out->len);
    bool has = vips_image_get_typeof(img, name) != 0;
    g_object_unref(img);
    return has;
}

static int run_compress(qr_buf *out, qr_image_result *res, const blob *in, const char *profile,
                        qr_error *err)
{
    qr_image_opts o = QR_IMAGE_OPTS_INIT;
    o.profile = qr_profile_get(profile);
    assert_non_null(o.profile);
    qr_buf_free(out);
    return qr_image_compress(out, res, in->data, in->len, NULL, &o, err);
}

static bool pixels_equal(const blob *a, const qr_buf *b)
{
    bool eq = false;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_image__pixels_equal(&eq, a->data, a->len, b->data, b->len, &err), 0);
    return eq;
}

static void test_jpeg_tablet_resizes_rotates_strips(void **state)
{
    (void)state;
    VipsImage *rgb = make_rgb(3000, 2000, 12), *icc = with_icc(rgb), *tagged = NULL;
    assert_int_equal(vips_copy(icc, &tagged, NULL), 0);
    /* EXIF orientation 6: displayed rotated 90 degrees, i.e. 2000 wide. */
    vips_image_set_int(tagged, VIPS_META_ORIENTATION, 6);
    blob in = jpeg_of(tagged, 95);
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(run_compress(&out, &res, &in, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_string_equal(res.format, "jpeg");
    assert_int_equal(res.width, 3000);
    assert_int_equal(res.height, 2000);
    assert_int_equal(res.out_width, 1707);
    assert_int_equal(res.out_height, 2560);
    assert_int_equal(res.out_bytes, out.len);
    assert_true(out.len < in.len);
    assert_memory_equal(out.data, "\xFF\xD8\xFF", 3);
    /* Orientation applied, so dropping EXIF is safe; the ICC profile stays. */
    assert_false(has_field(&out, VIPS_META_EXIF_NAME));
    assert_false(has_field(&out, VIPS_META_ORIENTATION));
    assert_true(has_field(&out, VIPS_META_ICC_NAME));

    assert_int_equal(run_compress(&out, &res, &in, "phone", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_int_equal(res.out_height, 1600);

    qr_buf_free(&out);
    blob_free(&in);
    g_object_unref(tagged);
    g_object_unref(icc);
    g_object_unref(rgb);
}

static void test_jpeg_lossless_keeps_pixels(void **state)
{
    (void)state;
    VipsImage *rgb = make_rgb(900, 600, 8);
    blob in = jpeg_of(rgb, 90); /* baseline, default Huffman tables */
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(run_compress(&out, &res, &in, "lossless", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_true(out.len < in.len);
    assert_int_equal(res.out_width, 900);
    assert_true(pixels_equal(&in, &out));
    /* The lossless profile keeps metadata: vips wrote EXIF, it is still there. */
    assert_true(has_field(&out, VIPS_META_EXIF_NAME));

    qr_buf_free(&out);
    blob_free(&in);
    g_object_unref(rgb);
}

static void test_jpeg_cmyk_stays_cmyk(void **state)
{
    (void)state;
    VipsImage *rgb = make_rgb(3000, 1500, 10), *cmyk = NULL;
    assert_int_equal(vips_icc_export(rgb, &cmyk, "output_profile", "cmyk", NULL), 0);
    assert_int_equal(vips_image_get_bands(cmyk), 4);
    blob in = jpeg_of(cmyk, 95);
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(run_compress(&out, &res, &in, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_int_equal(res.out_width, 2560);
    VipsImage *o = load(out.data, out.len);
    assert_int_equal(vips_image_get_bands(o), 4);
    assert_int_equal(vips_image_get_interpretation(o), VIPS_INTERPRETATION_CMYK);
    g_object_unref(o);

    qr_buf_free(&out);
    blob_free(&in);
    g_object_unref(cmyk);
    g_object_unref(rgb);
}

static void test_png_lossless_depths(void **state)
{
    (void)state;
    VipsImage *rgb = make_rgb(400, 300, 0), *u16 = NULL, *rgb16 = NULL;
    blob in8 = {NULL, 0}, in16 = {NULL, 0};
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    qr_error err = QR_ERROR_INIT;

    /* Stored without filtering or compression: lots of room. */
    assert_int_equal(vips_pngsave_buffer(rgb, &in8.data, &in8.len, "compression", 0, NULL), 0);
    assert_int_equal(run_compress(&out, &res, &in8, "lossless", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_string_equal(res.format, "png");
    assert_memory_equal(out.data, "\x89PNG", 4);
    assert_true(pixels_equal(&in8, &out));

    assert_int_equal(vips_linear1(rgb, &u16, 257.0, 0, NULL), 0);
    assert_int_equal(vips_cast(u16, &rgb16, VIPS_FORMAT_USHORT, NULL), 0);
    VipsImage *tagged = NULL;
    assert_int_equal(vips_copy(rgb16, &tagged, "interpretation", VIPS_INTERPRETATION_RGB16, NULL),
                     0);
    assert_int_equal(vips_pngsave_buffer(tagged, &in16.data, &in16.len, "compression", 0, NULL), 0);
    assert_int_equal(((uint8_t *)in16.data)[24], 16);
    assert_int_equal(run_compress(&out, &res, &in16, "lossless", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_int_equal(out.data[24], 16); /* IHDR bit depth kept */
    assert_true(pixels_equal(&in16, &out));

    /* Lossy profiles may drop to 8 bits per sample. */
    assert_int_equal(run_compress(&out, &res, &in16, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_int_equal(out.data[24], 8);

    qr_buf_free(&out);
    blob_free(&in8);
    blob_free(&in16);
    g_object_unref(tagged);
    g_object_unref(rgb16);
    g_object_unref(u16);
    g_object_unref(rgb);
}

static void test_png_palette_and_alpha(void **state)
{
    (void)state;
    VipsImage *rgb = make_rgb(300, 200, 0), *alpha = NULL, *rgba = NULL;
    blob pal = {NULL, 0}, withalpha = {NULL, 0};
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(vips_pngsave_buffer(rgb, &pal.data, &pal.len, "palette", TRUE, "compression",
                                         0, "dither", 0.0, NULL),
                     0);
    assert_int_equal(((uint8_t *)pal.data)[25], 3);
    assert_int_equal(run_compress(&out, &res, &pal, "lossless", &err), 0);
    assert_true(res.outcome == QR_IMAGE_CHANGED || res.outcome == QR_IMAGE_NOT_SMALLER);
    if (res.outcome == QR_IMAGE_CHANGED) {
        assert_int_equal(out.data[25], 3); /* still a palette image */
        assert_true(pixels_equal(&pal, &out));
    } else {
        assert_int_equal(out.len, 0);
    }
    /* tablet keeps a palette a palette */
    assert_int_equal(run_compress(&out, &res, &pal, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_int_equal(out.data[25], 3);

    assert_int_equal(vips_bandjoin_const1(rgb, &alpha, 200, NULL), 0);
    assert_int_equal(vips_copy(alpha, &rgba, "interpretation", VIPS_INTERPRETATION_sRGB, NULL), 0);
    assert_int_equal(
        vips_pngsave_buffer(rgba, &withalpha.data, &withalpha.len, "compression", 0, NULL), 0);
    assert_int_equal(run_compress(&out, &res, &withalpha, "phone", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    VipsImage *o = load(out.data, out.len);
    assert_int_equal(vips_image_get_bands(o), 4);
    g_object_unref(o);

    qr_buf_free(&out);
    blob_free(&pal);
    blob_free(&withalpha);
    g_object_unref(rgba);
    g_object_unref(alpha);
    g_object_unref(rgb);
}

static void test_webp_and_gif(void **state)
{
    (void)state;
    VipsImage *rgb = make_rgb(3000, 1000, 6), *small = make_rgb(64, 48, 0), *two = NULL,
              *inv = NULL;
    blob webp = {NULL, 0}, gif = {NULL, 0}, anim = {NULL, 0};
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(vips_webpsave_buffer(rgb, &webp.data, &webp.len, "Q", 95, NULL), 0);
    assert_int_equal(run_compress(&out, &res, &webp, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_string_equal(res.format, "webp");
    assert_memory_equal(out.data + 8, "WEBP", 4);
    assert_int_equal(res.out_width, 2560);
    assert_false(has_field(&out, VIPS_META_EXIF_NAME));
    /* A lossy WebP cannot shrink without loss. */
    assert_int_equal(run_compress(&out, &res, &webp, "lossless", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_NOT_SMALLER);
    assert_int_equal(out.len, 0);

    if (!vips_type_find("VipsOperation", "gifsave_buffer")) {
        print_message("no gif saver in this libvips: GIF cases skipped\n");
        goto out;
    }
    assert_int_equal(vips_gifsave_buffer(rgb, &gif.data, &gif.len, NULL), 0);
    assert_int_equal(run_compress(&out, &res, &gif, "tablet", &err), 0);
    assert_string_equal(res.format, "gif");
    assert_true(res.outcome == QR_IMAGE_CHANGED || res.outcome == QR_IMAGE_NOT_SMALLER);
    if (res.outcome == QR_IMAGE_CHANGED) {
        assert_memory_equal(out.data, "GIF8", 4);
        assert_int_equal(res.out_width, 2560);
    }

    /*
     * Two different frames stacked vertically, page-height 48: an animated
     * GIF (libvips 8.16 merges identical frames into one).
     */
    assert_int_equal(vips_invert(small, &inv, NULL), 0);
    VipsImage *frames[2] = {small, inv};
    assert_int_equal(vips_arrayjoin(frames, &two, 2, "across", 1, NULL), 0);
    vips_image_set_int(two, VIPS_META_PAGE_HEIGHT, 48);
    assert_int_equal(vips_gifsave_buffer(two, &anim.data, &anim.len, NULL), 0);
    assert_int_equal(run_compress(&out, &res, &anim, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_SKIPPED);
    assert_string_equal(res.reason, "animated");
    assert_int_equal(out.len, 0);
    qr_image_info info;
    assert_int_equal(qr_image_probe(&info, anim.data, anim.len, &err), 0);
    assert_int_equal(info.pages, 2);
    assert_int_equal(info.width, 64);
    assert_int_equal(info.height, 48);
out:
    qr_buf_free(&out);
    blob_free(&webp);
    blob_free(&gif);
    blob_free(&anim);
    if (two)
        g_object_unref(two);
    if (inv)
        g_object_unref(inv);
    g_object_unref(small);
    g_object_unref(rgb);
}

static void test_skips_and_errors(void **state)
{
    (void)state;
    static const char svg[] = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                              "width=\"10\" height=\"10\"/>";
    blob s = {g_strdup(svg), sizeof(svg) - 1};
    blob junk = {g_strdup("not an image at all"), 19};
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    qr_error err = QR_ERROR_INIT;

    assert_int_equal(run_compress(&out, &res, &s, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_SKIPPED);
    assert_string_equal(res.format, "svg");
    assert_string_equal(res.reason, "svg");
    assert_int_equal(res.out_bytes, s.len);
    assert_int_equal(out.len, 0);
    assert_int_equal(run_compress(&out, &res, &junk, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_SKIPPED);
    assert_string_equal(res.format, "unknown");

    /* Truncated JPEG: an error for this image, in both kinds of profile. */
    VipsImage *rgb = make_rgb(600, 400, 10);
    blob j = jpeg_of(rgb, 90);
    blob cut = {g_memdup2(j.data, j.len / 2), j.len / 2};
    assert_true(run_compress(&out, &res, &cut, "tablet", &err) < 0);
    assert_string_equal(err.id, "image-decode");
    assert_int_equal(out.len, 0);
    qr_error_clear(&err);
    assert_true(run_compress(&out, &res, &cut, "lossless", &err) < 0);
    assert_string_equal(err.id, "image-decode");
    qr_error_clear(&err);

    /* Truncated PNG: the lossy path streams into the saver, which meets the cut; the -jpeg
     * profiles decode to memory first. Both are a decode error and leave nothing behind. */
    blob png = {NULL, 0};
    assert_int_equal(vips_pngsave_buffer(rgb, &png.data, &png.len, "compression", 0, NULL), 0);
    blob pcut = {g_memdup2(png.data, png.len / 2), png.len / 2};
    assert_true(run_compress(&out, &res, &pcut, "tablet", &err) < 0);
    assert_string_equal(err.id, "image-decode");
    assert_int_equal(out.len, 0);
    qr_error_clear(&err);
    assert_true(run_compress(&out, &res, &pcut, "tablet-jpeg", &err) < 0);
    assert_string_equal(err.id, "image-decode");
    assert_int_equal(out.len, 0);
    qr_error_clear(&err);

    /* The encoded bytes move into the caller's buffer only within its limit. */
    qr_buf small = QR_BUF_INIT(16);
    qr_image_opts so = QR_IMAGE_OPTS_INIT;
    so.profile = qr_profile_get("tablet");
    assert_true(qr_image_compress(&small, &res, png.data, png.len, NULL, &so, &err) < 0);
    assert_string_equal(err.id, "entry-too-large");
    assert_int_equal(small.len, 0);
    qr_error_clear(&err);
    qr_buf_free(&small);
    assert_int_equal(run_compress(&out, &res, &png, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_CHANGED);
    assert_int_equal(out.len, res.out_bytes);
    assert_true(out.len < png.len);
    blob_free(&png);
    blob_free(&pcut);

    /* Garbage after a valid signature. */
    blob badpng = {g_strdup("\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxxxxxxxxx"), 31};
    assert_true(run_compress(&out, &res, &badpng, "tablet", &err) < 0);
    assert_string_equal(err.id, "image-decode");
    qr_error_clear(&err);

    qr_buf_free(&out);
    blob_free(&s);
    blob_free(&junk);
    blob_free(&j);
    blob_free(&cut);
    blob_free(&badpng);
    g_object_unref(rgb);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A PNG that declares 100000x100000 pixels (valid IHDR CRC) and holds none. */
static void test_pixel_bomb_refused(void **state)
{
    (void)state;
    uint8_t png[8 + 25 + 12 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    uint8_t *ihdr = png + 8;
    put_be32(ihdr, 13);
    memcpy(ihdr + 4, "IHDR", 4);
    put_be32(ihdr + 8, 100000);
    put_be32(ihdr + 12, 100000);
    ihdr[16] = 8; /* bit depth */
    ihdr[17] = 2; /* RGB */
    put_be32(ihdr + 21, (uint32_t)crc32(0, ihdr + 4, 17));
    uint8_t *idat = ihdr + 25;
    put_be32(idat, 0);
    memcpy(idat + 4, "IDAT", 4);
    put_be32(idat + 8, (uint32_t)crc32(0, idat + 4, 4));
    uint8_t *iend = idat + 12;
    put_be32(iend, 0);
    memcpy(iend + 4, "IEND", 4);
    put_be32(iend + 8, (uint32_t)crc32(0, iend + 4, 4));

    qr_image_info info;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_image_probe(&info, png, sizeof(png), &err), 0);
    assert_int_equal(info.width, 100000);
    assert_int_equal(info.height, 100000);

    blob b = {g_memdup2(png, sizeof(png)), sizeof(png)};
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    assert_true(run_compress(&out, &res, &b, "tablet", &err) < 0);
    assert_string_equal(err.id, "image-too-large");
    assert_int_equal(err.code, QR_ELIMIT);
    assert_int_equal(res.width, 100000);
    qr_buf_free(&out);
    blob_free(&b);
}

/*
 * Found by fuzz/image: an 80-byte PNG whose zTXt chunk declares 0x6110000c
 * bytes. libpng allocated and cleared 1.6 GB for it before reading (over
 * 25 s under ASan). A chunk other than IDAT that overruns the file is now
 * refused before libvips sees it: image-decode, so the image is kept as is.
 */
static void test_png_chunk_overrun_refused(void **state)
{
    (void)state;
    static const uint8_t png[] = "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52"
                                 "\x00\x00\x00\x10\x00\x00\x00\x0c\x08\x02\x00\x00\x00\xe4\x85\xaa"
                                 "\xd6\x61\x10\x00\x0c\x7a\x54\x58\x74\x61\x63\x54\x4c\x47\x70\x4c"
                                 "\xe0\xe0\xe0\xa0\xa0\xa0\x60\x60\x60\x20\x20\x20\xf0\xf0\xf0\xb0"
                                 "\xb0\xb0\x70\x8c\x8f\xcf\xcf\xcf\xf0\xf0\xb0\x00\xb0\x00\x49\x49";
    qr_image_info info;
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_image_probe(&info, png, sizeof(png) - 1, &err) < 0);
    assert_string_equal(err.id, "image-decode");
    assert_non_null(strstr(err.msg, "zTXt"));
    qr_error_clear(&err);
    blob b = {g_memdup2(png, sizeof(png) - 1), sizeof(png) - 1};
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_image_result res;
    assert_true(run_compress(&out, &res, &b, "tablet", &err) < 0);
    assert_string_equal(err.id, "image-decode");
    assert_int_equal(out.len, 0);
    qr_buf_free(&out);
    blob_free(&b);

    /* A PNG cut inside its IDAT is still read as before (the header is whole). */
    VipsImage *rgb = make_rgb(64, 48, 3);
    blob p = {NULL, 0};
    assert_int_equal(vips_pngsave_buffer(rgb, &p.data, &p.len, NULL), 0);
    assert_int_equal(qr_image_probe(&info, p.data, p.len - 20, &err), 0);
    assert_int_equal(info.width, 64);
    blob_free(&p);
    g_object_unref(rgb);
}

/* An APNG (acTL before IDAT) is animated even though vips sees one frame. */
static void test_apng_skipped(void **state)
{
    (void)state;
    VipsImage *rgb = make_rgb(32, 32, 0);
    blob p = {NULL, 0};
    assert_int_equal(vips_pngsave_buffer(rgb, &p.data, &p.len, NULL), 0);
    uint8_t actl[20];
    put_be32(actl, 8);
    memcpy(actl + 4, "acTL", 4);
    put_be32(actl + 8, 2);
    put_be32(actl + 12, 0);
    put_be32(actl + 16, (uint32_t)crc32(0, actl + 4, 12));
    blob a = {g_malloc(p.len + sizeof(actl)), p.len + sizeof(actl)};
    memcpy(a.data, p.data, 33); /* signature + IHDR */
    memcpy((uint8_t *)a.data + 33, actl, sizeof(actl));
    memcpy((uint8_t *)a.data + 33 + sizeof(actl), (uint8_t *)p.data + 33, p.len - 33);
    qr_buf out = QR_BUF_INIT(1 << 20);
    qr_image_result res;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(run_compress(&out, &res, &a, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_SKIPPED);
    assert_string_equal(res.reason, "animated");
    qr_buf_free(&out);
    blob_free(&a);
    blob_free(&p);
    g_object_unref(rgb);
}

static void test_not_smaller(void **state)
{
    (void)state;
    /* Already small and low quality: re-encoding at q82 cannot win. */
    VipsImage *rgb = make_rgb(200, 100, 0);
    blob in = {NULL, 0};
    assert_int_equal(vips_jpegsave_buffer(rgb, &in.data, &in.len, "Q", 20, "optimize_coding", TRUE,
                                          "strip", TRUE, NULL),
                     0);
    qr_buf out = QR_BUF_INIT(1 << 20);
    qr_image_result res;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(run_compress(&out, &res, &in, "tablet", &err), 0);
    assert_int_equal(res.outcome, QR_IMAGE_NOT_SMALLER);
    assert_string_equal(res.reason, "not-smaller");
    assert_int_equal(res.out_bytes, in.len);
    assert_int_equal(out.len, 0);
    qr_buf_free(&out);
    blob_free(&in);
    g_object_unref(rgb);
}

typedef struct job {
    blob in;
    qr_image_result res;
    int rc;
    size_t out_len;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    qr_image_opts o = QR_IMAGE_OPTS_INIT;
    qr_buf out = QR_BUF_INIT(64 << 20);
    qr_error err = QR_ERROR_INIT;
    for (int i = 0; i < 3; i++)
        j->rc |= qr_image_compress(&out, &j->res, j->in.data, j->in.len, "image/jpeg", &o, &err);
    j->out_len = out.len;
    qr_buf_free(&out);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    enum { N = 4 };
    job jobs[N];
    pthread_t th[N];
    VipsImage *rgb = make_rgb(2800, 1000, 10);
    for (int i = 0; i < N; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].in = jpeg_of(rgb, 90 + i);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(jobs[i].rc, 0);
        assert_int_equal(jobs[i].res.outcome, QR_IMAGE_CHANGED);
        assert_int_equal(jobs[i].res.out_width, 2560);
        assert_int_equal(jobs[i].out_len, jobs[i].res.out_bytes);
        blob_free(&jobs[i].in);
    }
    g_object_unref(rgb);
}

static int setup(void **state)
{
    (void)state;
    qr_error err = QR_ERROR_INIT;
    return qr_image_global_init("test_image", &err);
}

static int teardown(void **state)
{
    (void)state;
    qr_image_global_shutdown();
    return 0;
}

/*
 * libvips starts without its loadable modules (vips_init.c): no HEIF, JPEG XL,
 * ImageMagick, OpenSlide or Poppler loader is registered, and VIPSHOME is
 * left as it was. Where the libvips build has no such module the check holds
 * trivially; on Debian's libvips (bookworm and trixie) all five exist.
 */
static void test_no_vips_modules(void **state)
{
    (void)state;
    static const char *const loaders[] = {"heifload_buffer", "jxlload_buffer",
                                          "magickload_buffer", "openslideload",
                                          "pdfload_buffer"};
    for (size_t i = 0; i < sizeof(loaders) / sizeof(loaders[0]); i++)
        assert_int_equal(vips_type_find("VipsOperation", loaders[i]), 0);
    assert_null(getenv("VIPSHOME"));
    /* The PNG loader, built into libvips itself, is there. */
    assert_int_not_equal(vips_type_find("VipsOperation", "pngload_buffer"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_tablet_resizes_rotates_strips),
        cmocka_unit_test(test_jpeg_lossless_keeps_pixels),
        cmocka_unit_test(test_jpeg_cmyk_stays_cmyk),
        cmocka_unit_test(test_png_lossless_depths),
        cmocka_unit_test(test_png_palette_and_alpha),
        cmocka_unit_test(test_webp_and_gif),
        cmocka_unit_test(test_skips_and_errors),
        cmocka_unit_test(test_pixel_bomb_refused),
        cmocka_unit_test(test_png_chunk_overrun_refused),
        cmocka_unit_test(test_apng_skipped),
        cmocka_unit_test(test_not_smaller),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_no_vips_modules),
    };
    return cmocka_run_group_tests_name("image", tests, setup, teardown);
}
