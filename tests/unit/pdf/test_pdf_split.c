/*
 * qr_pdf_cut keeps in each slice only the resources its pages use: small
 * PDFs written here (pages sharing one inherited /Resources) and, with the
 * corpus, massxpert-manual.pdf (137 pages sharing 87 screenshots) cut one
 * page per slice, compared with `qpdf --split-pages` for size and with
 * `pdftotext` for text.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "qr_test.h"

#include "pdf/pdf_internal.h"
#include "qr/buf.h"
#include "qr/pdf.h"

typedef struct fixture {
    char *dir;
    qr_limits limits;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    qr_limits l = QR_LIMITS_INIT;
    assert_non_null(f);
    f->dir = qr_test_tmpdir();
    f->limits = l;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Writes objects 1..n with a correct xref; object 1 is the catalog. */
static char *write_pdf(const fixture *f, const char *name, const char *const *objs, size_t n)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", f->dir, name) > 0);
    FILE *fp = fopen(path, "wb");
    long *off = calloc(n + 1, sizeof(*off));
    assert_non_null(fp);
    assert_non_null(off);
    fputs("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", fp);
    for (size_t i = 0; i < n; i++) {
        off[i] = ftell(fp);
        fprintf(fp, "%zu 0 obj\n%s\nendobj\n", i + 1, objs[i]);
    }
    long xref = ftell(fp);
    fprintf(fp, "xref\n0 %zu\n0000000000 65535 f \n", n + 1);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%010ld 00000 n \n", off[i]);
    fprintf(fp, "trailer\n<< /Size %zu /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", n + 1, xref);
    fclose(fp);
    free(off);
    return path;
}

/* A content stream object with the right /Length (extra dictionary entries in `dict`). */
static char *stream_obj(const char *dict, const char *data)
{
    char *s = NULL;
    assert_true(
        asprintf(&s, "<< /Length %zu %s >>\nstream\n%s\nendstream", strlen(data), dict, data) > 0);
    return s;
}

/*
 * Two pages under one /Pages node whose /Resources (inherited by both) names
 * images Im1 (one byte 0x41) and Im2 (0x42), form Fm1 (no resources of its
 * own: it draws Im2) and a /DefaultRGB colour space. Page contents are given.
 */
static char *shared_pdf(const fixture *f, const char *name, const char *c1, const char *c2,
                        const char *c2_dict)
{
    char *p1 = stream_obj("", c1);
    char *p2 = stream_obj(c2_dict, c2);
    char *fm = stream_obj("/Type /XObject /Subtype /Form /BBox [0 0 10 10]", "/Im2 Do");
    const char *objs[] = {
        /* 1 */ "<< /Type /Catalog /Pages 2 0 R >>",
        /* 2 */
        "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 100 100]"
        " /Resources << /ProcSet [/PDF /ImageB] /XObject << /Im1 7 0 R /Im2 8 0 R /Fm1 9 0 R >>"
        " /ColorSpace << /DefaultRGB /DeviceRGB /CS9 /DeviceGray >> >> >>",
        /* 3 */ "<< /Type /Page /Parent 2 0 R /Contents 5 0 R >>",
        /* 4 */ "<< /Type /Page /Parent 2 0 R /Contents 6 0 R >>",
        /* 5 */ p1,
        /* 6 */ p2,
        /* 7 */
        "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray"
        " /BitsPerComponent 8 /Length 1 >>\nstream\nA\nendstream",
        /* 8 */
        "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray"
        " /BitsPerComponent 8 /Length 1 >>\nstream\nB\nendstream",
        /* 9 */ fm,
    };
    char *path = write_pdf(f, name, objs, sizeof(objs) / sizeof(objs[0]));
    free(p1);
    free(p2);
    free(fm);
    return path;
}

/* What one slice holds: its image bytes (in object order) and its first page's resource names. */
typedef struct slice_facts {
    char images[16];   /* one byte per image stream, NUL-terminated */
    char xobjects[64]; /* " /Fm1 /Im2" ... */
    bool default_rgb;
    bool cs9;
} slice_facts;

