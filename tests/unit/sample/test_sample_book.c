/* qr_sample_book_write: OCF layout, well-formed documents, pictures, determinism, epubcheck. */
#include "qr_test.h"

#include <dirent.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vips/vips.h>
#include <zip.h>

#include "qr/buf.h"
#include "qr/image.h"
#include "qr/sample.h"

#define EPUBCHECK_JAR "/usr/share/java/epubcheck.jar"

typedef struct fixture {
    char *dir;
    char path[4096];
} fixture;

static int group_setup(void **state)
{
    (void)state;
    return qr_image_global_init("test_sample_book", NULL) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    xmlCleanupParser();
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->dir = qr_test_tmpdir();
    if (!f->dir) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/book.epub", f->dir);
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

static qr_sample_opts small_opts(void)
{
    qr_sample_opts o = QR_SAMPLE_OPTS_INIT;
    o.chapters = 3;
    o.images = 4;
    o.image_width = 64;
    o.image_height = 48;
    o.seed = 7;
    return o;
}

static void write_ok(const char *path, const qr_sample_opts *o)
{
    qr_error err = QR_ERROR_INIT;
    int rc = qr_sample_book_write(path, o, &err);
    if (rc != 0)
        fail_msg("qr_sample_book_write: %s: %s (%s)", err.id, err.msg, err.context);
}

/* Reads a whole entry; the caller frees the result. */
static uint8_t *read_entry(zip_t *za, const char *name, size_t *len)
{
    zip_stat_t st;
    if (zip_stat(za, name, 0, &st) != 0)
        fail_msg("entry %s is missing", name);
    assert_true(st.size < (1u << 24));
    uint8_t *data = malloc(st.size + 1);
    assert_non_null(data);
    zip_file_t *zf = zip_fopen(za, name, 0);
    assert_non_null(zf);
    assert_int_equal(zip_fread(zf, data, st.size), (zip_int64_t)st.size);
    zip_fclose(zf);
    data[st.size] = 0;
    *len = (size_t)st.size;
    return data;
}

/* OCF: the first local header is "mimetype", stored, no extra field, exact content. */
static void test_mimetype_first_and_stored(void **state)
{
    fixture *f = *state;
    qr_sample_opts o = small_opts();
    write_ok(f->path, &o);

    qr_buf raw = QR_BUF_INIT(64u << 20);
    assert_int_equal(qr_buf_read_file(&raw, f->path, "test", NULL), 0);
    const uint8_t *b = raw.data;
    assert_true(raw.len > 58);
    assert_memory_equal(b, "PK\x03\x04", 4);
    assert_int_equal(b[8] | b[9] << 8, 0);   /* compression method: stored */
    assert_int_equal(b[26] | b[27] << 8, 8); /* name length */
    assert_int_equal(b[28] | b[29] << 8, 0); /* extra field length */
    assert_memory_equal(b + 30, "mimetype", 8);
    assert_int_equal(b[18] | b[19] << 8 | b[20] << 16 | (uint32_t)b[21] << 24, 20);
    assert_memory_equal(b + 38, "application/epub+zip", 20);
    qr_buf_free(&raw);

    zip_t *za = zip_open(f->path, ZIP_RDONLY | ZIP_CHECKCONS, NULL);
    assert_non_null(za);
    assert_string_equal(zip_get_name(za, 0, 0), "mimetype");
    zip_stat_t st;
    assert_int_equal(zip_stat_index(za, 0, 0, &st), 0);
    assert_int_equal(st.comp_method, ZIP_CM_STORE);
    zip_close(za);
}

static void assert_well_formed(zip_t *za, const char *name)
{
    size_t len = 0;
    uint8_t *data = read_entry(za, name, &len);
    xmlDocPtr doc = xmlReadMemory((const char *)data, (int)len, name, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        fail_msg("%s is not well-formed XML", name);
    xmlFreeDoc(doc);
    free(data);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_documents_and_page_list(void **state)
{
    fixture *f = *state;
    qr_sample_opts o = small_opts();
    write_ok(f->path, &o);
    zip_t *za = zip_open(f->path, ZIP_RDONLY, NULL);
    assert_non_null(za);
    static const char *const docs[] = {
        "META-INF/container.xml",
        "EPUB/package.opf",
        "EPUB/nav.xhtml",
        "EPUB/toc.ncx",
        "EPUB/text/cover.xhtml",
        "EPUB/text/chapter-01.xhtml",
        "EPUB/text/chapter-02.xhtml",
        "EPUB/text/chapter-03.xhtml",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        assert_well_formed(za, docs[i]);
    assert_true(zip_name_locate(za, "EPUB/text/chapter-04.xhtml", 0) < 0);
    assert_true(zip_name_locate(za, "EPUB/css/style.css", 0) >= 0);

    size_t len = 0;
    char *opf = (char *)read_entry(za, "EPUB/package.opf", &len);
    assert_non_null(strstr(opf, "unique-identifier=\"book-id\""));
    assert_non_null(strstr(opf, o.identifier));
    assert_non_null(strstr(opf, "properties=\"cover-image\""));
    assert_non_null(strstr(opf, "properties=\"nav\""));
    assert_int_equal(count(opf, "<itemref "), 1 + o.chapters);
    free(opf);

    /* Every page break in the chapters is listed once in the nav page-list and the NCX. */
    int breaks = 0;
    for (int c = 1; c <= o.chapters; c++) {
        char name[64];
        snprintf(name, sizeof(name), "EPUB/text/chapter-%02d.xhtml", c);
        char *x = (char *)read_entry(za, name, &len);
        assert_true(len > 2000);
        breaks += count(x, "epub:type=\"pagebreak\"");
        free(x);
    }
    assert_true(breaks >= o.chapters);
    char *nav = (char *)read_entry(za, "EPUB/nav.xhtml", &len);
    assert_non_null(strstr(nav, "epub:type=\"page-list\""));
    assert_int_equal(count(nav, "#page-"), breaks);
    free(nav);
    char *ncx = (char *)read_entry(za, "EPUB/toc.ncx", &len);
    assert_int_equal(count(ncx, "<pageTarget "), breaks);
    free(ncx);
    zip_close(za);
}

static void assert_picture(zip_t *za, const char *name, const char *loader, int w, int h)
{
    size_t len = 0;
    uint8_t *data = read_entry(za, name, &len);
    zip_stat_t st;
    assert_int_equal(zip_stat(za, name, 0, &st), 0);
    assert_int_equal(st.comp_method, ZIP_CM_STORE);
    VipsImage *im = vips_image_new_from_buffer(data, len, "", NULL);
    if (!im)
        fail_msg("%s does not decode: %s", name, vips_error_buffer());
    assert_int_equal(vips_image_get_width(im), w);
    assert_int_equal(vips_image_get_height(im), h);
    assert_int_equal(vips_image_get_bands(im), 3);
    assert_int_equal(vips_image_get_format(im), VIPS_FORMAT_UCHAR);
    const char *used = NULL;
    assert_int_equal(vips_image_get_string(im, VIPS_META_LOADER, &used), 0);
    assert_string_equal(used, loader);
    /* Photographic content: pixels vary (grain), not a flat fill. */
    double dev = 0;
    assert_int_equal(vips_deviate(im, &dev, NULL), 0);
    assert_true(dev > 1.0);
    g_object_unref(im);
    free(data);
}

static void test_pictures_decode_at_requested_size(void **state)
{
    fixture *f = *state;
    qr_sample_opts o = small_opts();
    write_ok(f->path, &o);
    zip_t *za = zip_open(f->path, ZIP_RDONLY, NULL);
    assert_non_null(za);
    assert_picture(za, "EPUB/images/img-001.jpg", "jpegload_buffer", 64, 48);
    assert_picture(za, "EPUB/images/img-002.png", "pngload_buffer", 64, 48);
    assert_picture(za, "EPUB/images/img-003.jpg", "jpegload_buffer", 64, 48);
    assert_picture(za, "EPUB/images/img-004.png", "pngload_buffer", 64, 48);
    assert_picture(za, "EPUB/images/cover.jpg", "jpegload_buffer", 32, 48);
    assert_true(zip_name_locate(za, "EPUB/images/img-005.jpg", 0) < 0);

    /* Each picture is shown by exactly one <img> with alt text. */
    int imgs = 0;
    for (int c = 1; c <= o.chapters; c++) {
        char name[64];
        size_t len = 0;
        snprintf(name, sizeof(name), "EPUB/text/chapter-%02d.xhtml", c);
        char *x = (char *)read_entry(za, name, &len);
        imgs += count(x, "<img src=\"../images/img-");
        assert_int_equal(count(x, "<img "), count(x, " alt=\"Generated picture"));
        free(x);
    }
    assert_int_equal(imgs, o.images);
    zip_close(za);
}

static void test_deterministic(void **state)
{
    fixture *f = *state;
    qr_sample_opts o = small_opts();
    char other[4200];
    snprintf(other, sizeof(other), "%s/again.epub", f->dir);
    /* The pictures are drawn on several threads; the bytes must not depend on how many. */
    o.threads = 1;
    write_ok(f->path, &o);
    o.threads = 3;
    write_ok(other, &o);
    qr_buf a = QR_BUF_INIT(64u << 20), b = QR_BUF_INIT(64u << 20);
    assert_int_equal(qr_buf_read_file(&a, f->path, "test", NULL), 0);
    assert_int_equal(qr_buf_read_file(&b, other, "test", NULL), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);

    /* Another seed gives another book. */
    o.seed = 8;
    write_ok(other, &o);
    qr_buf_reset(&b);
    assert_int_equal(qr_buf_read_file(&b, other, "test", NULL), 0);
    assert_true(a.len != b.len || memcmp(a.data, b.data, a.len) != 0);
    qr_buf_free(&a);
    qr_buf_free(&b);
}

/* Replacing an existing file leaves only the new book: no temporaries, no work directory. */
static void test_replaces_atomically(void **state)
{
    fixture *f = *state;
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs("not a zip", fp);
    fclose(fp);
    qr_sample_opts o = small_opts();
    o.images = 1;
    write_ok(f->path, &o);
    zip_t *za = zip_open(f->path, ZIP_RDONLY | ZIP_CHECKCONS, NULL);
    assert_non_null(za);
    zip_close(za);
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        assert_string_equal(e->d_name, "book.epub");
        entries++;
    }
    closedir(d);
    assert_int_equal(entries, 1);
}

static void expect_invalid(const char *path, const qr_sample_opts *o)
{
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_sample_book_write(path, o, &err), QR_EINVAL);
    assert_string_equal(err.id, "invalid-argument");
    assert_string_equal(err.stage, "sample");
    assert_int_equal(access(path, F_OK), -1);
}

static void test_invalid_options(void **state)
{
    fixture *f = *state;
    qr_sample_opts o = small_opts();
    expect_invalid(f->path, NULL);
    o.chapters = 0;
    expect_invalid(f->path, &o);
    o.chapters = 501;
    expect_invalid(f->path, &o);
    o = small_opts();
    o.images = -1;
    expect_invalid(f->path, &o);
    o.images = 201;
    expect_invalid(f->path, &o);
    o = small_opts();
    o.image_width = 15;
    expect_invalid(f->path, &o);
    o.image_width = 64;
    o.image_height = 10001;
    expect_invalid(f->path, &o);
    o = small_opts();
    o.threads = 17;
    expect_invalid(f->path, &o);
    o.threads = -1;
    expect_invalid(f->path, &o);
    o = small_opts();
    o.title = "";
    expect_invalid(f->path, &o);
    o = small_opts();
    o.identifier = NULL;
    expect_invalid(f->path, &o);
    o = small_opts();
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_sample_book_write(NULL, &o, &err), QR_EINVAL);
}

static void test_missing_directory_fails(void **state)
{
    fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/no/such/dir/book.epub", f->dir);
    qr_sample_opts o = small_opts();
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_sample_book_write(path, &o, &err) < 0);
    assert_int_equal(err.code, QR_EIO);
    assert_int_equal(access(path, F_OK), -1);
}

