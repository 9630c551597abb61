/*
 * Pictures for the sample book, drawn with libvips.
 *
 * A photograph compresses the way it does because of smooth tonal regions,
 * soft edges and sensor grain. The picture imitates that cheaply: a colour
 * field (a diagonal gradient plus Perlin clouds) with a few blurred discs and
 * blocks is drawn at 1/8 of the final size, enlarged with a smooth
 * interpolator, and fine Gaussian grain is added at full size.
 *
 * The vips calls here are varargs; each is used only through the typed code
 * of this file (the sample module is a generator, not part of the pipeline).
 */
#include <stdio.h>
#include <stdlib.h>
#include <vips/vips.h>

#include "qr/pool.h"
#include "sample/sample_internal.h"

/* Grain amplitude (standard deviation, in 8-bit levels). */
#define QR_SAMPLE_GRAIN_SIGMA 3.0
/* The colour field is drawn at 1/QR_SAMPLE_FIELD_SCALE of the final size. */
#define QR_SAMPLE_FIELD_SCALE 8
/*
 * zlib level of the PNGs: a quick export, as image editors often write, so
 * quire's own PNG recompression has something to find.
 */
#define QR_SAMPLE_PNG_LEVEL 3
/* Rows of grain generated before the band repeats (a prime, so it never lines up). */
#define QR_SAMPLE_GRAIN_ROWS 67

static int vips_fail(qr_error *err, const char *what, const char *file)
{
    int rc = qr_error_set(err, QR_ERR_IMAGE_ENCODE, "sample", "%s failed: %s", what,
                          vips_error_buffer());
    vips_error_clear();
    qr_error_set_context(err, "%s", file);
    return rc;
}

/* Random colour component in [lo, hi]. */
static double channel(qr_sample_rng *r, int lo, int hi)
{
    return (double)qr_sample__rng_range(r, lo, hi);
}

/*
 * The low-resolution colour field: 3-band float, lw x lh, values roughly in
 * 0..255, with shapes drawn into it. Owned by `parent`.
 */
static VipsImage *colour_field(VipsObject *parent, int lw, int lh, qr_sample_rng *r, uint32_t seed)
{
    VipsImage **t = (VipsImage **)vips_object_local_array(parent, 11);
    double a0[3], a1[3], a2[3];
    for (int i = 0; i < 3; i++) {
        a0[i] = channel(r, 40, 200);      /* base colour */
        a1[i] = channel(r, 0, 80) - 40.0; /* change across the diagonal */
        a2[i] = channel(r, 20, 60);       /* cloud strength */
    }
    int cell = lw / 3 > 1 ? lw / 3 : 1;
    double zero[3] = {0.0, 0.0, 0.0};
    /* mean(x, y) rescaled to 0..1 runs along the diagonal: t[3] = a0 + a1 * d. */
    if (vips_xyz(&t[0], lw, lh, NULL) || vips_bandmean(t[0], &t[1], NULL) ||
        vips_linear1(t[1], &t[2], 2.0 / (double)(lw + lh), 0.0, NULL) ||
        vips_linear(t[2], &t[3], a1, a0, 3, NULL))
        return NULL;
    /* Clouds: one Perlin layer per band, each with its own seed. */
    for (int i = 0; i < 3; i++) {
        int s = (int)((seed ^ (0x5a5a5a5au * (uint32_t)i)) & 0x7fffffff);
        if (vips_perlin(&t[4 + i], lw, lh, "cell_size", cell, "seed", s, NULL))
            return NULL;
    }
    if (vips_bandjoin(&t[4], &t[7], 3, NULL) || vips_linear(t[7], &t[8], a2, zero, 3, NULL) ||
        vips_add(t[3], t[8], &t[9], NULL))
        return NULL;
    /* Drawing happens in place, so the field must be a memory image. */
    VipsImage *field = vips_image_copy_memory(t[9]);
    if (!field)
        return NULL;
    vips_object_local(parent, field);
    /* Out-of-focus objects: soft discs and blocks once enlarged. */
    int shapes = qr_sample__rng_range(r, 3, 7);
    for (int i = 0; i < shapes; i++) {
        double ink[3] = {channel(r, 0, 255), channel(r, 0, 255), channel(r, 0, 255)};
        int cx = qr_sample__rng_range(r, 0, lw - 1);
        int cy = qr_sample__rng_range(r, 0, lh - 1);
        int size = qr_sample__rng_range(r, 1, (lw < lh ? lw : lh) / 4 + 1);
        int rc = (i % 3 == 2)
                     ? vips_draw_rect(field, ink, 3, cx, cy, size * 2, size, "fill", TRUE, NULL)
                     : vips_draw_circle(field, ink, 3, cx, cy, size, "fill", TRUE, NULL);
        if (rc)
            return NULL;
    }
    /* A lens, not a ruler: soften the shapes' edges (about 8 px once enlarged). */
    if (vips_gaussblur(field, &t[10], 1.0, NULL))
        return NULL;
    return t[10];
}