static void read_slice(slice_facts *sf, const char *path)
{
    memset(sf, 0, sizeof(*sf));
    qpdf_data q = qpdf_init();
    qpdf_silence_errors(q);
    assert_false(qpdf_read(q, path, "") & QPDF_ERRORS);
    qpdf_oh trailer = qpdf_get_trailer(q);
    long long size = qr_pdf__int(q, qpdf_oh_get_key(q, trailer, "/Size"), 0);
    size_t ni = 0;
    for (int id = 1; id < size; id++) {
        qpdf_oh o = qpdf_get_object_by_id(q, id, 0);
        if (!qpdf_oh_is_stream(q, o))
            continue;
        qpdf_oh d = qpdf_oh_get_dict(q, o);
        if (!qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, d, "/Subtype"), "/Image"))
            continue;
        unsigned char *buf = NULL;
        size_t len = 0;
        assert_false(qpdf_oh_get_stream_data(q, o, qpdf_dl_generalized, NULL, &buf, &len) &
                     QPDF_ERRORS);
        assert_int_equal(len, 1);
        assert_true(ni + 1 < sizeof(sf->images));
        sf->images[ni++] = (char)buf[0];
        free(buf);
    }
    qpdf_oh page = qpdf_get_page_n(q, 0);
    qpdf_oh res = qpdf_oh_get_key(q, page, "/Resources");
    qpdf_oh xo = qpdf_oh_get_key(q, res, "/XObject");
    qpdf_oh_begin_dict_key_iter(q, xo);
    while (qpdf_oh_dict_more_keys(q)) {
        const char *k = qpdf_oh_dict_next_key(q);
        strcat(sf->xobjects, " ");
        strcat(sf->xobjects, k);
    }
    qpdf_oh cs = qpdf_oh_get_key(q, res, "/ColorSpace");
    sf->default_rgb = qpdf_oh_has_key(q, cs, "/DefaultRGB");
    sf->cs9 = qpdf_oh_has_key(q, cs, "/CS9");
    qpdf_cleanup(&q);
}

