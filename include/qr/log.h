/*
 * Logging. The library calls qr_log(); the binary decides where it goes by
 * installing a sink once at start-up: human text on a terminal, one JSON
 * object per line otherwise, a capture sink in tests. Never log secrets.
 */
#ifndef QR_LOG_H
#define QR_LOG_H

#include <stdio.h>

#include "qr/error.h"

typedef enum qr_log_level {
    QR_LOG_DEBUG = 0,
    QR_LOG_INFO = 1,
    QR_LOG_WARN = 2,
    QR_LOG_ERROR = 3,
    QR_LOG_OFF = 4
} qr_log_level;

typedef struct qr_log_event {
    qr_log_level level;
    const char *stage; /* may be NULL */
    const char *msg;   /* formatted, no newline */
    const char *job;   /* job id from qr_log_set_job, may be NULL */
    double ts;         /* seconds since the epoch */
} qr_log_event;

typedef void (*qr_log_sink_fn)(const qr_log_event *ev, void *ud);

/* Installs the sink (NULL: drop everything) and the minimum level. Call once from main. */
void qr_log_set_sink(qr_log_sink_fn fn, void *ud, qr_log_level min);
void qr_log_set_level(qr_log_level min);
qr_log_level qr_log_get_level(void);
/* Job id added to every event (copied; NULL clears). For per-job child processes. */
void qr_log_set_job(const char *job_id);

void qr_log(qr_log_level level, const char *stage, const char *fmt, ...) QR_PRINTF(3, 4);

/* Ready-made sinks; `ud` is the FILE* to write to. */
void qr_log_sink_text(const qr_log_event *ev, void *ud);
void qr_log_sink_json(const qr_log_event *ev, void *ud);

/* Parses "debug|info|warn|error|off"; returns -1 if unknown. */
int qr_log_level_parse(const char *s);
const char *qr_log_level_str(qr_log_level l);

#endif
