/*
 * The PDF module: open (repair, passwords, errors), metadata, outline, page
 * labels, page sizes, split and merge. Small PDFs are written by the test
 * itself (text objects with a computed xref); the corpus cases skip when the
 * corpus is absent. Expected page counts come from `qpdf --show-npages`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "qr_test.h"

#include "pdf/pdf_internal.h"
#include "qr/buf.h"
#include "qr/pdf.h"

typedef struct fixture {
    char *dir;
    qr_warnings *w;
    qr_limits limits;
} fixture;

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

/* Writes objects 1..n (bodies given) with a correct xref; object 1 is the catalog. */
static void write_pdf(const char *path, const char *const *objs, size_t n, const char *info_ref)
{
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
    fprintf(fp, "trailer\n<< /Size %zu /Root 1 0 R%s%s >>\nstartxref\n%ld\n%%%%EOF\n", n + 1,
            info_ref ? " /Info " : "", info_ref ? info_ref : "", xref);
    fclose(fp);
    free(off);
}

/*
 * Three pages; outline: "One" -> page 1, "Two" (child of One) -> named dest
 * through the name tree -> page 3, "Three" -> /Dests dict name -> page 2;
 * labels: i, ii, A-1; UTF-16BE author.
 */
static char *tiny_pdf(const fixture *f, const char *name, bool loop)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", f->dir, name) > 0);
    const char *objs[] = {
        /* 1 */ "<< /Type /Catalog /Pages 2 0 R /Outlines 9 0 R /Names << /Dests 13 0 R >>"
                " /Dests << /third [4 0 R /Fit] >>"
                " /PageLabels << /Nums [0 << /S /r >> 2 << /S /D /P (A-) >>] >> >>",
        /* 2 */ "<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>",
        /* 3 */ "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 6 0 R >>",
        /* 4 */ "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 7 0 R >>",
        /* 5 */ "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 8 0 R >>",
        /* 6 */ "<< /Length 8 >>\nstream\n0 0 m S\n\nendstream",
        /* 7 */ "<< /Length 8 >>\nstream\n1 1 m S\n\nendstream",
        /* 8 */ "<< /Length 8 >>\nstream\n2 2 m S\n\nendstream",
        /* 9 */ "<< /Type /Outlines /First 10 0 R /Last 12 0 R /Count 3 >>",
        /* 10 */
        "<< /Title (One) /Parent 9 0 R /Next 12 0 R /First 11 0 R /Last 11 0 R"
        " /Dest [3 0 R /Fit] >>",
        /* 11 */
        loop ? "<< /Title (Two) /Parent 10 0 R /Next 11 0 R /A << /S /GoTo /D (chap2) >> >>"
             : "<< /Title (Two) /Parent 10 0 R /A << /S /GoTo /D (chap2) >> >>",
        /* 12 */
        loop ? "<< /Title (Three) /Parent 9 0 R /Dest /third /Next 10 0 R >>"
             : "<< /Title (Three) /Parent 9 0 R /Dest /third >>",
        /* 13 */ "<< /Kids [14 0 R] >>",
        /* 14 */
        "<< /Limits [(chap1) (chap3)] /Names [(chap1) [3 0 R /Fit] (chap2) [5 0 R /Fit]] >>",
        /* 15 */ "<< /Title (Tiny book) /Author <FEFF00C9006D0069006C0065> >>",
    };
    write_pdf(path, objs, sizeof(objs) / sizeof(objs[0]), "15 0 R");
    return path;
}

