/*
 * One job, parent side: parse the payload, fork a child (child.c), supervise
 * it (heartbeat, wall-clock and memory limits, drain, USR1) while reading its
 * report (outcome.c), record the outcome (record.c), and, when the parent
 * itself ended the job, deliver its failure callback from a short-lived
 * notifier.
 */
#define _DEFAULT_SOURCE /* wait4 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "qr/clock.h"
#include "qr/fs.h"
#include "qr/log.h"
#include "worker_int.h"

/* The exception Resque records for a child that died or was killed on request. */
#define DIRTY_EXIT "Resque::DirtyExit"

static const char *signame(int sig)
{
    switch (sig) {
    case SIGKILL:
        return "SIGKILL";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGTERM:
        return "SIGTERM";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    default:
        return "signal";
    }
}

/* Why the parent killed the child, if it did. */
typedef enum kill_reason {
    NOT_KILLED = 0,
    KILL_TIMEOUT,
    KILL_MEMORY,
    KILL_DRAIN,
    KILL_USR1,
    KILL_DISK
} kill_reason;

/* Seconds between walks of the job's work directory, and between live-state updates. */
#define DISK_EVERY_S 1.0
#define LIVE_EVERY_S 2.0
/* After a live-state update failed (Redis slow or away): none for this long. */
#define LIVE_BACKOFF_S 30.0
/* A disk-full stop's TERM grace before KILL (the disk is still filling). */
#define DISK_TERM_S 2.0

/*
 * The work directory's numbers now: least free space (every pass: statvfs
 * is cheap) and, when `walk`, the peak bytes under the job's own directory.
 */
static void sample_disk(qr_worker *w, const char *work, qr_worker_outcome *oc, bool walk,
                        uint64_t *free_now)
{
    uint64_t fr = 0, total = 0;
    if (walk && w->job_work) {
        uint64_t used = qr_worker__dir_usage(w->job_work);
        if (used > oc->disk_used)
            oc->disk_used = used;
    }
    if (qr_worker__disk(work, &fr, &total) < 0)
        return;
    *free_now = fr;
    if (oc->disk_free_min == 0 || fr < oc->disk_free_min)
        oc->disk_free_min = fr;
    qr_metrics_set_disk(w->metrics, fr, total);
}

/*
 * Waits for the child, reading its pipe, heartbeating, enforcing the
 * wall-clock limit, the memory limit, the drain timeout and USR1, then
 * decides the outcome when the child's own report does not stand.
 */
