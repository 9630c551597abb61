/*
 * The compress pipeline end to end on generated books: images shrink under
 * lossy profiles, every other entry keeps its exact bytes, the container is
 * valid, failures leave no output and name their id.
 */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "qr/epub.h"
#include "qr/fs.h"
#include "qr/image.h"
#include "qr/compress.h"
#include "qr/sample.h"

typedef struct fixture {
    char *dir;
    char book[4096];
    char out[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->dir = qr_test_tmpdir();
    if (!f->dir)
        return -1;
    snprintf(f->book, sizeof(f->book), "%s/sample.epub", f->dir);
    snprintf(f->out, sizeof(f->out), "%s/out.epub", f->dir);
    qr_sample_opts so = QR_SAMPLE_OPTS_INIT;
    so.chapters = 4;
    so.images = 4;
    so.image_width = 1200;
    so.image_height = 900;
    qr_error err = QR_ERROR_INIT;
    if (qr_sample_book_write(f->book, &so, &err) < 0) {
        fprintf(stderr, "sample book: %s: %s\n", err.id, err.msg);
        return -1;
    }
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

static qr_epub *open_book(const char *path)
{
    qr_epub *e = NULL;
    qr_epub_opts o = QR_EPUB_OPTS_INIT;
    qr_error err = QR_ERROR_INIT;
    if (qr_epub_open(&e, path, &o, &err) < 0)
        fail_msg("cannot open %s: %s: %s", path, err.id, err.msg);
    return e;
}

/* Every non-image entry of `a` must exist in `b` with identical bytes. */
static void assert_non_images_identical(qr_epub *a, qr_epub *b)
{
    for (size_t i = 0; i < qr_epub_entry_count(a); i++) {
        const qr_epub_entry *ea = qr_epub_get_entry(a, i);
        if (ea->is_dir || strcmp(ea->path, "mimetype") == 0)
            continue;
        int j = qr_epub_find_entry(b, ea->path);
        if (j < 0)
            fail_msg("entry %s missing from the output", ea->path);
        const qr_epub_entry *eb = qr_epub_get_entry(b, (size_t)j);
        const char *mt = ea->item >= 0 ? qr_epub_get_item(a, (size_t)ea->item)->media_type : "";
        if (qr_media_is_image(mt))
            continue;
        /* Raw copy: same compressed size, same CRC, same bytes. */
        assert_int_equal(ea->comp_size, eb->comp_size);
        assert_int_equal(ea->crc, eb->crc);
        qr_buf x = QR_BUF_INIT(1 << 26), y = QR_BUF_INIT(1 << 26);
        assert_int_equal(qr_epub_read_entry(&x, a, i, NULL), 0);
        assert_int_equal(qr_epub_read_entry(&y, b, (size_t)j, NULL), 0);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
        qr_buf_free(&x);
        qr_buf_free(&y);
    }
}

static void assert_mimetype_first(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char h[58];
    assert_int_equal(fread(h, 1, sizeof(h), fp), sizeof(h));
    fclose(fp);
    assert_memory_equal(h, "PK\x03\x04", 4);
    assert_int_equal(h[8] | (h[9] << 8), 0);   /* stored */
    assert_int_equal(h[26] | (h[27] << 8), 8); /* name length */
    assert_int_equal(h[28] | (h[29] << 8), 0); /* no extra field */
    assert_memory_equal(h + 30, "mimetype", 8);
    assert_memory_equal(h + 38, "application/epub+zip", 20);
}

static void test_tablet_shrinks_images_only(void **state)
{
    fixture *f = *state;
    qr_compress_opts o = QR_COMPRESS_OPTS_INIT;
    o.profile = qr_profile_get("tablet");
    o.threads = 2;
    qr_compress_report *r = NULL;
    qr_error err = QR_ERROR_INIT;
    int rc = qr_compress_epub(&r, f->book, f->out, &o, NULL, &err);
    if (rc < 0)
        fail_msg("compress: %s: %s (%s)", err.id, err.msg, err.context);
    assert_non_null(r);
    assert_true(r->images_total >= 4);
    assert_true(r->images_changed >= 1);
    assert_true(r->file_bytes_out < r->file_bytes_in);
    struct stat st;
    assert_int_equal(stat(f->out, &st), 0);
    assert_int_equal((uint64_t)st.st_size, r->file_bytes_out);
    uint64_t in_sum = 0, out_sum = 0;
    for (size_t i = 0; i < r->ntypes; i++) {
        in_sum += r->types[i].bytes_in;
        out_sum += r->types[i].bytes_out;
    }
    assert_true(in_sum > 0 && out_sum > 0 && out_sum < in_sum);
    qr_compress_report_free(r);

    assert_mimetype_first(f->out);
    qr_epub *a = open_book(f->book);
    qr_epub *b = open_book(f->out);
    assert_string_equal(qr_epub_get_info(a)->unique_identifier,
                        qr_epub_get_info(b)->unique_identifier);
    assert_non_images_identical(a, b);
    /* Images keep their format and respect the profile's long edge. */
    for (size_t i = 0; i < qr_epub_item_count(b); i++) {
        const qr_epub_item *it = qr_epub_get_item(b, i);
        if (it->entry < 0 || !qr_media_is_image(it->media_type))
            continue;
        qr_buf x = QR_BUF_INIT(1 << 26);
        assert_int_equal(qr_epub_read_entry(&x, b, (size_t)it->entry, NULL), 0);
        qr_image_info info;
        assert_int_equal(qr_image_probe(&info, x.data, x.len, NULL), 0);
        assert_true(info.width <= 2560 && info.height <= 2560);
        if (strcmp(it->media_type, "image/jpeg") == 0)
            assert_string_equal(info.format, "jpeg");
        if (strcmp(it->media_type, "image/png") == 0)
            assert_string_equal(info.format, "png");
        qr_buf_free(&x);
    }
    qr_epub_free(a);
    qr_epub_free(b);
}

static void test_lossless_keeps_dimensions(void **state)
{
    fixture *f = *state;
    qr_compress_opts o = QR_COMPRESS_OPTS_INIT;
    o.profile = qr_profile_get("lossless");
    qr_compress_report *r = NULL;
    qr_error err = QR_ERROR_INIT;
    if (qr_compress_epub(&r, f->book, f->out, &o, NULL, &err) < 0)
        fail_msg("compress: %s: %s", err.id, err.msg);
    assert_true(r->file_bytes_out <= r->file_bytes_in + 64);
    qr_compress_report_free(r);
    qr_epub *a = open_book(f->book);
    qr_epub *b = open_book(f->out);
    assert_non_images_identical(a, b);
    for (size_t i = 0; i < qr_epub_item_count(a); i++) {
        const qr_epub_item *it = qr_epub_get_item(a, i);
        if (it->entry < 0 || !qr_media_is_image(it->media_type))
            continue;
        int j = qr_epub_find_entry(b, qr_epub_get_entry(a, (size_t)it->entry)->path);
        assert_true(j >= 0);
        qr_buf x = QR_BUF_INIT(1 << 26), y = QR_BUF_INIT(1 << 26);
        assert_int_equal(qr_epub_read_entry(&x, a, (size_t)it->entry, NULL), 0);
        assert_int_equal(qr_epub_read_entry(&y, b, (size_t)j, NULL), 0);
        assert_true(y.len <= x.len);
        qr_image_info ia, ib;
        assert_int_equal(qr_image_probe(&ia, x.data, x.len, NULL), 0);
        assert_int_equal(qr_image_probe(&ib, y.data, y.len, NULL), 0);
        assert_int_equal(ia.width, ib.width);
        assert_int_equal(ia.height, ib.height);
        qr_buf_free(&x);
        qr_buf_free(&y);
    }
    qr_epub_free(a);
    qr_epub_free(b);
}

static void test_failures_leave_nothing(void **state)
{
    fixture *f = *state;
    qr_compress_opts o = QR_COMPRESS_OPTS_INIT;
    qr_compress_report *r = NULL;
    qr_error err = QR_ERROR_INIT;
    char path[4096];

    /* The input as its own output. */
    assert_int_equal(qr_compress_epub(&r, f->book, f->book, &o, NULL, &err), QR_EINVAL);
    assert_null(r);
    assert_string_equal(err.id, "invalid-argument");

    /* A directory that does not exist: refused before any work. */
    qr_error_clear(&err);
    snprintf(path, sizeof(path), "%s/no/such/dir/out.epub", f->dir);
    assert_int_equal(qr_compress_epub(&r, f->book, path, &o, NULL, &err), QR_EIO);
    assert_string_equal(err.id, "write-failed");

    /* Not an EPUB. */
    qr_error_clear(&err);
    snprintf(path, sizeof(path), "%s/notes.epub", f->dir);
    assert_int_equal(qr_fs_write_atomic(path, "just text\n", 10, 0, NULL), 0);
    assert_int_equal(qr_compress_epub(&r, path, f->out, &o, NULL, &err), QR_EFORMAT);
    assert_string_equal(err.id, "unsupported-format");
    assert_int_equal(access(f->out, F_OK), -1);

    /* Missing input. */
    qr_error_clear(&err);
    snprintf(path, sizeof(path), "%s/missing.epub", f->dir);
    assert_int_equal(qr_compress_epub(&r, path, f->out, &o, NULL, &err), QR_EIO);
    assert_string_equal(err.id, "source-not-found");
    assert_int_equal(access(f->out, F_OK), -1);
}

/* A limit that the book exceeds fails it with the limit's id, and no output. */
static void test_limits_apply(void **state)
{
    fixture *f = *state;
    qr_compress_opts o = QR_COMPRESS_OPTS_INIT;
    o.limits.max_entries = 3;
    qr_compress_report *r = NULL;
    qr_warnings *w = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_compress_epub(&r, f->book, f->out, &o, &w, &err), QR_ELIMIT);
    assert_string_equal(err.id, "too-many-entries");
    assert_null(r);
    assert_int_equal(access(f->out, F_OK), -1);
    qr_warnings_free(w);
}

int main(void)
{
    qr_error err = QR_ERROR_INIT;
    if (qr_image_global_init("test_compress", &err) < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tablet_shrinks_images_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lossless_keeps_dimensions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_apply, setup, teardown),
    };
    int rc = cmocka_run_group_tests_name("pipeline/compress", tests, NULL, NULL);
    qr_image_global_shutdown();
    return rc;
}
