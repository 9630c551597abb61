/* Internals of `quire serve` (src/serve/): the request state and the helpers the routes share. */
#ifndef QR_SERVE_INT_H
#define QR_SERVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "qr/serve.h"

#define QR_SERVE_STAGE "serve"
#define QR_SERVE_RATE_SLOTS 128

typedef struct qr_serve__bucket {
    unsigned char addr[16]; /* IPv4 in the first 4 bytes, or IPv6 */
    double tokens;
    double last; /* monotonic seconds */
    bool used;
} qr_serve__bucket;

struct qr_serve {
    struct MHD_Daemon *daemon;
    qr_serve_opts o;
    qr_serve__bucket rate[QR_SERVE_RATE_SLOTS];
    bool ui_auth;  /* the dashboard needs credentials (bound beyond loopback) */
    char csrf[65]; /* the dashboard's form token: random, per process */
};

enum { QR_SERVE_BODY_NONE = 0, QR_SERVE_BODY_JSON, QR_SERVE_BODY_UPLOAD };
enum { QR_SERVE_AUTH_NONE = 0, QR_SERVE_AUTH_OPEN, QR_SERVE_AUTH_TOKEN, QR_SERVE_AUTH_HMAC };

/* One request, from its URI to its completion. */
typedef struct qr_serve__req {
    char *uri;     /* the request target as sent (path and query) */
    bool started;  /* the handler has seen the request line and headers */
    bool answered; /* a response is queued */
    int body;      /* QR_SERVE_BODY_* */
    int auth;      /* QR_SERVE_AUTH_* */
    /* A failure found while the body streams in: answered once it has been read. */
    unsigned fail_status;
    qr_errid fail_id;
    char fail_msg[256];
    uint64_t discarded;
    /* JSON body */
    char *buf;
    size_t len;
    /* upload */
    int fd;
    char *tmp_path;
    const char *ext; /* "epub" or "pdf" */
    uint64_t total;
    crypto_hash_sha256_state sha;
    /* HMAC: the state over "<t>.<METHOD> <uri>\n" and the body; the expected MAC. */
    crypto_auth_hmacsha256_state hmac;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
} qr_serve__req;

/* Sends `body` (taken) as JSON with `status`; extra header pairs (name, value, ..., NULL). */
enum MHD_Result qr_serve__json(struct MHD_Connection *c, unsigned status, json_t *body, ...);
/* {"error":{"id","message"}} with `status`. */
enum MHD_Result qr_serve__error(struct MHD_Connection *c, unsigned status, qr_errid id,
                                const char *fmt, ...) QR_PRINTF(4, 5);
/* The HTTP status for a library error (redis-unavailable: 503, ...). */
unsigned qr_serve__status_for(qr_errid id);

/* Routes (routes.c): each answers one complete request. */
enum MHD_Result qr_serve__post_book(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q);
enum MHD_Result qr_serve__get_job(qr_serve *s, struct MHD_Connection *c, const char *id,
                                  bool by_book);
enum MHD_Result qr_serve__delete_job(qr_serve *s, struct MHD_Connection *c, const char *id);
/* First-call checks of POST /v1/books: content type, query, declared length; opens the spool. */
enum MHD_Result qr_serve__post_begin(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q,
                                     bool *answered);

/* The dashboard (ui.c): one complete request under /ui. */
enum MHD_Result qr_serve__ui(qr_serve *s, struct MHD_Connection *c, qr_serve__req *q,
                             const char *method, const char *path);

/* Whether `id` is 1..128 bytes of [A-Za-z0-9._:-] (a job id or an idempotency key). */
bool qr_serve__token_ok(const char *id, size_t max);

#endif
