/*
 * The worker loop: start-up recovery and registration, reserve, run (job.c),
 * pause, drain and unregister. The timers and the process utilities it
 * shares with the job are in proc.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <stdlib.h>

#include "qr/buildinfo.h"
#include "qr/clock.h"
#include "qr/fs.h"
#include "qr/log.h"
#include "worker_int.h"

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

/*
 * What this worker runs, beside its registration: quire's version and commit
 * and the library versions (qr/buildinfo.h), so `quire status` shows which
 * instance runs an old library.
 */
int qr_worker__publish_info(qr_worker *w, qr_error *err)
{
    qr_buildinfo bi;
    qr_buildinfo_get(&bi);
    json_t *o = qr_buildinfo_json(&bi);
    char *s = NULL;
    int rc = 0;
    if (o && json_object_set_new(o, "pid", json_integer((json_int_t)getpid())) == 0 &&
        (!w->machine[0] || json_object_set_new(o, "machine", json_string(w->machine)) == 0))
        s = json_dumps(o, JSON_COMPACT);
    if (!s)
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "worker", "out of memory");
    else
        rc = qr_resque_set_info(w->r, s, err);
    free(s);
    json_decref(o);
    return rc;
}

/* quire_build_info on /metrics: version, commit and one label per library. */
static void set_build_info(qr_metrics *m)
{
    qr_buildinfo bi;
    qr_buildinfo_get(&bi);
    const char *names[2 + QR_BUILDINFO_MAX_LIBS] = {"version", "commit"};
    const char *values[2 + QR_BUILDINFO_MAX_LIBS] = {bi.version, bi.commit};
    size_t n = 2;
    for (size_t i = 0; i < bi.nlibs; i++, n++) {
        names[n] = bi.libs[i].name;
        values[n] = bi.libs[i].version;
    }
    qr_metrics_set_info(m, names, values, n);
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
        /* The info first: a worker seen registered always has the machine tag that lets a
           restart on this host prune it at once. */
        if (rc == 0)
            rc = qr_worker__publish_info(w, &err);
        if (rc == 0)
            rc = qr_resque_register(w->r, &err);
        if (rc == 0)
            return 0;
        qr_log(QR_LOG_WARN, "worker", "start-up: %s: %s; retrying", err.id, err.msg);
        if (qr_worker__stopping(w))
            return -1;
        backoff(w);
        if (qr_worker__stopping(w))
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
    const char *work = w->o->process.work_parent;
    const char *dirs[2] = {work ? work : "/tmp", w->o->store_dir};
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
 * Hands the queue depths to the metrics endpoint, whose thread must not use
 * our Redis connection: one LLEN (and LINDEX 0 for the oldest job's age)
 * per queue per poll cycle. A failed LLEN skips the update; the reserve
 * that follows reports the Redis trouble.
 */
static void publish_depths(qr_worker *w, char **queues, size_t nqueues)
{
    long long depths[QR_METRICS_MAX_QUEUES];
    double ages[QR_METRICS_MAX_QUEUES];
    size_t n = nqueues < QR_METRICS_MAX_QUEUES ? nqueues : QR_METRICS_MAX_QUEUES;
    if (!w->metrics)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    for (size_t i = 0; i < n; i++) {
        qr_error e = QR_ERROR_INIT;
        double at = 0;
        if (qr_resque_llen(&depths[i], w->r, queues[i], &e) < 0)
            return;
        /* The oldest job's age, when its payload says when it was enqueued. */
        ages[i] = -1;
        if (depths[i] > 0 && qr_resque_oldest(&at, w->r, queues[i], &e) == 0 && at > 0)
            ages[i] = now > at ? now - at : 0;
        else if (depths[i] == 0)
            ages[i] = 0;
    }
    qr_metrics_set_queues(w->metrics, (const char *const *)queues, depths, ages, n);
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
    /* In a fleet: the instance is protected from scale-in before the child starts. */
    qr_worker__board_busy(w->board, w->slot, true);
    rc = qr_worker__run_job(w, job, err);
    qr_worker__board_busy(w->board, w->slot, false);
out:
    if (*idle)
        qr_worker__board_idle(w->board, w->slot);
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
        qr_sleep(s < 0.1 ? 0.1 : s > 0.5 ? 0.5 : s);
    }
    return -1;
}

/*
 * The tag of the processes that see the same PIDs as this one: the kernel's
 * boot_id and this PID namespace's inode. Empty when /proc does not say
 * (the same-machine check is then off).
 */
static void machine_tag(char *out, size_t n)
{
    char boot[64] = "", ns[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    out[0] = '\0';
    if (f) {
        if (!fgets(boot, sizeof(boot), f))
            boot[0] = '\0';
        fclose(f);
    }
    boot[strcspn(boot, "\r\n")] = '\0';
    ssize_t k = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
    if (k <= 0 || !boot[0])
        return;
    ns[k] = '\0';
    snprintf(out, n, "%s/%s", boot, ns);
}

/* A worker process of this machine still exists (EPERM: it does, under another user). */
static bool pid_alive(long pid, void *ud)
{
    (void)ud;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
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

int qr_worker__run(const qr_worker_opts *o, qr_worker_signals *sig, qr_worker__board *board,
                   unsigned slot, qr_metrics *shared, qr_error *err)
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
    w.board = board;
    w.slot = slot;
    w.job_lock = -1;
    /* Job directories of a worker killed outright (its children died with it). */
    qr_worker__sweep_job_dirs(o->process.work_parent ? o->process.work_parent : "/tmp");
    rc = host_name(host, sizeof(host), o, err);
    if (rc < 0)
        return rc;
    rc = qr_resque_new(&w.r, &o->redis, err);
    if (rc == 0)
        rc = qr_resque_set_worker(w.r, host, (long)getpid(), o->queues, o->nqueues, err);
    machine_tag(w.machine, sizeof(w.machine));
    if (rc == 0 && w.machine[0])
        rc = qr_resque_set_local(w.r, w.machine, pid_alive, NULL, err);
    if (rc < 0)
        goto out;
    if (shared) {
        /* A slot: the supervisor serves the endpoint; this process writes its part. */
        if ((rc = qr_metrics_attach(&w.metrics, shared, slot, err)) < 0)
            goto out;
        set_build_info(w.metrics);
    } else if (o->admin_listen) {
        /* Stale after three missed heartbeats: well inside Resque's prune window. */
        rc = qr_metrics_new(&w.metrics, 3 * w.heartbeat_s, err);
        if (rc < 0)
            goto out;
        /* A taken port must not stop job processing (two workers on one host
         * with the default address): logged, and the worker runs without it. */
        w.admin = qr_worker__admin_start(o->admin_listen, w.metrics, 1);
        if (w.admin < 0) {
            w.admin = 0;
            qr_metrics_free(w.metrics);
            w.metrics = NULL;
        } else {
            set_build_info(w.metrics);
        }
    }
    qr_worker__title(&w, "Starting");
    if (start_up(&w) < 0) {
        qr_log(QR_LOG_INFO, "worker", "stopped before registering");
        goto out;
    }
    w.next_heartbeat = qr_now() + w.heartbeat_s;
    w.next_sweep = qr_now() + w.sweep_s;
    qr_metrics_set_registered(w.metrics, true);
    qr_log(QR_LOG_INFO, "worker", "registered as %s", qr_resque_worker_id(w.r));
    qr_worker__sd(o->notify_systemd, "READY=1\nSTATUS=Registered as %s", qr_resque_worker_id(w.r));
    while (!qr_worker__stopping(&w)) {
        bool idle = true;
        qr_worker__tick(&w);
        rc = step(&w, &idle, err);
        if (rc < 0)
            break;
        if (idle)
            qr_worker__sleep(&w, w.interval_s);
    }
    qr_worker__title(&w, "Shutting down");
    qr_metrics_set_registered(w.metrics, false);
    if (unregister(&w) < 0)
        qr_log(QR_LOG_WARN, "worker", "could not unregister; a sweep will clean up");
    else
        qr_log(QR_LOG_INFO, "worker", "unregistered %s", qr_resque_worker_id(w.r));
out:
    qr_worker__reap_notifiers(&w, false);
    if (w.nnotifiers)
        qr_log(QR_LOG_INFO, "worker",
               "%zu failure callback(s) still being delivered in the background", w.nnotifiers);
    /* The server first: after it stops no request reads the metrics. */
    qr_worker__admin_stop(w.admin);
    qr_metrics_free(w.metrics);
    qr_resque_free(w.r);
    qr_worker__board_idle(board, slot);
    return rc;
}

int qr_worker_run(const qr_worker_opts *o, qr_worker_signals *sig, qr_error *err)
{
    if (!o || !o->fleet)
        return qr_worker__run(o, sig, NULL, 0, NULL, err);
    /* The agent first: no thread (the admin endpoint) runs yet when it forks. */
    qr_worker__board *board = qr_worker__board_new(1);
    pid_t agent = board ? qr_worker__agent_start(o, board) : -1;
    if (agent < 0)
        qr_log(QR_LOG_ERROR, "fleet",
               "running without the fleet agent: no scale-in protection, no drain hook");
    int rc = qr_worker__run(o, sig, agent > 0 ? board : NULL, 0, NULL, err);
    qr_worker__agent_finish(board, agent, false);
    qr_worker__board_free(board);
    return rc;
}
