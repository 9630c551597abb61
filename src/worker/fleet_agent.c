/*
 * The worker in an Auto Scaling group (qr/fleet.h): everything instance-wide
 * is done by one agent process that the owner of the instance's slots (the
 * worker with one slot, the supervisor with several) forks before anything
 * else. The slots tell it through a board in shared memory when they are
 * busy; it
 *   - protects the instance from scale-in while any slot runs a job (a slot
 *     that becomes the first busy one waits, up to a few seconds, until the
 *     protection is asked, before it starts its child) and removes the
 *     protection once every slot is idle and found its queues empty;
 *   - reads the target lifecycle state every poll interval; on "Terminated"
 *     (the instance is in Terminating:Wait) it sends the owner SIGQUIT (no
 *     new job; the jobs in hand finish within their own limits), heartbeats
 *     the drain hook meanwhile and, once the owner says it has drained,
 *     completes the hook with CONTINUE.
 * A process rather than a thread: its AWS calls (libcurl, TLS) never run
 * beside a fork of the owner, and the slots' children never inherit them.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qr/clock.h"
#include "qr/log.h"
#include "worker_int.h"

struct qr_worker__board {
    atomic_int busy[QR_WORKER__MAX_SLOTS];
    atomic_int empty[QR_WORKER__MAX_SLOTS]; /* the slot's last poll found its queues empty */
    atomic_uint want;                       /* protection requests (a slot became the first busy) */
    atomic_uint served;                     /* requests the agent has answered */
    atomic_int terminating;                 /* the agent saw Terminated */
    atomic_int owner_done;                  /* the owner drained: finish and exit */
    unsigned nslots;
};

/* Fleet calls after a failure are not repeated more often than this. */
#define RETRY_S 10.0
/* How long a slot waits for the protection before it starts its job anyway. */
#define PROTECT_WAIT_S 5.0
/* How long the owner waits for the agent's last calls. */
#define AGENT_EXIT_WAIT_S 120.0

qr_worker__board *qr_worker__board_new(unsigned nslots)
{
    qr_worker__board *b =
        mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED)
        return NULL;
    memset(b, 0, sizeof(*b));
    b->nslots = nslots;
    for (unsigned i = 0; i < nslots; i++)
        atomic_store(&b->empty[i], 1);
    return b;
}

void qr_worker__board_free(qr_worker__board *b)
{
    if (b)
        munmap(b, sizeof(*b));
}

bool qr_worker__board_terminating(qr_worker__board *b)
{
    return b && atomic_load(&b->terminating);
}

void qr_worker__board_busy(qr_worker__board *b, unsigned slot, bool busy)
{
    if (!b || slot >= b->nslots)
        return;
    if (!busy) {
        atomic_store(&b->busy[slot], 0);
        return;
    }
    atomic_store(&b->empty[slot], 0);
    bool first = true;
    for (unsigned i = 0; i < b->nslots; i++)
        if (i != slot && atomic_load(&b->busy[i]))
            first = false;
    atomic_store(&b->busy[slot], 1);
    if (!first)
        return;
    unsigned gen = atomic_fetch_add(&b->want, 1) + 1;
    double until = qr_now() + PROTECT_WAIT_S;
    while ((int)(atomic_load(&b->served) - gen) < 0 && qr_now() < until &&
           !atomic_load(&b->owner_done))
        qr_sleep(0.01);
}

void qr_worker__board_idle(qr_worker__board *b, unsigned slot)
{
    if (b && slot < b->nslots) {
        atomic_store(&b->busy[slot], 0);
        atomic_store(&b->empty[slot], 1);
    }
}

typedef struct agent {
    qr_fleet *fleet;
    qr_worker__board *b;
    pid_t owner;
    double poll_s, heartbeat_s;
    int protected_; /* -1 unknown, 0, 1 */
    double retry_at;
} agent;

static void protect(agent *a, bool on, double now)
{
    qr_error e = QR_ERROR_INIT;
    if (qr_fleet_protect(a->fleet, on, &e) < 0) {
        qr_log(QR_LOG_WARN, "fleet", "scale-in protection %s for %s: %s: %s", on ? "on" : "off",
               qr_fleet_instance(a->fleet), e.id, e.msg);
        a->retry_at = now + RETRY_S;
        return;
    }
    a->protected_ = on;
    qr_log(QR_LOG_INFO, "fleet", "scale-in protection %s for %s", on ? "on" : "off",
           qr_fleet_instance(a->fleet));
}

static void heartbeat(agent *a)
{
    qr_error e = QR_ERROR_INIT;
    if (qr_fleet_heartbeat(a->fleet, QR_FLEET_DRAIN_HOOK, &e) < 0)
        qr_log(QR_LOG_WARN, "fleet", "lifecycle heartbeat (%s): %s: %s", QR_FLEET_DRAIN_HOOK, e.id,
               e.msg);
    else
        qr_log(QR_LOG_INFO, "fleet", "lifecycle heartbeat (%s): jobs still running",
               QR_FLEET_DRAIN_HOOK);
}