static void test_tiny_info(void **state)
{
    fixture *f = *state;
    char *path = tiny_pdf(f, "tiny.pdf", false);
    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_pdf_open(&p, path, &f->limits, f->w, &err), 0);
    const qr_pdf_info *in = qr_pdf_info_get(p);
    assert_int_equal(in->pages, 3);
    assert_string_equal(in->version, "1.4");
    assert_string_equal(in->title, "Tiny book");
    assert_string_equal(in->author, "\xc3\x89mile");
    assert_false(in->encrypted);
    assert_int_equal(in->noutline, 3);
    assert_string_equal(in->outline[0].title, "One");
    assert_int_equal(in->outline[0].level, 0);
    assert_int_equal(in->outline[0].page, 0);
    assert_string_equal(in->outline[1].title, "Two");
    assert_int_equal(in->outline[1].level, 1);
    assert_int_equal(in->outline[1].page, 2);
    assert_string_equal(in->outline[2].title, "Three");
    assert_int_equal(in->outline[2].page, 1);
    assert_non_null(in->page_labels);
    assert_string_equal(in->page_labels[0], "i");
    assert_string_equal(in->page_labels[1], "ii");
    assert_string_equal(in->page_labels[2], "A-1");
    assert_false(qr_warnings_has(f->w, "pdf-repaired"));

    uint64_t sizes[3];
    assert_int_equal(qr_pdf_page_bytes(p, sizes, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_true(sizes[i] >= 8);
    qr_pdf_close(p);
    free(path);
}

/*
 * A link on page 1 to page 3 must not make page 3 count as already reached:
 * page 3 is charged for its own 4000-byte content stream.
 */
static void test_page_bytes_link_to_later_page(void **state)
{
    fixture *f = *state;
    char *path = NULL;
    assert_true(asprintf(&path, "%s/link.pdf", f->dir) > 0);
    char big[4200];
    memset(big, ' ', sizeof(big));
    int n = snprintf(big, sizeof(big), "<< /Length 4000 >>\nstream\n");
    memset(big + n, '%', 4000);
    snprintf(big + n + 4000, sizeof(big) - (size_t)n - 4000, "\nendstream");
    const char *objs[] = {
        /* 1 */ "<< /Type /Catalog /Pages 2 0 R >>",
        /* 2 */ "<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>",
        /* 3 */
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 6 0 R"
        " /Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 10 10]"
        " /Dest [5 0 R /Fit] >>] >>",
        /* 4 */ "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 7 0 R >>",
        /* 5 */ "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 8 0 R >>",
        /* 6 */ "<< /Length 8 >>\nstream\n0 0 m S\n\nendstream",
        /* 7 */ "<< /Length 8 >>\nstream\n1 1 m S\n\nendstream",
        /* 8 */ big,
    };
    write_pdf(path, objs, sizeof(objs) / sizeof(objs[0]), NULL);
    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_pdf_open(&p, path, &f->limits, f->w, &err), 0);
    uint64_t sizes[3];
    assert_int_equal(qr_pdf_page_bytes(p, sizes, &err), 0);
    assert_true(sizes[2] >= 4000);
    assert_true(sizes[0] < 4000);
    qr_pdf_close(p);
    free(path);
}

static void test_outline_loops(void **state)
{
    fixture *f = *state;
    char *path = tiny_pdf(f, "loop.pdf", true);
    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_pdf_open(&p, path, &f->limits, f->w, &err), 0);
    const qr_pdf_info *in = qr_pdf_info_get(p);
    /* Each entry is read once; the /Next cycles end the walk. */
    assert_int_equal(in->noutline, 3);
    qr_pdf_close(p);
    free(path);
}

/* No Info dictionary: title and author come from the XMP packet; memory input. */
static void test_xmp_from_buffer(void **state)
{
    fixture *f = *state;
    char *path = NULL;
    static const char xmp[] =
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
        "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description "
        "xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title><rdf:Alt><rdf:li "
        "xml:lang=\"x-default\"> XMP title </rdf:li></rdf:Alt></dc:title><dc:creator><rdf:Seq>"
        "<rdf:li>First Author</rdf:li><rdf:li>Second</rdf:li></rdf:Seq></dc:creator>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>";
    char meta[1024];
    snprintf(meta, sizeof(meta),
             "<< /Type /Metadata /Subtype /XML /Length %zu >>\nstream\n%s\nendstream", strlen(xmp),
             xmp);
    const char *objs[] = {
        "<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
        meta,
    };
    assert_true(asprintf(&path, "%s/xmp.pdf", f->dir) > 0);
    write_pdf(path, objs, 4, NULL);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);

    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_pdf_open_buffer(&p, buf, n, "xmp.pdf", &f->limits, f->w, &err), 0);
    const qr_pdf_info *in = qr_pdf_info_get(p);
    assert_int_equal(in->pages, 1);
    assert_string_equal(in->title, "XMP title");
    assert_string_equal(in->author, "First Author");
    assert_null(in->page_labels);
    assert_int_equal(in->noutline, 0);
    qr_pdf_close(p);

    /* Over the XML limit: the packet is not read at all. */
    f->limits.max_xml_bytes = 64;
    assert_int_equal(qr_pdf_open_buffer(&p, buf, n, "xmp.pdf", &f->limits, f->w, &err), 0);
    assert_null(qr_pdf_info_get(p)->title);
    qr_pdf_close(p);
    free(path);
}

