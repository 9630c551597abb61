/* Filesystem helpers: work directories, atomic writes, mkdir -p, sizes, free space, clocks. */
#include "qr_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qr/buf.h"
#include "qr/clock.h"
#include "qr/fs.h"

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

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Number of entries in `dir` other than . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_workdir_create_and_remove(void **state)
{
    const char *dir = *state;
    char *wd = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_workdir_create(&wd, dir, "job123", &err), 0);
    assert_non_null(wd);
    assert_int_equal(strncmp(wd, dir, strlen(dir)), 0);
    assert_non_null(strstr(wd, "/quire-job123-"));
    struct stat st;
    assert_int_equal(stat(wd, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);

    /* Two work directories never collide. */
    char *wd2 = NULL;
    assert_int_equal(qr_workdir_create(&wd2, dir, "job123", NULL), 0);
    assert_string_not_equal(wd, wd2);

    /* Nested content, plus a link to something outside that must survive. */
    char p[4200], outside[4200];
    snprintf(outside, sizeof(outside), "%s/outside.txt", dir);
    put(outside, "keep me");
    snprintf(p, sizeof(p), "%s/a/b/c", wd);
    assert_int_equal(qr_fs_mkdirs(p, 0755, NULL), 0);
    snprintf(p, sizeof(p), "%s/a/b/c/deep.txt", wd);
    put(p, "deep");
    snprintf(p, sizeof(p), "%s/a/top.txt", wd);
    put(p, "top");
    snprintf(p, sizeof(p), "%s/a/link", wd);
    assert_int_equal(symlink(outside, p), 0);
    snprintf(p, sizeof(p), "%s/dirlink", wd);
    assert_int_equal(symlink(dir, p), 0);

    assert_int_equal(qr_workdir_remove(wd, &err), 0);
    assert_false(exists(wd));
    assert_true(exists(outside));
    assert_true(exists(wd2));
    /* Removing what is already gone is fine (cleanup paths run twice). */
    assert_int_equal(qr_workdir_remove(wd, &err), 0);
    assert_int_equal(err.code, 0);
    assert_int_equal(qr_workdir_remove(wd2, NULL), 0);
    free(wd);
    free(wd2);
}

static void test_workdir_create_fails(void **state)
{
    const char *dir = *state;
    char parent[4200];
    snprintf(parent, sizeof(parent), "%s/missing/parent", dir);
    char *wd = (char *)"sentinel";
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_workdir_create(&wd, parent, "x", &err), QR_EIO);
    assert_null(wd);
    assert_string_equal(err.id, "io");
    assert_int_equal(err.cause, ENOENT);
}

static void test_workdir_remove_refuses_empty(void **state)
{
    (void)state;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_workdir_remove("", &err), QR_EINVAL);
    assert_string_equal(err.id, "invalid-argument");
    assert_int_equal(qr_workdir_remove(NULL, NULL), QR_EINVAL);
}

/*
 * "/" and its other spellings ("//", "/x/..", "/.") must be refused. Checked
 * inside a chroot (needs root), so that a regression deletes a sentinel in a
 * scratch directory instead of the machine.
 */
