/*
 * The worker loop: start-up recovery and registration, reserve, run, record,
 * heartbeat and sweep timers, pause, drain and unregister.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qr/fs.h"
#include "qr/log.h"
#include "worker_int.h"

double qr_worker__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool stopping(const qr_worker *w)
{
    return w->sig->drain || w->sig->quit;
}

void qr_worker__sleep(qr_worker *w, double s)
{
    double end = qr_worker__now() + s;
    while (!stopping(w)) {
        double left = end - qr_worker__now();
        if (left <= 0)
            break;
        /* Short steps: a signal flag or a due heartbeat is seen within 100 ms. */
        double step = left < 0.1 ? left : 0.1;
        struct timespec ts = {0, (long)(step * 1e9)};
        nanosleep(&ts, NULL);
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
    if (!w->o->title || w->o->title_cap < 2)
        return;
    /*
     * The argv area is what /proc/<pid>/cmdline and `ps -o command` show.
     * Pad with NULs so nothing of the old command line survives.
     */
    memset(w->o->title, 0, w->o->title_cap);
    snprintf(w->o->title, w->o->title_cap, "resque-%s: %s", QR_VERSION, what);
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
    double now = qr_worker__now();
    qr_error err = QR_ERROR_INIT;
    if (now >= w->next_heartbeat) {
        w->next_heartbeat = now + w->heartbeat_s;
        if (qr_resque_heartbeat(w->r, &err) < 0)
            qr_log(QR_LOG_WARN, "worker", "heartbeat failed: %s: %s", err.id, err.msg);
        else
            qr_admin_heartbeat(w->admin);
        qr_error_clear(&err);
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
    }
}

/* Waits out the queue layer's reconnect backoff (or the poll interval), interruptibly. */
static void backoff(qr_worker *w)
{
    double s = (double)qr_resque_backoff_ms(w->r) / 1000.0;
    if (s < 0.1)
        s = 0.1;
    if (s > w->interval_s)
        s = w->interval_s;
    qr_worker__sleep(w, s);
}

/* Recover own leftovers, sweep, register: retried until Redis answers or a stop is asked. */
static int start_up(qr_worker *w)
{
    for (;;) {
        qr_error err = QR_ERROR_INIT;
        qr_resque_sweep_stats st = {0, 0, 0};
        int rc = qr_resque_recover_own(&st, w->r, w->max_attempts, &err);
        if (rc == 0 && st.requeued + st.poisoned > 0)
            qr_log(QR_LOG_WARN, "worker",
                   "recovered %zu interrupted job(s) of a previous run under this id "
                   "(%zu poisoned)",
                   st.requeued + st.poisoned, st.poisoned);
        if (rc == 0)
            rc = qr_resque_sweep(NULL, w->r, w->prune_after_s, w->max_attempts, &err);
        if (rc == 0)
            rc = qr_resque_register(w->r, &err);
        if (rc == 0)
            return 0;
        qr_log(QR_LOG_WARN, "worker", "start-up: %s: %s; retrying", err.id, err.msg);
        if (stopping(w))
            return -1;
        backoff(w);
        if (stopping(w))
            return -1;
    }
}

