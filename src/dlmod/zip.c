/*
 * libzip for the `quire` binary, loaded on first use instead of linked
 * (qr/dlib.h, docs/internals/dlmod.md): only EPUBs, their slices and the
 * sample book are ZIPs. The file is the one the build linked against
 * (QR_LIBZIP_SONAME: libzip.so.4 on bookworm, libzip.so.5 on trixie);
 * $QUIRE_LIBZIP names another. The definitions are hidden: the libvips
 * module's own libraries must reach their libzip, not these.
 */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dlmod/dlmod.h"
#include "qr/dlib.h"
#include "qr/epub.h"
#include "qr/error.h"

#ifndef QR_LIBZIP_SONAME
#error "QR_LIBZIP_SONAME (the libzip file the build linked) is set by CMakeLists.txt"
#endif

#pragma GCC visibility push(hidden)
/* zip.h marks its declarations visible unless ZIP_EXTERN is set. */
#define ZIP_EXTERN
#include <zip.h>

#if LIBZIP_VERSION_MAJOR > 1 || (LIBZIP_VERSION_MAJOR == 1 && LIBZIP_VERSION_MINOR >= 10)
#define ZIP_SOURCE_ZIP(F, V)                                                                       \
    F(zip_source_t *, zip_source_zip_file,                                                         \
      (zip_t * a, zip_t * b, zip_uint64_t c, zip_flags_t d, zip_uint64_t e, zip_int64_t f,         \
       const char *g),                                                                             \
      (a, b, c, d, e, f, g), NULL)
#else
#define ZIP_SOURCE_ZIP(F, V)                                                                       \
    F(zip_source_t *, zip_source_zip,                                                              \
      (zip_t * a, zip_t * b, zip_uint64_t c, zip_flags_t d, zip_uint64_t e, zip_int64_t f),        \
      (a, b, c, d, e, f), NULL)
#endif

/* What quire calls, and what each returns when libzip cannot be loaded: libzip's own failures. */
#define ZIP_FUNCTIONS(F, V)                                                                        \
    F(int, zip_close, (zip_t * a), (a), -1)                                                        \
    V(zip_discard, (zip_t * a), (a))                                                               \
    F(int, zip_error_code_zip, (const zip_error_t *a), (a), ZIP_ER_INTERNAL)                       \
    V(zip_error_fini, (zip_error_t * a), (a))                                                      \
    V(zip_error_init, (zip_error_t * a), (a))                                                      \
    V(zip_error_init_with_code, (zip_error_t * a, int b), (a, b))                                  \
    F(const char *, zip_error_strerror, (zip_error_t * a), (a), "libzip is not loaded")            \
    F(int, zip_fclose, (zip_file_t * a), (a), -1)                                                  \
    F(zip_int64_t, zip_file_add, (zip_t * a, const char *b, zip_source_t *c, zip_flags_t d),       \
      (a, b, c, d), -1)                                                                            \
    F(zip_int16_t, zip_file_extra_fields_count, (zip_t * a, zip_uint64_t b, zip_flags_t c),        \
      (a, b, c), -1)                                                                               \
    F(zip_error_t *, zip_file_get_error, (zip_file_t * a), (a), NULL)                              \
    F(int, zip_file_set_external_attributes,                                                       \
      (zip_t * a, zip_uint64_t b, zip_flags_t c, zip_uint8_t d, zip_uint32_t e), (a, b, c, d, e),  \
      -1)                                                                                          \
    F(int, zip_file_set_mtime, (zip_t * a, zip_uint64_t b, time_t c, zip_flags_t d), (a, b, c, d), \
      -1)                                                                                          \
    F(zip_file_t *, zip_fopen_index, (zip_t * a, zip_uint64_t b, zip_flags_t c), (a, b, c), NULL)  \
    F(zip_int64_t, zip_fread, (zip_file_t * a, void *b, zip_uint64_t c), (a, b, c), -1)            \
    F(zip_error_t *, zip_get_error, (zip_t * a), (a), NULL)                                        \
    F(const char *, zip_get_name, (zip_t * a, zip_uint64_t b, zip_flags_t c), (a, b, c), NULL)     \
    F(zip_int64_t, zip_get_num_entries, (zip_t * a, zip_flags_t b), (a, b), -1)                    \
    F(const char *, zip_libzip_version, (void), (), "unavailable")                                 \
    F(zip_t *, zip_open, (const char *a, int b, int *c), (a, b, c), open_failed(c))                \
    F(zip_t *, zip_open_from_source, (zip_source_t * a, int b, zip_error_t *c), (a, b, c), NULL)   \
    F(int, zip_set_file_compression, (zip_t * a, zip_uint64_t b, zip_int32_t c, zip_uint32_t d),   \
      (a, b, c, d), -1)                                                                            \
    F(zip_source_t *, zip_source_buffer, (zip_t * a, const void *b, zip_uint64_t c, int d),        \
      (a, b, c, d), NULL)                                                                          \
    F(zip_source_t *, zip_source_buffer_create,                                                    \
      (const void *a, zip_uint64_t b, int c, zip_error_t *d), (a, b, c, d), NULL)                  \
    F(int, zip_source_close, (zip_source_t * a), (a), -1)                                          \
    F(zip_error_t *, zip_source_error, (zip_source_t * a), (a), NULL)                              \
    F(zip_source_t *, zip_source_file, (zip_t * a, const char *b, zip_uint64_t c, zip_int64_t d),  \
      (a, b, c, d), NULL)                                                                          \
    V(zip_source_free, (zip_source_t * a), (a))                                                    \
    V(zip_source_keep, (zip_source_t * a), (a))                                                    \
    F(int, zip_source_open, (zip_source_t * a), (a), -1)                                           \
    F(zip_int64_t, zip_source_read, (zip_source_t * a, void *b, zip_uint64_t c), (a, b, c), -1)    \
    F(int, zip_source_stat, (zip_source_t * a, zip_stat_t * b), (a, b), -1)                        \
    ZIP_SOURCE_ZIP(F, V)                                                                           \
    F(int, zip_stat, (zip_t * a, const char *b, zip_flags_t c, zip_stat_t *d), (a, b, c, d), -1)   \
    F(int, zip_stat_index, (zip_t * a, zip_uint64_t b, zip_flags_t c, zip_stat_t * d),             \
      (a, b, c, d), -1)                                                                            \
    V(zip_stat_init, (zip_stat_t * a), (a))                                                        \
    F(const char *, zip_strerror, (zip_t * a), (a), "libzip is not loaded")

enum { ZIP_FUNCTIONS(QR_DL_ENUM_F, QR_DL_ENUM_V) FN_COUNT };
static const char *const names[] = {ZIP_FUNCTIONS(QR_DL_NAME_F, QR_DL_NAME_V) NULL};
static qr_dlib_fn fns[FN_COUNT];
static qr_dlib lib = QR_DLIB_INIT(QR_LIBZIP_SONAME, "QUIRE_LIBZIP", names, fns, NULL);

static bool ready(void)
{
    return qr_dlib_load(&lib, "epub");
}

/* zip_open's failure: *errorp, as libzip sets it when it cannot allocate. */
static zip_t *open_failed(int *errorp)
{
    if (errorp)
        *errorp = ZIP_ER_MEMORY;
    return NULL;
}

ZIP_FUNCTIONS(QR_DL_DEF_F, QR_DL_DEF_V)
#pragma GCC visibility pop

int qr_epub_zip_ready(qr_error *err)
{
    return qr_dlib_ready(&lib, "epub", err);
}
