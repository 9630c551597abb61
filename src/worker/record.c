/*
 * Recording a job's outcome in Redis, through one function whatever the
 * path: the first attempt, the retries while Redis is away, and the last
 * attempt when a stop interrupts the backoff. The failure entry is built
 * once, as Resque shows it: the exception (the quire error id, or
 * Resque::DirtyExit), the message, and a backtrace of the stage, the
 * context and the last lines of the child's log.
 */
#include <stdio.h>
#include <string.h>

#include "qr/log.h"
#include "worker_int.h"

#define MAX_LOG_LINES 20

/* The failure entry's parts; strings point into `text` or `oc`. */
typedef struct failure_text {
    char stage_line[64];
    char context_line[300];
    char logs_line[200];
    char log[sizeof(((qr_worker_outcome *)0)->log)];
    const char *bt[3 + MAX_LOG_LINES];
    qr_resque_failure f;
} failure_text;

static void build_failure(failure_text *t, const qr_worker_outcome *oc)
{
    size_t nbt = 0;
    if (oc->stage[0]) {
        snprintf(t->stage_line, sizeof(t->stage_line), "stage: %s", oc->stage);
        t->bt[nbt++] = t->stage_line;
    }
    if (oc->err.context[0]) {
        snprintf(t->context_line, sizeof(t->context_line), "context: %s", oc->err.context);
        t->bt[nbt++] = t->context_line;
    }
    /* Where the whole log is (history.c), for as long as it is kept. */
    if (oc->job_id[0]) {
        snprintf(t->logs_line, sizeof(t->logs_line), "log: quire logs %s", oc->job_id);
        t->bt[nbt++] = t->logs_line;
    }
    /* The last lines of the child's log, newest last, as Resque shows a backtrace. */
    memcpy(t->log, oc->log, sizeof(t->log));
    char *lines[MAX_LOG_LINES];
    size_t nl = 0;
    char *save = NULL;
    for (char *l = strtok_r(t->log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (nl == MAX_LOG_LINES) {
            memmove(lines, lines + 1, (MAX_LOG_LINES - 1) * sizeof(lines[0]));
            nl--;
        }
        lines[nl++] = l;
    }
    for (size_t i = 0; i < nl; i++)
        t->bt[nbt++] = lines[i];
    t->f =
        (qr_resque_failure){oc->exception ? oc->exception : (oc->err.id ? oc->err.id : "internal"),
                            oc->err.msg, t->bt, nbt};
}

/*
 * One attempt at recording, and everything that follows a recorded outcome:
 * the metrics and the log line. Every path of qr_worker__record goes here.
 */
static int record_once(qr_worker *w, const qr_resque_job *rj, const qr_worker_outcome *oc,
                       const qr_resque_failure *f, bool *final_failure, qr_error *err)
{
    bool poisoned = false;
    int rc;
    /*
     * disk-full is most likely the host's trouble (another job, a log, a
     * small volume): one more run, at the head of the queue where any worker
     * may take it, then a failure entry (docs/operations/monitoring.md).
     */
    unsigned disk_attempts = w->max_attempts < 2 ? w->max_attempts : 2;
    if (oc->released)
        rc = qr_resque_release(w->r, rj, 0, NULL, NULL, err);
    else if (oc->crashed)
        rc = qr_resque_release(w->r, rj, w->max_attempts, f, &poisoned, err);
    else if (oc->disk_full && disk_attempts > 1)
        rc = qr_resque_release(w->r, rj, disk_attempts, f, &poisoned, err);
    else
        rc = qr_resque_done(w->r, rj, oc->ok ? NULL : f, err);
    if (rc < 0)
        return rc;
    bool requeued = (oc->crashed || (oc->disk_full && disk_attempts > 1)) && !poisoned;
    *final_failure = !oc->ok && !oc->released && !requeued;
    qr_metrics_record_job(w->metrics,
                          oc->crashed                ? QR_METRICS_CRASHED
                          : oc->released || requeued ? QR_METRICS_REQUEUED
                          : oc->ok                   ? QR_METRICS_SUCCEEDED
                                                     : QR_METRICS_FAILED,
                          oc->seconds);
    if (!oc->ok && !oc->released)
        qr_metrics_record_failure(w->metrics, oc->err.id ? oc->err.id : "internal");
    if (oc->ok) {
        static const char *const stages[] = {"compress", "positions", "slice", "encrypt",
                                             "publish"};
        for (size_t i = 0; i < 5; i++)
            qr_metrics_record_stage(w->metrics, stages[i], oc->t_stage[i]);
    }
    if (oc->t_fetch > 0)
        qr_metrics_record_stage(w->metrics, "fetch", oc->t_fetch);
    if (oc->disk_full && !oc->crashed)
        qr_log(QR_LOG_WARN, "worker", "job failed: disk-full: %s; %s", oc->err.msg,
               requeued ? "returned to its queue for one more run" : "recorded as a failure");
    if (oc->released)
        qr_log(QR_LOG_INFO, "worker", "drain: job returned to the head of %s", rj->queue);
    else if (oc->crashed)
        qr_log(QR_LOG_WARN, "worker", "%s; %s", oc->err.msg,
               poisoned ? "attempts exhausted: recorded as a failure" : "returned to its queue");
    else if (!oc->ok && !oc->disk_full)
        qr_log(QR_LOG_WARN, "worker", "job failed: %s: %s", f->exception, oc->err.msg);
    return 0;
}

int qr_worker__record(qr_worker *w, const qr_resque_job *rj, const qr_worker_outcome *oc,
                      bool *final_failure, qr_error *err)
{
    failure_text t;
    *final_failure = false;
    build_failure(&t, oc);
    for (;;) {
        qr_error e = QR_ERROR_INIT;
        if (record_once(w, rj, oc, &t.f, final_failure, &e) == 0)
            return 0;
        qr_log(QR_LOG_WARN, "worker", "recording the job: %s: %s; retrying", e.id, e.msg);
        if (qr_worker__stopping(w)) {
            *err = e;
            return err->code;
        }
        double s = (double)qr_resque_backoff_ms(w->r) / 1000.0;
        qr_worker__sleep(w, s < 0.1 ? 0.1 : s);
        if (qr_worker__stopping(w)) {
            /*
             * One last attempt after the sleep was cut short, through the same
             * path, and now rather than after the reconnect backoff.
             */
            qr_error_clear(&e);
            qr_resque_retry_now(w->r);
            qr_log(QR_LOG_INFO, "worker", "stopping: one last attempt to record the job");
            if (record_once(w, rj, oc, &t.f, final_failure, &e) == 0)
                return 0;
            qr_log(QR_LOG_WARN, "worker", "recording the job: %s: %s; left for a sweep", e.id,
                   e.msg);
            *err = e;
            return err->code;
        }
    }
}