/* `qpdf --check` exit status (0 clean, 3 warnings only), or 0 without the qpdf binary. */
static int qpdf_check(const char *path)
{
    char *cmd = NULL;
    if (system("command -v qpdf >/dev/null 2>&1") != 0)
        return 0;
    assert_true(asprintf(&cmd, "qpdf --check '%s' >/dev/null 2>&1", path) > 0);
    int st = system(cmd);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool same_file(const char *a, const char *b)
{
    char *cmd = NULL;
    assert_true(asprintf(&cmd, "cmp -s '%s' '%s'", a, b) > 0);
    int st = system(cmd);
    free(cmd);
    return st == 0;
}

/* Reads a whole (small) file into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n > 0);
    rewind(fp);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

/*
 * Cuts `path` one page per slice (2 pages, a fresh handle on the file) into
 * <dir>/<tag>0.pdf and <tag>1.pdf and reads both slices; with `check`, each
 * must pass `qpdf --check`.
 */
static void split_two(const fixture *f, const char *path, slice_facts sf[2], bool check,
                      const char *tag)
{
    char *outs[2] = {NULL, NULL};
    qr_pdf_range ranges[] = {{0, 1}, {1, 1}};
    qr_error err = QR_ERROR_INIT;
    for (int i = 0; i < 2; i++)
        assert_true(asprintf(&outs[i], "%s/%s%d.pdf", f->dir, tag, i) > 0);
    if (qr_test_pdf_cut_files(path, ranges, 2, (const char *const *)outs, &f->limits, &err) < 0)
        fail_msg("split: %s: %s", err.id, err.msg);
    for (int i = 0; i < 2; i++) {
        if (check)
            assert_int_equal(qpdf_check(outs[i]), 0);
        read_slice(&sf[i], outs[i]);
        free(outs[i]);
    }
}

static void test_each_slice_holds_its_image(void **state)
{
    fixture *f = *state;
    slice_facts sf[2];
    char *path = shared_pdf(f, "shared.pdf", "q 10 0 0 10 0 0 cm /Im1 Do Q",
                            "q 10 0 0 10 0 0 cm /Im2 Do Q", "");
    split_two(f, path, sf, true, "s");
    assert_string_equal(sf[0].images, "A");
    assert_string_equal(sf[0].xobjects, " /Im1");
    assert_string_equal(sf[1].images, "B");
    assert_string_equal(sf[1].xobjects, " /Im2");
    /* Default colour spaces apply without being named; unused named ones go. */
    assert_true(sf[0].default_rgb);
    assert_false(sf[0].cs9);

    /* Cut again from a second handle on the file: the same bytes (but for the /ID). */
    slice_facts sf2[2];
    char *a = NULL, *b = NULL;
    split_two(f, path, sf2, true, "t");
    for (int i = 0; i < 2; i++) {
        assert_true(asprintf(&a, "%s/s%d.pdf", f->dir, i) > 0);
        assert_true(asprintf(&b, "%s/t%d.pdf", f->dir, i) > 0);
        assert_true(qr_test_pdf_files_same_but_id(a, b));
        free(a);
        free(b);
    }
    free(path);
}

static void test_own_resources_kept(void **state)
{
    fixture *f = *state;
    slice_facts sf;
    /* A page's own, unshared resource list is what its producer wrote for
     * it: kept whole, as qpdf --split-pages does. */
    char *c = stream_obj("", "/Im1 Do");
    const char *objs[] = {
        /* 1 */ "<< /Type /Catalog /Pages 2 0 R >>",
        /* 2 */ "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 100 100] >>",
        /* 3 */
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R"
        " /Resources << /XObject << /Im1 5 0 R /Im2 6 0 R >> >> >>",
        /* 4 */ c,
        /* 5 */
        "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray"
        " /BitsPerComponent 8 /Length 1 >>\nstream\nA\nendstream",
        /* 6 */
        "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray"
        " /BitsPerComponent 8 /Length 1 >>\nstream\nB\nendstream",
    };
    char *path = write_pdf(f, "own.pdf", objs, sizeof(objs) / sizeof(objs[0]));
    char *out = NULL;
    const char *outs[1];
    qr_pdf_range r = {0, 1};
    qr_error err = QR_ERROR_INIT;
    assert_true(asprintf(&out, "%s/own-slice.pdf", f->dir) > 0);
    outs[0] = out;
    assert_int_equal(qr_test_pdf_cut_files(path, &r, 1, outs, &f->limits, &err), 0);
    assert_int_equal(qpdf_check(out), 0);
    read_slice(&sf, out);
    assert_string_equal(sf.images, "AB");
    free(out);
    free(path);
    free(c);
}

static void test_names_found_everywhere(void **state)
{
    fixture *f = *state;
    slice_facts sf[2];
    /* #xx escapes; the form Fm1 borrows the page's resources and draws Im2; a
     * name that only appears inside a string or comment is kept (a superset). */
    char *path = shared_pdf(f, "names.pdf", "/CS9 cs /Im#31 Do", "/Fm1 Do (/Im1) Tj % /CS9", "");
    split_two(f, path, sf, true, "s");
    assert_string_equal(sf[0].images, "A");
    assert_true(sf[0].cs9);
    assert_string_equal(sf[1].images, "AB");
    assert_string_equal(sf[1].xobjects, " /Fm1 /Im1 /Im2");
    assert_true(sf[1].cs9);
    free(path);
}

static void test_unreadable_content_keeps_all(void **state)
{
    fixture *f = *state;
    slice_facts sf[2];
    /* Page 2's content has a filter qpdf cannot decode: its names are unknown.
     * (`qpdf --check` rejects such a content stream in the input already.) */
    char *path = shared_pdf(f, "unreadable.pdf", "/Im1 Do", "xyz", "/Filter /NoSuchDecode");
    split_two(f, path, sf, false, "s");
    assert_string_equal(sf[0].images, "A");
    assert_string_equal(sf[1].images, "AB");
    assert_string_equal(sf[1].xobjects, " /Fm1 /Im1 /Im2");
    free(path);
}

static void test_appearances_and_type3_borrow(void **state)
{
    fixture *f = *state;
    slice_facts sf[2];
    /* Page 1 draws nothing itself; its annotation's appearance (no resources
     * of its own) draws Im1. Page 2 shows text in a Type 3 font without
     * resources whose glyph draws Im2. */
    char *c2 = stream_obj("", "BT /T3 1 Tf (a) Tj ET");
    char *ap = stream_obj("/Type /XObject /Subtype /Form /BBox [0 0 10 10]", "/Im1 Do");
    char *glyph = stream_obj("", "1 0 d0 /Im2 Do");
    const char *objs[] = {
        /* 1 */ "<< /Type /Catalog /Pages 2 0 R >>",
        /* 2 */
        "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 100 100]"
        " /Resources 5 0 R >>",
        /* 3 */
        "<< /Type /Page /Parent 2 0 R /Annots [<< /Type /Annot /Subtype /Square"
        " /Rect [0 0 10 10] /AP << /N 9 0 R >> >>] >>",
        /* 4 */ "<< /Type /Page /Parent 2 0 R /Contents 6 0 R >>",
        /* 5 */ "<< /XObject << /Im1 7 0 R /Im2 8 0 R >> /Font << /T3 10 0 R >> >>",
        /* 6 */ c2,
        /* 7 */
        "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray"
        " /BitsPerComponent 8 /Length 1 >>\nstream\nA\nendstream",
        /* 8 */
        "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray"
        " /BitsPerComponent 8 /Length 1 >>\nstream\nB\nendstream",
        /* 9 */ ap,
        /* 10 */
        "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1 1] /FontMatrix [1 0 0 1 0 0]"
        " /CharProcs << /a 11 0 R >> /Encoding << /Differences [97 /a] >>"
        " /FirstChar 97 /LastChar 97 /Widths [1] >>",
        /* 11 */ glyph,
    };
    char *path = write_pdf(f, "borrow.pdf", objs, sizeof(objs) / sizeof(objs[0]));
    split_two(f, path, sf, true, "b");
    assert_string_equal(sf[0].images, "A");
    assert_string_equal(sf[0].xobjects, " /Im1");
    assert_string_equal(sf[1].images, "B");
    assert_string_equal(sf[1].xobjects, " /Im2");
    free(path);
    free(c2);
    free(ap);
    free(glyph);
}

static void test_large_content_keeps_all(void **state)
{
    fixture *f = *state;
    slice_facts sf[2];
    /* More than 2 MB of stored content is not decoded for pruning. */
    size_t big = 2u * 1024 * 1024 + 16;
    char *c2 = malloc(big + 1);
    assert_non_null(c2);
    memset(c2, ' ', big);
    memcpy(c2, "/Im2 Do", 7);
    c2[big] = '\0';
    char *path = shared_pdf(f, "large.pdf", "/Im1 Do", c2, "");
    split_two(f, path, sf, true, "l");
    assert_string_equal(sf[0].images, "A");
    assert_string_equal(sf[1].images, "AB");
    free(path);
    free(c2);
}

/* ---- corpus ---- */

/* Total size of the regular files in `dir`. */
static unsigned long long dir_bytes(const char *dir)
{
    unsigned long long total = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d))) {
        char *p = NULL;
        struct stat st;
        assert_true(asprintf(&p, "%s/%s", dir, e->d_name) > 0);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += (unsigned long long)st.st_size;
        free(p);
    }
    closedir(d);
    return total;
}

