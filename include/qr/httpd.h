/*
 * A small HTTP server for quire's own endpoints (libmicrohttpd, one
 * internal polling thread): the worker's /healthz and /metrics today, and
 * any handler a command mounts. The server parses requests and writes
 * responses; a handler turns one request into one response and never sees
 * libmicrohttpd. Only API present in both libmicrohttpd 0.9.75 (bookworm)
 * and 1.0 (trixie) is used. docs/internals/httpd.md explains it.
 */
#ifndef QR_HTTPD_H
#define QR_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "qr/error.h"

typedef struct qr_httpd qr_httpd;

typedef struct qr_httpd_request {
    const char *method; /* "GET", "HEAD", ... */
    const char *path;   /* the URL path, query string excluded */
} qr_httpd_request;

typedef struct qr_httpd_response {
    unsigned status;          /* 200 when the handler leaves it 0 */
    const char *content_type; /* NULL: "text/plain; charset=utf-8" */
    char *body;               /* malloc'd, taken by the server; NULL: empty */
} qr_httpd_response;

/*
 * Answers one request on the server's thread by filling `resp`. A handler
 * must be thread-safe with respect to whatever else touches `ud`.
 */
typedef void (*qr_httpd_handler)(void *ud, const qr_httpd_request *req, qr_httpd_response *resp);

/*
 * Parses "IPV4:PORT" (port 1-65535) into *sa. Errors: invalid-argument
 * (named with `stage`, a static string).
 */
struct sockaddr_in;
int qr_httpd_parse_listen(struct sockaddr_in *sa, const char *listen, const char *stage,
                          qr_error *err) QR_WUR;

/*
 * Starts serving on `listen` ("A.B.C.D:PORT", IPv4 only; only that address
 * is bound), every request going to `fn` with `ud` (borrowed: it must
 * outlive the server). Errors: invalid-argument (bad address), io (cannot
 * bind), out-of-memory.
 */
int qr_httpd_start(qr_httpd **out, const char *listen, qr_httpd_handler fn, void *ud,
                   qr_error *err) QR_WUR;

/* Stops the server (joins its thread: no handler runs afterwards) and frees it. NULL-safe. */
void qr_httpd_stop(qr_httpd *h);

/* Sets `resp` to `status` with a copy of `text` as a text/plain body. */
void qr_httpd_text(qr_httpd_response *resp, unsigned status, const char *text);

/* The version of the libmicrohttpd loaded at run time ("0.9.75"). */
const char *qr_httpd_library_version(void);

#endif
