/*
 * The service key file: a key-encryption key (KEK) with its key id and an
 * Ed25519 signing key pair. Layout in docs/format.md "Keys".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, mkostemp */
#endif
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypt_internal.h"

#define KEYFILE_FORMAT "quire-keys"
#define KEYFILE_VERSION 1
/* A key file is about 300 bytes; anything far larger is not one. */
#define KEYFILE_MAX 4096
#define KEK_ID_MAX 64

typedef struct keyring_secret {
    uint8_t kek[QR_CRYPT__KEY_BYTES];
    uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
} keyring_secret;

struct qr_keyring {
    char kek_id[KEK_ID_MAX + 1];
    uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES];
    keyring_secret *sec; /* sodium_malloc'd, read-only once filled */
};

const uint8_t *qr_crypt__keyring_kek(const qr_keyring *k)
{
    return k->sec->kek;
}

const uint8_t *qr_crypt__keyring_sign_secret(const qr_keyring *k)
{
    return k->sec->sign_sk;
}

const char *qr_keyring_kek_id(const qr_keyring *k)
{
    return k ? k->kek_id : NULL;
}

const uint8_t *qr_keyring_public_key(const qr_keyring *k)
{
    return k ? k->sign_pk : NULL;
}

void qr_keyring_free(qr_keyring *k)
{
    if (!k)
        return;
    sodium_free(k->sec); /* unprotects, wipes and unmaps */
    free(k);
}

/* Key ids: 1-64 characters of [A-Za-z0-9._:-], safe in logs, JSON and file names. */
static bool kek_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > KEK_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static int keyring_alloc(qr_keyring **out, const char *kek_id, qr_error *err)
{
    *out = NULL;
    if (kek_id && !kek_id_valid(kek_id))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt",
                            "key id must be 1-%d characters of A-Z a-z 0-9 . _ : -", KEK_ID_MAX);
    qr_keyring *k = calloc(1, sizeof(*k));
    if (!k)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt", "cannot allocate a keyring");
    k->sec = sodium_malloc(sizeof(*k->sec));
    if (!k->sec) {
        free(k);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt",
                            "cannot allocate guarded memory for keys");
    }
    if (kek_id) {
        memcpy(k->kek_id, kek_id, strlen(kek_id) + 1);
    } else {
        uint8_t r[8];
        randombytes_buf(r, sizeof(r));
        memcpy(k->kek_id, "kek-", 4);
        sodium_bin2hex(k->kek_id + 4, sizeof(k->kek_id) - 4, r, sizeof(r));
    }
    *out = k;
    return 0;
}

int qr_keyring_generate(qr_keyring **out, const char *kek_id, qr_error *err)
{
    qr_keyring *k = NULL;
    *out = NULL;
    int rc = keyring_alloc(&k, kek_id, err);
    if (rc < 0)
        return rc;
    crypto_aead_xchacha20poly1305_ietf_keygen(k->sec->kek);
    crypto_sign_keypair(k->sign_pk, k->sec->sign_sk);
    sodium_mprotect_readonly(k->sec);
    *out = k;
    return 0;
}

int qr_keyring_from_seed(qr_keyring **out, const char *kek_id, const uint8_t kek[32],
                         const uint8_t sign_seed[32], qr_error *err)
{
    *out = NULL;
    if (!kek_id || !kek || !sign_seed)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "key id, KEK and seed needed");
    qr_keyring *k = NULL;
    int rc = keyring_alloc(&k, kek_id, err);
    if (rc < 0)
        return rc;
    memcpy(k->sec->kek, kek, QR_CRYPT__KEY_BYTES);
    crypto_sign_seed_keypair(k->sign_pk, k->sec->sign_sk, sign_seed);
    sodium_mprotect_readonly(k->sec);
    *out = k;
    return 0;
}

/*
 * Overwrites a jansson string's bytes in place before it is freed (it held a
 * secret). jansson hands out const pointers to its own malloc'd copy, so
 * writing through them is defined; the cast goes through uintptr_t because
 * there is no non-const accessor.
 */