int qr_sample__draw_image(const char *file, int w, int h, int is_png, uint32_t seed, qr_error *err)
{
    int rc = 0;
    VipsObject *base = VIPS_OBJECT(vips_image_new());
    VipsImage *grain = NULL;
    VipsImage **t = (VipsImage **)vips_object_local_array(base, 10);
    qr_sample_rng r;
    qr_sample__rng_init(&r, seed, 0x20000u);
    int lw = (w + QR_SAMPLE_FIELD_SCALE - 1) / QR_SAMPLE_FIELD_SCALE;
    int lh = (h + QR_SAMPLE_FIELD_SCALE - 1) / QR_SAMPLE_FIELD_SCALE;
    lw = lw < 2 ? 2 : lw;
    lh = lh < 2 ? 2 : lh;

    VipsImage *field = colour_field(base, lw, lh, &r, seed);
    if (!field) {
        rc = vips_fail(err, "drawing the colour field", file);
        goto out;
    }
    /* Enlarge smoothly (as 8-bit, the cheap path), then crop or pad to exactly w x h. */
    if (vips_cast(field, &t[0], VIPS_FORMAT_UCHAR, NULL) ||
        vips_resize(t[0], &t[1], (double)w / lw, "vscale", (double)h / lh, "kernel",
                    VIPS_KERNEL_LINEAR, NULL) ||
        vips_embed(t[1], &t[2], 0, 0, w, h, "extend", VIPS_EXTEND_COPY, NULL)) {
        rc = vips_fail(err, "enlarging the colour field", file);
        goto out;
    }
    /*
     * Grain: the same luminance noise on every band. A band of noise rows is
     * repeated down the picture: generating Gaussian noise is the slowest
     * step, and the repeat distance is far beyond what JPEG or deflate see.
     */
    int rows = h < QR_SAMPLE_GRAIN_ROWS ? h : QR_SAMPLE_GRAIN_ROWS;
    if (vips_gaussnoise(&t[3], w, rows, "sigma", QR_SAMPLE_GRAIN_SIGMA, "mean", 0.0, "seed",
                        (int)((seed * 2654435761u) & 0x7fffffff), NULL) ||
        vips_cast(t[3], &t[4], VIPS_FORMAT_CHAR, NULL)) {
        rc = vips_fail(err, "drawing grain", file);
        goto out;
    }
    /* Rendered once: replicate would otherwise recompute the noise for every repeat. */
    grain = vips_image_copy_memory(t[4]);
    if (!grain || vips_replicate(grain, &t[5], 1, (h + rows - 1) / rows, NULL) ||
        vips_extract_area(t[5], &t[6], 0, 0, w, h, NULL) || vips_add(t[2], t[6], &t[7], NULL) ||
        vips_cast(t[7], &t[8], VIPS_FORMAT_UCHAR, NULL) ||
        vips_copy(t[8], &t[9], "interpretation", VIPS_INTERPRETATION_sRGB, NULL)) {
        rc = vips_fail(err, "adding grain", file);
        goto out;
    }
    if (is_png ? vips_pngsave(t[9], file, "compression", QR_SAMPLE_PNG_LEVEL, NULL)
               : vips_jpegsave(t[9], file, "Q", 95, NULL)) {
        rc = vips_fail(err, is_png ? "saving PNG" : "saving JPEG", file);
        goto out;
    }
out:
    VIPS_UNREF(grain);
    g_object_unref(base);
    return rc;
}

typedef struct draw_ctx {
    const char *dir;
    const qr_sample_picture *pics;
} draw_ctx;

static int draw_task(void *ctx, void *state, size_t i, qr_error *err)
{
    (void)state;
    const draw_ctx *d = ctx;
    const qr_sample_picture *p = &d->pics[i];
    char file[4096];
    if (snprintf(file, sizeof(file), "%s/%s", d->dir, p->name) >= (int)sizeof(file))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "sample", "picture path too long");
    return qr_sample__draw_image(file, p->w, p->h, p->is_png, p->seed, err);
}

/* libvips keeps per-thread buffers: release them as each drawing thread ends. */
static void draw_end(void *ctx, void *state)
{
    (void)ctx;
    (void)state;
    vips_thread_shutdown();
}

int qr_sample__draw_images(const char *dir, const qr_sample_picture *pics, int n, int threads,
                           qr_error *err)
{
    if (n <= 0)
        return 0;
    draw_ctx d = {.dir = dir, .pics = pics};
    qr_pool_job job = QR_POOL_JOB_INIT;
    job.ntasks = (size_t)n;
    job.threads = threads < 1                       ? 1
                  : threads > QR_SAMPLE_MAX_THREADS ? QR_SAMPLE_MAX_THREADS
                                                    : threads;
    job.ctx = &d;
    job.task = draw_task;
    job.thread_end = draw_end;
    return qr_pool_run(&job, NULL, err);
}
