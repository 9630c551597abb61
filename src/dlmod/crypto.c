/*
 * libcrypto for the `quire` binary, loaded on first use instead of linked
 * (qr/dlib.h, docs/internals/dlmod.md): SHA-256 runs on the processor's SHA
 * extensions where it has them (src/crypt/sha256.c), and only elsewhere
 * through libcrypto's SHA-256 functions, which use AVX2 or the ARMv8 SHA
 * instructions. Mapping libcrypto cost every process 3-5 ms of CPU at
 * start. The file is the one the build linked against (QR_LIBCRYPTO_SONAME,
 * libcrypto.so.3); $QUIRE_LIBCRYPTO names another. When it cannot be
 * loaded, SHA256_Init fails and sha256.c hashes with libsodium instead. The
 * definitions are hidden: the libvips module's own libraries must reach
 * their libcrypto, not these.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <stdbool.h>
#include <stddef.h>

#include "dlmod/dlmod.h"
#include "qr/crypt.h"
#include "qr/dlib.h"

#ifndef QR_LIBCRYPTO_SONAME
#error "QR_LIBCRYPTO_SONAME (the libcrypto file the build linked) is set by CMakeLists.txt"
#endif

#pragma GCC visibility push(hidden)
#include <openssl/crypto.h>
#include <openssl/sha.h>

/* What quire calls, and what each returns when libcrypto cannot be loaded: its own failures. */
#define CRYPTO_FUNCTIONS(F, V)                                                                     \
    F(const char *, OpenSSL_version, (int a), (a), "unavailable")                                  \
    F(int, SHA256_Final, (unsigned char *a, SHA256_CTX *b), (a, b), 0)                             \
    F(int, SHA256_Init, (SHA256_CTX * a), (a), 0)                                                  \
    F(int, SHA256_Update, (SHA256_CTX * a, const void *b, size_t c), (a, b, c), 0)

enum { CRYPTO_FUNCTIONS(QR_DL_ENUM_F, QR_DL_ENUM_V) FN_COUNT };
static const char *const names[] = {CRYPTO_FUNCTIONS(QR_DL_NAME_F, QR_DL_NAME_V) NULL};
static qr_dlib_fn fns[FN_COUNT];
static qr_dlib lib = QR_DLIB_INIT(QR_LIBCRYPTO_SONAME, "QUIRE_LIBCRYPTO", names, fns, NULL);

static bool ready(void)
{
    return qr_dlib_load(&lib, "crypt");
}

CRYPTO_FUNCTIONS(QR_DL_DEF_F, QR_DL_DEF_V)
#pragma GCC visibility pop

int qr_sha256_ready(qr_error *err)
{
    if (!qr_sha256_needs_libcrypto())
        return 0;
    return qr_dlib_ready(&lib, "crypt", err);
}
