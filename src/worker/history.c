/*
 * After a job is recorded: its history record (one entry of the stream
 * <ns>:quire:history), its log (the child's JSON lines, zlib-compressed,
 * expiring) and its live state's last word. docs/operations/monitoring.md
 * says how an operator reads them (quire history, quire logs). Nothing here
 * can fail a job: errors are logged and the job's outcome stands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "qr/buildinfo.h"
#include "qr/log.h"
#include "worker_int.h"

#define DEFAULT_HISTORY 10000
#define DEFAULT_LOG_TTL (14L * 24 * 3600)

static long log_ttl(const qr_worker *w)
{
    return w->o->log_ttl_s > 0 ? w->o->log_ttl_s : DEFAULT_LOG_TTL;
}

void qr_worker__job_state(qr_worker *w, const char *job_id, const char *state, const char *stage,
                          const char *book_id)
{
    char started[32], pid[24];
    snprintf(started, sizeof(started), "%ld", (long)time(NULL));
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    const char *kv[] = {"state",   state,   "stage",  stage,
                        "book_id", book_id, "worker", qr_resque_worker_id(w->r),
                        "updated", started};
    qr_error e = QR_ERROR_INIT;
    if (qr_resque_job_state(w->r, job_id, kv, 5, log_ttl(w), &e) < 0)
        qr_log(QR_LOG_WARN, "history", "job state of %s: %s: %s", job_id, e.id, e.msg);
}

int qr_worker__job_live(qr_worker *w, const char *job_id, const char *stage, uint64_t rss,
                        uint64_t disk_used, uint64_t disk_free, double started)
{
    char v[5][32];
    snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)rss);
    snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)disk_used);
    snprintf(v[2], sizeof(v[2]), "%llu", (unsigned long long)disk_free);
    snprintf(v[3], sizeof(v[3]), "%ld", (long)time(NULL));
    snprintf(v[4], sizeof(v[4]), "%.3f", started);
    const char *kv[] = {"state", "running",   "stage", stage,     "rss", v[0],      "disk_used",
                        v[1],    "disk_free", v[2],    "updated", v[3],  "started", v[4]};
    qr_error e = QR_ERROR_INIT;
    if (qr_resque_job_state(w->r, job_id, kv, 7, log_ttl(w), &e) < 0) {
        qr_log(QR_LOG_WARN, "history",
               "live state of %s: %s: %s; the next update waits (the job goes on)", job_id, e.id,
               e.msg);
        return -1;
    }
    return 0;
}

/* zlib of the log, in the format `quire logs` reads back ("zlib:" + deflate stream). */
static int compress_log(unsigned char **out, size_t *len, const char *log, size_t n)
{
    uLongf cap = compressBound((uLong)n) + 5;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return -1;
    memcpy(buf, "zlib:", 5);
    uLongf got = cap - 5;
    if (compress2(buf + 5, &got, (const Bytef *)log, (uLong)n, 6) != Z_OK) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = got + 5;
    return 0;
}

void qr_worker__history(qr_worker *w, const qr_resque_job *rj, const qr_job *job,
                        const qr_worker_outcome *oc, const char *outcome)
{
    char host[256] = "", v[32][48], libs[512] = "";
    qr_error e = QR_ERROR_INIT;
    const char *wid = qr_resque_worker_id(w->r);
    const char *colon = wid ? strchr(wid, ':') : NULL;
    snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - wid) : 0, wid ? wid : "");
    qr_buildinfo bi;
    qr_buildinfo_get(&bi);
    size_t used = (size_t)snprintf(libs, sizeof(libs), "quire=%s", bi.version);
    for (size_t i = 0; i < bi.nlibs && used < sizeof(libs); i++)
        used += (size_t)snprintf(libs + used, sizeof(libs) - used, " %s=%s", bi.libs[i].name,
                                 bi.libs[i].version);
    int k = 0;
#define NUM(fmt, x) (snprintf(v[k], sizeof(v[k]), fmt, x), v[k++])
    const char *kv[] = {
        "job_id",        oc->job_id,
        "book_id",       oc->ok ? oc->book_id : job->book_id,
        "revision",      oc->ok ? oc->revision : (job->revision ? job->revision : ""),
        "queue",         rj->queue,
        "worker",        wid ? wid : "",
        "host",          host,
        "outcome",       outcome,
        "error",         oc->ok ? "" : (oc->released ? "" : (oc->err.id ? oc->err.id : "internal")),
        "message",       oc->ok || oc->released ? "" : oc->err.msg,
        "stage",         oc->stage,
        "started",       NUM("%.3f", oc->started),
        "ended",         NUM("%.3f", oc->ended),
        "seconds",       NUM("%.3f", oc->seconds),
        "t_compress",    NUM("%.3f", oc->t_stage[0]),
        "t_positions",   NUM("%.3f", oc->t_stage[1]),
        "t_slice",       NUM("%.3f", oc->t_stage[2]),
        "t_encrypt",     NUM("%.3f", oc->t_stage[3]),
        "t_publish",     NUM("%.3f", oc->t_stage[4]),
        "bytes_in",      NUM("%llu", (unsigned long long)oc->bytes_in),
        "bytes_out",     NUM("%llu", (unsigned long long)oc->bytes_out),
        "slices",        NUM("%zu", oc->slices),
        "peak_rss",      NUM("%llu", (unsigned long long)oc->peak_rss),
        "cpu_seconds",   NUM("%.3f", oc->cpu_s),
        "disk_free",     NUM("%llu", (unsigned long long)oc->disk_free),
        "disk_free_min", NUM("%llu", (unsigned long long)oc->disk_free_min),
        "disk_total",    NUM("%llu", (unsigned long long)oc->disk_total),
        "disk_used",     NUM("%llu", (unsigned long long)oc->disk_used),
        "t_fetch",       NUM("%.3f", oc->t_fetch),
        "log_bytes",     NUM("%zu", oc->json_log_len),
        "libraries",     libs,
    };
#undef NUM
    size_t npairs = sizeof(kv) / sizeof(kv[0]) / 2;
    size_t max = w->o->history_max ? w->o->history_max : DEFAULT_HISTORY;
    if (qr_resque_history_add(w->r, kv, npairs, max, &e) < 0)
        qr_log(QR_LOG_WARN, "history", "history record of %s: %s: %s", oc->job_id, e.id, e.msg);
    if (oc->json_log && oc->json_log_len) {
        unsigned char *z = NULL;
        size_t zlen = 0;
        qr_error_clear(&e);
        if (compress_log(&z, &zlen, oc->json_log, oc->json_log_len) < 0)
            qr_log(QR_LOG_WARN, "history", "log of %s: cannot compress", oc->job_id);
        else if (qr_resque_log_put(w->r, oc->job_id, z, zlen, log_ttl(w), &e) < 0)
            qr_log(QR_LOG_WARN, "history", "log of %s: %s: %s", oc->job_id, e.id, e.msg);
        free(z);
    }
    qr_worker__job_state(w, oc->job_id, outcome, oc->stage, job->book_id);
}
