/*
 * Starts and stops tests/tools/httpfault.py (a real HTTP server on
 * 127.0.0.1 with scripted faults) for the net tests. Header-only: shared by
 * test_http.c and test_ssrf.c, each its own executable.
 */
#ifndef QR_TEST_FAULTSRV_H
#define QR_TEST_FAULTSRV_H

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qr/http.h"

typedef struct faultsrv {
    pid_t pid;
    int stdin_fd; /* the server exits when this closes */
    int port;
} faultsrv;

/* Starts the server; 0 on success. Waits at most 10 s for its "PORT n" line. */
static inline int faultsrv_start(faultsrv *s)
{
    int in[2], out[2];
    char line[64];
    size_t len = 0;
    s->pid = -1;
    s->stdin_fd = -1;
    s->port = 0;
    if (pipe(in) < 0)
        return -1;
    if (pipe(out) < 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execlp("python3", "python3", QR_TEST_SRCDIR "/tests/tools/httpfault.py", "--max-seconds",
               "600", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->pid = pid;
    s->stdin_fd = in[1];
    struct pollfd pfd = {out[0], POLLIN, 0};
    while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
        if (poll(&pfd, 1, 10000) <= 0)
            break;
        ssize_t r = read(out[0], line + len, sizeof(line) - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(out[0]);
    line[len] = 0;
    if (sscanf(line, "PORT %d", &s->port) != 1 || s->port <= 0)
        return -1;
    return 0;
}

static inline void faultsrv_stop(faultsrv *s)
{
    if (s->stdin_fd >= 0)
        close(s->stdin_fd);
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    s->pid = -1;
    s->stdin_fd = -1;
}

/* "http://127.0.0.1:<port><path>" into the caller's buffer. */
static inline const char *faultsrv_url(char *buf, size_t len, const faultsrv *s, const char *path)
{
    snprintf(buf, len, "http://127.0.0.1:%d%s", s->port, path);
    return buf;
}

/* Requests the server has seen (GET /count over a trusted request), -1 on failure. */
static inline long faultsrv_count(const faultsrv *s)
{
    char url[128];
    qr_buf body = QR_BUF_INIT(4096);
    qr_http_opts o = QR_HTTP_OPTS_INIT;
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    long n = -1;
    o.max_attempts = 1;
    req.method = "GET";
    req.url = faultsrv_url(url, sizeof(url), s, "/count");
    resp.body = &body;
    if (qr_http_perform(&o, &req, &resp, NULL) == 0 && resp.status == 200) {
        json_t *j = json_loadb((const char *)body.data, body.len, 0, NULL);
        if (j && json_is_integer(json_object_get(j, "requests")))
            n = (long)json_integer_value(json_object_get(j, "requests"));
        json_decref(j);
    }
    qr_http_response_free(&resp);
    qr_buf_free(&body);
    return n;
}

#endif
