/*
 * One job, child side (after fork): restore default signal dispositions,
 * start libvips (its threads do not survive fork, so the parent never
 * starts it), process the job's source into the store (qr_process_source:
 * checked, fetched when remote, processed, cleaned up), send the callback,
 * and report to the parent (outcome.c): a stage line whenever the log moves
 * to a new stage, then the result.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "qr/clock.h"
#include "qr/image.h"
#include "qr/log.h"
#include "worker_int.h"

typedef struct child_ctx {
    int fd;
    char stage[32];
    qr_log_level min;
    bool fd_broken; /* the parent is gone; the result write will fail too */
    FILE *capture;  /* the parent reads its tail for failure entries; may be NULL */
    FILE *jcap;     /* the whole log as JSON lines, for the history; may be NULL */
} child_ctx;

static void send_stage(child_ctx *c, const char *stage)
{
    if (c->fd_broken || !stage || strcmp(stage, c->stage) == 0)
        return;
    snprintf(c->stage, sizeof(c->stage), "%s", stage);
    if (!qr_worker__send_stage(c->fd, c->stage))
        c->fd_broken = true;
}

/* The child's log sink: JSON lines on stderr (with the job id), and the stage to the parent. */
static void child_sink(const qr_log_event *ev, void *ud)
{
    child_ctx *c = ud;
    qr_log_sink_json(ev, stderr);
    if (c->jcap)
        qr_log_sink_json(ev, c->jcap);
    if (c->capture)
        qr_log_sink_text(ev, c->capture);
    if (ev->stage && strcmp(ev->stage, "worker") != 0)
        send_stage(c, ev->stage);
}

static void on_progress(void *ud, size_t done, size_t total, const char *item)
{
    (void)done;
    (void)total;
    (void)item;
    send_stage(ud, "compress");
}

/* Set by TERM: the parent's drain deadline asks the job to stop (qr_process_opts.cancel). */
static volatile sig_atomic_t child_cancel;

static void on_term(int signo)
{
    (void)signo;
    child_cancel = 1;
}

static void reset_signals(void)
{
    static const int sigs[] = {SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    /* TERM stops the job at its next safe point, cleaned up; KILL follows if it does not. */
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
}

int qr_worker__deliver(const qr_worker *w, const qr_job *job, const qr_callback_result *res,
                       qr_error *err)
{
    qr_callback_opts def = QR_CALLBACK_OPTS_INIT;
    qr_callback_report rep;
    int rc = qr_callback_deliver(&rep, job, res, w->o->callback ? w->o->callback : &def, err);
    if (rc == 0)
        qr_log(QR_LOG_INFO, "notify", "callback of book %s delivered (key %s, %u attempt%s)",
               job->book_id, rep.key, rep.attempts, rep.attempts == 1 ? "" : "s");
    else
        qr_log(QR_LOG_ERROR, "notify",
               "callback of book %s not delivered: %s: %s (key %s, %u attempts)", job->book_id,
               err->id, err->msg, rep.key, rep.attempts);
    return rc;
}

/*
 * POSTs the job's result to its callback_url. A published book whose
 * callback is never delivered becomes a callback-failed job; a failed job
 * keeps its own error and the undelivered callback is logged with it.
 */
static void notify(const qr_worker *w, qr_remote *remote, const qr_job *job,
                   const qr_process_report *r, const qr_warnings *partial, double seconds,
                   qr_error *err)
{
    qr_callback_result res = QR_CALLBACK_RESULT_INIT;
    char *manifest_url = NULL;
    if (r) {
        qr_callback_result_from_report(&res, r);
        manifest_url = remote ? qr_remote_manifest_url(remote, w->o->store_dir, r->prefix) : NULL;
        res.manifest_url = manifest_url;
    } else {
        qr_callback_result_from_error(&res, job, err, partial);
    }
    res.duration_s = seconds;
    qr_error ce = QR_ERROR_INIT;
    int rc = qr_worker__deliver(w, job, &res, &ce);
    free(manifest_url);
    if (rc < 0 && r)
        *err = ce;
}

void qr_worker__child(const qr_worker *w, const qr_job *job, const char *queue, int fd, FILE *jcap,
                      FILE *capture)
{
    child_ctx c;
    memset(&c, 0, sizeof(c));
    c.fd = fd;
    c.capture = capture;
    c.jcap = jcap;
    c.min = qr_log_get_level();
    qr_store *store = NULL;
    qr_remote *remote = NULL;
    qr_process_report *r = NULL;
    qr_warnings *partial = NULL;
    qr_error err = QR_ERROR_INIT;
    double t0 = qr_now();
    reset_signals();
    /* A worker killed outright takes its child with it; the job is recovered by a sweep. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != w->parent_pid)
        _exit(1);
    qr_log_set_sink(child_sink, &c, c.min);
    qr_log_set_job(job->active_job_id ? job->active_job_id : job->book_id);
    qr_worker__title(w, "Processing %s since %ld [%s]", queue, (long)time(NULL), job->job_class);
    send_stage(&c, "start");
    qr_log(QR_LOG_INFO, "worker", "processing book %s%s%s (pid %ld)", job->book_id,
           job->revision ? " revision " : "", job->revision ? job->revision : "", (long)getpid());
    /* The worker's defaults, with what the job itself names. */
    qr_process_opts po = w->o->process;
    /* The job's own directory, which the parent removes whatever becomes of this process. */
    if (w->job_work)
        po.work_parent = w->job_work;
    po.profile = job->profile ? qr_profile_get(job->profile) : w->o->process.profile;
    po.book_id = job->book_id;
    po.revision = job->revision;
    po.progress = on_progress;
    po.progress_ud = &c;
    po.cancel = &child_cancel;
    po.tune_malloc = true; /* this child is the job's own process */
    qr_remote_opts local_only = QR_REMOTE_OPTS_INIT;
    int rc = 0;
    if (job->profile && !po.profile)
        rc = qr_error_set(&err, QR_ERR_INVALID_ARGUMENT, "worker",
                          "unknown profile '%s' (one of: %s)", job->profile, qr_profile_names());
    if (rc == 0)
        rc = qr_remote_new(&remote, w->o->remote ? w->o->remote : &local_only, &err);
    if (rc == 0)
        rc = qr_image_global_init("quire", &err);
    if (rc == 0)
        rc = qr_remote_store_open(remote, w->o->store_dir, &store, &err);
    if (rc == 0) {
        send_stage(&c, "fetch");
        rc = qr_process_source(&r, job->source, w->o->remote ? remote : NULL, store, NULL,
                               w->o->keyring, &po, &partial, &err);
    }
    if (job->callback_url) {
        send_stage(&c, "notify");
        notify(w, remote, job, rc == 0 ? r : NULL, partial, qr_now() - t0, &err);
        if (rc == 0 && err.errid != QR_ERR_NONE)
            rc = -1;
    }
    int status = qr_worker__send_result(fd, rc == 0 ? r : NULL, &err, c.stage) ? 0 : 1;
    close(fd);
    if (jcap)
        fflush(jcap);
    if (capture)
        fflush(capture);
    qr_process_report_free(r);
    qr_warnings_free(partial);
    qr_store_free(store);
    qr_remote_free(remote);
    /* _exit: the parent's atexit handlers and stdio buffers are not the child's to run. */
    _exit(status);
}
