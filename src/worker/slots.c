/*
 * --slots N: one process per slot, each a complete worker (its own pid, its
 * own Resque id, its own children), under a supervisor that only forwards
 * signals and restarts slots that die.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qr/clock.h"
#include "qr/log.h"
#include "worker_int.h"

#define MAX_SLOTS QR_WORKER__MAX_SLOTS

typedef struct slot {
    pid_t pid;         /* 0 when not running */
    double restart_at; /* monotonic time of the next start when not running */
    double backoff;    /* seconds before the next restart after a crash */
    int status;        /* last exit status */
    pid_t dead;        /* pid of a slot that died unexpectedly, cleaned up by its successor */
} slot;

/*
 * Forks slot `index`. A successor first cleans up after the slot that died
 * (`dead` > 0) so its job goes back to the queue now rather than after the
 * prune window; the supervisor itself stays off Redis.
 */
static pid_t start_slot(const qr_worker_opts *o, qr_worker_signals *sig, qr_worker__board *board,
                        qr_metrics *metrics, unsigned index, pid_t dead)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (dead > 0)
        qr_worker__reap_slot(o, (long)dead);
    /* The supervisor is the unit's main process: a slot never talks to systemd. */
    qr_worker_opts so = *o;
    so.notify_systemd = false;
    /* The instance-wide fleet duties are the supervisor's agent's; the slot reports to the board.
     */
    so.emf_group = o->fleet ? qr_fleet_group(o->fleet) : o->emf_group;
    so.fleet = NULL;
    so.admin_listen = NULL;
    qr_error e = QR_ERROR_INIT;
    int rc = qr_worker__run(&so, sig, board, index, metrics, &e);
    if (rc < 0)
        qr_log(QR_LOG_ERROR, "worker", "slot %u: %s: %s", index, e.id ? e.id : "internal", e.msg);
    _exit(rc < 0 ? 1 : 0);
}

static volatile sig_atomic_t admin_stop;

static void on_admin_term(int signo)
{
    (void)signo;
    admin_stop = 1;
}

/*
 * Forks the process that serves the slots' shared metrics at `listen`
 * until TERM or the supervisor's death. -1 (logged) when it cannot start.
 */
pid_t qr_worker__admin_start(const char *listen, qr_metrics *m, unsigned n)
{
    int ready[2];
    if (pipe(ready) != 0)
        return -1;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(ready[0]);
        close(ready[1]);
        qr_log(QR_LOG_WARN, "worker", "admin endpoint disabled: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(ready[0]);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGQUIT, &sa, NULL);
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGUSR2, &sa, NULL);
        sa.sa_handler = on_admin_term;
        sigaction(SIGTERM, &sa, NULL);
        qr_httpd *h = NULL;
        qr_error e = QR_ERROR_INIT;
        char ok = qr_httpd_start(&h, listen, qr_metrics_handle, m, &e) == 0 ? 1 : 0;
        if (!ok)
            qr_log(QR_LOG_WARN, "worker", "admin endpoint disabled: %s: %s", e.id, e.msg);
        else
            qr_log(QR_LOG_INFO, "worker", "admin endpoint on http://%s/%s", listen,
                   n > 1 ? " for every slot" : "");
        if (write(ready[1], &ok, 1) != 1)
            ok = 0;
        close(ready[1]);
        while (ok && !admin_stop && getppid() == parent) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        qr_httpd_stop(h);
        _exit(0);
    }
    close(ready[1]);
    char ok = 0;
    ssize_t got;
    while ((got = read(ready[0], &ok, 1)) < 0 && errno == EINTR)
        ;
    close(ready[0]);
    if (got == 1 && ok)
        return pid;
    int st = 0;
    waitpid(pid, &st, 0);
    return -1;
}

void qr_worker__admin_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    int st = 0;
    kill(pid, SIGTERM);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

/* A slot that ended is not registered until its successor says so. */
static void slot_down(qr_metrics *m, unsigned i)
{
    qr_metrics *h = NULL;
    qr_error e = QR_ERROR_INIT;
    if (m && qr_metrics_attach(&h, m, i, &e) == 0) {
        qr_metrics_set_registered(h, false);
        qr_metrics_free(h);
    }
}

static void signal_all(const slot *s, unsigned n, int signo)
{
    for (unsigned i = 0; i < n; i++)
        if (s[i].pid > 0)
            kill(s[i].pid, signo);
}

