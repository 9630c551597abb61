/*
 * Alerts, worker side: which outcomes call for one, the fleet-wide claim
 * in Redis (qr_resque_alert_claim), and the notifier children that mail
 * and post them (qr/alert.h). The job's outcome is recorded before any of
 * this runs, and nothing here can change it: a relay that is down costs a
 * log line (alert-failed), never a job. docs/operations/monitoring.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qr/log.h"
#include "worker_int.h"

#define DEFAULT_PERIOD_S 3600
#define DEFAULT_WINDOW_S 300
#define DEFAULT_BURST 5

static bool enabled(const qr_worker *w)
{
    const qr_alert_opts *a = w->o->alert;
    return a && (a->smtp.url || a->webhook);
}

/* The kind of alert `oc` calls for; NULL: none. */
static const char *alert_kind(const qr_alert_opts *a, const qr_worker_outcome *oc,
                              bool final_failure)
{
    if (oc->ok || oc->released)
        return NULL;
    if (oc->crashed)
        return final_failure ? "poisoned" : "crashed";
    /* The worker's own kills (memory, wall clock); not a USR1 an operator sent. */
    if (oc->by_parent && oc->err.errid != QR_ERR_CANCELED)
        return "killed";
    if (final_failure && a->failures)
        return "failed";
    return NULL;
}

/* The mail and the webhook of one alert, in a notifier child. */
static void send_one(const qr_worker *w, const qr_alert *al, bool mail)
{
    const qr_alert_opts *a = w->o->alert;
    qr_error e = QR_ERROR_INIT;
    if (mail && a->smtp.url) {
        char *msg = NULL;
        size_t len = 0;
        if (qr_alert_mail(&msg, &len, al, &a->smtp, (int64_t)time(NULL), &e) < 0 ||
            qr_alert_smtp_send(&a->smtp, msg, len, &e) < 0)
            qr_log(QR_LOG_ERROR, "alert",
                   "alert-failed: the mail about book %s was not sent: %s: %s", al->book_id, e.id,
                   e.msg);
        else
            qr_log(QR_LOG_INFO, "alert", "mailed the %s alert of book %s (job %s)", al->kind,
                   al->book_id, al->job_id);
        free(msg);
    }
    if (a->webhook && al->job_id && *al->job_id) {
        qr_error_clear(&e);
        /* Idempotency-Key: the job id, as the body's job_id (one alert per job at most). */
        if (qr_alert_webhook(a->webhook, al->job_id, al, w->o->callback, &e) < 0)
            qr_log(QR_LOG_ERROR, "alert",
                   "alert-failed: the webhook about book %s was not delivered: %s: %s", al->book_id,
                   e.id, e.msg);
        else
            qr_log(QR_LOG_INFO, "alert", "posted the %s alert of book %s to the webhook", al->kind,
                   al->book_id);
    }
}