/* Titles with markup characters are escaped everywhere they appear. */
static void test_title_escaped(void **state)
{
    fixture *f = *state;
    qr_sample_opts o = small_opts();
    o.title = "Tom & Jerry <\"Special\">";
    o.images = 0;
    write_ok(f->path, &o);
    zip_t *za = zip_open(f->path, ZIP_RDONLY, NULL);
    assert_non_null(za);
    assert_well_formed(za, "EPUB/package.opf");
    assert_well_formed(za, "EPUB/toc.ncx");
    assert_well_formed(za, "EPUB/text/cover.xhtml");
    assert_true(zip_name_locate(za, "EPUB/images/cover.jpg", 0) >= 0);
    zip_close(za);
}

/* epubcheck (Java) is the reference validator; skipped when it is not installed. */
static void test_epubcheck(void **state)
{
    fixture *f = *state;
    if (access(EPUBCHECK_JAR, R_OK) != 0 || system("command -v java >/dev/null 2>&1") != 0) {
        print_message("epubcheck not installed (" EPUBCHECK_JAR " and java): skipping\n");
        skip();
    }
    qr_sample_opts o = small_opts();
    o.chapters = 4;
    o.images = 5;
    o.title = "A & B";
    write_ok(f->path, &o);
    char cmd[8600], log[4200];
    snprintf(log, sizeof(log), "%s/epubcheck.log", f->dir);
    snprintf(cmd, sizeof(cmd), "java -jar " EPUBCHECK_JAR " '%s' >'%s' 2>&1", f->path, log);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        qr_buf out = QR_BUF_INIT(1u << 20);
        if (qr_buf_read_file(&out, log, "test", NULL) == 0 && out.data)
            print_message("%s\n", (const char *)out.data);
        qr_buf_free(&out);
        fail_msg("epubcheck rejected the sample book (status %d)", st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mimetype_first_and_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_documents_and_page_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pictures_decode_at_requested_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaces_atomically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_directory_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_title_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epubcheck, setup, teardown),
    };
    return cmocka_run_group_tests_name("sample/sample_book", tests, group_setup, group_teardown);
}