int qr_worker_run_slots(const qr_worker_opts *o, unsigned n, qr_worker_signals *sig, qr_error *err)
{
    if (n == 0 || n > MAX_SLOTS)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "worker", "slots must be 1..%d, got %u",
                            MAX_SLOTS, n);
    if (n == 1)
        return qr_worker_run(o, sig, err);
    slot s[MAX_SLOTS];
    memset(s, 0, sizeof(s));
    bool drained = false, quitting = false, agent_reaped = false;
    int paused = 0, rc = 0;
    qr_worker__board *board = NULL;
    pid_t agent = -1;
    /* In a fleet: the board first (the slots inherit it), the agent before the slots fork. */
    if (o->fleet && !(board = qr_worker__board_new(n)))
        qr_log(QR_LOG_ERROR, "fleet", "no shared memory for the slots' board: %s", strerror(errno));
    if (board && (agent = qr_worker__agent_start(o, board)) < 0) {
        qr_worker__board_free(board);
        board = NULL;
    }
    if (o->fleet && !board)
        qr_log(QR_LOG_ERROR, "fleet",
               "running without the fleet agent: no scale-in protection, no drain hook");
    /*
     * One /healthz and /metrics for every slot; the slots write into the
     * shared holder. A separate process serves it: the supervisor stays
     * single-threaded, so no thread's lock is ever copied into a slot.
     */
    qr_metrics *metrics = NULL;
    pid_t admin = -1;
    bool admin_reaped = false;
    if (o->admin_listen) {
        qr_error me = QR_ERROR_INIT;
        double hb = o->heartbeat_s > 0 ? o->heartbeat_s : 60.0;
        if (qr_metrics_new_slots(&metrics, n, 3 * hb, &me) < 0)
            qr_log(QR_LOG_WARN, "worker", "admin endpoint disabled: %s: %s", me.id, me.msg);
        else if ((admin = qr_worker__admin_start(o->admin_listen, metrics, n)) < 0) {
            qr_metrics_free(metrics);
            metrics = NULL;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        s[i].backoff = 1.0;
        s[i].pid = start_slot(o, sig, board, metrics, i, 0);
        if (s[i].pid < 0) {
            rc = qr_error_set(err, QR_ERR_IO, "worker", "fork of slot %u failed: %s", i,
                              strerror(errno));
            s[i].pid = 0;
            sig->drain = 1;
            break;
        }
    }
    char title[64];
    snprintf(title, sizeof(title), "resque-%s: Supervising %u slots", QR_VERSION, n);
    if (o->title && o->title_cap > 1) {
        memset(o->title, 0, o->title_cap);
        snprintf(o->title, o->title_cap, "%s", title);
    }
    qr_log(QR_LOG_INFO, "worker", "supervising %u slots", n);
    qr_worker__sd(o->notify_systemd, "READY=1\nSTATUS=Supervising %u slots", n);
    double next_extend = 0;
    for (;;) {
        if (sig->drain && !drained) {
            drained = true;
            signal_all(s, n, SIGTERM);
            qr_worker__sd(o->notify_systemd, "STOPPING=1\nSTATUS=Draining %u slots", n);
        }
        if (sig->quit && !quitting) {
            quitting = true;
            signal_all(s, n, SIGQUIT);
            qr_worker__sd(o->notify_systemd, "STOPPING=1\nSTATUS=Finishing the jobs in hand");
        }
        /* The slots bound their own drain; meanwhile systemd waits for them. */
        if (drained || quitting)
            qr_worker__sd_extend(o->notify_systemd, &next_extend, qr_now());
        if (sig->kill_child) {
            sig->kill_child = 0;
            signal_all(s, n, SIGUSR1);
        }
        if (sig->paused != paused) {
            paused = sig->paused;
            signal_all(s, n, paused ? SIGUSR2 : SIGCONT);
        }
        int status = 0;
        pid_t got;
        while ((got = waitpid(-1, &status, WNOHANG)) > 0) {
            if (got == admin) {
                admin_reaped = true;
                qr_log(QR_LOG_WARN, "worker", "the admin endpoint (pid %ld) ended", (long)got);
                continue;
            }
            if (got == agent) {
                agent_reaped = true;
                qr_log(QR_LOG_ERROR, "fleet", "the fleet agent (pid %ld) ended unexpectedly",
                       (long)got);
                continue;
            }
            for (unsigned i = 0; i < n; i++) {
                if (s[i].pid != got)
                    continue;
                s[i].pid = 0;
                s[i].status = status;
                s[i].dead = got;
                slot_down(metrics, i);
                if (drained || quitting)
                    break;
                qr_log(QR_LOG_WARN, "worker", "slot %u (pid %ld) %s %d; restarting in %.0f s", i,
                       (long)got, WIFSIGNALED(status) ? "died on signal" : "exited with",
                       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), s[i].backoff);
                s[i].restart_at = qr_now() + s[i].backoff;
                s[i].backoff = s[i].backoff * 2 > 30 ? 30 : s[i].backoff * 2;
            }
        }
        bool running = false;
        for (unsigned i = 0; i < n; i++) {
            if (s[i].pid == 0 && !drained && !quitting && qr_now() >= s[i].restart_at) {
                pid_t pid = start_slot(o, sig, board, metrics, i, s[i].dead);
                if (pid > 0) {
                    s[i].pid = pid;
                    s[i].dead = 0;
                }
            }
            if (s[i].pid > 0)
                running = true;
        }
        if (!running && (drained || quitting))
            break;
        /* nanosleep, not qr_sleep: a signal to the supervisor cuts the wait short. */
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    qr_worker__agent_finish(board, agent, agent_reaped);
    qr_worker__board_free(board);
    if (!admin_reaped)
        qr_worker__admin_stop(admin);
    qr_metrics_free(metrics);
    for (unsigned i = 0; i < n && rc == 0; i++)
        if (!WIFEXITED(s[i].status) || WEXITSTATUS(s[i].status) != 0)
            rc = qr_error_set(err, QR_ERR_INTERNAL, "worker", "slot %u did not exit cleanly", i);
    return rc;
}
