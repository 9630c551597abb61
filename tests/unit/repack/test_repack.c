/* The EPUB writer: mimetype first and stored, raw copies, replacements. */
#include "qr_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "qr/epub.h"
#include "qr/image.h"
#include "qr/repack.h"
#include "qr/sample.h"

typedef struct fixture {
    char *dir;
    char book[4096];
    char out[4096];
    qr_epub *epub;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f || !(f->dir = qr_test_tmpdir()))
        return -1;
    snprintf(f->book, sizeof(f->book), "%s/in.epub", f->dir);
    snprintf(f->out, sizeof(f->out), "%s/out.epub", f->dir);
    qr_sample_opts so = QR_SAMPLE_OPTS_INIT;
    so.chapters = 3;
    so.images = 2;
    so.image_width = 320;
    so.image_height = 240;
    qr_epub_opts eo = QR_EPUB_OPTS_INIT;
    if (qr_sample_book_write(f->book, &so, NULL) < 0 ||
        qr_epub_open(&f->epub, f->book, &eo, NULL) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    qr_epub_free(f->epub);
    qr_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_raw_copy(void **state)
{
    fixture *f = *state;
    qr_repack_stats st;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_repack_write(&st, f->out, f->epub, NULL, 0, &err), 0);
    assert_int_equal(st.entries_replaced, 0);
    assert_true(st.entries_copied > 3);
    assert_true(st.out_bytes > 0);

    int zerr = 0;
    zip_t *za = zip_open(f->out, ZIP_RDONLY, &zerr);
    assert_non_null(za);
    zip_stat_t zs;
    assert_int_equal(zip_stat_index(za, 0, 0, &zs), 0);
    assert_string_equal(zs.name, "mimetype");
    assert_int_equal(zs.comp_method, ZIP_CM_STORE);
    assert_int_equal(zs.size, 20);
    /* Every other entry: same order, same compressed size and CRC. */
    zip_int64_t n = zip_get_num_entries(za, 0);
    zip_int64_t k = 1;
    for (size_t i = 0; i < qr_epub_entry_count(f->epub); i++) {
        const qr_epub_entry *e = qr_epub_get_entry(f->epub, i);
        if (e->is_dir || strcmp(e->path, "mimetype") == 0)
            continue;
        assert_true(k < n);
        assert_int_equal(zip_stat_index(za, (zip_uint64_t)k, 0, &zs), 0);
        assert_string_equal(zs.name, e->path);
        assert_int_equal(zs.comp_size, e->comp_size);
        assert_int_equal(zs.crc, e->crc);
        assert_int_equal(zs.comp_method, e->comp_method);
        k++;
    }
    assert_int_equal(k, n);
    zip_discard(za);
}

static void test_replacement(void **state)
{
    fixture *f = *state;
    int css = -1;
    for (size_t i = 0; i < qr_epub_entry_count(f->epub); i++)
        if (strstr(qr_epub_get_entry(f->epub, i)->path, ".css"))
            css = (int)i;
    assert_true(css >= 0);
    static const char body[] = "body { margin: 0 }\n";
    qr_repack_replacement r = {(size_t)css, (const uint8_t *)body, sizeof(body) - 1, NULL, NULL};
    qr_repack_stats st;
    assert_int_equal(qr_repack_write(&st, f->out, f->epub, &r, 1, NULL), 0);
    assert_int_equal(st.entries_replaced, 1);

    qr_epub *o = NULL;
    qr_epub_opts eo = QR_EPUB_OPTS_INIT;
    assert_int_equal(qr_epub_open(&o, f->out, &eo, NULL), 0);
    int j = qr_epub_find_entry(o, qr_epub_get_entry(f->epub, (size_t)css)->path);
    assert_true(j >= 0);
    qr_buf b = QR_BUF_INIT(1 << 20);
    assert_int_equal(qr_epub_read_entry(&b, o, (size_t)j, NULL), 0);
    assert_int_equal(b.len, sizeof(body) - 1);
    assert_memory_equal(b.data, body, b.len);
    assert_int_equal(qr_epub_get_entry(o, (size_t)j)->comp_method, ZIP_CM_DEFLATE);
    qr_buf_free(&b);
    qr_epub_free(o);
}

static void test_unwritable_output(void **state)
{
    fixture *f = *state;
    char path[4096];
    snprintf(path, sizeof(path), "%s/missing-dir/out.epub", f->dir);
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_repack_write(NULL, path, f->epub, NULL, 0, &err) < 0);
    assert_string_equal(err.id, "write-failed");
}

int main(void)
{
    if (qr_image_global_init("test_repack", NULL) < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_raw_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replacement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_output, setup, teardown),
    };
    int rc = cmocka_run_group_tests_name("repack/repack", tests, NULL, NULL);
    qr_image_global_shutdown();
    return rc;
}