static void wipe_json_string(json_t *s)
{
    if (json_is_string(s))
        sodium_memzero((char *)(uintptr_t)json_string_value(s), json_string_length(s));
}

static void wipe_secret_fields(json_t *o)
{
    wipe_json_string(json_object_get(o, "kek"));
    wipe_json_string(json_object_get(o, "sign_secret"));
}

/*
 * Writes `data` to a private temporary file next to `path`, then link()s it
 * into place: link fails with EEXIST instead of replacing, so an existing key
 * file is never overwritten and readers never see a partial one.
 */
static int write_new_private(const char *path, const char *data, size_t len, qr_error *err)
{
    int rc = 0;
    int fd = -1;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
        tmp = NULL;
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt", "cannot build a temporary name");
    }
    fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "crypt", "cannot create %s: %s", tmp,
                                strerror(e));
        free(tmp);
        return rc;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "crypt", "cannot write %s: %s",
                                    tmp, strerror(e));
            goto out;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "crypt", "cannot sync %s: %s", tmp,
                                strerror(e));
        goto out;
    }
    int c = close(fd);
    fd = -1;
    if (c != 0) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "crypt", "cannot close %s: %s", tmp,
                                strerror(e));
        goto out;
    }
    if (link(tmp, path) != 0) {
        int e = errno;
        if (e == EEXIST)
            rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "crypt",
                                    "%s already exists; quire never overwrites a key file", path);
        else
            rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "crypt", "cannot create %s: %s",
                                    path, strerror(e));
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return rc;
}

int qr_keyring_save(const qr_keyring *k, const char *path, qr_error *err)
{
    int rc = 0;
    json_t *o = NULL;
    char *text = NULL;
    if (!k || !path || !*path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "keyring and path needed");
    o = json_object();
    if (!o || json_object_set_new(o, "format", json_string(KEYFILE_FORMAT)) != 0 ||
        json_object_set_new(o, "version", json_integer(KEYFILE_VERSION)) != 0 ||
        json_object_set_new(o, "kek_id", json_string(k->kek_id)) != 0 ||
        json_object_set_new(o, "kek", qr_crypt__b64_json(k->sec->kek, QR_CRYPT__KEY_BYTES)) != 0 ||
        json_object_set_new(o, "sign_public", qr_crypt__b64_json(k->sign_pk, sizeof(k->sign_pk))) !=
            0 ||
        json_object_set_new(o, "sign_secret",
                            qr_crypt__b64_json(k->sec->sign_sk, sizeof(k->sec->sign_sk))) != 0) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt", "cannot build the key file");
        goto out;
    }
    text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt", "cannot serialise the key file");
        goto out;
    }
    size_t n = strlen(text);
    {
        /* json_dumps leaves no trailing newline; a key file is a text file. */
        char *nl = realloc(text, n + 2);
        if (!nl) {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt", "cannot serialise the key file");
            goto out;
        }
        text = nl;
        text[n] = '\n';
        text[n + 1] = '\0';
    }
    rc = write_new_private(path, text, n + 1, err);
out:
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    if (o) {
        wipe_secret_fields(o);
        json_decref(o);
    }
    return rc;
}

static int read_key_file(char **out, size_t *out_len, const char *path, qr_error *err)
{
    int rc = 0;
    char *buf = NULL;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return qr_error_set_cause(err, e == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, e,
                                  "crypt", "cannot open key file %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_IO, e, "crypt", "cannot stat key file %s: %s", path,
                                strerror(e));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = qr_error_set(err, QR_ERR_KEY_FILE_INVALID, "crypt", "%s is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        rc = qr_error_set(err, QR_ERR_KEY_FILE_INSECURE, "crypt",
                          "key file %s has mode %04o; group and others must have no access "
                          "(chmod 600)",
                          path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size <= 0 || st.st_size > KEYFILE_MAX) {
        rc = qr_error_set(err, QR_ERR_KEY_FILE_INVALID, "crypt",
                          "key file %s is %lld bytes; a key file is under %d bytes", path,
                          (long long)st.st_size, KEYFILE_MAX);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = sodium_malloc(size + 1);
    if (!buf) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "crypt", "cannot allocate guarded memory");
        goto out;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            rc = qr_error_set_cause(err, QR_ERR_IO, e, "crypt", "cannot read key file %s: %s", path,
                                    strerror(e));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    *out_len = got;
    buf = NULL;
out:
    sodium_free(buf);
    close(fd);
    return rc;
}

