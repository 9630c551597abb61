/*
 * One job, parent side: parse the payload, fork a child (which checks and
 * fetches the source, processes the book and sends the callback),
 * supervise it (heartbeat, wall-clock limit, drain, USR1) and record the
 * outcome through the queue layer.
 */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qr/log.h"
#include "worker_int.h"

#define LINE_MAX_BYTES 16384
#define MAX_LOG_LINES 20

/* Reads the child's JSON lines: stage updates and the final result. */
typedef struct pipe_reader {
    char line[LINE_MAX_BYTES];
    size_t len;
    bool overflow; /* the current line is too long: dropped */
    bool have_result;
} pipe_reader;

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static void take_line(pipe_reader *pr, qr_worker_outcome *oc)
{
    json_error_t je;
    json_t *o = json_loadb(pr->line, pr->len, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    const char *stage = json_string_value(json_object_get(o, "stage"));
    if (stage)
        copy_str(oc->stage, sizeof(oc->stage), stage);
    json_t *res = json_object_get(o, "result");
    if (json_is_object(res)) {
        pr->have_result = true;
        oc->ok = json_is_true(json_object_get(res, "ok"));
        copy_str(oc->id, sizeof(oc->id), json_string_value(json_object_get(res, "id")));
        copy_str(oc->msg, sizeof(oc->msg), json_string_value(json_object_get(res, "message")));
        copy_str(oc->context, sizeof(oc->context),
                 json_string_value(json_object_get(res, "context")));
        const char *rs = json_string_value(json_object_get(res, "stage"));
        if (rs)
            copy_str(oc->stage, sizeof(oc->stage), rs);
        if (oc->ok)
            qr_log(QR_LOG_INFO, "worker", "book %s revision %s published%s in %.2f s",
                   json_string_value(json_object_get(res, "book_id")),
                   json_string_value(json_object_get(res, "revision")),
                   json_is_true(json_object_get(res, "already_published"))
                       ? " (already there, nothing written)"
                       : "",
                   json_number_value(json_object_get(res, "seconds")));
    }
    json_decref(o);
}

/* Drains what the pipe holds now; returns false at EOF or on an error. */
static bool read_pipe(pipe_reader *pr, int fd, qr_worker_outcome *oc)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0)
            return false;
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                if (!pr->overflow)
                    take_line(pr, oc);
                pr->len = 0;
                pr->overflow = false;
            } else if (pr->len < sizeof(pr->line)) {
                pr->line[pr->len++] = buf[i];
            } else {
                pr->overflow = true;
            }
        }
    }
}

static void set_failure(qr_worker_outcome *oc, const char *id, const char *fmt, ...)
    QR_PRINTF(3, 4);
static void set_failure(qr_worker_outcome *oc, const char *id, const char *fmt, ...)
{
    va_list ap;
    oc->ok = false;
    copy_str(oc->id, sizeof(oc->id), id);
    va_start(ap, fmt);
    vsnprintf(oc->msg, sizeof(oc->msg), fmt, ap);
    va_end(ap);
}

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

/*
 * Waits for the child, reading its pipe, heartbeating, enforcing the
 * wall-clock limit, the drain timeout and USR1. Fills `oc`.
 */
/* Resident bytes of `pid` from /proc/<pid>/statm; 0 when unknown. */
static uint64_t rss_bytes(pid_t pid)
{
    char path[64];
    unsigned long long size = 0, resident = 0;
    snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (uint64_t)resident * (uint64_t)page : 0;
}

