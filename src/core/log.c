/* Logging with a sink chosen by the binary. */
#include "qr/log.h"

#include "qr/json.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* One-time configuration set by main before any thread starts. */
static qr_log_sink_fn log_fn = NULL;
static void *log_ud = NULL;
static qr_log_level log_min = QR_LOG_INFO;
static char log_job[128];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void qr_log_set_sink(qr_log_sink_fn fn, void *ud, qr_log_level min)
{
    log_fn = fn;
    log_ud = ud;
    log_min = min;
}

void qr_log_set_level(qr_log_level min)
{
    log_min = min;
}

qr_log_level qr_log_get_level(void)
{
    return log_min;
}

void qr_log_set_job(const char *job_id)
{
    snprintf(log_job, sizeof(log_job), "%s", job_id ? job_id : "");
}

void qr_log(qr_log_level level, const char *stage, const char *fmt, ...)
{
    if (!log_fn || level < log_min)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    struct timeval tv;
    gettimeofday(&tv, NULL);
    qr_log_event ev = {level, stage, msg, log_job[0] ? log_job : NULL,
                       (double)tv.tv_sec + (double)tv.tv_usec / 1e6};
    /* Serialise sinks so lines from image threads never interleave. */
    pthread_mutex_lock(&log_lock);
    log_fn(&ev, log_ud);
    pthread_mutex_unlock(&log_lock);
}

static const char *level_names[] = {"debug", "info", "warn", "error", "off"};

const char *qr_log_level_str(qr_log_level l)
{
    return (l >= QR_LOG_DEBUG && l <= QR_LOG_OFF) ? level_names[l] : "?";
}

int qr_log_level_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i <= QR_LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    if (strcmp(s, "warning") == 0)
        return QR_LOG_WARN;
    return -1;
}

void qr_log_sink_text(const qr_log_event *ev, void *ud)
{
    FILE *f = ud ? ud : stderr;
    fprintf(f, "quire: %s%s%s%s%s\n", ev->level >= QR_LOG_WARN ? qr_log_level_str(ev->level) : "",
            ev->level >= QR_LOG_WARN ? ": " : "", ev->stage ? ev->stage : "", ev->stage ? ": " : "",
            ev->msg);
    fflush(f);
}

void qr_log_sink_json(const qr_log_event *ev, void *ud)
{
    FILE *f = ud ? ud : stderr;
    char ts[40];
    time_t secs = (time_t)ev->ts;
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03dZ", (int)((ev->ts - (double)secs) * 1000.0));
    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(qr_log_level_str(ev->level)));
    if (ev->stage)
        json_object_set_new(o, "stage", qr_json_string(ev->stage));
    if (ev->job)
        json_object_set_new(o, "job", qr_json_string(ev->job));
    json_object_set_new(o, "msg", qr_json_string(ev->msg));
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (line) {
        fputs(line, f);
        fputc('\n', f);
        fflush(f);
        free(line);
    }
}
