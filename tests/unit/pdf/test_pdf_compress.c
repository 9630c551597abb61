/*
 * qr_pdf_compress: JPEG images re-encoded (and resized) under lossy profiles,
 * untouched under lossless, CMYK left alone, outputs that open and pass
 * `qpdf --check`, never more than a few bytes larger than the input. The
 * test writes its own PDF around a JPEG made with libjpeg; corpus cases skip
 * without the corpus, `qpdf --check` parts without the qpdf binary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <jpeglib.h>

#include "qr_test.h"

#include "pdf/pdf_internal.h"
#include "qr/buf.h"
#include "qr/image.h"
#include "qr/pdf.h"

/* qr_pdf_compress under the named profile, `threads` image workers and `limits`. */
static int compress(qr_pdf_compress_report *rep, const char *in, const char *out,
                    const char *profile, const qr_limits *limits, int threads, qr_warnings *w,
                    qr_error *err)
{
    qr_compress_opts o = QR_COMPRESS_OPTS_INIT;
    o.profile = qr_profile_get(profile);
    o.limits = *limits;
    o.threads = threads;
    qr_pdf *p = NULL;
    int rc = qr_pdf_open(&p, in, limits, w, err);
    if (rc == 0) {
        assert_true(qr_pdf_can_twin(p));
        rc = qr_pdf_compress_open(rep, p, out, &o, w, err);
    }
    /* A twin of the compressed document repeats its replaced images: page 1 cuts the same. */
    if (rc == 0) {
        qr_pdf *t = NULL;
        qr_pdf_range r = {0, 1};
        qr_buf a = QR_BUF_INIT((size_t)1 << 30), b = QR_BUF_INIT((size_t)1 << 30);
        assert_true(qr_pdf_can_twin(p));
        if (qr_pdf_twin(&t, p, err) < 0 || qr_pdf_cut(p, &r, &a, err) < 0 ||
            qr_pdf_cut(t, &r, &b, err) < 0)
            fail_msg("twin of %s: %s: %s", in, err->id, err->msg);
        if (!qr_test_pdf_same_but_id((char *)a.data, a.len, (const char *)b.data, b.len))
            fail_msg("%s: the twin's page 1 differs from the compressed document's", in);
        qr_buf_free(&a);
        qr_buf_free(&b);
        qr_pdf_close(t);
    }
    qr_pdf_close(p);
    return rc;
}

#define IMG_W 2000
#define IMG_H 1000

typedef struct fixture {
    char *dir;
    qr_warnings *w;
    qr_limits limits;
} fixture;

static int group_setup(void **state)
{
    (void)state;
    qr_error err = QR_ERROR_INIT;
    return qr_image_global_init("test_pdf_compress", &err);
}

static int group_teardown(void **state)
{
    (void)state;
    qr_image_global_shutdown();
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    qr_limits l = QR_LIMITS_INIT;
    assert_non_null(f);
    f->dir = qr_test_tmpdir();
    f->w = qr_warnings_new();
    f->limits = l;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_test_rmtree(f->dir);
    free(f->dir);
    qr_warnings_free(f->w);
    free(f);
    return 0;
}

/* A smooth RGB gradient with some texture, as a quality-95 baseline JPEG. */
static unsigned char *make_jpeg(size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *buf = NULL;
    unsigned long size = 0;
    unsigned char *row = malloc(IMG_W * 3);
    assert_non_null(row);
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = IMG_W;
    c.image_height = IMG_H;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < IMG_H) {
        unsigned y = c.next_scanline;
        for (unsigned x = 0; x < IMG_W; x++) {
            row[3 * x] = (unsigned char)(x * 255 / IMG_W);
            row[3 * x + 1] = (unsigned char)(y * 255 / IMG_H);
            row[3 * x + 2] = (unsigned char)(((x * 7) ^ (y * 13)) & 0xff);
        }
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *len = size;
    return buf;
}

