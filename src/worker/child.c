/*
 * One job, child side (after fork): restore default signal dispositions,
 * start libvips (its threads do not survive fork, so the parent never starts
 * it), process the book into the store and report over the pipe as JSON
 * lines: {"stage":"..."} while running, then {"result":{...}} once.
 */
#include <jansson.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "qr/image.h"
#include "qr/log.h"
#include "qr/package.h"
#include "worker_int.h"

typedef struct child_ctx {
    int fd;
    char stage[32];
    qr_log_level min;
    bool fd_broken; /* the parent is gone; the result write will fail too */
    FILE *capture;  /* the parent reads its tail for failure entries; may be NULL */
} child_ctx;

/*
 * Writes one JSON object as a line; the parent treats a short write as a
 * missing result. Never logs: it runs inside the log sink.
 */
static bool send_json(int fd, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (!s)
        return false;
    size_t len = strlen(s);
    const char *p = s;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    bool ok = left == 0 && write(fd, "\n", 1) == 1;
    free(s);
    return ok;
}

static void send_stage(child_ctx *c, const char *stage)
{
    if (c->fd_broken || !stage || strcmp(stage, c->stage) == 0)
        return;
    snprintf(c->stage, sizeof(c->stage), "%s", stage);
    json_t *o = json_pack("{s:s}", "stage", c->stage);
    if (!send_json(c->fd, o))
        c->fd_broken = true;
    json_decref(o);
}

/* The child's log sink: JSON lines on stderr (with the job id), and the stage to the parent. */
static void child_sink(const qr_log_event *ev, void *ud)
{
    child_ctx *c = ud;
    qr_log_sink_json(ev, stderr);
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

static void reset_signals(void)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

static json_t *result_json(const qr_process_report *r, const qr_error *err, const char *stage)
{
    if (r)
        return json_pack("{s:{s:b, s:s, s:s, s:s, s:b, s:f}}", "result", "ok", 1, "book_id",
                         r->book_id, "revision", r->revision, "prefix", r->prefix,
                         "already_published", r->already_published, "seconds", r->t_total);
    return json_pack("{s:{s:b, s:s, s:s, s:s, s:s}}", "result", "ok", 0, "id",
                     err->id ? err->id : "internal", "message", err->msg, "stage",
                     err->stage ? err->stage : stage, "context", err->context);
}

void qr_worker__child(const qr_worker *w, const qr_job *job, const char *source, const char *queue,
                      int fd, FILE *capture)
{
    child_ctx c;
    memset(&c, 0, sizeof(c));
    c.fd = fd;
    c.capture = capture;
    c.min = qr_log_get_level();
    qr_store *store = NULL;
    qr_process_report *r = NULL;
    qr_error err = QR_ERROR_INIT;
    reset_signals();
    /* A worker killed outright takes its child with it; the job is recovered by a sweep. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != w->parent_pid)
        _exit(1);
    qr_log_set_sink(child_sink, &c, c.min);
    qr_log_set_job(job->active_job_id ? job->active_job_id : job->book_id);
    qr_worker__title(w, "Processing %s since %ld [%s]", queue, (long)time(NULL), job->job_class);
    send_stage(&c, "start");
    qr_log(QR_LOG_INFO, "worker", "processing %s as book %s%s%s (pid %ld)", source, job->book_id,
           job->revision ? " revision " : "", job->revision ? job->revision : "", (long)getpid());
    qr_process_opts po = QR_PROCESS_OPTS_INIT;
    po.profile = job->profile ? qr_profile_get(job->profile) : w->o->profile;
    po.book_id = job->book_id;
    po.revision = job->revision;
    po.threads = w->o->threads;
    po.work_parent = w->o->work_parent;
    po.progress = on_progress;
    po.progress_ud = &c;
    int rc = qr_image_global_init("quire", &err);
    if (rc == 0)
        rc = qr_store_local_new(&store, w->o->store_dir, &err);
    if (rc == 0)
        rc = qr_process_book(&r, source, store, NULL, w->o->keyring, &po, NULL, &err);
    json_t *o = result_json(rc == 0 ? r : NULL, &err, c.stage);
    int status = send_json(fd, o) ? 0 : 1;
    json_decref(o);
    close(fd);
    qr_process_report_free(r);
    qr_store_free(store);
    /* _exit: the parent's atexit handlers and stdio buffers are not the child's to run. */
    _exit(status);
}
