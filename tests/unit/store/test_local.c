/*
 * The local store's deferred puts: written whole and renamed into place at
 * once (a reader never sees half an object, no temporary file stays), folders
 * made as needed, even when one was removed since the last put; and
 * qr_store_sync. The S3 store and the package loop's use of it are tested
 * with the package (test_process.c) and against s3rver (test_s3_live.c).
 */
#include "qr_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qr/buf.h"
#include "qr/store.h"

static int setup(void **state)
{
    char *dir = qr_test_tmpdir();
    if (!dir)
        return -1;
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    qr_test_rmtree(*state);
    free(*state);
    return 0;
}

/* Entries of `dir` other than . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_deferred_put_and_sync(void **state)
{
    const char *dir = *state;
    char root[4096], sub[4200];
    snprintf(root, sizeof(root), "%s/store", dir);
    qr_store *s = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_local_new(&s, root, &err), 0);

    /* Nothing deferred yet: a sync is a no-op that succeeds. */
    assert_int_equal(qr_store_sync(s, &err), 0);
    assert_int_equal(qr_store_put_deferred(s, "books/a/r1/slices/0000.qs", "zero", 4, &err), 0);
    assert_int_equal(qr_store_put_deferred(s, "books/a/r1/slices/0001.qs", "one", 3, &err), 0);
    /* Readable at once, whole, with no temporary file beside it. */
    qr_buf b = QR_BUF_INIT(1 << 20);
    assert_int_equal(qr_store_get(s, "books/a/r1/slices/0001.qs", &b, &err), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "one", 3);
    snprintf(sub, sizeof(sub), "%s/books/a/r1/slices", root);
    assert_int_equal(entries(sub), 2);

    /* The folder the last put made was removed: the next put makes it again. */
    qr_test_rmtree(sub);
    assert_int_equal(qr_store_put_deferred(s, "books/a/r1/slices/0002.qs", "two", 3, &err), 0);
    assert_int_equal(entries(sub), 1);
    /* A key that leaves the root is refused as with qr_store_put. */
    qr_error_clear(&err);
    assert_true(qr_store_put_deferred(s, "books/../../x", "x", 1, &err) < 0);
    assert_string_equal(err.id, "invalid-argument");

    assert_int_equal(qr_store_sync(s, &err), 0);
    assert_int_equal(qr_store_sync(s, &err), 0);
    qr_buf_reset(&b);
    assert_int_equal(qr_store_get(s, "books/a/r1/slices/0002.qs", &b, &err), 0);
    assert_memory_equal(b.data, "two", 3);
    qr_buf_free(&b);
    qr_store_free(s);
}

/* A store without deferral (here: one built from ops with only put/get) puts at once. */
static int plain_put(void *ctx, const char *key, const void *data, size_t len, qr_error *err)
{
    (void)key;
    (void)data;
    (void)err;
    *(size_t *)ctx += len;
    return 0;
}

static void test_deferred_falls_back_to_put(void **state)
{
    (void)state;
    static const qr_store_ops ops = {.put = plain_put};
    size_t bytes = 0;
    qr_store *s = qr_store_new(&ops, &bytes);
    assert_non_null(s);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_store_put_deferred(s, "k", "abc", 3, &err), 0);
    assert_int_equal(bytes, 3);
    assert_int_equal(qr_store_sync(s, &err), 0);
    qr_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deferred_put_and_sync, setup, teardown),
        cmocka_unit_test(test_deferred_falls_back_to_put),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
