/*
 * Telling systemd what the worker is doing (sd_notify, for units with
 * Type=notify): READY once it is registered, STATUS as jobs come and go,
 * STOPPING when a drain starts, and EXTEND_TIMEOUT_USEC while a drain waits
 * for a job, so a stop timeout shorter than a book still lets the book
 * finish. Only the unit's main process speaks (the worker with one slot,
 * the supervisor with several: NotifyAccess=main). Without NOTIFY_SOCKET
 * (not under systemd) every call does nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "worker_int.h"

/* How far ahead one extension reaches, and how often it is renewed (docs/operations/systemd.md). */
#define EXTEND_BY_S 30.0
#define EXTEND_EVERY_S 10.0

/*
 * systemd's notification protocol (sd_notify(3)), without libsystemd: one
 * datagram to the AF_UNIX socket $NOTIFY_SOCKET names, a path or, with a
 * leading '@', an abstract name. Other address kinds (vsock:) are not
 * services quire runs under; they are ignored, as an unset variable is.
 * Returns 1 when sent, 0 when there is nobody to tell, -errno on failure.
 */
int qr_worker__sd_send(const char *msg)
{
    const char *e = getenv("NOTIFY_SOCKET");
    if (!e || (e[0] != '/' && e[0] != '@'))
        return 0;
    struct sockaddr_un sa;
    size_t n = strlen(e);
    if (n < 2 || n >= sizeof(sa.sun_path))
        return -EINVAL;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, e, n);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    /* A path's address includes its terminating NUL; an abstract name's length is exact. */
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (e[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ssize_t w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    int saved = errno;
    close(fd);
    return w < 0 ? -saved : 1;
}

void qr_worker__sd(bool enabled, const char *fmt, ...)
{
    if (!enabled)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The result says whether systemd listens; quire works the same either way. */
    (void)qr_worker__sd_send(msg);
}

void qr_worker__sd_extend(bool enabled, double *next, double now)
{
    if (!enabled || now < *next)
        return;
    *next = now + EXTEND_EVERY_S;
    qr_worker__sd(enabled, "EXTEND_TIMEOUT_USEC=%llu", (unsigned long long)(EXTEND_BY_S * 1e6));
}
