/* Key files: generate/save/load, never overwrite, refuse readable and malformed files. */
#include "qr_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qr/crypt.h"

static int setup(void **state)
{
    if (qr_crypt_global_init(NULL) < 0)
        return -1;
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

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static void test_save_load_round_trip(void **state)
{
    char path[4096];
    path_in(path, sizeof(path), *state, "keys.json");
    qr_keyring *k = NULL, *back = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_keyring_generate(&k, "kek-2024-01", &err), 0);
    assert_string_equal(qr_keyring_kek_id(k), "kek-2024-01");
    assert_int_equal(qr_keyring_save(k, path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(qr_keyring_load(&back, path, &err), 0);
    assert_string_equal(qr_keyring_kek_id(back), "kek-2024-01");
    assert_memory_equal(qr_keyring_public_key(back), qr_keyring_public_key(k), 32);

    /* Same KEK and signing key: a signature by one verifies under the other. */
    uint8_t sig[64];
    assert_int_equal(qr_crypt_sign(sig, back, (const uint8_t *)"m", 1, &err), 0);
    assert_int_equal(qr_crypt_verify(sig, qr_keyring_public_key(k), (const uint8_t *)"m", 1, &err),
                     0);
    qr_content_key *ck = NULL, *ck2 = NULL;
    json_t *w = NULL;
    assert_int_equal(qr_content_key_new(&ck, &err), 0);
    assert_int_equal(qr_content_key_wrap(&w, ck, k, "book", "r1", &err), 0);
    assert_int_equal(qr_content_key_unwrap(&ck2, w, back, "book", "r1", &err), 0);
    json_decref(w);
    qr_content_key_free(ck);
    qr_content_key_free(ck2);
    qr_keyring_free(k);
    qr_keyring_free(back);
}

static void test_random_kek_id(void **state)
{
    (void)state;
    qr_keyring *a = NULL, *b = NULL;
    assert_int_equal(qr_keyring_generate(&a, NULL, NULL), 0);
    assert_int_equal(qr_keyring_generate(&b, NULL, NULL), 0);
    assert_int_equal(strlen(qr_keyring_kek_id(a)), 4 + 16);
    assert_memory_equal(qr_keyring_kek_id(a), "kek-", 4);
    assert_string_not_equal(qr_keyring_kek_id(a), qr_keyring_kek_id(b));
    assert_memory_not_equal(qr_keyring_public_key(a), qr_keyring_public_key(b), 32);
    qr_keyring_free(a);
    qr_keyring_free(b);
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_keyring_generate(&a, "bad id with spaces", &err), QR_EINVAL);
    assert_null(a);
}

static void test_save_never_overwrites(void **state)
{
    char path[4096];
    path_in(path, sizeof(path), *state, "keys.json");
    write_file(path, "precious\n", 0600);
    qr_keyring *k = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_keyring_generate(&k, NULL, &err), 0);
    assert_true(qr_keyring_save(k, path, &err) < 0);
    assert_string_equal(err.id, "write-failed");
    assert_non_null(strstr(err.msg, "already exists"));
    FILE *f = fopen(path, "r");
    char line[32] = {0};
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "precious\n");
    /* No temporary left behind. */
    DIR *d = opendir(*state);
    assert_non_null(d);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            entries++;
    closedir(d);
    assert_int_equal(entries, 1);
    qr_keyring_free(k);
}

static void test_load_refuses_readable(void **state)
{
    char path[4096];
    path_in(path, sizeof(path), *state, "keys.json");
    qr_keyring *k = NULL, *back = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_int_equal(qr_keyring_generate(&k, NULL, &err), 0);
    assert_int_equal(qr_keyring_save(k, path, &err), 0);
    static const mode_t insecure[] = {0644, 0640, 0604, 0620, 0602, 0610, 0601, 0660};
    for (size_t i = 0; i < sizeof(insecure) / sizeof(insecure[0]); i++) {
        assert_int_equal(chmod(path, insecure[i]), 0);
        qr_error_clear(&err);
        assert_int_equal(qr_keyring_load(&back, path, &err), QR_EAUTH);
        assert_string_equal(err.id, "key-file-insecure");
        assert_null(back);
    }
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(qr_keyring_load(&back, path, NULL), 0);
    qr_keyring_free(back);
    qr_keyring_free(k);
}

static void expect_invalid(const char *dir, const char *text)
{
    char path[4096];
    path_in(path, sizeof(path), dir, "bad.json");
    unlink(path);
    write_file(path, text, 0600);
    qr_keyring *k = NULL;
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_keyring_load(&k, path, &err) < 0);
    assert_null(k);
    assert_string_equal(err.id, "key-file-invalid");
}

static void test_load_refuses_garbage(void **state)
{
    const char *dir = *state;
    expect_invalid(dir, "not json at all");
    expect_invalid(dir, "{}");
    expect_invalid(dir, "{\"format\":\"quire-keys\",\"version\":2}");
    expect_invalid(dir, "{\"format\":\"quire-keys\",\"version\":1,\"kek_id\":\"k\","
                        "\"kek\":\"AAAA\",\"sign_public\":\"AAAA\",\"sign_secret\":\"AAAA\"}");

    /* A well-formed file whose public key belongs to another secret key. */
    char good[4096], text[2048];
    path_in(good, sizeof(good), dir, "good.json");
    qr_keyring *k = NULL;
    assert_int_equal(qr_keyring_generate(&k, "k1", NULL), 0);
    assert_int_equal(qr_keyring_save(k, good, NULL), 0);
    qr_keyring_free(k);
    json_t *o = json_load_file(good, 0, NULL);
    assert_non_null(o);
    assert_int_equal(
        json_object_set_new(o, "sign_public",
                            json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
        0);
    char *s = json_dumps(o, 0);
    assert_true(strlen(s) < sizeof(text));
    strcpy(text, s);
    free(s);
    json_decref(o);
    expect_invalid(dir, text);

    char missing[4096];
    path_in(missing, sizeof(missing), dir, "missing.json");
    qr_error err = QR_ERROR_INIT;
    assert_true(qr_keyring_load(&k, missing, &err) < 0);
    assert_string_equal(err.id, "source-not-found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_load_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_kek_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_garbage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
