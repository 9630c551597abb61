/* qr_buf: growth, the hard maximum, formatted appends, detach, reading files under a limit. */
#include "qr_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qr/buf.h"

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

/* Writes `len` bytes of 'x' to dir/name and returns the path (static storage). */
static const char *make_file(const char *dir, const char *name, size_t len)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < len; i++)
        assert_int_not_equal(fputc('x', f), EOF);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void test_append_grows_and_terminates(void **state)
{
    (void)state;
    qr_buf b = QR_BUF_INIT(1 << 20);
    qr_error err = QR_ERROR_INIT;
    assert_null(b.data);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(qr_buf_append(&b, "abc", 3, &err), 0);
    assert_int_equal(b.len, 3000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], 0);
    assert_memory_equal(b.data + 2997, "abc", 3);
    assert_int_equal(qr_buf_append(&b, NULL, 0, &err), 0);
    assert_int_equal(b.len, 3000);
    assert_int_equal(err.code, 0);
    qr_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 1 << 20); /* max survives free */
    qr_buf_free(NULL);
}

/* Exactly max bytes fit; one more is QR_ELIMIT/entry-too-large and changes nothing. */
static void test_hard_maximum(void **state)
{
    (void)state;
    qr_buf b;
    qr_buf_init(&b, 10);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_buf_append(&b, "0123456789", 10, &err), 0);
    assert_int_equal(qr_buf_append(&b, "x", 1, &err), QR_ELIMIT);
    assert_string_equal(err.id, "entry-too-large");
    assert_string_equal(err.stage, "buf");
    assert_int_equal(b.len, 10);
    assert_string_equal((const char *)b.data, "0123456789");

    /* A huge reservation must not wrap around and succeed. */
    qr_error err2 = QR_ERROR_INIT;
    qr_buf_reset(&b);
    assert_int_equal(qr_buf_reserve(&b, SIZE_MAX, &err2), QR_ELIMIT);
    assert_int_equal(qr_buf_append(&b, "abcd", 4, NULL), 0);
    assert_int_equal(qr_buf_reserve(&b, SIZE_MAX - 2, NULL), QR_ELIMIT);
    assert_int_equal(qr_buf_reserve(&b, 6, NULL), 0);
    assert_int_equal(qr_buf_reserve(&b, 7, NULL), QR_ELIMIT);
    qr_buf_free(&b);

    qr_buf z = QR_BUF_INIT(0);
    assert_int_equal(qr_buf_append(&z, "a", 1, NULL), QR_ELIMIT);
    assert_int_equal(qr_buf_append(&z, "", 0, NULL), 0);
    qr_buf_free(&z);
}

static void test_appendf(void **state)
{
    (void)state;
    qr_buf b = QR_BUF_INIT(64);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_buf_appendf(&b, &err, "%s-%d", "page", 42), 0);
    assert_int_equal(qr_buf_appendf(&b, &err, "%s", ""), 0);
    assert_int_equal(qr_buf_appendf(&b, &err, " %5.1f%%", 12.34), 0);
    assert_string_equal((const char *)b.data, "page-42  12.3%");
    assert_int_equal(b.len, strlen("page-42  12.3%"));

    /* Past the maximum: refused whole, the buffer keeps its content. */
    char big[100];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(qr_buf_appendf(&b, &err, "%s", big), QR_ELIMIT);
    assert_string_equal(err.id, "entry-too-large");
    assert_string_equal((const char *)b.data, "page-42  12.3%");
    /* Filling exactly to the maximum still works. */
    size_t room = b.max - b.len;
    assert_int_equal(qr_buf_appendf(&b, NULL, "%.*s", (int)room, big), 0);
    assert_int_equal(b.len, b.max);
    assert_int_equal(b.data[b.len], 0);
    qr_buf_free(&b);
}