void qr_worker__alert(qr_worker *w, const qr_resque_job *rj, const qr_job *job,
                      const qr_worker_outcome *oc, bool final_failure)
{
    if (!enabled(w))
        return;
    const qr_alert_opts *a = w->o->alert;
    const char *kind = alert_kind(a, oc, final_failure);
    if (!kind || !job->book_id)
        return;
    char host[256] = "";
    const char *wid = qr_resque_worker_id(w->r);
    const char *colon = wid ? strchr(wid, ':') : NULL;
    snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - wid) : 0, wid ? wid : "");
    qr_alert al = QR_ALERT_INIT;
    al.kind = kind;
    al.book_id = job->book_id;
    al.revision = job->revision;
    al.error_id = oc->err.id ? oc->err.id : "internal";
    al.message = oc->err.msg;
    al.stage = oc->stage;
    al.worker = wid;
    al.host = host;
    al.queue = rj->queue;
    al.job_id = oc->job_id;
    al.log = oc->log;
    al.final = final_failure;
    al.at = (int64_t)time(NULL);

    char *entry = NULL;
    size_t elen = 0;
    qr_error e = QR_ERROR_INIT;
    if (qr_alert_json(&entry, &elen, &al, 0, 0, &e) < 0) {
        qr_log(QR_LOG_ERROR, "alert", "alert-failed: book %s: %s: %s", job->book_id, e.id, e.msg);
        return;
    }
    qr_resque_alert_verdict v = QR_RESQUE_ALERT_SEND;
    if (qr_resque_alert_claim(&v, w->r, job->book_id, a->period_s ? a->period_s : DEFAULT_PERIOD_S,
                              a->window_s ? a->window_s : DEFAULT_WINDOW_S,
                              a->burst ? a->burst : DEFAULT_BURST, entry, &e) < 0) {
        /* Without Redis nothing can be deduplicated: the alert goes out (fail open). */
        qr_log(QR_LOG_WARN, "alert",
               "alert-failed: could not claim the alert of book %s in Redis (%s: %s); sending it "
               "without the per-book limit",
               job->book_id, e.id, e.msg);
        v = QR_RESQUE_ALERT_SEND;
    }
    free(entry);
    if (v == QR_RESQUE_ALERT_SUPPRESSED) {
        qr_log(QR_LOG_INFO, "alert",
               "the %s alert of book %s is not sent: one went out within %ld s", kind, job->book_id,
               a->period_s ? a->period_s : DEFAULT_PERIOD_S);
        return;
    }
    if (v == QR_RESQUE_ALERT_DIGEST && !a->webhook) {
        qr_log(QR_LOG_INFO, "alert", "the %s alert of book %s goes into the digest", kind,
               job->book_id);
        return;
    }
    pid_t pid = qr_worker__notifier_fork(w);
    if (pid < 0) {
        qr_log(QR_LOG_ERROR, "alert", "alert-failed: fork: %s: the alert of book %s is not sent",
               strerror(errno), job->book_id);
        return;
    }
    if (pid > 0) {
        if (v == QR_RESQUE_ALERT_DIGEST)
            qr_log(QR_LOG_INFO, "alert", "the %s alert of book %s goes into the digest", kind,
                   job->book_id);
        return;
    }
    /* The notifier: a digested alert still goes to the webhook, not to the mail. */
    send_one(w, &al, v == QR_RESQUE_ALERT_SEND);
    _exit(0);
}

void qr_worker__alert_digest(qr_worker *w)
{
    if (!enabled(w) || !w->o->alert->smtp.url)
        return;
    char **entries = NULL;
    size_t n = 0, dropped = 0;
    qr_error e = QR_ERROR_INIT;
    if (qr_resque_alert_digest_take(&entries, &n, &dropped, w->r, &e) < 0) {
        qr_log(QR_LOG_WARN, "alert", "looking for a due alert digest: %s: %s", e.id, e.msg);
        return;
    }
    if (n == 0 && dropped == 0) {
        qr_resque_strv_free(entries);
        return;
    }
    pid_t pid = qr_worker__notifier_fork(w);
    if (pid < 0) {
        qr_log(QR_LOG_ERROR, "alert", "alert-failed: fork: %s: a digest of %zu alerts is lost",
               strerror(errno), n + dropped);
        qr_resque_strv_free(entries);
        return;
    }
    if (pid > 0) {
        qr_resque_strv_free(entries);
        return;
    }
    char *msg = NULL;
    size_t len = 0;
    const qr_alert_smtp *smtp = &w->o->alert->smtp;
    if (qr_alert_digest_mail(&msg, &len, (const char *const *)entries, n, dropped, smtp,
                             (int64_t)time(NULL), &e) < 0 ||
        qr_alert_smtp_send(smtp, msg, len, &e) < 0)
        qr_log(QR_LOG_ERROR, "alert", "alert-failed: the digest of %zu alerts was not sent: %s: %s",
               n + dropped, e.id, e.msg);
    else
        qr_log(QR_LOG_INFO, "alert", "mailed a digest of %zu alerts", n + dropped);
    free(msg);
    qr_resque_strv_free(entries);
    _exit(0);
}