/* pdftotext of pages [first, last] of `path` into `out`; false without pdftotext. */
static bool page_text(const char *path, int first, int last, const char *out)
{
    char *cmd = NULL;
    if (system("command -v pdftotext >/dev/null 2>&1") != 0)
        return false;
    assert_true(asprintf(&cmd, "pdftotext -q -f %d -l %d '%s' '%s'", first, last, path, out) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return true;
}

/* qpdf --split-pages=1 of massxpert-manual.pdf (qpdf 11.3) when qpdf is absent. */
#define MASSXPERT_QPDF_BYTES 20862720ULL

static void test_corpus_massxpert_one_page_slices(void **state)
{
    fixture *f = *state;
    const char *corpus = qr_test_corpus_dir();
    if (!corpus)
        skip();
    char *path = NULL, *sdir = NULL, *qdir = NULL, *cmd = NULL, *ta = NULL, *tb = NULL;
    assert_true(asprintf(&path, "%s/pdf/debian/massxpert-manual.pdf", corpus) > 0);
    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;
    if (qr_pdf_open(&p, path, &f->limits, NULL, &err) < 0)
        fail_msg("%s: %s: %s", path, err.id, err.msg);
    int pages = (int)qr_pdf_info_get(p)->pages;
    qr_pdf_close(p);
    assert_int_equal(pages, 137);

    assert_true(asprintf(&sdir, "%s/s", f->dir) > 0);
    assert_int_equal(mkdir(sdir, 0755), 0);
    qr_pdf_range *ranges = calloc((size_t)pages, sizeof(*ranges));
    char **outs = calloc((size_t)pages, sizeof(*outs));
    assert_non_null(ranges);
    assert_non_null(outs);
    for (int i = 0; i < pages; i++) {
        ranges[i].first = (uint32_t)i;
        ranges[i].count = 1;
        assert_true(asprintf(&outs[i], "%s/s/%d.pdf", f->dir, i + 1) > 0);
    }
    if (qr_test_pdf_cut_files(path, ranges, (size_t)pages, (const char *const *)outs, &f->limits,
                              &err) < 0)
        fail_msg("split: %s: %s", err.id, err.msg);
    unsigned long long ours = dir_bytes(sdir);

    unsigned long long theirs = MASSXPERT_QPDF_BYTES;
    assert_true(asprintf(&qdir, "%s/q", f->dir) > 0);
    assert_int_equal(mkdir(qdir, 0755), 0);
    assert_true(
        asprintf(&cmd, "qpdf --split-pages=1 '%s' '%s/p-%%d.pdf' >/dev/null 2>&1", path, qdir) > 0);
    if (system("command -v qpdf >/dev/null 2>&1") == 0) {
        int st = system(cmd);
        assert_true(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3));
        theirs = dir_bytes(qdir);
    }
    /* Before pruning every slice carried all 87 images: 1.34 GB in all. */
    if (ours * 10 > theirs * 13)
        fail_msg("slices total %llu bytes, qpdf's %llu", ours, theirs);

    assert_true(asprintf(&ta, "%s/a.txt", f->dir) > 0);
    assert_true(asprintf(&tb, "%s/b.txt", f->dir) > 0);
    for (int i = 0; i < pages; i++) {
        int st = qpdf_check(outs[i]);
        if (st != 0)
            fail_msg("%s: qpdf --check exit %d", outs[i], st);
        if (page_text(path, i + 1, i + 1, ta) && page_text(outs[i], 1, 1, tb) && !same_file(ta, tb))
            fail_msg("page %d: slice text differs from the input's", i + 1);
    }
    for (int i = 0; i < pages; i++)
        free(outs[i]);
    free(outs);
    free(ranges);
    free(path);
    free(sdir);
    free(qdir);
    free(cmd);
    free(ta);
    free(tb);
}