static void test_workdir_remove_refuses_root(void **state)
{
    const char *dir = *state;
    char jail[4200], sentinel[4300];
    snprintf(jail, sizeof(jail), "%s/jail", dir);
    snprintf(sentinel, sizeof(sentinel), "%s/x/sentinel", jail);
    assert_int_equal(qr_fs_mkdirs(sentinel, 0755, NULL), 0);
    if (geteuid() != 0) {
        print_message("not root: cannot chroot, skipping\n");
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chroot(jail) != 0 || chdir("/") != 0)
            _exit(77);
        static const char *const roots[] = {"/", "//", "/x/..", "/.", "///", "x/.."};
        for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
            qr_error err = QR_ERROR_INIT;
            if (qr_workdir_remove(roots[i], &err) != QR_EINVAL ||
                strcmp(err.id, "invalid-argument") != 0)
                _exit(10 + (int)i);
        }
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77) {
        print_message("chroot refused, skipping\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(exists(sentinel));
}

static void read_back(const char *path, const char *want)
{
    qr_buf b = QR_BUF_INIT(1 << 20);
    assert_int_equal(qr_buf_read_file(&b, path, "test", NULL), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    qr_buf_free(&b);
}

static void test_write_atomic(void **state)
{
    const char *dir = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/out.json", dir);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_fs_write_atomic(path, "{\"a\":1}", 7, 0, &err), 0);
    read_back(path, "{\"a\":1}");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(entries(dir), 1); /* no temporary left behind */

    /* Replacing: new content and the requested mode, still one file. */
    assert_int_equal(qr_fs_write_atomic(path, "second", 6, 0600, &err), 0);
    read_back(path, "second");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(entries(dir), 1);

    /* Empty content is a valid, empty file. */
    assert_int_equal(qr_fs_write_atomic(path, NULL, 0, 0, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);

    /* A large write goes through whole. */
    size_t n = 3u << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = 0;
    assert_int_equal(qr_fs_write_atomic(path, big, n, 0, &err), 0);
    qr_buf b = QR_BUF_INIT(n);
    assert_int_equal(qr_buf_read_file(&b, path, "test", NULL), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, big, n);
    qr_buf_free(&b);
    free(big);
    assert_int_equal(err.code, 0);
}

static void test_write_atomic_fails_cleanly(void **state)
{
    const char *dir = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/no-such-dir/out.json", dir);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_fs_write_atomic(path, "x", 1, 0, &err), QR_EIO);
    assert_string_equal(err.id, "write-failed");
    assert_int_equal(err.cause, ENOENT);
    assert_int_equal(entries(dir), 0);

    /* Renaming over a directory fails after the temporary was written: it is removed. */
    snprintf(path, sizeof(path), "%s/target", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    char inner[4300];
    snprintf(inner, sizeof(inner), "%s/keep", path);
    put(inner, "x");
    qr_error err2 = QR_ERROR_INIT;
    assert_int_equal(qr_fs_write_atomic(path, "data", 4, 0, &err2), QR_EIO);
    assert_string_equal(err2.id, "write-failed");
    assert_int_equal(entries(dir), 1);
}

static void test_mkdirs(void **state)
{
    const char *dir = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/x/y/z", dir);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_fs_mkdirs(path, 0750, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(qr_fs_mkdirs(path, 0750, &err), 0); /* idempotent */
    snprintf(path, sizeof(path), "%s/x/y/z/", dir);      /* trailing slash */
    assert_int_equal(qr_fs_mkdirs(path, 0750, &err), 0);
    snprintf(path, sizeof(path), "%s//x//w", dir); /* doubled slashes */
    assert_int_equal(qr_fs_mkdirs(path, 0750, &err), 0);
    snprintf(path, sizeof(path), "%s/x/w", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(err.code, 0);
}

static void test_mkdirs_errors(void **state)
{
    const char *dir = *state;
    char file[4200], path[4300];
    snprintf(file, sizeof(file), "%s/plain", dir);
    put(file, "not a directory");
    qr_error err = QR_ERROR_INIT;
    /* The path itself exists as a file: not a directory, so not success. */
    assert_int_equal(qr_fs_mkdirs(file, 0755, &err), QR_EIO);
    assert_string_equal(err.id, "io");
    assert_int_equal(err.cause, ENOTDIR);
    /* A file in the middle of the path. */
    snprintf(path, sizeof(path), "%s/sub", file);
    qr_error err2 = QR_ERROR_INIT;
    assert_int_equal(qr_fs_mkdirs(path, 0755, &err2), QR_EIO);
    assert_int_equal(err2.cause, ENOTDIR);

    qr_error err3 = QR_ERROR_INIT;
    assert_int_equal(qr_fs_mkdirs("", 0755, &err3), QR_EINVAL);
    assert_string_equal(err3.id, "invalid-argument");

    char longp[5000];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = 0;
    assert_int_equal(qr_fs_mkdirs(longp, 0755, NULL), QR_EINVAL);
}

static void test_sizes_and_space(void **state)
{
    const char *dir = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/sized", dir);
    put(path, "12345");
    uint64_t size = 99;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_fs_file_size(&size, path, &err), 0);
    assert_int_equal(size, 5);

    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(qr_fs_file_size(&size, path, &err), QR_EIO);
    assert_string_equal(err.id, "source-not-found");
    assert_int_equal(size, 0);

    qr_error err2 = QR_ERROR_INIT;
    assert_int_equal(qr_fs_file_size(&size, dir, &err2), QR_EIO);
    assert_string_equal(err2.id, "io");

    uint64_t free_bytes = 0;
    assert_int_equal(qr_fs_free_bytes(&free_bytes, dir, NULL), 0);
    assert_true(free_bytes > 0);
    qr_error err3 = QR_ERROR_INIT;
    assert_int_equal(qr_fs_free_bytes(&free_bytes, path, &err3), QR_EIO);
    assert_int_equal(err3.cause, ENOENT);
}

static void test_clock_and_rss(void **state)
{
    (void)state;
    double a = qr_now();
    usleep(20000);
    double b = qr_now();
    assert_true(b - a >= 0.015);
    assert_true(b - a < 5.0);
    assert_true(qr_fs_peak_rss() > 1024 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workdir_create_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workdir_create_fails, setup, teardown),
        cmocka_unit_test(test_workdir_remove_refuses_empty),
        cmocka_unit_test_setup_teardown(test_workdir_remove_refuses_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdirs_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sizes_and_space, setup, teardown),
        cmocka_unit_test(test_clock_and_rss),
    };
    return cmocka_run_group_tests_name("core/fs", tests, NULL, NULL);
}