static void test_reset_and_detach(void **state)
{
    (void)state;
    qr_buf b = QR_BUF_INIT(1024);
    qr_buf_reset(&b); /* on an empty buffer */
    assert_int_equal(qr_buf_append(&b, "hello", 5, NULL), 0);
    size_t cap = b.cap;
    qr_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal((const char *)b.data, "");
    assert_int_equal(qr_buf_append(&b, "world", 5, NULL), 0);

    size_t len = 0;
    uint8_t *d = qr_buf_detach(&b, &len);
    assert_non_null(d);
    assert_int_equal(len, 5);
    assert_string_equal((const char *)d, "world");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(d);
    /* The detached buffer is reusable. */
    assert_int_equal(qr_buf_append(&b, "again", 5, NULL), 0);
    assert_null(qr_buf_detach(&(qr_buf)QR_BUF_INIT(4), NULL));
    qr_buf_free(&b);
}

static void test_read_file(void **state)
{
    const char *dir = *state;
    const char *path = make_file(dir, "thousand", 1000);
    qr_buf b = QR_BUF_INIT(1000);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_buf_read_file(&b, path, "test", &err), 0);
    assert_int_equal(b.len, 1000);
    assert_int_equal(b.data[999], 'x');
    assert_int_equal(b.data[1000], 0);
    qr_buf_free(&b);

    /* Empty files read as empty. */
    qr_buf e = QR_BUF_INIT(10);
    assert_int_equal(qr_buf_read_file(&e, make_file(dir, "empty", 0), "test", NULL), 0);
    assert_int_equal(e.len, 0);
    qr_buf_free(&e);
}

static void test_read_file_limit(void **state)
{
    const char *dir = *state;
    const char *path = make_file(dir, "thousand", 1000);
    qr_buf b = QR_BUF_INIT(999);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_buf_read_file(&b, path, "epub", &err), QR_ELIMIT);
    assert_string_equal(err.id, "input-too-large");
    assert_string_equal(err.stage, "epub");
    assert_null(b.data); /* refused before allocating */
    qr_buf_free(&b);

    /* The limit counts what the buffer already holds. */
    qr_buf c = QR_BUF_INIT(1000);
    qr_error err2 = QR_ERROR_INIT;
    assert_int_equal(qr_buf_append(&c, "z", 1, NULL), 0);
    assert_int_equal(qr_buf_read_file(&c, path, "epub", &err2), QR_ELIMIT);
    assert_string_equal(err2.id, "input-too-large");
    qr_buf_free(&c);
}

/* Streams with no size up front (pipes, devices) are held to the same limit and id. */
static void test_read_stream_limit(void **state)
{
    (void)state;
    qr_buf b = QR_BUF_INIT(4096);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_buf_read_file(&b, "/dev/zero", "fetch", &err), QR_ELIMIT);
    assert_string_equal(err.id, "input-too-large");
    assert_true(b.len <= 4096);
    qr_buf_free(&b);
}

static void test_read_file_errors(void **state)
{
    const char *dir = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/does-not-exist", dir);
    qr_buf b = QR_BUF_INIT(100);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_buf_read_file(&b, path, "fetch", &err), QR_EIO);
    assert_string_equal(err.id, "source-not-found");
    assert_int_equal(err.cause, ENOENT);
    assert_non_null(strstr(err.msg, "does-not-exist"));

    /* A directory opens but cannot be read: io, not source-not-found. */
    qr_error err2 = QR_ERROR_INIT;
    assert_int_equal(qr_buf_read_file(&b, dir, "fetch", &err2), QR_EIO);
    assert_string_equal(err2.id, "io");
    qr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_grows_and_terminates),
        cmocka_unit_test(test_hard_maximum),
        cmocka_unit_test(test_appendf),
        cmocka_unit_test(test_reset_and_detach),
        cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_file_limit, setup, teardown),
        cmocka_unit_test(test_read_stream_limit),
        cmocka_unit_test_setup_teardown(test_read_file_errors, setup, teardown),
    };
    return cmocka_run_group_tests_name("core/buf", tests, NULL, NULL);
}