static void complete(agent *a)
{
    qr_error e = QR_ERROR_INIT;
    bool pending = true;
    for (int attempt = 1; attempt <= 5; attempt++) {
        if (qr_fleet_complete(a->fleet, QR_FLEET_DRAIN_HOOK, "CONTINUE", &pending, &e) == 0) {
            qr_log(QR_LOG_INFO, "fleet", "%s: %s; the instance may terminate", QR_FLEET_DRAIN_HOOK,
                   pending ? "drained, lifecycle action completed (CONTINUE)"
                           : "drained; no lifecycle action was waiting");
            return;
        }
        qr_log(QR_LOG_WARN, "fleet", "completing %s: %s: %s; attempt %d of 5", QR_FLEET_DRAIN_HOOK,
               e.id, e.msg, attempt);
        if (e.errid == QR_ERR_ACCESS_DENIED || e.errid == QR_ERR_INVALID_ARGUMENT)
            break;
        qr_sleep(2.0 * attempt);
    }
    qr_log(QR_LOG_ERROR, "fleet",
           "could not complete %s: the group terminates the instance when the hook times out",
           QR_FLEET_DRAIN_HOOK);
}

static void run_agent(agent *a)
{
    unsigned served = atomic_load(&a->b->want);
    double next_poll = 0, next_hb = 0;
    protect(a, false, qr_now());
    a->retry_at = 0;
    for (;;) {
        double now = qr_now();
        bool any_busy = false, all_idle = true;
        for (unsigned i = 0; i < a->b->nslots; i++) {
            if (atomic_load(&a->b->busy[i]))
                any_busy = true;
            if (atomic_load(&a->b->busy[i]) || !atomic_load(&a->b->empty[i]))
                all_idle = false;
        }
        unsigned want = atomic_load(&a->b->want);
        if (want != served) {
            /* A slot waits on this: ask now, whatever the last failure. */
            if (a->protected_ != 1)
                protect(a, true, now);
            served = want;
            atomic_store(&a->b->served, served);
        } else if (any_busy && a->protected_ != 1 && now >= a->retry_at) {
            protect(a, true, now);
        } else if (!any_busy && all_idle && a->protected_ != 0 && now >= a->retry_at) {
            protect(a, false, now);
        }
        if (atomic_load(&a->b->owner_done))
            break;
        if (getppid() != a->owner) {
            qr_log(QR_LOG_WARN, "fleet", "the worker (pid %ld) is gone; the agent stops",
                   (long)a->owner);
            break;
        }
        if (!atomic_load(&a->b->terminating) && now >= next_poll) {
            char state[64];
            qr_error e = QR_ERROR_INIT;
            next_poll = now + a->poll_s;
            if (qr_fleet_target_state(a->fleet, state, sizeof(state), &e) < 0)
                qr_log(QR_LOG_WARN, "fleet", "target lifecycle state: %s: %s", e.id, e.msg);
            else if (strcmp(state, "Terminated") == 0) {
                atomic_store(&a->b->terminating, 1);
                qr_log(
                    QR_LOG_INFO, "fleet",
                    "%s is terminating (%s waits): taking no new job, finishing the jobs in hand",
                    qr_fleet_instance(a->fleet), QR_FLEET_DRAIN_HOOK);
                kill(a->owner, SIGQUIT);
                next_hb = now + a->heartbeat_s;
            }
        }
        if (atomic_load(&a->b->terminating) && now >= next_hb) {
            next_hb = now + a->heartbeat_s;
            heartbeat(a);
        }
        qr_sleep(0.05);
    }
    if (atomic_load(&a->b->terminating))
        complete(a);
    else if (a->protected_ != 0)
        protect(a, false, qr_now());
}

pid_t qr_worker__agent_start(const qr_worker_opts *o, qr_worker__board *b)
{
    agent a = {.fleet = o->fleet,
               .b = b,
               .owner = getpid(),
               .poll_s = o->fleet_poll_s > 0 ? o->fleet_poll_s : 5.0,
               .heartbeat_s = o->fleet_heartbeat_s > 0 ? o->fleet_heartbeat_s : 60.0,
               .protected_ = -1,
               .retry_at = 0};
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) {
        if (pid < 0)
            qr_log(QR_LOG_ERROR, "fleet", "fork of the fleet agent failed: %s", strerror(errno));
        else
            qr_log(QR_LOG_INFO, "fleet", "in Auto Scaling group %s as %s (%s); agent pid %ld",
                   qr_fleet_group(o->fleet), qr_fleet_instance(o->fleet), qr_fleet_region(o->fleet),
                   (long)pid);
        return pid;
    }
    /* The owner's stop signals are the owner's: the agent ends when told through the board. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    run_agent(&a);
    _exit(0);
}

void qr_worker__agent_finish(qr_worker__board *b, pid_t pid, bool reaped)
{
    if (!b || pid <= 0)
        return;
    atomic_store(&b->owner_done, 1);
    if (reaped)
        return;
    double until = qr_now() + AGENT_EXIT_WAIT_S;
    for (;;) {
        int status = 0;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid || (got < 0 && errno != EINTR))
            return;
        if (qr_now() > until) {
            qr_log(QR_LOG_WARN, "fleet", "the fleet agent (pid %ld) did not finish; stopping it",
                   (long)pid);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return;
        }
        qr_sleep(0.05);
    }
}
