/*
 * SHA-256 over bulk data (FIPS 180-4), on the fastest code the processor has.
 *
 * On x86-64 processors with the SHA extensions (SHA-NI: Intel since Ice
 * Lake and Goldmont, AMD since Zen) the compression function is here and
 * runs on them, two rounds an instruction. Elsewhere libcrypto's SHA-256
 * functions run it (AVX2, or the ARMv8 SHA instructions), and where
 * libcrypto cannot be had, libsodium's portable C. The processor is probed
 * once (cpuid).
 *
 * The `quire` binary loads libcrypto only on that second path
 * (src/dlmod/crypto.c): mapping it cost every process 3-5 ms of CPU at
 * start, a sixth of a small PDF's whole run. libcrypto is used through
 * SHA256_Init/Update/Final, not EVP, whose first call starts OpenSSL 3's
 * provider machinery (3.5 ms more). docs/internals/crypt.md has the numbers.
 * The state lives in the caller's qr_sha256_ctx: hashing allocates nothing
 * and cannot fail.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "crypt/crypt_internal.h"
#include "qr/crypt.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(QR_SHA256_PORTABLE)
#include <cpuid.h>
#include <immintrin.h>
#define QR_SHA_NI 1
#endif

/* This file's own state, for the SHA extensions. */
typedef struct sha256 {
    uint32_t h[8];
    uint64_t bytes; /* hashed so far */
    unsigned char buf[64];
    size_t fill; /* bytes waiting in buf */
} sha256;

/* Which code runs a context: chosen at init, kept to final. */
enum { USE_NI = 1, USE_LIBCRYPTO, USE_SODIUM };

typedef struct ctx {
    int use;
    union {
        sha256 own;
        SHA256_CTX lc;
        crypto_hash_sha256_state na;
    } u;
} ctx;

_Static_assert(sizeof(ctx) <= sizeof(((qr_sha256_ctx *)0)->state),
               "qr_sha256_ctx.state must hold any of the three states");
_Static_assert(SHA256_DIGEST_LENGTH == QR_SHA256_BYTES, "SHA-256 is 32 bytes");

#ifdef QR_SHA_NI
/* The round constants. */
_Alignas(16) static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/*
 * `n` 64-byte blocks into h on the SHA extensions. The state is kept as
 * ABEF and CDGH, the order sha256rnds2 works in; each group of four rounds
 * adds the round constants to four message words, runs two rounds on the
 * low pair and two on the high pair, and extends the message schedule
 * (sha256msg1, then sha256msg2 with the words seven back) for the rounds
 * twelve ahead.
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_ni(uint32_t h[8],
                                                                  const unsigned char *p, size_t n)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)(const void *)&h[0]); /* DCBA */
    __m128i st1 = _mm_loadu_si128((const __m128i *)(const void *)&h[4]); /* HGFE */
    tmp = _mm_shuffle_epi32(tmp, 0xB1);                                  /* CDAB */
    st1 = _mm_shuffle_epi32(st1, 0x1B);                                  /* EFGH */
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);                          /* ABEF */
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);                               /* CDGH */

    for (; n > 0; n--, p += 64) {
        __m128i abef = st0, cdgh = st1;
        __m128i m[4];
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++) {
            __m128i *cur = &m[g & 3], *prev = &m[(g + 3) & 3], *next = &m[(g + 1) & 3];
            if (g < 4)
                *cur = _mm_shuffle_epi8(
                    _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * g)), bswap);
            __m128i msg =
                _mm_add_epi32(*cur, _mm_loadu_si128((const __m128i *)(const void *)&K[4 * g]));
            st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
            if (g >= 3 && g <= 14) {
                *next = _mm_add_epi32(*next, _mm_alignr_epi8(*cur, *prev, 4));
                *next = _mm_sha256msg2_epu32(*next, *cur);
            }
            msg = _mm_shuffle_epi32(msg, 0x0E);
            st0 = _mm_sha256rnds2_epu32(st0, st1, msg);
            if (g >= 1 && g <= 12)
                *prev = _mm_sha256msg1_epu32(*prev, *cur);
        }
        st0 = _mm_add_epi32(st0, abef);
        st1 = _mm_add_epi32(st1, cdgh);
    }

    tmp = _mm_shuffle_epi32(st0, 0x1B);    /* FEBA */
    st1 = _mm_shuffle_epi32(st1, 0xB1);    /* DCHG */
    st0 = _mm_blend_epi16(tmp, st1, 0xF0); /* DCBA */
    st1 = _mm_alignr_epi8(st1, tmp, 8);    /* HGFE */
    _mm_storeu_si128((__m128i *)(void *)&h[0], st0);
    _mm_storeu_si128((__m128i *)(void *)&h[4], st1);
}

/* SHA (leaf 7, EBX bit 29), SSSE3 and SSE4.1 (leaf 1, ECX bits 9 and 19). */
static bool cpu_has_sha(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
        return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    return (b & (1u << 29)) != 0;
}
#endif