static void test_errors(void **state)
{
    fixture *f = *state;
    char *path = NULL;
    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;

    assert_true(asprintf(&path, "%s/missing.pdf", f->dir) > 0);
    assert_true(qr_pdf_open(&p, path, &f->limits, f->w, &err) < 0);
    assert_string_equal(err.id, "source-not-found");
    assert_null(p);

    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("oops\n", fp);
    fclose(fp);
    qr_error_clear(&err);
    assert_true(qr_pdf_open(&p, path, &f->limits, f->w, &err) < 0);
    assert_string_equal(err.id, "unsupported-format");

    fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("%PDF-1.4\ngarbage without any object\n", fp);
    fclose(fp);
    qr_error_clear(&err);
    assert_true(qr_pdf_open(&p, path, &f->limits, f->w, &err) < 0);
    assert_string_equal(err.id, "pdf-damaged");

    free(path);
    path = tiny_pdf(f, "small.pdf", false);
    f->limits.max_input_bytes = 100;
    qr_error_clear(&err);
    assert_true(qr_pdf_open(&p, path, &f->limits, f->w, &err) < 0);
    assert_string_equal(err.id, "input-too-large");
    free(path);
}

static int page_count(const char *path, const qr_limits *l)
{
    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;
    if (qr_pdf_open(&p, path, l, NULL, &err) < 0)
        return -1;
    int n = (int)qr_pdf_info_get(p)->pages;
    qr_pdf_close(p);
    return n;
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

static void test_split_merge_tiny(void **state)
{
    fixture *f = *state;
    char *path = tiny_pdf(f, "book.pdf", false);
    char *a = NULL, *b = NULL, *m = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_true(asprintf(&a, "%s/a.pdf", f->dir) > 0);
    assert_true(asprintf(&b, "%s/b.pdf", f->dir) > 0);
    assert_true(asprintf(&m, "%s/m.pdf", f->dir) > 0);
    qr_pdf_range ranges[] = {{0, 1}, {1, 2}};
    const char *outs[] = {a, b};
    assert_int_equal(qr_test_pdf_cut_files(path, ranges, 2, outs, &f->limits, &err), 0);
    assert_int_equal(page_count(a, &f->limits), 1);
    assert_int_equal(qpdf_check(a), 0);
    assert_int_equal(qpdf_check(b), 0);

    qr_pdf *p = NULL;
    assert_int_equal(qr_pdf_open(&p, b, &f->limits, NULL, &err), 0);
    const qr_pdf_info *in = qr_pdf_info_get(p);
    assert_int_equal(in->pages, 2);
    assert_string_equal(in->title, "Tiny book");
    assert_string_equal(in->author, "\xc3\x89mile");
    assert_non_null(in->page_labels);
    assert_string_equal(in->page_labels[0], "ii");
    assert_string_equal(in->page_labels[1], "A-1");
    qr_pdf_close(p);

    const char *ins[] = {a, b};
    assert_int_equal(qr_pdf_merge(ins, 2, m, &f->limits, &err), 0);
    assert_int_equal(qr_pdf_open(&p, m, &f->limits, NULL, &err), 0);
    in = qr_pdf_info_get(p);
    assert_int_equal(in->pages, 3);
    assert_string_equal(in->page_labels[0], "i");
    assert_string_equal(in->page_labels[1], "ii");
    assert_string_equal(in->page_labels[2], "A-1");
    qr_pdf_close(p);

    /* Ranges outside the document are refused before anything is written. */
    qr_pdf_range bad[] = {{2, 2}};
    qr_error_clear(&err);
    assert_true(qr_test_pdf_cut_files(path, bad, 1, outs, &f->limits, &err) < 0);
    assert_string_equal(err.id, "invalid-argument");
    free(a);
    free(b);
    free(m);
    free(path);
}

/*
 * qr_pdf_cut gives, in memory, a standalone document for the range: its
 * pages, title, author and page labels; each cut appends; a range
 * outside the document and a dropped document are refused.
 */
static void test_cut_in_memory(void **state)
{
    fixture *f = *state;
    char *path = tiny_pdf(f, "book.pdf", false);
    qr_error err = QR_ERROR_INIT;
    qr_pdf *p = NULL;
    assert_int_equal(qr_pdf_open(&p, path, &f->limits, NULL, &err), 0);
    qr_buf a = QR_BUF_INIT(1 << 24), b = QR_BUF_INIT(1 << 24);
    qr_pdf_range r0 = {0, 1}, r1 = {1, 2};
    assert_int_equal(qr_pdf_cut(p, &r0, &a, &err), 0);
    assert_int_equal(qr_pdf_cut(p, &r1, &b, &err), 0);
    assert_memory_equal(a.data, "%PDF-", 5);

    qr_pdf *s = NULL;
    assert_int_equal(qr_pdf_open_buffer(&s, a.data, a.len, "a", &f->limits, NULL, &err), 0);
    assert_int_equal(qr_pdf_info_get(s)->pages, 1);
    qr_pdf_close(s);
    assert_int_equal(qr_pdf_open_buffer(&s, b.data, b.len, "b", &f->limits, NULL, &err), 0);
    const qr_pdf_info *in = qr_pdf_info_get(s);
    assert_int_equal(in->pages, 2);
    assert_string_equal(in->title, "Tiny book");
    assert_string_equal(in->author, "\xc3\x89mile");
    assert_non_null(in->page_labels);
    assert_string_equal(in->page_labels[0], "ii");
    assert_string_equal(in->page_labels[1], "A-1");
    qr_pdf_close(s);

    /* A second cut of the same range appends a second document. */
    size_t one = a.len;
    assert_int_equal(qr_pdf_cut(p, &r0, &a, &err), 0);
    assert_true(a.len > one);
    assert_memory_equal(a.data + one, "%PDF-", 5);

    qr_pdf_range bad = {2, 2};
    qr_error_clear(&err);
    assert_true(qr_pdf_cut(p, &bad, &b, &err) < 0);
    assert_string_equal(err.id, "invalid-argument");
    qr_pdf_drop_document(p);
    qr_error_clear(&err);
    assert_true(qr_pdf_cut(p, &r0, &b, &err) < 0);
    assert_string_equal(err.id, "invalid-argument");
    qr_pdf_close(p);
    qr_buf_free(&a);
    qr_buf_free(&b);
    free(path);
}

/* ---- corpus ---- */

static char *corpus_file(const char *rel)
{
    const char *dir = qr_test_corpus_dir();
    char *p = NULL;
    if (!dir)
        return NULL;
    if (asprintf(&p, "%s/%s", dir, rel) < 0)
        return NULL;
    return p;
}

static const struct {
    const char *file;
    int pages; /* qpdf --show-npages (with the password for encrypted files) */
} valid[] = {
    {"pdf/debian/debian-refcard-en-a4.pdf", 2},
    {"pdf/debian/lure-manual-scanned.pdf", 36},
    {"pdf/debian/massxpert-manual.pdf", 137},
    {"pdf/pdfjs/cmyk-jpeg.pdf", 1},
    {"pdf/pdfjs/freeculture.pdf", 352},
    {"pdf/qpdf/bad-xref.pdf", 1},
    {"pdf/qpdf/linearized.pdf", 30},
    {"pdf/qpdf/object-streams-large.pdf", 1},
    {"pdf/qpdf/encrypted-aes128-empty-password.pdf", 30},
};

static void test_corpus_page_counts(void **state)
{
    fixture *f = *state;
    if (!qr_test_corpus_dir())
        skip();
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        char *path = corpus_file(valid[i].file);
        qr_pdf *p = NULL;
        qr_error err = QR_ERROR_INIT;
        uint64_t *sizes = NULL;
        if (qr_pdf_open(&p, path, &f->limits, f->w, &err) < 0)
            fail_msg("%s: %s: %s", valid[i].file, err.id, err.msg);
        assert_int_equal(qr_pdf_info_get(p)->pages, valid[i].pages);
        sizes = calloc(valid[i].pages, sizeof(*sizes));
        assert_int_equal(qr_pdf_page_bytes(p, sizes, &err), 0);
        uint64_t total = 0;
        for (int k = 0; k < valid[i].pages; k++)
            total += sizes[k];
        assert_true(total > 0);
        free(sizes);
        qr_pdf_close(p);
        free(path);
    }
}

