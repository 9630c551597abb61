/*
 * Telling systemd what the worker is doing (sd_notify, for units with
 * Type=notify): READY once it is registered, STATUS as jobs come and go,
 * STOPPING when a drain starts, and EXTEND_TIMEOUT_USEC while a drain waits
 * for a job, so a stop timeout shorter than a book still lets the book
 * finish. Only the unit's main process speaks (the worker with one slot,
 * the supervisor with several: NotifyAccess=main). Without NOTIFY_SOCKET
 * (not under systemd) every call does nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "worker_int.h"

/* How far ahead one extension reaches, and how often it is renewed (docs/operations/systemd.md). */
#define EXTEND_BY_S 30.0
#define EXTEND_EVERY_S 10.0

void qr_worker__sd(bool enabled, const char *fmt, ...)
{
    if (!enabled)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The return value says whether systemd listens; quire works the same either way. */
    (void)sd_notify(0, msg);
}

void qr_worker__sd_extend(bool enabled, double *next, double now)
{
    if (!enabled || now < *next)
        return;
    *next = now + EXTEND_EVERY_S;
    qr_worker__sd(enabled, "EXTEND_TIMEOUT_USEC=%llu", (unsigned long long)(EXTEND_BY_S * 1e6));
}
