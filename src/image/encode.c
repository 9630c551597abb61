/*
 * libvips pipelines: shrink-on-load, orientation, re-encode. Every libvips
 * varargs call of the stage lives here or in probe.c.
 *
 * Memory stays bounded: sources are read with sequential access, JPEG and
 * WebP are shrunk while decoding, the lossy path streams from the decoder
 * into the saver, and only an already-shrunk image is ever held in memory
 * (to rotate it, or to judge a PNG photograph under the -jpeg profiles).
 */
#include <string.h>

#include <vips/vips.h>

#include "image/image_internal.h"

#if VIPS_MAJOR_VERSION > 8 || (VIPS_MAJOR_VERSION == 8 && VIPS_MINOR_VERSION >= 15)
#define QR_VIPS_HAS_KEEP 1
#else
#define QR_VIPS_HAS_KEEP 0
#endif

void qr_image__blob_free(qr_image__blob *b)
{
    if (!b)
        return;
    g_free(b->data);
    memset(b, 0, sizeof(*b));
}

static void *unconst(const uint8_t *p)
{
    return (void *)(uintptr_t)p;
}

/* The long edge the output may have: the profile's, never an upscale. */
static int target_edge(const qr_image__header *hdr, const qr_profile *p)
{
    int long_edge = hdr->info.width > hdr->info.height ? hdr->info.width : hdr->info.height;
    if (p->max_long_edge > 0 && p->max_long_edge < (uint32_t)long_edge)
        return (int)p->max_long_edge;
    return long_edge;
}

/*
 * CMYK JPEG: vips_thumbnail would convert to sRGB. Shrink in the decoder
 * (1/2/4/8), resize the rest, then apply the EXIF orientation.
 */
static int load_cmyk_jpeg(VipsImage **out, const qr_image__header *hdr, int target,
                          const uint8_t *in, size_t len, qr_error *err)
{
    VipsImage *img = NULL, *sized = NULL, *mem = NULL, *rot = NULL;
    int rc = 0, shrink = 1, orientation = 1;
    int long_edge = hdr->info.width > hdr->info.height ? hdr->info.width : hdr->info.height;

    while (shrink < 8 && long_edge / (shrink * 2) >= target)
        shrink *= 2;
    if (vips_jpegload_buffer(unconst(in), len, &img, "shrink", shrink, "access",
                             VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL)) {
        rc = qr_image__error_from_vips(err, QR_ERR_IMAGE_DECODE, "cannot load JPEG");
        goto out;
    }
    long_edge = img->Xsize > img->Ysize ? img->Xsize : img->Ysize;
    if (long_edge > target) {
        if (vips_resize(img, &sized, (double)target / long_edge, NULL)) {
            rc = qr_image__error_from_vips(err, QR_ERR_IMAGE_DECODE, "cannot resize JPEG");
            goto out;
        }
    } else {
        sized = img;
        g_object_ref(sized);
    }
    if (vips_image_get_typeof(sized, VIPS_META_ORIENTATION) &&
        vips_image_get_int(sized, VIPS_META_ORIENTATION, &orientation))
        orientation = 1;
    if (orientation > 1 && orientation <= 8) {
        /* Rotation reads out of order: hold the (already shrunk) pixels. */
        if (!(mem = vips_image_copy_memory(sized)) || vips_autorot(mem, &rot, NULL)) {
            rc = qr_image__error_from_vips(err, QR_ERR_IMAGE_DECODE, "cannot rotate JPEG");
            goto out;
        }
        *out = rot;
        rot = NULL;
    } else {
        *out = sized;
        sized = NULL;
    }
out:
    VIPS_UNREF(rot);
    VIPS_UNREF(mem);
    VIPS_UNREF(sized);
    VIPS_UNREF(img);
    return rc;
}

/*
 * The loader, sequential access, truncation an error. The photobook's 5120x2880 PNGs decode in
 * 0.15-0.5 s this way; nothing but one band of a few rows is held.
 */