static void supervise(qr_worker *w, pid_t pid, int fd, qr_worker_outcome *oc)
{
    uint64_t rss = 0;
    pipe_reader pr;
    memset(&pr, 0, sizeof(pr));
    double start = qr_worker__now();
    double drain_deadline = 0;
    bool eof = false, killed_timeout = false, killed_drain = false, killed_usr1 = false,
         killed_memory = false;
    int status = 0;
    for (;;) {
        if (!eof) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 100) > 0)
                eof = !read_pipe(&pr, fd, oc);
        } else {
            /* The pipe closed: the child is exiting, so reap it promptly. */
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) {
            if (!eof)
                read_pipe(&pr, fd, oc);
            break;
        }
        qr_worker__tick(w);
        double now = qr_worker__now();
        bool kill_now = false;
        if (w->o->job_timeout_s > 0 && now - start > w->o->job_timeout_s && !killed_timeout) {
            killed_timeout = kill_now = true;
        }
        if (w->o->memory_limit > 0 && !killed_memory) {
            rss = rss_bytes(pid);
            if (rss > w->o->memory_limit)
                killed_memory = kill_now = true;
        }
        if (w->sig->drain && drain_deadline == 0)
            drain_deadline = now + w->drain_timeout_s;
        if (drain_deadline > 0 && now > drain_deadline && !killed_drain)
            killed_drain = kill_now = true;
        if (w->sig->kill_child) {
            w->sig->kill_child = 0;
            killed_usr1 = kill_now = true;
        }
        if (kill_now)
            kill(pid, SIGKILL);
    }
    bool have = pr.have_result;
    const char *stage = oc->stage[0] ? oc->stage : "unknown";
    if (have && !killed_timeout && !killed_drain && !killed_usr1 && !killed_memory)
        return;
    oc->by_parent = true;
    if (killed_memory) {
        set_failure(oc, "out-of-memory",
                    "job exceeded the memory limit of %llu MB (resident %llu MB) in stage %s",
                    (unsigned long long)(w->o->memory_limit >> 20), (unsigned long long)(rss >> 20),
                    stage);
    } else if (killed_timeout) {
        set_failure(oc, "timeout", "job exceeded the %g s wall-clock limit in stage %s",
                    w->o->job_timeout_s, stage);
    } else if (killed_drain) {
        oc->released = true;
    } else if (killed_usr1) {
        set_failure(oc, "Resque::DirtyExit",
                    "Child process killed on request (SIGUSR1) pid %ld in stage %s", (long)pid,
                    stage);
    } else if (WIFSIGNALED(status)) {
        oc->crashed = true;
        set_failure(oc, "Resque::DirtyExit",
                    "Child process received unhandled signal pid %ld %s (signal %d) in stage %s",
                    (long)pid, signame(WTERMSIG(status)), WTERMSIG(status), stage);
    } else {
        oc->crashed = true;
        set_failure(oc, "Resque::DirtyExit",
                    "Child process exited with status %d without a result (pid %ld, stage %s)",
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1, (long)pid, stage);
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

/* Forks the child and supervises it. Fills `oc`. */
static void fork_and_run(qr_worker *w, const qr_resque_job *rj, const qr_job *job,
                         qr_worker_outcome *oc)
{
    int fds[2];
    if (pipe(fds) != 0) {
        set_failure(oc, "io", "pipe failed: %s", strerror(errno));
        return;
    }
    /* The child's log, as text; its tail goes into the failure entry. */
    FILE *cap = tmpfile();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        if (cap)
            fclose(cap);
        set_failure(oc, "io", "fork failed: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        qr_worker__child(w, job, rj->queue, fds[1], cap);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    qr_worker__title(w, "Forked %ld at %ld", (long)pid, (long)time(NULL));
    qr_log(QR_LOG_INFO, "worker", "book %s from %s: child %ld", job->book_id, rj->queue, (long)pid);
    qr_admin_set_busy(w->admin, 1);
    supervise(w, pid, fds[0], oc);
    qr_admin_set_busy(w->admin, 0);
    close(fds[0]);
    if (cap) {
        if (!oc->ok)
            read_tail(oc->log, sizeof(oc->log), cap);
        fclose(cap);
    }
}

/*
 * A job the parent ended (wall-clock or memory limit, USR1, a crash after
 * the last attempt) sent no callback: a short-lived child delivers
 * book.failed, so the application hears of it, without holding up the loop.
 */
static void notify_in_background(qr_worker *w, const qr_job *job, const qr_worker_outcome *oc)
{
    if (w->nnotifiers == QR_WORKER_MAX_NOTIFIERS) {
        int status = 0;
        waitpid(w->notifiers[0], &status, 0);
        memmove(w->notifiers, w->notifiers + 1, (w->nnotifiers - 1) * sizeof(w->notifiers[0]));
        w->nnotifiers--;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        qr_log(QR_LOG_ERROR, "notify",
               "fork failed (%s): the failure callback of book %s is not sent", strerror(errno),
               job->book_id);
        return;
    }
    if (pid > 0) {
        w->notifiers[w->nnotifiers++] = pid;
        return;
    }
    /* Resque::DirtyExit is no quire id: a crash is internal, a USR1 kill canceled. */
    qr_errid id = qr_errid_from_str(oc->id);
    if (id == QR_ERR_NONE)
        id = strstr(oc->msg, "SIGUSR1") ? QR_ERR_CANCELED : QR_ERR_INTERNAL;
    qr_error e = QR_ERROR_INIT;
    qr_error_set(&e, id, "worker", "%s", oc->msg);
    qr_callback_result res = QR_CALLBACK_RESULT_INIT;
    qr_callback_result_from_error(&res, job, &e, NULL);
    res.error_stage = oc->stage[0] ? oc->stage : NULL;
    res.duration_s = oc->seconds;
    qr_error ce = QR_ERROR_INIT;
    (void)qr_worker__deliver(w, job, &res, &ce);
    _exit(0);
}

/* Records the outcome; retried while Redis is away, until a stop is asked. */
static int record(qr_worker *w, const qr_resque_job *rj, const qr_worker_outcome *oc,
                  bool *final_failure, qr_error *err)
{
    *final_failure = false;
    char stage_line[64], context_line[300];
    char log[sizeof(oc->log)];
    const char *bt[2 + MAX_LOG_LINES];
    size_t nbt = 0;
    if (oc->stage[0]) {
        snprintf(stage_line, sizeof(stage_line), "stage: %s", oc->stage);
        bt[nbt++] = stage_line;
    }
    if (oc->context[0]) {
        snprintf(context_line, sizeof(context_line), "context: %s", oc->context);
        bt[nbt++] = context_line;
    }
    /* The last lines of the child's log, newest last, as Resque shows a backtrace. */
    memcpy(log, oc->log, sizeof(log));
    char *lines[MAX_LOG_LINES];
    size_t nl = 0;
    char *save = NULL;
    for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (nl == MAX_LOG_LINES) {
            memmove(lines, lines + 1, (MAX_LOG_LINES - 1) * sizeof(lines[0]));
            nl--;
        }
        lines[nl++] = l;
    }
    for (size_t i = 0; i < nl; i++)
        bt[nbt++] = lines[i];
    qr_resque_failure f = {oc->id[0] ? oc->id : "internal", oc->msg, bt, nbt};
    for (;;) {
        qr_error e = QR_ERROR_INIT;
        int rc;
        bool poisoned = false;
        if (oc->released)
            rc = qr_resque_release(w->r, rj, 0, NULL, NULL, &e);
        else if (oc->crashed)
            rc = qr_resque_release(w->r, rj, w->max_attempts, &f, &poisoned, &e);
        else
            rc = qr_resque_done(w->r, rj, oc->ok ? NULL : &f, &e);
        if (rc == 0) {
            *final_failure = !oc->ok && !oc->released && (!oc->crashed || poisoned);
            qr_admin_record_job(w->admin,
                                oc->released || (oc->crashed && !poisoned) ? QR_ADMIN_REQUEUED
                                : oc->ok                                   ? QR_ADMIN_SUCCEEDED
                                                                           : QR_ADMIN_FAILED,
                                oc->seconds);
            if (oc->released)
                qr_log(QR_LOG_INFO, "worker", "drain: job returned to the head of %s", rj->queue);
            else if (oc->crashed)
                qr_log(QR_LOG_WARN, "worker", "%s; %s", oc->msg,
                       poisoned ? "attempts exhausted: recorded as a failure"
                                : "returned to its queue");
            else if (!oc->ok)
                qr_log(QR_LOG_WARN, "worker", "job failed: %s: %s", f.exception, oc->msg);
            return 0;
        }
        qr_log(QR_LOG_WARN, "worker", "recording the job: %s: %s; retrying", e.id, e.msg);
        if (w->sig->drain || w->sig->quit) {
            *err = e;
            return err->code;
        }
        double s = (double)qr_resque_backoff_ms(w->r) / 1000.0;
        qr_worker__sleep(w, s < 0.1 ? 0.1 : s);
        if (w->sig->drain || w->sig->quit) {
            /* One last attempt after the sleep was cut short. */
            qr_error_clear(&e);
            rc = oc->released || oc->crashed ? qr_resque_release(w->r, rj, 0, NULL, NULL, &e)
                                             : qr_resque_done(w->r, rj, oc->ok ? NULL : &f, &e);
            if (rc == 0)
                return 0;
            *err = e;
            return err->code;
        }
    }
}

int qr_worker__run_job(qr_worker *w, const qr_resque_job *rj, qr_error *err)
{
    qr_job *job = NULL;
    qr_worker_outcome oc;
    memset(&oc, 0, sizeof(oc));
    qr_payload_opts po = QR_PAYLOAD_OPTS_INIT;
    po.job_class = w->o->job_class;
    qr_error pe = QR_ERROR_INIT;
    if (qr_payload_parse_buffer(&job, rj->payload, rj->payload_len, &po, &pe) < 0) {
        set_failure(&oc, pe.id, "%s", pe.msg);
        copy_str(oc.stage, sizeof(oc.stage), "payload");
    } else {
        double t0 = qr_worker__now();
        fork_and_run(w, rj, job, &oc);
        oc.seconds = qr_worker__now() - t0;
    }
    bool final_failure = false;
    int rc = record(w, rj, &oc, &final_failure, err);
    if (rc == 0 && final_failure && oc.by_parent && job && job->callback_url)
        notify_in_background(w, job, &oc);
    qr_job_free(job);
    return rc;
}
