/*
 * quire error reporting: one caller-owned struct, no global "last error".
 *
 * Every fallible function returns 0 or a negative QR_E* class code and takes
 * a nullable `qr_error *err`. The error is set once, at its origin, with a
 * stable string id (`qr_errid`) that users, Resque failure entries and
 * callbacks see. The id determines the class and whether a retry can help;
 * `docs/errors.md` documents every id and a unit test keeps the two in sync.
 */
#ifndef QR_ERROR_H
#define QR_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#if defined(__GNUC__)
#define QR_WUR __attribute__((warn_unused_result))
#define QR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define QR_WUR
#define QR_PRINTF(f, a)
#endif

/* Numeric classes the C code branches on. */
enum {
    QR_OK = 0,
    QR_EINVAL = -1,    /* bad argument or option */
    QR_ENOMEM = -2,    /* allocation failed */
    QR_EIO = -3,       /* local I/O failed */
    QR_EFORMAT = -4,   /* input is malformed, unsupported or protected */
    QR_ELIMIT = -5,    /* input exceeds a configured limit */
    QR_ENET = -6,      /* network failure */
    QR_ETIMEOUT = -7,  /* a deadline passed */
    QR_EAUTH = -8,     /* credentials refused */
    QR_ECRYPTO = -9,   /* cryptographic failure */
    QR_ECANCELED = -10 /* stopped on request */
};

/*
 * Stable error ids. The order is not part of the contract (the strings are);
 * add new ids at the end of their group and document them in docs/errors.md.
 */
typedef enum qr_errid {
    QR_ERR_NONE = 0,
    /* generic */
    QR_ERR_INVALID_ARGUMENT,
    QR_ERR_OUT_OF_MEMORY,
    QR_ERR_IO,
    QR_ERR_DISK_FULL,
    QR_ERR_SOURCE_NOT_FOUND,
    QR_ERR_INTERNAL,
    QR_ERR_CANCELED,
    QR_ERR_TIMEOUT,
    /* detection and container */
    QR_ERR_UNSUPPORTED_FORMAT,
    QR_ERR_CORRUPT_ARCHIVE,
    QR_ERR_CONTAINER_MISSING,
    QR_ERR_CONTAINER_INVALID,
    QR_ERR_OPF_MISSING,
    QR_ERR_OPF_INVALID,
    QR_ERR_SPINE_EMPTY,
    QR_ERR_DRM_PROTECTED,
    QR_ERR_UNSAFE_PATH,
    QR_ERR_ZIP_BOMB,
    QR_ERR_TOO_MANY_ENTRIES,
    QR_ERR_ENTRY_TOO_LARGE,
    QR_ERR_XML_LIMIT,
    QR_ERR_INPUT_TOO_LARGE,
    /* images */
    QR_ERR_IMAGE_DECODE,
    QR_ERR_IMAGE_ENCODE,
    QR_ERR_IMAGE_TOO_LARGE,
    /* output */
    QR_ERR_WRITE_FAILED,
    /* keys and packages */
    QR_ERR_KEY_FILE_INSECURE,
    QR_ERR_KEY_FILE_INVALID,
    QR_ERR_WRONG_KEY,
    QR_ERR_SLICE_TRUNCATED,
    QR_ERR_SLICE_INVALID,
    QR_ERR_SLICE_AUTH_FAILED,
    QR_ERR_SLICE_HASH_MISMATCH,
    QR_ERR_SLICE_MISSING,
    QR_ERR_MANIFEST_SIGNATURE_INVALID,
    QR_ERR_MANIFEST_INVALID,
    /* jobs */
    QR_ERR_JOB_UNKNOWN_CLASS,
    QR_ERR_JOB_PAYLOAD_INVALID,
    QR_ERR_REDIS_UNAVAILABLE,
    /* network, S3 and callbacks */
    QR_ERR_SOURCE_FORBIDDEN,
    QR_ERR_FETCH_FAILED,
    QR_ERR_TOO_MANY_REDIRECTS,
    QR_ERR_ACCESS_DENIED,
    QR_ERR_CREDENTIALS_MISSING,
    QR_ERR_REMOTE_ERROR,
    QR_ERR_CALLBACK_FAILED,
    /* PDF */
    QR_ERR_PDF_DAMAGED,
    QR_ERR_ALERT_FAILED,
    QR_ERR__COUNT
} qr_errid;

typedef struct qr_error {
    int code;          /* 0 ok, <0: a QR_E* class */
    const char *id;    /* stable id string: "drm-protected", "zip-bomb", ... */
    qr_errid errid;    /* the same id as an enum */
    int cause;         /* errno / libzip / libxml2 / vips code, or 0 */
    const char *stage; /* static string: "fetch", "epub", "image", ... */
    char msg[256];     /* what failed, no newline */
    char context[256]; /* which item: "OEBPS/img/c.jpg", a path, a job id */
} qr_error;

#define QR_ERROR_INIT                                                                              \
    {                                                                                              \
        .code = 0, .id = NULL, .errid = QR_ERR_NONE, .cause = 0, .stage = NULL, .msg = {0},        \
        .context = {                                                                               \
            0                                                                                      \
        }                                                                                          \
    }

/* Resets `err` to "no error". NULL-safe. */
void qr_error_clear(qr_error *err);

/*
 * Records an error with id `id` at stage `stage` (a static string) and
 * returns its negative class code, so callers can write
 * `return qr_error_set(err, QR_ERR_OPF_MISSING, "epub", "no rootfile in %s", p);`.
 * If `err` already holds an error it is left untouched (the first error, at
 * its origin, wins). `err` may be NULL: the code is still returned.
 */
int qr_error_set(qr_error *err, qr_errid id, const char *stage, const char *fmt, ...)
    QR_PRINTF(4, 5);
int qr_error_vset(qr_error *err, qr_errid id, const char *stage, const char *fmt, va_list ap)
    QR_PRINTF(4, 0);

/* As qr_error_set, also recording a third-party cause code (errno, ...). */
int qr_error_set_cause(qr_error *err, qr_errid id, int cause, const char *stage, const char *fmt,
                       ...) QR_PRINTF(5, 6);

/* Fills `context` if it is still empty (callers add "which item" on the way up). */
void qr_error_set_context(qr_error *err, const char *fmt, ...) QR_PRINTF(2, 3);

/* Static facts about an id. Unknown ids map to "internal". */
const char *qr_errid_str(qr_errid id);
int qr_errid_class(qr_errid id);
bool qr_errid_transient(qr_errid id);
const char *qr_errid_meaning(qr_errid id);
const char *qr_errid_action(qr_errid id);
/* Looks up an id by its string; QR_ERR_NONE if unknown. */
qr_errid qr_errid_from_str(const char *s);

/* True when retrying the same job later may succeed (I/O, network, timeouts). */
bool qr_error_is_transient(const qr_error *err);

/* Name of a class code ("EFORMAT", ...). */
const char *qr_code_str(int code);

/* Maps an error to a documented process exit status (see docs/cli.md). */
int qr_error_exit_status(const qr_error *err);

#endif