static VipsImage *load_seq(const uint8_t *in, size_t len)
{
    return vips_image_new_from_buffer(unconst(in), len, "", "access", VIPS_ACCESS_SEQUENTIAL,
                                      "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
}

/*
 * vips_thumbnail premultiplies alpha before it resizes, which turns the whole pipeline into
 * float and costs 2-3x the time of the 8-bit resize (1.05-1.5 s against 0.4-0.65 s for a
 * 5120x2880 RGBA PNG). Photographs saved as RGBA are opaque, or nearly: for an 8-bit RGBA or
 * grey+alpha PNG that must shrink, one sequential pass finds the smallest alpha, and when it
 * is at least QR_IMAGE_NEARLY_OPAQUE the source is loaded again and resized as 8-bit samples
 * at thumbnail's scale (the larger of width/target and height/target), so the output has the
 * same dimensions. Anything else (real transparency, an orientation to apply, another
 * interpretation, any libvips failure) leaves `*out` NULL: vips_thumbnail then does the work
 * and reports the errors, as before.
 */
static void resize_nearly_opaque(VipsImage **out, const qr_image__sniff *sniff,
                                 const qr_image__header *hdr, int target, const uint8_t *in,
                                 size_t len)
{
    VipsImage *img = NULL, *alpha = NULL, *src = NULL;
    double amin = 0;
    int orientation = 1;
    int w = hdr->info.width, h = hdr->info.height;

    *out = NULL;
    if (sniff->format != QR_IMAGE_FMT_PNG || sniff->png_bit_depth != 8 ||
        (sniff->png_color_type != 6 && sniff->png_color_type != 4) ||
        target >= (w > h ? w : h))
        return;
    if (!(img = load_seq(in, len)) || img->BandFmt != VIPS_FORMAT_UCHAR ||
        img->Coding != VIPS_CODING_NONE || img->Xsize != w || img->Ysize != h ||
        !((img->Bands == 4 && img->Type == VIPS_INTERPRETATION_sRGB) ||
          (img->Bands == 2 && img->Type == VIPS_INTERPRETATION_B_W)))
        goto out;
    if (vips_image_get_typeof(img, VIPS_META_ORIENTATION) &&
        !vips_image_get_int(img, VIPS_META_ORIENTATION, &orientation) && orientation > 1)
        goto out;
    if (vips_extract_band(img, &alpha, img->Bands - 1, NULL) || vips_min(alpha, &amin, NULL) ||
        amin < QR_IMAGE_NEARLY_OPAQUE)
        goto out;
    double shrink = (double)w / target > (double)h / target ? (double)w / target
                                                            : (double)h / target;
    if (!(src = load_seq(in, len)) ||
        vips_resize(src, out, 1.0 / shrink, "vscale", 1.0 / shrink, NULL))
        *out = NULL;
out:
    vips_error_clear();
    VIPS_UNREF(src);
    VIPS_UNREF(alpha);
    VIPS_UNREF(img);
}

typedef struct save_params {
    qr_image__format format;
    bool lossless;
    bool strip;
    int quality;    /* JPEG/WebP Q, PNG/GIF palette quality */
    bool progressive;
    int png_compression;
    int png_effort;
    bool palette;   /* PNG: write a palette image */
    bool exact;     /* palette/GIF: no dithering, highest quality */
    int bitdepth;   /* PNG: 0 = as the image */
    int png_filter; /* PNG: 0 = the default (below), else a VIPS_FOREIGN_PNG_FILTER_* */
} save_params;

static int save_jpeg(void **buf, size_t *len, VipsImage *img, const save_params *s)
{
#if QR_VIPS_HAS_KEEP
    if (s->strip)
        return vips_jpegsave_buffer(img, buf, len, "Q", s->quality, "optimize_coding", TRUE,
                                    "interlace", s->progressive, "keep", VIPS_FOREIGN_KEEP_ICC,
                                    NULL);
#endif
    return vips_jpegsave_buffer(img, buf, len, "Q", s->quality, "optimize_coding", TRUE,
                                "interlace", s->progressive, NULL);
}

static int save_png(void **buf, size_t *len, VipsImage *img, const save_params *s)
{
    /* Adaptive per-row filtering suits photos; palette images compress
     * best unfiltered (libpng's advice). */
    int filter = s->png_filter      ? s->png_filter
                 : s->palette       ? VIPS_FOREIGN_PNG_FILTER_NONE
                                    : VIPS_FOREIGN_PNG_FILTER_ALL;
    int q = s->exact ? 100 : s->quality;
    double dither = s->exact ? 0.0 : 1.0;
    /* libvips 8.14 rejects an explicit 0 ("as the image"): spell it out. */
    int bitdepth = s->bitdepth ? s->bitdepth : img->BandFmt == VIPS_FORMAT_USHORT ? 16 : 8;
#if QR_VIPS_HAS_KEEP
    if (s->strip)
        return vips_pngsave_buffer(img, buf, len, "compression", s->png_compression, "filter",
                                   filter, "palette", s->palette, "Q", q, "dither", dither,
                                   "effort", s->png_effort, "bitdepth", bitdepth, "keep",
                                   VIPS_FOREIGN_KEEP_ICC, NULL);
#endif
    return vips_pngsave_buffer(img, buf, len, "compression", s->png_compression, "filter", filter,
                               "palette", s->palette, "Q", q, "dither", dither, "effort",
                               s->png_effort, "bitdepth", bitdepth, NULL);
}

/*
 * Small PNGs (diagrams, icons, line art) are cheap to squeeze: zlib level 9,
 * and an exact palette when the image has 256 colours or fewer, as
 * ImageMagick and optipng do. Photographs are larger and skip both.
 */
#define QR_PNG_SMALL_PIXELS (UINT64_C(1) << 20)

static bool png_is_small(const VipsImage *img)
{
    return (uint64_t)img->Xsize * (uint64_t)img->Ysize <= QR_PNG_SMALL_PIXELS;
}

/*
 * Re-encodes the 8-bit RGB(A) PNG in `out` as a palette PNG and keeps that
 * only if it is smaller and decodes to exactly the same pixels. Any failure
 * leaves `out` as it was: this is an optimisation, never an error.
 */
static void try_exact_palette(qr_image__blob *out)
{
    VipsImage *img = NULL;
    void *buf = NULL;
    size_t len = 0;
    bool equal = false;
    img = vips_image_new_from_buffer(out->data, out->len, "", NULL);
    if (!img || img->BandFmt != VIPS_FORMAT_UCHAR || (img->Bands != 3 && img->Bands != 4) ||
        !png_is_small(img))
        goto out;
    if (vips_pngsave_buffer(img, &buf, &len, "compression", 9, "filter",
                            VIPS_FOREIGN_PNG_FILTER_NONE, "palette", TRUE, "Q", 100, "dither", 0.0,
                            "effort", 10, NULL) ||
        len >= out->len)
        goto out;
    if (qr_image__pixels_equal(&equal, out->data, out->len, buf, len, NULL) < 0 || !equal)
        goto out;
    g_free(out->data);
    out->data = buf;
    out->len = len;
    buf = NULL;
out:
    vips_error_clear();
    g_free(buf);
    VIPS_UNREF(img);
}

static int save_webp(void **buf, size_t *len, VipsImage *img, const save_params *s)
{
#if QR_VIPS_HAS_KEEP
    if (s->strip)
        return vips_webpsave_buffer(img, buf, len, "Q", s->quality, "lossless", s->lossless,
                                    "effort", 6, "keep", VIPS_FOREIGN_KEEP_ICC, NULL);
#endif
    return vips_webpsave_buffer(img, buf, len, "Q", s->quality, "lossless", s->lossless, "effort",
                                6, NULL);
}

static int save_gif(void **buf, size_t *len, VipsImage *img, const save_params *s)
{
    return vips_gifsave_buffer(img, buf, len, "effort", s->exact ? 10 : 7, "dither",
                               s->exact ? 0.0 : 1.0, NULL);
}

/*
 * `decoded`: the pixels are already in memory, so a failure is the
 * encoder's. Otherwise the source is still being read as the encoder pulls
 * it, and a corrupt source (by far the likelier cause) fails here too.
 */
static int save(qr_image__blob *out, VipsImage *img, const save_params *s, bool decoded,
                qr_error *err)
{
    int vrc = -1;
    void *buf = NULL;
    size_t len = 0;

    switch (s->format) {
    case QR_IMAGE_FMT_JPEG:
        vrc = save_jpeg(&buf, &len, img, s);
        break;
    case QR_IMAGE_FMT_PNG: {
        save_params ps = *s;
        if (png_is_small(img))
            ps.png_compression = 9;
        vrc = save_png(&buf, &len, img, &ps);
        break;
    }
    case QR_IMAGE_FMT_WEBP:
        vrc = save_webp(&buf, &len, img, s);
        break;
    case QR_IMAGE_FMT_GIF:
        vrc = save_gif(&buf, &len, img, s);
        break;
    case QR_IMAGE_FMT_SVG:
    case QR_IMAGE_FMT_UNKNOWN:
        return qr_error_set(err, QR_ERR_INTERNAL, QR_IMAGE_STAGE, "no encoder for %s",
                            qr_image__format_name(s->format));
    }
    if (vrc != 0) {
        g_free(buf);
        if (decoded)
            return qr_image__error_from_vips(err, QR_ERR_IMAGE_ENCODE, "cannot encode image");
        return qr_image__error_from_vips(err, QR_ERR_IMAGE_DECODE,
                                         "cannot decode (or re-encode) image");
    }
    out->data = buf;
    out->len = len;
    out->width = img->Xsize;
    out->height = img->Ysize;
    if (s->format == QR_IMAGE_FMT_PNG && !s->palette)
        try_exact_palette(out);
    return 0;
}

/*
 * The PNG trial (docs/internals/image.md): QR_PNG_TRIAL_STRIPS strips of QR_PNG_TRIAL_ROWS
 * rows, spread evenly over `mem`, are encoded without metadata with each candidate filter
 * at the profile's level, and the filter with the fewest bytes is returned. Adaptive
 * filtering (ALL) tries every filter on every row and costs ~25% more time than one filter
 * for 0-2% fewer bytes; on the photobook's twelve PNGs only SUB and PAETH ever won among
 * the single filters, so they are the candidates.
 *
 * `same_pixels`: `mem` holds the source's pixels unchanged (no resize), so the source's
 * own bytes for the same rows (qr_image__png_strip_bytes) scale the trial to an estimate
 * of the whole result; above QR_PNG_SKIP_RATIO times the source, `*skip` is set. Any
 * failure returns adaptive filtering and no skip: this is an optimisation, never an error.
 */
static int png_trial(bool *skip, VipsImage *mem, const save_params *s, bool same_pixels,
                     const uint8_t *in, size_t len)
{
    static const int candidates[] = {VIPS_FOREIGN_PNG_FILTER_SUB, VIPS_FOREIGN_PNG_FILTER_PAETH};
    int y[QR_PNG_TRIAL_STRIPS];
    size_t best = SIZE_MAX;
    int filter = VIPS_FOREIGN_PNG_FILTER_ALL;
    int bitdepth = mem->BandFmt == VIPS_FORMAT_USHORT ? 16 : 8;
    if (s->bitdepth)
        bitdepth = s->bitdepth;

    *skip = false;
    /* Too short for strips to say anything about the whole. */
    if (mem->Ysize < 4 * QR_PNG_TRIAL_STRIPS * QR_PNG_TRIAL_ROWS)
        return filter;
    for (int k = 0; k < QR_PNG_TRIAL_STRIPS; k++)
        y[k] = (int)((double)(mem->Ysize - QR_PNG_TRIAL_ROWS) * (k + 0.5) / QR_PNG_TRIAL_STRIPS);
    for (size_t c = 0; c < sizeof(candidates) / sizeof(candidates[0]); c++) {
        size_t total = 0;
        for (int k = 0; k < QR_PNG_TRIAL_STRIPS; k++) {
            VipsImage *strip = NULL;
            void *buf = NULL;
            size_t blen = 0;
            int vrc = vips_crop(mem, &strip, 0, y[k], mem->Xsize, QR_PNG_TRIAL_ROWS, NULL);
#if QR_VIPS_HAS_KEEP
            if (!vrc)
                vrc = vips_pngsave_buffer(strip, &buf, &blen, "compression", s->png_compression,
                                          "filter", candidates[c], "bitdepth", bitdepth, "keep",
                                          VIPS_FOREIGN_KEEP_NONE, NULL);
#else
            if (!vrc)
                vrc = vips_pngsave_buffer(strip, &buf, &blen, "compression", s->png_compression,
                                          "filter", candidates[c], "bitdepth", bitdepth, "strip",
                                          TRUE, NULL);
#endif
            g_free(buf);
            VIPS_UNREF(strip);
            if (vrc) {
                vips_error_clear();
                *skip = false;
                return VIPS_FOREIGN_PNG_FILTER_ALL;
            }
            total += blen;
        }
        if (total < best) {
            best = total;
            filter = candidates[c];
        }
    }
    if (same_pixels) {
        size_t src[QR_PNG_TRIAL_STRIPS], idat = 0, src_total = 0;
        if (qr_image__png_strip_bytes(src, &idat, in, len, y, QR_PNG_TRIAL_STRIPS,
                                      QR_PNG_TRIAL_ROWS) == 0) {
            for (int k = 0; k < QR_PNG_TRIAL_STRIPS; k++)
                src_total += src[k];
            if (src_total > 0 &&
                (double)best / (double)src_total * (double)idat > QR_PNG_SKIP_RATIO * (double)len)
                *skip = true;
        }
    }
    return filter;
}

/*
 * The -jpeg profiles (docs/profiles.md): an opaque 8-bit PNG that passes the
 * pixel criterion (photo.c) is encoded as JPEG at the profile's quality, and
 * the JPEG replaces the PNG in `out` only if it is at most
 * QR_PHOTO_MAX_JPEG_RATIO of the smaller of the best PNG and the original.
 * Any failure keeps the PNG: this is an optimisation, never an error.
 */
static void try_photo_jpeg(qr_image__blob *out, VipsImage *mem, const qr_image__sniff *sniff,
                           const save_params *ps, size_t in_len)
{
    VipsImage *flat = NULL;
    void *buf = NULL;
    size_t len = 0;
    qr_image__photo_stats st;

    if (sniff->png_color_type == 3 || sniff->png_trns || mem->BandFmt != VIPS_FORMAT_UCHAR ||
        mem->Bands < 1 || mem->Bands > 4 || mem->Coding != VIPS_CODING_NONE)
        goto out;
    const uint8_t *px = (const uint8_t *)vips_image_get_data(mem);
    if (!px)
        goto out;
    qr_image__photo_measure(&st, px, mem->Xsize, mem->Ysize, mem->Bands,
                            (size_t)VIPS_IMAGE_SIZEOF_LINE(mem));
    if (*qr_image__photo_verdict(&st, mem->Xsize, mem->Ysize))
        goto out;
    /* Opaque everywhere: the alpha band carries nothing. */
    int colour = mem->Bands >= 3 ? 3 : 1;
    if (vips_extract_band(mem, &flat, 0, "n", colour, NULL))
        goto out;
    save_params js = *ps;
    js.format = QR_IMAGE_FMT_JPEG;
    if (save_jpeg(&buf, &len, flat, &js))
        goto out;
    /* No PNG when the trial skipped its encode: the original is the one to beat. */
    size_t best = out->data && out->len < in_len ? out->len : in_len;
    if ((double)len > QR_PHOTO_MAX_JPEG_RATIO * (double)best)
        goto out;
    g_free(out->data);
    out->data = buf;
    out->len = len;
    out->width = flat->Xsize;
    out->height = flat->Ysize;
    out->to_jpeg = true;
    buf = NULL;
out:
    vips_error_clear();
    g_free(buf);
    VIPS_UNREF(flat);
}

int qr_image__encode_lossy(qr_image__blob *out, const qr_image__sniff *sniff,
                           const qr_image__header *hdr, const qr_profile *profile,
                           const uint8_t *in, size_t len, qr_error *err)
{
    VipsImage *img = NULL, *mem = NULL;
    int rc = 0;
    int target = target_edge(hdr, profile);
    save_params s = {sniff->format, false, profile->strip_metadata, profile->jpeg_quality,
                     profile->jpeg_progressive, profile->png_compression, profile->png_effort,
                     false, false, 0, 0};

    memset(out, 0, sizeof(*out));
    if (sniff->format == QR_IMAGE_FMT_JPEG && hdr->cmyk) {
        if ((rc = load_cmyk_jpeg(&img, hdr, target, in, len, err)) < 0)
            goto out;
    } else {
        resize_nearly_opaque(&img, sniff, hdr, target, in, len);
        out->resized_opaque = img != NULL;
        /* thumbnail applies the EXIF orientation (and drops the tag). Its
         * own fail_on is not passed to the loader by 8.14: use the option
         * string. */
        if (!img && vips_thumbnail_buffer(unconst(in), len, &img, target, "height", target,
                                          "size", VIPS_SIZE_DOWN, "option_string",
                                          "fail_on=truncated", NULL)) {
            rc = qr_image__error_from_vips(err, QR_ERR_IMAGE_DECODE, "cannot load image");
            goto out;
        }
    }
    if (sniff->format == QR_IMAGE_FMT_PNG) {
        /* A palette stays a palette; 16-bit samples are more than a screen shows. */
        s.palette = profile->png_palette || sniff->png_color_type == 3;
        s.exact = !profile->png_palette && sniff->png_color_type == 3;
        if (vips_image_get_format(img) == VIPS_FORMAT_USHORT)
            s.bitdepth = 8;
    }
    /*
     * A large PNG chooses its filter from a trial on strips of its pixels
     * (png_trial), and the -jpeg profiles judge a PNG by its pixels
     * (photo.c): those are decoded now, at output size, and encoded from
     * memory. Everything else streams from the decoder into the encoder, so
     * no whole image is held (a 2560x1920 RGB output is 14.7 MB per thread);
     * a corrupt source then fails while saving, reported as image-decode,
     * its likelier cause.
     */
    bool trial = sniff->format == QR_IMAGE_FMT_PNG && !s.palette && !png_is_small(img);
    bool photo = sniff->format == QR_IMAGE_FMT_PNG && profile->png_photo_to_jpeg;
    if (!trial && !photo) {
        rc = save(out, img, &s, false, err);
        goto out;
    }
    if (!(mem = vips_image_copy_memory(img))) {
        rc = qr_image__error_from_vips(err, QR_ERR_IMAGE_DECODE, "cannot decode image");
        goto out;
    }
    /* The pipeline's buffers go before the encoder's come. */
    VIPS_UNREF(img);
    if (trial) {
        bool skip = false;
        bool same_pixels = !out->resized_opaque && mem->Xsize == hdr->info.width &&
                           mem->Ysize == hdr->info.height;
        s.png_filter = png_trial(&skip, mem, &s, same_pixels, in, len);
        out->png_filter = s.png_filter;
        if (skip) {
            out->png_estimated = true;
            out->width = mem->Xsize;
            out->height = mem->Ysize;
        }
    }
    if (!out->png_estimated)
        rc = save(out, mem, &s, true, err);
    if (rc == 0 && photo)
        try_photo_jpeg(out, mem, sniff, &s, len);
out:
    VIPS_UNREF(mem);
    VIPS_UNREF(img);
    return rc;
}

/* load_seq, with its failure as image-decode. */
static int load_full(VipsImage **out, const uint8_t *in, size_t len, qr_error *err)
{
    *out = load_seq(in, len);
    if (!*out)
        return qr_image__error_from_vips(err, QR_ERR_IMAGE_DECODE, "cannot load image");
    return 0;
}

int qr_image__pixels_equal(bool *equal, const uint8_t *a, size_t alen, const uint8_t *b,
                           size_t blen, qr_error *err)
{
    VipsImage *ia = NULL, *ib = NULL, *eq = NULL;
    double min = 0;
    int rc = 0;

    *equal = false;
    if ((rc = load_full(&ia, a, alen, err)) < 0 || (rc = load_full(&ib, b, blen, err)) < 0)
        goto out;
    if (ia->Xsize != ib->Xsize || ia->Ysize != ib->Ysize || ia->Bands != ib->Bands ||
        ia->BandFmt != ib->BandFmt)
        goto out;
    /* 255 where every band matches; the minimum over the image says it all. */
    if (vips_equal(ia, ib, &eq, NULL) || vips_min(eq, &min, NULL)) {
        rc = qr_image__error_from_vips(err, QR_ERR_IMAGE_DECODE, "cannot compare images");
        goto out;
    }
    *equal = min == 255.0;
out:
    VIPS_UNREF(eq);
    VIPS_UNREF(ib);
    VIPS_UNREF(ia);
    return rc;
}

int qr_image__encode_lossless(qr_image__blob *out, bool *exact, const qr_image__sniff *sniff,
                              const qr_image__header *hdr, const qr_profile *profile,
                              const uint8_t *in, size_t len, qr_error *err)
{
    VipsImage *img = NULL;
    int rc = 0;
    bool verify = false;
    save_params s = {sniff->format, true, profile->strip_metadata, 100, false,
                     profile->png_compression, profile->png_effort, false, true, 0, 0};

    (void)hdr;
    memset(out, 0, sizeof(*out));
    *exact = true;
    if ((rc = load_full(&img, in, len, err)) < 0)
        goto out;
    switch (sniff->format) {
    case QR_IMAGE_FMT_PNG:
        /* Requantising a palette image reproduces it only if no colour
         * merges: try, then check every pixel. */
        s.palette = sniff->png_color_type == 3;
        verify = s.palette;
        /* Grey at 1, 2 or 4 bits decodes to 8: write it back as packed. */
        if (sniff->png_color_type == 0 && sniff->png_bit_depth < 8)
            s.bitdepth = sniff->png_bit_depth;
        break;
    case QR_IMAGE_FMT_GIF:
    case QR_IMAGE_FMT_WEBP:
        /* GIF requantises; lossless WebP may rewrite colours under alpha 0. */
        verify = true;
        break;
    case QR_IMAGE_FMT_JPEG:
    case QR_IMAGE_FMT_SVG:
    case QR_IMAGE_FMT_UNKNOWN:
        rc = qr_error_set(err, QR_ERR_INTERNAL, QR_IMAGE_STAGE,
                          "no lossless vips encoder for %s", qr_image__format_name(sniff->format));
        goto out;
    }
    if ((rc = save(out, img, &s, false, err)) < 0)
        goto out;
    /* Only worth verifying if it could be kept. */
    if (verify && out->len < len) {
        if ((rc = qr_image__pixels_equal(exact, in, len, out->data, out->len, err)) < 0)
            goto out;
        if (!*exact)
            qr_image__blob_free(out);
    }
out:
    if (rc < 0)
        qr_image__blob_free(out);
    VIPS_UNREF(img);
    return rc;
}