static void test_corpus_metadata(void **state)
{
    fixture *f = *state;
    if (!qr_test_corpus_dir())
        skip();
    char *path = corpus_file("pdf/qpdf/linearized.pdf");
    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_pdf_open(&p, path, &f->limits, f->w, &err), 0);
    const qr_pdf_info *in = qr_pdf_info_get(p);
    assert_int_equal(in->pages, 30);
    assert_true(in->linearized);
    /* qpdf --json: 11 outline entries; the first "Isís 1 -> 5" to page 6, depth 3 at most. */
    assert_int_equal(in->noutline, 11);
    assert_string_equal(in->outline[0].title, "Is\xc3\xads 1 -> 5: /XYZ null null null");
    assert_int_equal(in->outline[0].page, 5);
    assert_int_equal(in->outline[3].level, 3);
    assert_int_equal(in->outline[3].page, 18);
    assert_int_equal(in->outline[10].level, 0);
    assert_int_equal(in->outline[10].page, 15);
    /* /PageLabels: prefix-only "" at 0, /r from 2, /D /St 2 from 12, /D /St 6 from 15. */
    assert_non_null(in->page_labels);
    assert_string_equal(in->page_labels[0], "");
    assert_string_equal(in->page_labels[2], "i");
    assert_string_equal(in->page_labels[6], "v");
    assert_string_equal(in->page_labels[9], "vi");
    assert_string_equal(in->page_labels[12], "2");
    assert_string_equal(in->page_labels[15], "6");
    qr_pdf_close(p);
    free(path);

    path = corpus_file("pdf/pdfjs/freeculture.pdf");
    assert_int_equal(qr_pdf_open(&p, path, &f->limits, f->w, &err), 0);
    in = qr_pdf_info_get(p);
    assert_int_equal(in->pages, 352);
    assert_string_equal(in->title, "Free Culture");
    assert_string_equal(in->author, "Lawrence Lessig");
    assert_int_equal(in->noutline, 58);
    assert_string_equal(in->outline[0].title, "COVER");
    assert_int_equal(in->outline[0].page, 0);
    assert_string_equal(in->outline[1].title, "CONTENTS");
    assert_int_equal(in->outline[1].page, 8);
    qr_pdf_close(p);
    free(path);

    path = corpus_file("pdf/debian/debian-refcard-en-a4.pdf");
    assert_int_equal(qr_pdf_open(&p, path, &f->limits, f->w, &err), 0);
    assert_string_equal(qr_pdf_info_get(p)->title, "Debian Reference Card");
    qr_pdf_close(p);
    free(path);
}