/* One page drawing the JPEG as image XObject /Im1 (object 5). */
static char *image_pdf(const fixture *f, const char *name, const unsigned char *jpg, size_t len)
{
    char *path = NULL;
    long off[6];
    assert_true(asprintf(&path, "%s/%s", f->dir, name) > 0);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("%PDF-1.4\n", fp);
    off[1] = ftell(fp);
    fputs("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n", fp);
    off[2] = ftell(fp);
    fputs("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n", fp);
    off[3] = ftell(fp);
    fputs("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 200] /Contents 4 0 R"
          " /Resources << /XObject << /Im1 5 0 R >> >> >>\nendobj\n",
          fp);
    const char *content = "q 400 0 0 200 0 0 cm /Im1 Do Q";
    off[4] = ftell(fp);
    fprintf(fp, "4 0 obj\n<< /Length %zu >>\nstream\n%s\nendstream\nendobj\n", strlen(content),
            content);
    off[5] = ftell(fp);
    fprintf(fp,
            "5 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace "
            "/DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %zu >>\nstream\n",
            IMG_W, IMG_H, len);
    fwrite(jpg, 1, len, fp);
    fputs("\nendstream\nendobj\n", fp);
    long xref = ftell(fp);
    fputs("xref\n0 6\n0000000000 65535 f \n", fp);
    for (int i = 1; i <= 5; i++)
        fprintf(fp, "%010ld 00000 n \n", off[i]);
    fprintf(fp, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", xref);
    fclose(fp);
    return path;
}

/* The raw (still DCT-encoded) bytes and size of /Im1 on page 1 of `path`. */
static unsigned char *image_of(const char *path, size_t *len, int *w, int *h)
{
    qpdf_data q = qpdf_init();
    unsigned char *buf = NULL;
    QPDF_BOOL filtered = QPDF_FALSE;
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);
    assert_false(qpdf_read(q, path, "") & QPDF_ERRORS);
    qpdf_oh page = qpdf_get_page_n(q, 0);
    qpdf_oh res = qpdf_oh_get_key(q, page, "/Resources");
    qpdf_oh xo = qpdf_oh_get_key(q, res, "/XObject");
    qpdf_oh im = qpdf_oh_get_key(q, xo, "/Im1");
    assert_true(qpdf_oh_is_stream(q, im));
    qpdf_oh d = qpdf_oh_get_dict(q, im);
    *w = qpdf_oh_get_int_value_as_int(q, qpdf_oh_get_key(q, d, "/Width"));
    *h = qpdf_oh_get_int_value_as_int(q, qpdf_oh_get_key(q, d, "/Height"));
    assert_false(qpdf_oh_get_stream_data(q, im, qpdf_dl_none, &filtered, &buf, len) & QPDF_ERRORS);
    qpdf_cleanup(&q);
    return buf;
}

static bool have_qpdf(void)
{
    return system("command -v qpdf >/dev/null 2>&1") == 0;
}

