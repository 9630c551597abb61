/*
 * The worker as a process: interruptible sleeps, the timers a sleeping or
 * supervising worker still serves (heartbeat, sweep, reaping notifier
 * children), the process title Resque's tools read, and the stop test.
 * The loop (worker.c) and the job (job.c, record.c) use these.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qr/clock.h"
#include "qr/log.h"
#include "worker_int.h"

bool qr_worker__stopping(const qr_worker *w)
{
    return w->sig->drain || w->sig->quit;
}

void qr_worker__sleep(qr_worker *w, double s)
{
    double end = qr_now() + s;
    while (!qr_worker__stopping(w)) {
        double left = end - qr_now();
        if (left <= 0)
            break;
        /* Short steps: a signal flag or a due heartbeat is seen within 100 ms. */
        qr_sleep(left < 0.1 ? left : 0.1);
        qr_worker__tick(w);
    }
}

void qr_worker__title(const qr_worker *w, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* prctl's name is 15 bytes: enough for "resque-<version>", the prefix Ruby's pruner greps for.
     */
    prctl(PR_SET_NAME, "resque-" QR_VERSION, 0, 0, 0);
    /* The same words are the unit's status line; children keep quiet. */
    qr_worker__sd(w->o->notify_systemd && getpid() == w->parent_pid, "STATUS=%s", what);
    if (!w->o->title || w->o->title_cap < 2)
        return;
    /*
     * The argv area is what /proc/<pid>/cmdline and `ps -o command` show.
     * Pad with NULs so nothing of the old command line survives.
     */
    memset(w->o->title, 0, w->o->title_cap);
    snprintf(w->o->title, w->o->title_cap, "resque-%s: %s", QR_VERSION, what);
}

pid_t qr_worker__notifier_fork(qr_worker *w)
{
    if (w->nnotifiers == QR_WORKER_MAX_NOTIFIERS) {
        int status = 0;
        waitpid(w->notifiers[0], &status, 0);
        memmove(w->notifiers, w->notifiers + 1, (w->nnotifiers - 1) * sizeof(w->notifiers[0]));
        w->nnotifiers--;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid > 0)
        w->notifiers[w->nnotifiers++] = pid;
    return pid;
}

void qr_worker__reap_notifiers(qr_worker *w, bool wait_all)
{
    size_t kept = 0;
    for (size_t i = 0; i < w->nnotifiers; i++) {
        int status = 0;
        pid_t got = waitpid(w->notifiers[i], &status, wait_all ? 0 : WNOHANG);
        if (got == 0)
            w->notifiers[kept++] = w->notifiers[i];
    }
    w->nnotifiers = kept;
}

void qr_worker__tick(qr_worker *w)
{
    qr_worker__reap_notifiers(w, false);
    if (qr_worker__stopping(w) && !w->told_stopping) {
        w->told_stopping = true;
        qr_worker__sd(w->o->notify_systemd, "STOPPING=1");
    }
    double now = qr_now();
    qr_error err = QR_ERROR_INIT;
    if (now >= w->next_heartbeat) {
        w->next_heartbeat = now + w->heartbeat_s;
        bool again = false;
        if (qr_resque_heartbeat_check(&again, w->r, w->current, &err) < 0) {
            qr_log(QR_LOG_WARN, "worker", "heartbeat failed: %s: %s", err.id, err.msg);
        } else {
            qr_metrics_heartbeat(w->metrics);
            if (again) {
                qr_log(QR_LOG_WARN, "worker",
                       "this worker's registration was gone from Redis (its data lost?): "
                       "registered again%s",
                       w->current ? ", with the job in hand" : "");
                if (qr_worker__publish_info(w, &err) < 0)
                    qr_log(QR_LOG_WARN, "worker", "worker info: %s: %s", err.id, err.msg);
            }
        }
        qr_error_clear(&err);
    }
    if (now >= w->next_digest) {
        w->next_digest = now + 2.0;
        qr_worker__alert_digest(w);
    }
    if (now >= w->next_sweep) {
        w->next_sweep = now + w->sweep_s;
        qr_resque_sweep_stats st = {0, 0, 0};
        if (qr_resque_sweep(&st, w->r, w->prune_after_s, w->max_attempts, &err) < 0)
            qr_log(QR_LOG_WARN, "worker", "sweep failed: %s: %s", err.id, err.msg);
        else if (st.dead_workers)
            qr_log(QR_LOG_INFO, "worker",
                   "sweep: %zu dead worker(s), %zu job(s) requeued, %zu poisoned", st.dead_workers,
                   st.requeued, st.poisoned);
        qr_worker__sweep_job_dirs(w->o->process.work_parent ? w->o->process.work_parent : "/tmp");
    }
}