/* Every second range of a run, cut from one handle; on its own thread. */
typedef struct half_cut {
    qr_pdf *p;
    const qr_pdf_range *ranges;
    size_t n, parity;
    qr_buf *out; /* one per range */
    int rc;
    qr_error err;
} half_cut;

static void *cut_half(void *arg)
{
    half_cut *h = arg;
    for (size_t i = h->parity; i < h->n && h->rc == 0; i += 2)
        h->rc = qr_pdf_cut(h->p, &h->ranges[i], &h->out[i], &h->err);
    return NULL;
}

/*
 * A twin (qr_pdf_twin) cuts, at the same time as its original on another
 * thread, the very slices a fresh handle cuts alone, but for the /ID: even
 * ranges from the original, odd ones from the twin.
 */
static void twin_cuts_the_same(const fixture *f, const char *path, uint32_t per_slice,
                               uint32_t max_pages)
{
    qr_pdf *p = NULL, *t = NULL, *alone = NULL;
    qr_error err = QR_ERROR_INIT;
    if (qr_pdf_open(&p, path, &f->limits, NULL, &err) < 0 ||
        qr_pdf_open(&alone, path, &f->limits, NULL, &err) < 0)
        fail_msg("%s: %s: %s", path, err.id, err.msg);
    assert_true(qr_pdf_can_twin(p));
    if (qr_pdf_twin(&t, p, &err) < 0)
        fail_msg("twin of %s: %s: %s", path, err.id, err.msg);
    /* A twin is not twinned again; its facts are its original's. */
    assert_false(qr_pdf_can_twin(t));
    uint32_t pages = qr_pdf_info_get(p)->pages;
    assert_int_equal(qr_pdf_info_get(t)->pages, pages);
    assert_int_equal(qr_pdf_info_get(t)->file_bytes, qr_pdf_info_get(p)->file_bytes);
    if (pages > max_pages)
        pages = max_pages;
    size_t n = (pages + per_slice - 1) / per_slice;
    qr_pdf_range *ranges = calloc(n, sizeof(*ranges));
    qr_buf *got = calloc(n, sizeof(*got));
    assert_non_null(ranges);
    assert_non_null(got);
    for (size_t i = 0; i < n; i++) {
        ranges[i].first = (uint32_t)i * per_slice;
        ranges[i].count = pages - ranges[i].first < per_slice ? pages - ranges[i].first : per_slice;
        qr_buf_init(&got[i], (size_t)1 << 30);
    }
    half_cut even = {.p = p, .ranges = ranges, .n = n, .parity = 0, .out = got};
    half_cut odd = {.p = t, .ranges = ranges, .n = n, .parity = 1, .out = got};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cut_half, &odd), 0);
    cut_half(&even);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (even.rc < 0 || odd.rc < 0)
        fail_msg("cut: %s: %s", even.rc < 0 ? even.err.id : odd.err.id,
                 even.rc < 0 ? even.err.msg : odd.err.msg);
    qr_buf b = QR_BUF_INIT((size_t)1 << 30);
    for (size_t i = 0; i < n; i++) {
        qr_buf_reset(&b);
        if (qr_pdf_cut(alone, &ranges[i], &b, &err) < 0)
            fail_msg("cut alone: %s: %s", err.id, err.msg);
        if (!qr_test_pdf_same_but_id((char *)got[i].data, got[i].len, (const char *)b.data, b.len))
            fail_msg("%s: slice %zu (pages %u-%u) differs when cut from a %s", path, i,
                     ranges[i].first + 1, ranges[i].first + ranges[i].count,
                     i % 2 ? "twin" : "handle that shares its file with a twin");
        qr_buf_free(&got[i]);
    }
    qr_buf_free(&b);
    free(got);
    free(ranges);
    qr_pdf_close(t);
    qr_pdf_close(p);
    qr_pdf_close(alone);
}