static void test_corpus_damaged_and_encrypted(void **state)
{
    fixture *f = *state;
    if (!qr_test_corpus_dir())
        skip();
    static const char *const repaired[] = {"pdf/pdfjs/helloworld-bad.pdf",
                                           "pdf/qpdf/xref-prev-loop.pdf"};
    for (size_t i = 0; i < 2; i++) {
        char *path = corpus_file(repaired[i]);
        qr_pdf *p = NULL;
        qr_error err = QR_ERROR_INIT;
        qr_warnings *w = qr_warnings_new();
        if (qr_pdf_open(&p, path, &f->limits, w, &err) < 0)
            fail_msg("%s: %s: %s", repaired[i], err.id, err.msg);
        assert_true(qr_warnings_has(w, "pdf-repaired"));
        assert_true(qr_pdf_info_get(p)->pages >= 1);
        qr_pdf_close(p);
        qr_warnings_free(w);
        free(path);
    }
    static const struct {
        const char *file, *id;
    } bad[] = {
        {"pdf/qpdf/not-a-pdf-5-bytes.pdf", "unsupported-format"},
        {"pdf/pdfjs/encrypted-rc4-pw-ELXRTQWS.pdf", "drm-protected"},
        {"pdf/qpdf/encrypted-aes256-R6-user-view.pdf", "drm-protected"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *path = corpus_file(bad[i].file);
        qr_pdf *p = NULL;
        qr_error err = QR_ERROR_INIT;
        assert_true(qr_pdf_open(&p, path, &f->limits, f->w, &err) < 0);
        assert_null(p);
        assert_string_equal(err.id, bad[i].id);
        free(path);
    }
    char *path = corpus_file("pdf/qpdf/encrypted-aes128-empty-password.pdf");
    qr_pdf *p = NULL;
    qr_error err = QR_ERROR_INIT;
    qr_warnings *w = qr_warnings_new();
    assert_int_equal(qr_pdf_open(&p, path, &f->limits, w, &err), 0);
    assert_true(qr_pdf_info_get(p)->encrypted);
    assert_true(qr_warnings_has(w, "pdf-encrypted-empty-password"));
    qr_pdf_close(p);
    qr_warnings_free(w);
    free(path);
}

static void test_corpus_split_merge(void **state)
{
    fixture *f = *state;
    if (!qr_test_corpus_dir())
        skip();
    static const char *const books[] = {"pdf/pdfjs/freeculture.pdf",
                                        "pdf/qpdf/encrypted-aes128-empty-password.pdf"};
    for (size_t b = 0; b < 2; b++) {
        char *path = corpus_file(books[b]);
        int pages = page_count(path, &f->limits);
        assert_true(pages > 0);
        size_t n = (size_t)(pages + 9) / 10;
        qr_pdf_range *ranges = calloc(n, sizeof(*ranges));
        char **outs = calloc(n, sizeof(*outs));
        for (size_t i = 0; i < n; i++) {
            ranges[i].first = (uint32_t)(i * 10);
            ranges[i].count = (uint32_t)((size_t)pages - i * 10 < 10 ? (size_t)pages - i * 10 : 10);
            assert_true(asprintf(&outs[i], "%s/s%zu-%zu.pdf", f->dir, b, i) > 0);
        }
        qr_error err = QR_ERROR_INIT;
        if (qr_test_pdf_cut_files(path, ranges, n, (const char *const *)outs, &f->limits, &err) < 0)
            fail_msg("%s: %s: %s", books[b], err.id, err.msg);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(page_count(outs[i], &f->limits), (int)ranges[i].count);
            int st = qpdf_check(outs[i]);
            if (st != 0 && st != 3)
                fail_msg("%s: qpdf --check exit %d", outs[i], st);
        }
        char *merged = NULL;
        assert_true(asprintf(&merged, "%s/merged%zu.pdf", f->dir, b) > 0);
        assert_int_equal(qr_pdf_merge((const char *const *)outs, n, merged, &f->limits, &err), 0);
        assert_int_equal(page_count(merged, &f->limits), pages);
        for (size_t i = 0; i < n; i++)
            free(outs[i]);
        free(outs);
        free(ranges);
        free(merged);
        free(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tiny_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_bytes_link_to_later_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outline_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xmp_from_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_merge_tiny, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_in_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corpus_page_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corpus_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corpus_damaged_and_encrypted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corpus_split_merge, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
