/*
 * qr_httpd (qr/httpd.h): libmicrohttpd with one internal polling thread,
 * an IPv4 listen address parsed here, and one handler per server. Requests
 * carry no body yet: the endpoints served so far are GET and HEAD.
 */
#include "qr/httpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define STAGE "httpd"

struct qr_httpd {
    struct MHD_Daemon *daemon;
    qr_httpd_handler fn;
    void *ud;
};

void qr_httpd_text(qr_httpd_response *resp, unsigned status, const char *text)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    free(resp->body);
    resp->body = strdup(text ? text : "");
}

static enum MHD_Result send_response(struct MHD_Connection *c, const qr_httpd_response *r)
{
    const char *body = r->body ? r->body : "";
    struct MHD_Response *resp =
        /* MUST_COPY: MHD copies and never writes; its 0.9 API just lacks const. */
        MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
                                        MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    enum MHD_Result ok = MHD_add_response_header(
        resp, "Content-Type", r->content_type ? r->content_type : "text/plain; charset=utf-8");
    if (ok == MHD_YES)
        ok = MHD_queue_response(c, r->status ? r->status : 200, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    qr_httpd *h = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    qr_httpd_request req = {.method = method, .path = url};
    qr_httpd_response resp = {.status = 0, .content_type = NULL, .body = NULL};
    h->fn(h->ud, &req, &resp);
    enum MHD_Result r = send_response(c, &resp);
    free(resp.body);
    return r;
}

int qr_httpd_parse_listen(struct sockaddr_in *sa, const char *listen, const char *stage,
                          qr_error *err)
{
    char host[64];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    char *end = NULL;
    if (!colon || (size_t)(colon - listen) >= sizeof(host))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, stage,
                            "listen address '%s' is not HOST:PORT", listen ? listen : "");
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    long port = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (!*(colon + 1) || *end || port < 1 || port > 65535 ||
        inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, stage,
                            "listen address '%s' is not IPV4:PORT", listen);
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

int qr_httpd_start(qr_httpd **out, const char *listen, qr_httpd_handler fn, void *ud, qr_error *err)
{
    struct sockaddr_in sa;
    *out = NULL;
    if (!fn)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, STAGE, "no handler");
    int rc = qr_httpd_parse_listen(&sa, listen, STAGE, err);
    if (rc < 0)
        return rc;
    qr_httpd *h = calloc(1, sizeof(*h));
    if (!h)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, STAGE, "out of memory");
    h->fn = fn;
    h->ud = ud;
    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, ntohs(sa.sin_port), NULL, NULL,
                                 handle, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!h->daemon) {
        free(h);
        return qr_error_set(err, QR_ERR_IO, STAGE, "cannot listen on %s", listen);
    }
    *out = h;
    return 0;
}

void qr_httpd_stop(qr_httpd *h)
{
    if (!h)
        return;
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    free(h);
}

const char *qr_httpd_library_version(void)
{
    return MHD_get_version();
}