static void join_queues(char *out, size_t n, char *const *q, size_t nq)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < nq && used < n; i++) {
        int k = snprintf(out + used, n - used, "%s%s", i ? "," : "", q[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

/* Free space in the store and the work directory, checked before taking a job. */
static bool enough_disk(qr_worker *w)
{
    const char *dirs[2] = {w->o->work_parent ? w->o->work_parent : "/tmp", w->o->store_dir};
    /* A remote store has no local free space to check. */
    size_t ndirs = qr_remote_classify(w->o->store_dir) == QR_REMOTE_LOCAL ? 2 : 1;
    if (w->o->min_free == 0)
        return true;
    for (size_t i = 0; i < ndirs; i++) {
        uint64_t free_b = 0;
        qr_error e = QR_ERROR_INIT;
        if (qr_fs_free_bytes(&free_b, dirs[i], &e) < 0) {
            /* A store that does not exist yet is created by the first job. */
            continue;
        }
        if (free_b < w->o->min_free) {
            qr_log(QR_LOG_WARN, "worker", "only %llu MB free in %s (need %llu MB): not taking jobs",
                   (unsigned long long)(free_b >> 20), dirs[i],
                   (unsigned long long)(w->o->min_free >> 20));
            return false;
        }
    }
    return true;
}

/*
 * Hands the queue depths to the admin thread, which must not use our Redis
 * connection: one LLEN per queue per poll cycle. A failed LLEN skips the
 * update; the reserve that follows reports the Redis trouble.
 */
static void publish_depths(qr_worker *w, char **queues, size_t nqueues)
{
    long long depths[QR_ADMIN_MAX_QUEUES];
    size_t n = nqueues < QR_ADMIN_MAX_QUEUES ? nqueues : QR_ADMIN_MAX_QUEUES;
    if (!w->admin)
        return;
    for (size_t i = 0; i < n; i++) {
        qr_error e = QR_ERROR_INIT;
        if (qr_resque_llen(&depths[i], w->r, queues[i], &e) < 0)
            return;
    }
    qr_admin_set_depths(w->admin, (const char *const *)queues, depths, n);
}

/*
 * One pass of the loop: check pause, expand queues, reserve, run. *idle says
 * the caller should wait an interval (nothing to do, paused, or Redis down).
 */
static int step(qr_worker *w, bool *idle, qr_error *err)
{
    char **queues = NULL;
    size_t nqueues = 0;
    qr_resque_job *job = NULL;
    bool paused = false;
    char names[512];
    int rc = 0;
    *idle = true;
    if (w->sig->paused) {
        qr_worker__title(w, "Paused");
        return 0;
    }
    qr_error e = QR_ERROR_INIT;
    if (qr_resque_paused(&paused, w->r, &e) < 0 || paused) {
        if (paused)
            qr_worker__title(w, "Paused");
        else
            qr_log(QR_LOG_WARN, "worker", "%s: %s", e.id, e.msg);
        return 0;
    }
    if (qr_resque_queues(&queues, &nqueues, w->r, w->o->queues, w->o->nqueues, &e) < 0) {
        qr_log(QR_LOG_WARN, "worker", "%s: %s", e.id, e.msg);
        goto out;
    }
    join_queues(names, sizeof(names), queues, nqueues);
    publish_depths(w, queues, nqueues);
    if (!enough_disk(w)) {
        qr_worker__title(w, "Waiting for disk space");
        goto out;
    }
    qr_worker__title(w, "Waiting for %s", names);
    if (nqueues == 0)
        goto out;
    if (qr_resque_reserve(&job, w->r, (const char *const *)queues, nqueues, &e) < 0) {
        qr_log(QR_LOG_WARN, "worker", "reserve: %s: %s", e.id, e.msg);
        goto out;
    }
    if (!job)
        goto out;
    *idle = false;
    rc = qr_worker__run_job(w, job, err);
out:
    qr_resque_job_free(job);
    qr_resque_strv_free(queues);
    return rc;
}

static int unregister(qr_worker *w)
{
    /* A short bounded retry: a worker left registered is swept once its heartbeat ages. */
    for (int i = 0; i < 20; i++) {
        qr_error e = QR_ERROR_INIT;
        if (qr_resque_unregister(w->r, &e) == 0)
            return 0;
        qr_log(QR_LOG_WARN, "worker", "unregister: %s: %s", e.id, e.msg);
        double s = (double)qr_resque_backoff_ms(w->r) / 1000.0;
        struct timespec ts = {0, (long)((s < 0.1 ? 0.1 : s > 0.5 ? 0.5 : s) * 1e9)};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int check_opts(const qr_worker_opts *o, qr_worker_signals *sig, qr_error *err)
{
    if (!o || !sig || !o->queues || o->nqueues == 0 || !o->store_dir || !o->keyring)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "worker",
                            "the worker needs queues, a store and a key file");
    if (o->interval_s < 0 || o->heartbeat_s < 0 || o->sweep_s < 0 || o->job_timeout_s < 0 ||
        o->drain_timeout_s < 0 || o->prune_after_s < 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "worker", "negative interval");
    return 0;
}

static int host_name(char *out, size_t n, const qr_worker_opts *o, qr_error *err)
{
    if (o->hostname)
        snprintf(out, n, "%s", o->hostname);
    else if (gethostname(out, n - 1) != 0)
        return qr_error_set(err, QR_ERR_IO, "worker", "gethostname failed");
    out[n - 1] = '\0';
    return 0;
}

void qr_worker__reap_slot(const qr_worker_opts *o, long pid)
{
    char host[256];
    qr_resque *r = NULL;
    qr_error e = QR_ERROR_INIT;
    qr_resque_sweep_stats st = {0, 0, 0};
    int rc = host_name(host, sizeof(host), o, &e);
    if (rc == 0)
        rc = qr_resque_new(&r, &o->redis, &e);
    if (rc == 0)
        rc = qr_resque_set_worker(r, host, pid, o->queues, o->nqueues, &e);
    if (rc == 0)
        rc = qr_resque_recover_own(&st, r, o->max_attempts > 0 ? o->max_attempts : 3, &e);
    if (rc == 0)
        rc = qr_resque_unregister(r, &e);
    if (rc < 0)
        qr_log(QR_LOG_WARN, "worker", "cleaning up after dead slot pid %ld: %s: %s", pid, e.id,
               e.msg);
    else
        qr_log(QR_LOG_INFO, "worker",
               "cleaned up after dead slot pid %ld: %zu job(s) requeued, %zu poisoned", pid,
               st.requeued, st.poisoned);
    qr_resque_free(r);
}

int qr_worker_run(const qr_worker_opts *o, qr_worker_signals *sig, qr_error *err)
{
    qr_worker w;
    char host[256];
    int rc = check_opts(o, sig, err);
    if (rc < 0)
        return rc;
    memset(&w, 0, sizeof(w));
    w.o = o;
    w.sig = sig;
    w.interval_s = o->interval_s > 0 ? o->interval_s : 5.0;
    w.heartbeat_s = o->heartbeat_s > 0 ? o->heartbeat_s : 60.0;
    w.sweep_s = o->sweep_s > 0 ? o->sweep_s : 60.0;
    w.drain_timeout_s = o->drain_timeout_s > 0 ? o->drain_timeout_s : 30.0;
    w.prune_after_s = o->prune_after_s > 0 ? o->prune_after_s : 300;
    w.max_attempts = o->max_attempts > 0 ? o->max_attempts : 3;
    w.parent_pid = getpid();
    rc = host_name(host, sizeof(host), o, err);
    if (rc < 0)
        return rc;
    rc = qr_resque_new(&w.r, &o->redis, err);
    if (rc == 0)
        rc = qr_resque_set_worker(w.r, host, (long)getpid(), o->queues, o->nqueues, err);
    if (rc < 0)
        goto out;
    if (o->admin_listen) {
        /* Stale after three missed heartbeats: well inside Resque's prune window. */
        rc = qr_admin_new(&w.admin, 3 * w.heartbeat_s, err);
        if (rc < 0)
            goto out;
        /* A taken port must not stop job processing (two workers on one host
         * with the default address): log it and run without the endpoint. */
        qr_error ae = QR_ERROR_INIT;
        if (qr_admin_listen(w.admin, o->admin_listen, &ae) < 0) {
            qr_log(QR_LOG_WARN, "worker", "admin endpoint disabled: %s: %s", ae.id, ae.msg);
            qr_admin_free(w.admin);
            w.admin = NULL;
        } else {
            qr_log(QR_LOG_INFO, "worker", "admin endpoint on http://%s/", o->admin_listen);
        }
    }
    qr_worker__title(&w, "Starting");
    if (start_up(&w) < 0) {
        qr_log(QR_LOG_INFO, "worker", "stopped before registering");
        goto out;
    }
    w.next_heartbeat = qr_worker__now() + w.heartbeat_s;
    w.next_sweep = qr_worker__now() + w.sweep_s;
    qr_admin_set_registered(w.admin, true);
    qr_log(QR_LOG_INFO, "worker", "registered as %s", qr_resque_worker_id(w.r));
    while (!stopping(&w)) {
        bool idle = true;
        qr_worker__tick(&w);
        rc = step(&w, &idle, err);
        if (rc < 0)
            break;
        if (idle)
            qr_worker__sleep(&w, w.interval_s);
    }
    qr_worker__title(&w, "Shutting down");
    qr_admin_set_registered(w.admin, false);
    if (unregister(&w) < 0)
        qr_log(QR_LOG_WARN, "worker", "could not unregister; a sweep will clean up");
    else
        qr_log(QR_LOG_INFO, "worker", "unregistered %s", qr_resque_worker_id(w.r));
out:
    qr_worker__reap_notifiers(&w, false);
    if (w.nnotifiers)
        qr_log(QR_LOG_INFO, "worker",
               "%zu failure callback(s) still being delivered in the background", w.nnotifiers);
    qr_admin_free(w.admin);
    qr_resque_free(w.r);
    return rc;
}