int qr_keyring_parse(qr_keyring **out, const char *text, size_t text_len, const char *what,
                     qr_error *err)
{
    int rc = 0;
    json_t *o = NULL;
    qr_keyring *k = NULL;
    *out = NULL;
    /* No json_error_t text in messages: jansson quotes the input, and the input is secret. */
    o = json_loadb(text, text_len, JSON_REJECT_DUPLICATES, NULL);
    const char *fmt = json_string_value(json_object_get(o, "format"));
    json_t *ver = json_object_get(o, "version");
    const char *kek_id = json_string_value(json_object_get(o, "kek_id"));
    if (!json_is_object(o) || !fmt || strcmp(fmt, KEYFILE_FORMAT) != 0 || !json_is_integer(ver)) {
        rc = qr_error_set(err, QR_ERR_KEY_FILE_INVALID, "crypt",
                          "%s is not a quire key file (JSON with \"format\": \"%s\")", what,
                          KEYFILE_FORMAT);
        goto out;
    }
    if (json_integer_value(ver) != KEYFILE_VERSION) {
        rc = qr_error_set(err, QR_ERR_KEY_FILE_INVALID, "crypt",
                          "%s has key file version %lld; this quire reads version %d", what,
                          (long long)json_integer_value(ver), KEYFILE_VERSION);
        goto out;
    }
    if (!kek_id_valid(kek_id)) {
        rc = qr_error_set(err, QR_ERR_KEY_FILE_INVALID, "crypt", "%s: bad or missing kek_id", what);
        goto out;
    }
    rc = keyring_alloc(&k, kek_id, err);
    if (rc < 0)
        goto out;
    if (qr_crypt__b64_decode_exact(k->sec->kek, QR_CRYPT__KEY_BYTES,
                                   json_string_value(json_object_get(o, "kek"))) != 0 ||
        qr_crypt__b64_decode_exact(k->sign_pk, sizeof(k->sign_pk),
                                   json_string_value(json_object_get(o, "sign_public"))) != 0 ||
        qr_crypt__b64_decode_exact(k->sec->sign_sk, sizeof(k->sec->sign_sk),
                                   json_string_value(json_object_get(o, "sign_secret"))) != 0) {
        rc = qr_error_set(err, QR_ERR_KEY_FILE_INVALID, "crypt",
                          "%s: kek, sign_public and sign_secret must be base64 of 32, 32 and 64 "
                          "bytes",
                          what);
        goto out;
    }
    /* A signature made with the secret key must verify under the public key. */
    static const uint8_t probe[] = "quire key file self-test";
    uint8_t sig[crypto_sign_BYTES];
    if (crypto_sign_detached(sig, NULL, probe, sizeof(probe), k->sec->sign_sk) != 0 ||
        crypto_sign_verify_detached(sig, probe, sizeof(probe), k->sign_pk) != 0) {
        rc = qr_error_set(err, QR_ERR_KEY_FILE_INVALID, "crypt",
                          "%s: sign_public does not belong to sign_secret", what);
        goto out;
    }
    sodium_mprotect_readonly(k->sec);
    *out = k;
    k = NULL;
out:
    qr_keyring_free(k);
    if (o) {
        wipe_secret_fields(o);
        json_decref(o);
    }
    return rc;
}

int qr_keyring_load(qr_keyring **out, const char *path, qr_error *err)
{
    char *text = NULL;
    size_t text_len = 0;
    *out = NULL;
    if (!path || !*path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "crypt", "no key file given");
    int rc = read_key_file(&text, &text_len, path, err);
    if (rc < 0)
        return rc;
    rc = qr_keyring_parse(out, text, text_len, path, err);
    sodium_free(text);
    return rc;
}
