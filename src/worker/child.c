/*
 * One job, child side (after fork): restore default signal dispositions,
 * check and fetch the source, start libvips (its threads do not survive
 * fork, so the parent never starts it), process the book into the store,
 * send the callback, and report over the pipe as JSON lines:
 * {"stage":"..."} while running, then {"result":{...}} once.
 */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "qr/fs.h"
#include "qr/http.h"
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

/*
 * The job's source as a local path: a path must resolve inside source_dir
 * (when set); a URL is fetched into a new work directory (*fetch_dir).
 * *path is malloc'd.
 */
static int take_source(const qr_worker *w, qr_remote *remote, const qr_job *job, char **path,
                       char **fetch_dir, uint64_t *bytes, qr_error *err)
{
    *path = NULL;
    *fetch_dir = NULL;
    qr_remote_kind kind = qr_remote_classify(job->source);
    if (kind != QR_REMOTE_LOCAL) {
        if (!w->o->remote || kind == QR_REMOTE_OTHER) {
            char *safe = qr_http_redact_url(job->source);
            int rc = qr_error_set(
                err, QR_ERR_SOURCE_FORBIDDEN, "fetch", "this worker does not fetch %s sources: %s",
                kind == QR_REMOTE_OTHER ? "such" : "remote", safe ? safe : "(unprintable URL)");
            free(safe);
            return rc;
        }
        int rc = qr_workdir_create(fetch_dir, w->o->work_parent, "fetch", err);
        if (rc == 0)
            rc = qr_remote_fetch(remote, job->source, *fetch_dir, path, bytes, err);
        return rc;
    }
    char *real = realpath(job->source, NULL);
    if (!real)
        return qr_error_set_cause(err, QR_ERR_SOURCE_NOT_FOUND, errno, "worker",
                                  "cannot open the source %s: %s", job->source, strerror(errno));
    if (w->o->source_dir) {
        char *root = realpath(w->o->source_dir, NULL);
        size_t n = root ? strlen(root) : 0;
        bool inside =
            root && strncmp(real, root, n) == 0 && (real[n] == '/' || (n == 1 && root[0] == '/'));
        free(root);
        if (!inside) {
            free(real);
            return qr_error_set(err, QR_ERR_UNSAFE_PATH, "worker",
                                "the source %s is outside --source-dir %s", job->source,
                                w->o->source_dir);
        }
    }
    *path = real;
    return 0;
}

/*
 * POSTs the job's result to its callback_url. A published book whose
 * callback is never delivered becomes a callback-failed job; a failed job
 * keeps its own error and the undelivered callback is logged with it.
 */
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

void qr_worker__child(const qr_worker *w, const qr_job *job, const char *queue, int fd,
                      FILE *capture)
{
    child_ctx c;
    memset(&c, 0, sizeof(c));
    c.fd = fd;
    c.capture = capture;
    c.min = qr_log_get_level();
    qr_store *store = NULL;
    qr_remote *remote = NULL;
    qr_process_report *r = NULL;
    qr_warnings *partial = NULL;
    char *source = NULL, *fetch_dir = NULL;
    uint64_t fetched = 0;
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
    qr_process_opts po = QR_PROCESS_OPTS_INIT;
    po.profile = job->profile ? qr_profile_get(job->profile) : w->o->profile;
    po.book_id = job->book_id;
    po.revision = job->revision;
    po.threads = w->o->threads;
    po.work_parent = w->o->work_parent;
    po.progress = on_progress;
    po.progress_ud = &c;
    qr_remote_opts local_only = QR_REMOTE_OPTS_INIT;
    int rc = 0;
    if (job->profile && !po.profile)
        rc = qr_error_set(&err, QR_ERR_INVALID_ARGUMENT, "worker",
                          "unknown profile '%s' (one of: %s)", job->profile, qr_profile_names());
    if (rc == 0)
        rc = qr_remote_new(&remote, w->o->remote ? w->o->remote : &local_only, &err);
    if (rc == 0) {
        send_stage(&c, "fetch");
        rc = take_source(w, remote, job, &source, &fetch_dir, &fetched, &err);
        if (rc == 0 && fetch_dir)
            qr_log(QR_LOG_INFO, "fetch", "fetched %llu bytes", (unsigned long long)fetched);
    }
    if (rc == 0)
        rc = qr_image_global_init("quire", &err);
    if (rc == 0)
        rc = qr_remote_store_open(remote, w->o->store_dir, &store, &err);
    if (rc == 0)
        rc = qr_process_book(&r, source, store, NULL, w->o->keyring, &po, &partial, &err);
    if (fetch_dir) {
        qr_error we = QR_ERROR_INIT;
        if (qr_workdir_remove(fetch_dir, &we) < 0)
            qr_log(QR_LOG_WARN, "fetch", "%s", we.msg);
    }
    if (job->callback_url) {
        send_stage(&c, "notify");
        notify(w, remote, job, rc == 0 ? r : NULL, partial, qr_now() - t0, &err);
        if (rc == 0 && err.errid != QR_ERR_NONE)
            rc = -1;
    }
    json_t *o = result_json(rc == 0 ? r : NULL, &err, c.stage);
    int status = send_json(fd, o) ? 0 : 1;
    json_decref(o);
    close(fd);
    qr_process_report_free(r);
    qr_warnings_free(partial);
    qr_store_free(store);
    qr_remote_free(remote);
    free(source);
    free(fetch_dir);
    /* _exit: the parent's atexit handlers and stdio buffers are not the child's to run. */
    _exit(status);
}