static void supervise(qr_worker *w, pid_t pid, int fd, qr_worker_outcome *oc, const char *work)
{
    uint64_t rss = 0, free_now = UINT64_MAX, free_at_stop = 0;
    double next_disk = 0, next_live = 0, fetch_from = 0;
    qr_worker__pipe pr;
    memset(&pr, 0, sizeof(pr));
    double start = qr_now();
    double drain_deadline = 0, term_deadline = 0;
    double term_timeout = w->o->term_timeout_s >= 0 ? w->o->term_timeout_s : 10.0;
    bool eof = false, killed = false;
    kill_reason why = NOT_KILLED;
    int status = 0;
    for (;;) {
        if (!eof) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 100) > 0) {
                bool in_fetch = strcmp(oc->stage, "fetch") == 0;
                eof = !qr_worker__pipe_read(&pr, fd, oc);
                /* The fetch stage is timed here: the child's report times the others. */
                if (!in_fetch && strcmp(oc->stage, "fetch") == 0)
                    fetch_from = qr_now();
                else if (in_fetch && strcmp(oc->stage, "fetch") != 0 && fetch_from > 0)
                    oc->t_fetch = qr_now() - fetch_from;
            }
        } else {
            /* The pipe closed: the child is exiting, so reap it promptly. */
            qr_sleep(0.005);
        }
        struct rusage ru;
        pid_t got = wait4(pid, &status, WNOHANG, &ru);
        if (got == pid) {
            oc->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                        (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
            if (!eof)
                qr_worker__pipe_read(&pr, fd, oc);
            break;
        }
        qr_worker__tick(w);
        double now = qr_now();
        /* In order of precedence when several limits trip at once. */
        kill_reason now_why = NOT_KILLED;
        /* Sampled every pass: the peak goes into the history. */
        uint64_t cur = qr_worker__rss_bytes(pid);
        if (cur > oc->peak_rss)
            oc->peak_rss = cur;
        qr_metrics_set_child_rss(w->metrics, cur);
        sample_disk(w, work, oc, now >= next_disk, &free_now);
        if (now >= next_disk)
            next_disk = now + DISK_EVERY_S;
        /*
         * The live state, at a bounded rate; when Redis is slow, one update
         * costs at most its command timeout and the next waits LIVE_BACKOFF_S.
         */
        if (oc->job_id[0] && now >= next_live) {
            bool ok = qr_worker__job_live(
                          w, oc->job_id, oc->stage[0] ? oc->stage : "start", cur, oc->disk_used,
                          free_now == UINT64_MAX ? oc->disk_free : free_now, oc->started) == 0;
            next_live = qr_now() + (ok ? LIVE_EVERY_S : LIVE_BACKOFF_S);
        }
        if (w->o->memory_limit > 0 && !why) {
            rss = cur;
            if (rss > w->o->memory_limit)
                now_why = KILL_MEMORY;
        }
        if (!now_why && w->o->disk_reserve > 0 && free_now < w->o->disk_reserve)
            now_why = KILL_DISK;
        if (!now_why && w->o->job_timeout_s > 0 && now - start > w->o->job_timeout_s)
            now_why = KILL_TIMEOUT;
        if (w->sig->drain && drain_deadline == 0)
            drain_deadline = now + w->drain_timeout_s;
        /* A drain waits for this job: systemd's stop timeout must not end it first. */
        if (drain_deadline > 0 && now <= drain_deadline + term_timeout)
            qr_worker__sd_extend(w->o->notify_systemd, &w->next_extend, now);
        if (!now_why && drain_deadline > 0 && now > drain_deadline)
            now_why = KILL_DRAIN;
        if (w->sig->kill_child) {
            w->sig->kill_child = 0;
            if (!now_why)
                now_why = KILL_USR1;
        }
        /*
         * The first reason stands. A drain's deadline asks the child to stop
         * (TERM: it cleans up at its next safe point and reports canceled) and
         * kills it --term-timeout later; every other reason kills at once.
         */
        if (now_why && !why) {
            why = now_why;
            if (why == KILL_DRAIN && term_timeout > 0) {
                qr_log(QR_LOG_INFO, "worker",
                       "drain deadline: asking the job (pid %ld) to stop; killed in %g s if it "
                       "does not",
                       (long)pid, term_timeout);
                kill(pid, SIGTERM);
                term_deadline = now + term_timeout;
            } else if (why == KILL_DISK) {
                free_at_stop = free_now;
                double grace = term_timeout < DISK_TERM_S ? term_timeout : DISK_TERM_S;
                qr_log(QR_LOG_WARN, "worker",
                       "only %llu MB free in %s (reserve %llu MB): stopping the job (pid %ld)",
                       (unsigned long long)(free_now >> 20), work,
                       (unsigned long long)(w->o->disk_reserve >> 20), (long)pid);
                kill(pid, grace > 0 ? SIGTERM : SIGKILL);
                killed = grace <= 0;
                term_deadline = now + grace;
            } else {
                kill(pid, SIGKILL);
                killed = true;
            }
        }
        if ((why == KILL_DRAIN || why == KILL_DISK) && !killed && term_deadline > 0 &&
            now > term_deadline) {
            qr_log(QR_LOG_WARN, "worker", "the job (pid %ld) did not stop within %g s: killed",
                   (long)pid, term_timeout);
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    /* A job that published within the grace stays published. */
    if (pr.have_result && (!why || ((why == KILL_DRAIN || why == KILL_DISK) && !killed && oc->ok)))
        return;
    oc->by_parent = true;
    const char *stage = oc->stage[0] ? oc->stage : "unknown";
    switch (why) {
    case KILL_MEMORY:
        qr_worker__outcome_fail(oc, QR_ERR_OUT_OF_MEMORY, NULL,
                                "job exceeded the memory limit of %llu MB (resident %llu MB) in "
                                "stage %s",
                                (unsigned long long)(w->o->memory_limit >> 20),
                                (unsigned long long)(rss >> 20), stage);
        break;
    case KILL_TIMEOUT:
        qr_worker__outcome_fail(oc, QR_ERR_TIMEOUT, NULL,
                                "job exceeded the %g s wall-clock limit in stage %s",
                                w->o->job_timeout_s, stage);
        break;
    case KILL_DRAIN:
        oc->ok = false;
        oc->released = true;
        break;
    case KILL_DISK:
        qr_worker__outcome_fail(oc, QR_ERR_DISK_FULL, NULL,
                                "the work directory's file system had %llu MB free, under the "
                                "reserve of %llu MB, in stage %s",
                                (unsigned long long)(free_at_stop >> 20),
                                (unsigned long long)(w->o->disk_reserve >> 20), stage);
        break;
    case KILL_USR1:
        qr_worker__outcome_fail(oc, QR_ERR_CANCELED, DIRTY_EXIT,
                                "Child process killed on request (SIGUSR1) pid %ld in stage %s",
                                (long)pid, stage);
        break;
    case NOT_KILLED:
        oc->crashed = true;
        if (WIFSIGNALED(status))
            qr_worker__outcome_fail(oc, QR_ERR_INTERNAL, DIRTY_EXIT,
                                    "Child process received unhandled signal pid %ld %s (signal "
                                    "%d) in stage %s",
                                    (long)pid, signame(WTERMSIG(status)), WTERMSIG(status), stage);
        else
            qr_worker__outcome_fail(oc, QR_ERR_INTERNAL, DIRTY_EXIT,
                                    "Child process exited with status %d without a result (pid "
                                    "%ld, stage %s)",
                                    WIFEXITED(status) ? WEXITSTATUS(status) : -1, (long)pid, stage);
        break;
    }
}

/* The last complete lines of `f` that fit in `out` (NUL-terminated). */
static void read_tail(char *out, size_t n, FILE *f)
{
    out[0] = '\0';
    if (fseek(f, 0, SEEK_END) != 0)
        return;
    long end = ftell(f);
    if (end <= 0)
        return;
    long from = end > (long)n - 1 ? end - ((long)n - 1) : 0;
    if (fseek(f, from, SEEK_SET) != 0)
        return;
    size_t got = fread(out, 1, (size_t)(end - from), f);
    out[got] = '\0';
    if (from > 0) {
        /* Drop the partial first line. */
        char *nl = strchr(out, '\n');
        if (nl)
            memmove(out, nl + 1, strlen(nl + 1) + 1);
        else
            out[0] = '\0';
    }
}

/* The last `max` bytes of `f` from a line start (malloc'd; NULL when empty). */
static void read_last(char **out, size_t *len, FILE *f, size_t max)
{
    *out = NULL;
    *len = 0;
    if (fseek(f, 0, SEEK_END) != 0)
        return;
    long end = ftell(f);
    if (end <= 0)
        return;
    long from = (size_t)end > max ? end - (long)max : 0;
    char *buf = malloc((size_t)(end - from) + 1);
    if (!buf || fseek(f, from, SEEK_SET) != 0) {
        free(buf);
        return;
    }
    size_t got = fread(buf, 1, (size_t)(end - from), f);
    size_t skip = 0;
    if (from > 0) {
        /* Drop the partial first line. */
        char *nl = memchr(buf, '\n', got);
        skip = nl ? (size_t)(nl - buf) + 1 : got;
    }
    memmove(buf, buf + skip, got - skip);
    *len = got - skip;
    *out = buf;
}

/* Removes the job's work directory, whatever the child left in it. */
static void remove_job_work(qr_worker *w)
{
    if (!w->job_work)
        return;
    qr_error e = QR_ERROR_INIT;
    if (qr_workdir_remove(w->job_work, &e) < 0)
        qr_log(QR_LOG_WARN, "worker", "cannot remove %s: %s", w->job_work, e.msg);
    free(w->job_work);
    w->job_work = NULL;
    if (w->job_lock >= 0)
        close(w->job_lock);
    w->job_lock = -1;
}

/* Forks the child and supervises it. Fills `oc`. */
static void fork_and_run(qr_worker *w, const qr_resque_job *rj, const qr_job *job,
                         qr_worker_outcome *oc)
{
    int fds[2];
    if (pipe(fds) != 0) {
        qr_worker__outcome_fail(oc, QR_ERR_IO, NULL, "pipe failed: %s", strerror(errno));
        return;
    }
    /* The child's log, as text; its tail goes into the failure entry. */
    FILE *cap = tmpfile();
    /* The child's whole log, as JSON lines, for the history. */
    FILE *jcap = tmpfile();
    const char *work = w->o->process.work_parent ? w->o->process.work_parent : "/tmp";
    if (qr_worker__disk(work, &oc->disk_free, &oc->disk_total) < 0)
        oc->disk_free = oc->disk_total = 0;
    else
        qr_metrics_set_disk(w->metrics, oc->disk_free, oc->disk_total);
    /*
     * The job's own work directory: its child works below it, and it goes
     * whatever becomes of the child (a killed child removes nothing).
     */
    qr_error we = QR_ERROR_INIT;
    if (qr_workdir_create(&w->job_work, work, "job", &we) < 0) {
        qr_log(QR_LOG_WARN, "worker", "%s: the job works directly in %s", we.msg, work);
        w->job_work = NULL;
    }
    /* Held by this process and the child: a sweep removes it only once both are gone. */
    w->job_lock = w->job_work ? qr_worker__lock_dir(w->job_work) : -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    oc->started = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        if (cap)
            fclose(cap);
        if (jcap)
            fclose(jcap);
        qr_worker__outcome_fail(oc, QR_ERR_IO, NULL, "fork failed: %s", strerror(errno));
        remove_job_work(w);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        qr_worker__child(w, job, rj->queue, fds[1], jcap, cap);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    qr_worker__title(w, "Forked %ld at %ld", (long)pid, (long)time(NULL));
    qr_log(QR_LOG_INFO, "worker", "book %s from %s: child %ld", job->book_id, rj->queue, (long)pid);
    qr_metrics_set_busy(w->metrics, 1);
    supervise(w, pid, fds[0], oc, work);
    qr_metrics_set_busy(w->metrics, 0);
    close(fds[0]);
    /* The child's own ENOSPC, whatever id the failing call gave it. */
    if (!oc->ok && !oc->released && oc->err.errid != QR_ERR_DISK_FULL &&
        (oc->err.errid == QR_ERR_IO || oc->err.errid == QR_ERR_WRITE_FAILED ||
         oc->err.errid == QR_ERR_INTERNAL) &&
        qr_worker__says_disk_full(&oc->err)) {
        char msg[sizeof(oc->err.msg)];
        snprintf(msg, sizeof(msg), "%s", oc->err.msg);
        qr_worker__outcome_fail(oc, QR_ERR_DISK_FULL, NULL, "%s", msg);
        oc->crashed = false;
    }
    if (oc->err.errid == QR_ERR_DISK_FULL && !oc->ok)
        oc->disk_full = true;
    remove_job_work(w);
    {
        uint64_t fr = 0, total = 0;
        if (qr_worker__disk(work, &fr, &total) == 0)
            qr_metrics_set_disk(w->metrics, fr, total);
    }
    if (oc->ok)
        qr_log(QR_LOG_INFO, "worker", "book %s revision %s published%s in %.2f s", oc->book_id,
               oc->revision, oc->already_published ? " (already there, nothing written)" : "",
               oc->child_seconds);
    clock_gettime(CLOCK_REALTIME, &ts);
    oc->ended = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    if (cap) {
        if (!oc->ok)
            read_tail(oc->log, sizeof(oc->log), cap);
        fclose(cap);
    }
    if (jcap) {
        read_last(&oc->json_log, &oc->json_log_len, jcap,
                  w->o->log_max_bytes ? w->o->log_max_bytes : (size_t)1 << 20);
        fclose(jcap);
    }
}

/*
 * A job the parent ended (wall-clock or memory limit, USR1, a crash after
 * the last attempt) sent no callback: a short-lived child delivers
 * book.failed, so the application hears of it, without holding up the loop.
 */
static void notify_in_background(qr_worker *w, const qr_job *job, const qr_worker_outcome *oc)
{
    pid_t pid = qr_worker__notifier_fork(w);
    if (pid < 0) {
        qr_log(QR_LOG_ERROR, "notify",
               "fork failed (%s): the failure callback of book %s is not sent", strerror(errno),
               job->book_id);
        return;
    }
    if (pid > 0)
        return;
    qr_callback_result res = QR_CALLBACK_RESULT_INIT;
    qr_callback_result_from_error(&res, job, &oc->err, NULL);
    res.error_stage = oc->stage[0] ? oc->stage : NULL;
    res.duration_s = oc->seconds;
    qr_error ce = QR_ERROR_INIT;
    (void)qr_worker__deliver(w, job, &res, &ce);
    _exit(0);
}

/* The job's CloudWatch embedded-metric-format lines, through the binary's hook. */
static void emit_emf(qr_worker *w, const qr_resque_job *rj, const qr_worker_outcome *oc,
                     const char *outcome)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char *lines = NULL;
    qr_error e = QR_ERROR_INIT;
    const char *group = w->o->fleet ? qr_fleet_group(w->o->fleet) : w->o->emf_group;
    if (qr_worker__emf_line(&lines, oc, rj->queue, outcome, group,
                            (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &e) < 0) {
        qr_log(QR_LOG_WARN, "worker", "metrics line: %s", e.msg);
        return;
    }
    w->o->emf(lines, w->o->emf_ud);
    free(lines);
}

int qr_worker__run_job(qr_worker *w, const qr_resque_job *rj, qr_error *err)
{
    qr_job *job = NULL;
    qr_worker_outcome oc;
    qr_worker__outcome_init(&oc);
    qr_payload_opts po = QR_PAYLOAD_OPTS_INIT;
    po.job_class = w->o->job_class;
    qr_error pe = QR_ERROR_INIT;
    if (qr_payload_parse_buffer(&job, rj->payload, rj->payload_len, &po, &pe) < 0) {
        snprintf(oc.stage, sizeof(oc.stage), "payload");
        qr_worker__outcome_fail(&oc, pe.errid, NULL, "%s", pe.msg);
    } else {
        qr_error ke = QR_ERROR_INIT;
        if (qr_callback_idempotency_key(oc.job_id, job, &ke) < 0)
            oc.job_id[0] = '\0';
        if (oc.job_id[0])
            qr_worker__job_state(w, oc.job_id, "running", "start", job->book_id);
        if (job->enqueued_at > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double wait = (double)ts.tv_sec + ts.tv_nsec / 1e9 - job->enqueued_at;
            qr_metrics_record_wait(w->metrics, wait > 0 ? wait : 0);
            qr_log(QR_LOG_INFO, "worker", "book %s waited %.1f s in %s", job->book_id,
                   wait > 0 ? wait : 0, rj->queue);
        }
        double t0 = qr_now();
        w->current = rj;
        fork_and_run(w, rj, job, &oc);
        oc.seconds = qr_now() - t0;
    }
    bool final_failure = false;
    int rc = qr_worker__record(w, rj, &oc, &final_failure, err);
    w->current = NULL;
    const char *outcome = oc.ok                          ? "succeeded"
                          : oc.released                  ? "requeued"
                          : oc.crashed && !final_failure ? "crashed"
                          : !final_failure               ? "requeued"
                                                         : "failed";
    if (rc == 0 && job && oc.job_id[0])
        qr_worker__history(w, rj, job, &oc, outcome);
    if (rc == 0 && w->o->emf)
        emit_emf(w, rj, &oc, oc.crashed ? "crashed" : outcome);
    free(oc.json_log);
    oc.json_log = NULL;
    if (rc == 0 && job)
        qr_worker__alert(w, rj, job, &oc, final_failure);
    if (rc == 0 && final_failure && oc.by_parent && job && job->callback_url)
        notify_in_background(w, job, &oc);
    qr_job_free(job);
    return rc;
}