/* `qpdf --check` exit status: 0 clean, 3 warnings only, 2 errors. */
static int qpdf_check(const char *path)
{
    char *cmd = NULL;
    assert_true(asprintf(&cmd, "qpdf --check '%s' >/dev/null 2>&1", path) > 0);
    int st = system(cmd);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void test_jpeg_profiles(void **state)
{
    fixture *f = *state;
    size_t jlen = 0;
    unsigned char *jpg = make_jpeg(&jlen);
    char *in = image_pdf(f, "img.pdf", jpg, jlen);
    static const char *const names[] = {"phone", "tablet", "lossless"};
    for (size_t i = 0; i < 3; i++) {
        char *out = NULL;
        qr_pdf_compress_report rep;
        qr_error err = QR_ERROR_INIT;
        assert_true(asprintf(&out, "%s/out-%s.pdf", f->dir, names[i]) > 0);
        if (compress(&rep, in, out, names[i], &f->limits, 2, f->w, &err) < 0)
            fail_msg("%s: %s: %s", names[i], err.id, err.msg);
        assert_int_equal(rep.images_seen, 1);
        assert_int_equal(rep.pages, 1);
        assert_int_equal(rep.out_bytes, file_size(out));
        size_t len = 0;
        int w = 0, h = 0;
        unsigned char *got = image_of(out, &len, &w, &h);
        if (i == 2) {
            /* lossless: the JPEG is not re-encoded, byte for byte. */
            assert_int_equal(rep.images_recompressed, 0);
            assert_int_equal(len, jlen);
            assert_memory_equal(got, jpg, jlen);
            assert_int_equal(w, IMG_W);
        } else {
            assert_int_equal(rep.images_recompressed, 1);
            assert_true(len < jlen);
            qr_image_info info;
            assert_int_equal(qr_image_probe(&info, got, len, &err), 0);
            /* The stream dictionary tells the truth about the new raster. */
            assert_int_equal(info.width, w);
            assert_int_equal(info.height, h);
            assert_int_equal(info.bands, 3);
            if (i == 0)
                assert_int_equal(w, 1600); /* phone: long edge 1600 */
            else
                assert_int_equal(w, IMG_W);
            assert_true(rep.out_bytes < rep.in_bytes);
        }
        if (have_qpdf())
            assert_int_equal(qpdf_check(out), 0);
        free(got);
        free(out);
    }
    free(in);
    free(jpg);
}

static void test_refuses_and_errors(void **state)
{
    fixture *f = *state;
    char *in = NULL, *out = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_true(asprintf(&in, "%s/nothing.pdf", f->dir) > 0);
    assert_true(asprintf(&out, "%s/out.pdf", f->dir) > 0);
    assert_true(compress(NULL, in, out, "tablet", &f->limits, 1, f->w, &err) < 0);
    assert_string_equal(err.id, "source-not-found");
    struct stat st;
    assert_int_not_equal(stat(out, &st), 0);
    free(in);
    free(out);
}

static void test_corpus(void **state)
{
    fixture *f = *state;
    const char *dir = qr_test_corpus_dir();
    if (!dir)
        skip();
    static const struct {
        const char *file;
        const char *profile;
        bool exact_size; /* undamaged and unencrypted: never more than a few bytes larger */
    } cases[] = {
        {"pdf/pdfjs/cmyk-jpeg.pdf", "phone", true},
        {"pdf/pdfjs/freeculture.pdf", "phone", true},
        {"pdf/debian/debian-refcard-en-a4.pdf", "tablet", true},
        {"pdf/debian/lure-manual-scanned.pdf", "lossless", true},
        {"pdf/qpdf/linearized.pdf", "tablet", true},
        {"pdf/qpdf/object-streams-large.pdf", "tablet", true},
        {"pdf/qpdf/bad-xref.pdf", "tablet", true},
        {"pdf/pdfjs/helloworld-bad.pdf", "tablet", false},
        {"pdf/qpdf/xref-prev-loop.pdf", "tablet", false},
        {"pdf/qpdf/damaged-stream.pdf", "tablet", false},
        {"pdf/qpdf/encrypted-aes128-empty-password.pdf", "tablet", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *in = NULL, *out = NULL;
        qr_pdf_compress_report rep;
        qr_error err = QR_ERROR_INIT;
        qr_warnings *w = qr_warnings_new();
        assert_true(asprintf(&in, "%s/%s", dir, cases[i].file) > 0);
        assert_true(asprintf(&out, "%s/out-%zu.pdf", f->dir, i) > 0);
        if (compress(&rep, in, out, cases[i].profile, &f->limits, 2, w, &err) < 0)
            fail_msg("%s: %s: %s", cases[i].file, err.id, err.msg);
        if (cases[i].exact_size && rep.out_bytes > rep.in_bytes + 16)
            fail_msg("%s grew from %llu to %llu bytes", cases[i].file,
                     (unsigned long long)rep.in_bytes, (unsigned long long)rep.out_bytes);
        if (!cases[i].exact_size && strstr(cases[i].file, "encrypted"))
            assert_true(qr_warnings_has(w, "pdf-encrypted-empty-password"));
        else if (!cases[i].exact_size)
            assert_true(qr_warnings_has(w, "pdf-repaired"));
        /* CMYK JPEGs are never re-encoded. */
        if (strstr(cases[i].file, "cmyk"))
            assert_int_equal(rep.images_recompressed, 0);
        if (strstr(cases[i].file, "freeculture"))
            assert_true(rep.images_recompressed > 0);
        if (have_qpdf()) {
            int st = qpdf_check(out);
            if (st != 0 && st != 3)
                fail_msg("%s: qpdf --check exit %d", cases[i].file, st);
        }
        qr_warnings_free(w);
        free(in);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jpeg_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corpus, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