/* 0: not probed yet; else USE_NI or USE_LIBCRYPTO. A test may force one (qr_crypt__sha256_use). */
static int chosen;

static int choice(void)
{
    int c = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (c)
        return c;
    c = USE_LIBCRYPTO;
#ifdef QR_SHA_NI
    if (cpu_has_sha())
        c = USE_NI;
#endif
    __atomic_store_n(&chosen, c, __ATOMIC_RELAXED); /* the same value whichever thread sets it */
    return c;
}

void qr_crypt__sha256_use(int which)
{
    __atomic_store_n(&chosen, which, __ATOMIC_RELAXED);
}

bool qr_sha256_needs_libcrypto(void)
{
    return choice() == USE_LIBCRYPTO;
}

static ctx *st(qr_sha256_ctx *s)
{
    return (ctx *)(void *)s->state;
}

void qr_sha256_init(qr_sha256_ctx *s)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    ctx *c = st(s);
    memset(c, 0, sizeof(*c));
    c->use = choice();
#ifdef QR_SHA_NI
    if (c->use == USE_NI) {
        memcpy(c->u.own.h, iv, sizeof(iv));
        return;
    }
#else
    (void)iv;
#endif
    /* SHA256_Init fails only when the binary cannot load libcrypto. */
    if (c->use == USE_LIBCRYPTO && SHA256_Init(&c->u.lc) == 1)
        return;
    c->use = USE_SODIUM;
    crypto_hash_sha256_init(&c->u.na);
}

#ifdef QR_SHA_NI
static void own_update(sha256 *c, const unsigned char *p, size_t len)
{
    c->bytes += len;
    if (c->fill) {
        size_t take = 64 - c->fill < len ? 64 - c->fill : len;
        memcpy(c->buf + c->fill, p, take);
        c->fill += take;
        p += take;
        len -= take;
        if (c->fill < 64)
            return;
        blocks_ni(c->h, c->buf, 1);
        c->fill = 0;
    }
    if (len >= 64) {
        blocks_ni(c->h, p, len / 64);
        p += len & ~(size_t)63;
        len &= 63;
    }
    memcpy(c->buf, p, len);
    c->fill = len;
}

static void own_final(sha256 *c, uint8_t out[QR_SHA256_BYTES])
{
    uint64_t bits = c->bytes * 8;
    /* 0x80, zeros up to 56 mod 64, then the length in bits, big-endian. */
    c->buf[c->fill++] = 0x80;
    if (c->fill > 56) {
        memset(c->buf + c->fill, 0, 64 - c->fill);
        blocks_ni(c->h, c->buf, 1);
        c->fill = 0;
    }
    memset(c->buf + c->fill, 0, 56 - c->fill);
    for (int i = 0; i < 8; i++)
        c->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    blocks_ni(c->h, c->buf, 1);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}
#endif

void qr_sha256_update(qr_sha256_ctx *s, const void *data, size_t len)
{
    ctx *c = st(s);
    if (!len)
        return;
    switch (c->use) {
#ifdef QR_SHA_NI
    case USE_NI:
        own_update(&c->u.own, data, len);
        break;
#endif
    case USE_LIBCRYPTO:
        SHA256_Update(&c->u.lc, data, len);
        break;
    default:
        crypto_hash_sha256_update(&c->u.na, data, len);
        break;
    }
}

void qr_sha256_copy(qr_sha256_ctx *dst, const qr_sha256_ctx *src)
{
    memcpy(dst, src, sizeof(*dst));
}

void qr_sha256_final(qr_sha256_ctx *s, uint8_t out[QR_SHA256_BYTES])
{
    ctx *c = st(s);
    switch (c->use) {
#ifdef QR_SHA_NI
    case USE_NI:
        own_final(&c->u.own, out);
        break;
#endif
    case USE_LIBCRYPTO:
        SHA256_Final(out, &c->u.lc);
        break;
    default:
        crypto_hash_sha256_final(&c->u.na, out);
        break;
    }
    sodium_memzero(s->state, sizeof(s->state));
}

/* Not libcrypto's SHA256(): in OpenSSL 3 that one goes through EVP. */
void qr_sha256(uint8_t out[QR_SHA256_BYTES], const void *data, size_t len)
{
    qr_sha256_ctx s;
    qr_sha256_init(&s);
    if (data)
        qr_sha256_update(&s, data, len);
    qr_sha256_final(&s, out);
}

void qr_sha256_to_hex(char out[65], const uint8_t h[QR_SHA256_BYTES])
{
    sodium_bin2hex(out, 65, h, QR_SHA256_BYTES);
}

const char *qr_sha256_implementation(void)
{
    return choice() == USE_NI ? "SHA-NI" : "libcrypto";
}

const char *qr_sha256_library_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION_STRING);
}
