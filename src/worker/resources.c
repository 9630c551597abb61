/*
 * What a running job uses, as the parent sees it: the child's resident
 * memory, the bytes under the job's work directory and the free space of
 * its file system; and the CloudWatch embedded-metric-format lines written
 * at a job's end (docs/operations/monitoring.md lists their names).
 */
#define _DEFAULT_SOURCE /* DT_DIR */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "qr/fs.h"
#include "qr/log.h"
#include "worker_int.h"

#define MAX_DEPTH 64
#define MAX_ENTRIES 100000

uint64_t qr_worker__rss_bytes(pid_t pid)
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

int qr_worker__disk(const char *path, uint64_t *free_b, uint64_t *total_b)
{
    struct statvfs v;
    if (statvfs(path, &v) != 0)
        return -1;
    *free_b = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    *total_b = (uint64_t)v.f_blocks * (uint64_t)v.f_frsize;
    return 0;
}

/* Adds the blocks under the open directory `fd` (closed here) to *sum. */
static void walk(int fd, int depth, size_t *entries, uint64_t *sum)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && *entries < MAX_ENTRIES) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        (*entries)++;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* the child removed it meanwhile */
        *sum += (uint64_t)st.st_blocks * 512u;
        if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                walk(sub, depth + 1, entries, sum);
        }
    }
    closedir(d);
}

uint64_t qr_worker__dir_usage(const char *dir)
{
    uint64_t sum = 0;
    size_t entries = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        walk(fd, 0, &entries, &sum);
    return sum;
}

int qr_worker__lock_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A job directory left by a dead worker: older than this and its lock free. */
#define ORPHAN_AGE_S 10

void qr_worker__sweep_job_dirs(const char *work)
{
    DIR *d = opendir(work);
    if (!d)
        return;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "quire-job-", 10) != 0)
            continue;
        char path[4096];
        struct stat st;
        if (snprintf(path, sizeof(path), "%s/%s", work, e->d_name) >= (int)sizeof(path) ||
            lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || now - st.st_ctime < ORPHAN_AGE_S)
            continue;
        /* A live job's worker (or its child) holds the lock from the directory's first moment. */
        int fd = qr_worker__lock_dir(path);
        if (fd < 0)
            continue;
        qr_error err = QR_ERROR_INIT;
        if (qr_workdir_remove(path, &err) < 0)
            qr_log(QR_LOG_WARN, "worker", "cannot remove %s: %s", path, err.msg);
        else
            qr_log(QR_LOG_INFO, "worker", "removed %s, left by a worker that died", path);
        close(fd);
    }
    closedir(d);
}

bool qr_worker__says_disk_full(const qr_error *e)
{
    return e->errid == QR_ERR_DISK_FULL || strstr(e->msg, strerror(ENOSPC)) != NULL ||
           strstr(e->context, strerror(ENOSPC)) != NULL;
}

/* {"Name": name, "Unit": unit} */
static json_t *metric(const char *name, const char *unit)
{
    return json_pack("{s:s,s:s}", "Name", name, "Unit", unit);
}

/* One line: `root` gets the _aws member for `dims` and `metrics`, then is dumped. */
static int emf_dump(char **out, json_t *root, long long now_ms, json_t *dims, json_t *metrics,
                    qr_error *err)
{
    json_t *aws =
        json_pack("{s:I,s:[{s:s,s:o,s:o}]}", "Timestamp", (json_int_t)now_ms, "CloudWatchMetrics",
                  "Namespace", "Quire", "Dimensions", dims, "Metrics", metrics);
    if (!aws || json_object_set_new(root, "_aws", aws) != 0)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "worker", "out of memory");
    *out = json_dumps(root, JSON_COMPACT);
    if (!*out)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "worker", "out of memory");
    return 0;
}

int qr_worker__emf_line(char **out, const qr_worker_outcome *oc, const char *queue,
                        const char *outcome, const char *group, long long now_ms, qr_error *err)
{
    static const char *const stages[] = {"compress", "positions", "slice", "encrypt", "publish"};
    *out = NULL;
    char *job = NULL;
    int rc = 0;
    json_t *root = json_pack(
        "{s:s,s:s,s:s,s:f,s:I,s:I,s:i,s:i,s:i}", "Queue", queue ? queue : "", "Outcome", outcome,
        "JobId", oc->job_id, "JobSeconds", oc->seconds, "PeakRssBytes", (json_int_t)oc->peak_rss,
        "DiskFreeBytes", (json_int_t)(oc->disk_free_min ? oc->disk_free_min : oc->disk_free),
        "JobsSucceeded", strcmp(outcome, "succeeded") == 0, "JobsFailed",
        strcmp(outcome, "failed") == 0, "JobsCrashed", strcmp(outcome, "crashed") == 0);
    bool g = group && *group;
    if (g)
        json_object_set_new(root, "AutoScalingGroupName", json_string(group));
    /* The contract's dimensions (deploy/monitoring/metrics.txt): the group, else none. */
    json_t *dims = g ? json_pack("[[s]]", "AutoScalingGroupName") : json_pack("[[]]");
    json_t *metrics =
        json_pack("[o,o,o,o,o,o]", metric("JobSeconds", "Seconds"), metric("PeakRssBytes", "Bytes"),
                  metric("DiskFreeBytes", "Bytes"), metric("JobsSucceeded", "Count"),
                  metric("JobsFailed", "Count"), metric("JobsCrashed", "Count"));
    if (!root || !dims || !metrics) {
        json_decref(dims);
        json_decref(metrics);
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "worker", "out of memory");
        goto out;
    }
    if ((rc = emf_dump(&job, root, now_ms, dims, metrics, err)) < 0)
        goto out;
    /*
     * StageSeconds: one line per stage that ran, since a member has one
     * value per line and Stage is its dimension.
     */
    size_t len = strlen(job), cap = len + 1;
    char *all = job;
    job = NULL;
    double t[6] = {oc->t_fetch,    oc->t_stage[0], oc->t_stage[1],
                   oc->t_stage[2], oc->t_stage[3], oc->t_stage[4]};
    for (size_t i = 0; i < 6; i++) {
        const char *name = i == 0 ? "fetch" : stages[i - 1];
        if (!(t[i] > 0))
            continue;
        json_decref(root);
        root = json_pack("{s:s,s:s,s:s,s:f}", "Stage", name, "Queue", queue ? queue : "", "JobId",
                         oc->job_id, "StageSeconds", t[i]);
        if (root && g)
            json_object_set_new(root, "AutoScalingGroupName", json_string(group));
        json_t *sd = g ? json_pack("[[s,s]]", "AutoScalingGroupName", "Stage")
                       : json_pack("[[s]]", "Stage");
        json_t *sm = json_pack("[o]", metric("StageSeconds", "Seconds"));
        char *line = NULL;
        if (!root || !sd || !sm) {
            json_decref(sd);
            json_decref(sm);
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "worker", "out of memory");
        } else {
            rc = emf_dump(&line, root, now_ms, sd, sm, err);
        }
        size_t l = line ? strlen(line) : 0;
        char *grown = rc == 0 ? realloc(all, cap + l + 1) : NULL;
        if (rc == 0 && !grown)
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "worker", "out of memory");
        if (rc < 0) {
            free(line);
            free(all);
            goto out;
        }
        all = grown;
        all[len] = '\n';
        memcpy(all + len + 1, line, l + 1);
        len += 1 + l;
        cap = len + 1;
        free(line);
    }
    *out = all;
out:
    free(job);
    json_decref(root);
    return rc;
}