static void test_twin_cuts_the_same(void **state)
{
    fixture *f = *state;
    char *path = shared_pdf(f, "shared.pdf", "q 10 0 0 10 0 0 cm /Im1 Do Q",
                            "q 10 0 0 10 0 0 cm /Im2 Do Q", "");
    twin_cuts_the_same(f, path, 1, 2);
    free(path);
    /* A twin of a document read from a buffer reads that buffer. */
    size_t len = 0;
    path = shared_pdf(f, "shared2.pdf", "/Im1 Do", "/Im2 Do", "");
    char *bytes = slurp(path, &len);
    qr_pdf *p = NULL, *t = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_pdf_open_buffer(&p, bytes, len, "shared2.pdf", &f->limits, NULL, &err), 0);
    free(bytes);
    assert_int_equal(qr_pdf_twin(&t, p, &err), 0);
    qr_buf b = QR_BUF_INIT((size_t)1 << 20);
    qr_pdf_range r = {1, 1};
    assert_int_equal(qr_pdf_cut(t, &r, &b, &err), 0);
    assert_true(b.len > 0);
    qr_buf_free(&b);
    qr_pdf_close(t);
    qr_pdf_close(p);
    free(path);

    const char *corpus = qr_test_corpus_dir();
    if (!corpus)
        return;
    /* Pages that share resource dictionaries, pruned per page in each handle. */
    char *book = NULL;
    assert_true(asprintf(&book, "%s/pdf/pdfjs/freeculture.pdf", corpus) > 0);
    twin_cuts_the_same(f, book, 1, 60);
    twin_cuts_the_same(f, book, 7, 352);
    free(book);
    assert_true(asprintf(&book, "%s/pdf/debian/massxpert-manual.pdf", corpus) > 0);
    twin_cuts_the_same(f, book, 3, 30);
    free(book);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_slice_holds_its_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_found_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_content_keeps_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_resources_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appearances_and_type3_borrow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_content_keeps_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corpus_massxpert_one_page_slices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twin_cuts_the_same, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
