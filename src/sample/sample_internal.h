/*
 * Internals of the sample-book generator, shared by the files of src/sample/.
 * Nothing here is part of the public API (include/qr/sample.h is).
 */
#ifndef QR_SAMPLE_INTERNAL_H
#define QR_SAMPLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "qr/buf.h"
#include "qr/error.h"

/*
 * A small deterministic generator (splitmix64). Every chapter and picture
 * gets its own stream derived from (seed, stream), so changing the number of
 * chapters does not change the text of the chapters that remain.
 */
typedef struct qr_sample_rng {
    uint64_t s;
} qr_sample_rng;

void qr_sample__rng_init(qr_sample_rng *r, uint32_t seed, uint32_t stream);
uint32_t qr_sample__rng_next(qr_sample_rng *r);
/* Uniform in [lo, hi] (inclusive); lo <= hi. */
int qr_sample__rng_range(qr_sample_rng *r, int lo, int hi);

/* One picture placed in a chapter. */
typedef struct qr_sample_image {
    int index;     /* 1-based, over the whole book */
    int chapter;   /* 1-based chapter that shows it */
    int is_png;    /* JPEG and PNG alternate: odd indexes are JPEG */
    char name[32]; /* "img-001.jpg", relative to EPUB/images/ */
    char alt[160]; /* alt text (plain ASCII, no markup characters) */
} qr_sample_image;

/* One chapter as the navigation documents need to know it. */
typedef struct qr_sample_chapter {
    int index;      /* 1-based */
    char title[96]; /* "Chapter 3: The Quiet Harbour" (plain ASCII) */
    int first_page; /* print page number of the chapter's first page break */
    int pages;      /* page breaks in the chapter (>= 1) */
} qr_sample_chapter;

/* Fills ch->title for chapter `index`, deterministic from `seed`. */
void qr_sample__chapter_title(qr_sample_chapter *ch, int index, uint32_t seed);

/*
 * Appends the XHTML of chapter `ch` to `out`: a section with its heading,
 * pseudo-prose paragraphs, page-break spans numbered from ch->first_page
 * (ch->pages is set), and a figure for each of the `nimages` images.
 * Errors: entry-too-large past out->max, out-of-memory.
 */
int qr_sample__chapter_xhtml(qr_buf *out, qr_sample_chapter *ch, uint32_t seed,
                             const qr_sample_image *images, int nimages, qr_error *err) QR_WUR;

/* Appends `s` with &, <, >, " and ' escaped for XML text and attributes. */
int qr_sample__xml_escape(qr_buf *out, const char *s, qr_error *err) QR_WUR;

/*
 * Draws a photographic-looking picture (a soft colour field with blurred
 * shapes plus fine grain) of w x h pixels and saves it to `file` as JPEG
 * (quality 95) or 8-bit RGB PNG. libvips must be initialised.
 * Errors: image-encode (libvips failed; the message carries its text).
 */
int qr_sample__draw_image(const char *file, int w, int h, int is_png, uint32_t seed,
                          qr_error *err) QR_WUR;

/* Upper bound on picture-drawing threads (qr_sample_opts.threads). */
#define QR_SAMPLE_MAX_THREADS 16

/* One picture to draw into a directory. */
typedef struct qr_sample_picture {
    char name[32]; /* file name inside the directory: "img-001.jpg" */
    int w, h;
    int is_png;
    uint32_t seed;
} qr_sample_picture;

/*
 * Draws `n` pictures into `dir` on up to `threads` threads (pictures are
 * independent, and libvips runs one thread per operation in quire). The
 * files are the same whatever the thread count. On failure the error of the
 * first failing picture (in list order) is reported.
 * Errors: image-encode, out-of-memory, internal (a thread cannot start).
 */
int qr_sample__draw_images(const char *dir, const qr_sample_picture *pics, int n, int threads,
                           qr_error *err) QR_WUR;

#endif
