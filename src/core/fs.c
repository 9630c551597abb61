/* Filesystem helpers: work directories, atomic writes, free space. */
#define _GNU_SOURCE
#include "qr/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

int qr_workdir_create(char **out, const char *parent, const char *tag, qr_error *err)
{
    *out = NULL;
    if (!parent || !*parent)
        parent = "/tmp";
    char *path = NULL;
    if (asprintf(&path, "%s/quire-%s-XXXXXX", parent, tag ? tag : "job") < 0)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "fs", "cannot build work directory name");
    if (!mkdtemp(path)) {
        int e = errno;
        qr_error_set_cause(err, e == ENOSPC ? QR_ERR_DISK_FULL : QR_ERR_IO, e, "fs",
                           "cannot create work directory under %s: %s", parent, strerror(e));
        free(path);
        return err ? err->code : QR_EIO;
    }
    *out = path;
    return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

int qr_workdir_remove(const char *path, qr_error *err)
{
    if (!path || !*path || strcmp(path, "/") == 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fs", "refusing to remove '%s'",
                            path ? path : "");
    /* "//", "/tmp/..", a link to "/": anything that resolves to the root. */
    char real[PATH_MAX];
    if (realpath(path, real) && strcmp(real, "/") == 0)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fs",
                            "refusing to remove '%s' (the root)", path);
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) {
        int e = errno;
        return qr_error_set_cause(err, QR_ERR_IO, e, "fs", "cannot remove %s: %s", path,
                                  strerror(e));
    }
    return 0;
}

int qr_fs_free_bytes(uint64_t *out, const char *path, qr_error *err)
{
    struct statvfs v;
    *out = 0;
    if (statvfs(path, &v) != 0) {
        int e = errno;
        return qr_error_set_cause(err, QR_ERR_IO, e, "fs", "statvfs %s: %s", path, strerror(e));
    }
    *out = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    return 0;
}

int qr_fs_file_size(uint64_t *out, const char *path, qr_error *err)
{
    struct stat st;
    *out = 0;
    if (stat(path, &st) != 0) {
        int e = errno;
        return qr_error_set_cause(err, e == ENOENT ? QR_ERR_SOURCE_NOT_FOUND : QR_ERR_IO, e, "fs",
                                  "cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return qr_error_set(err, QR_ERR_IO, "fs", "%s is not a regular file", path);
    *out = (uint64_t)st.st_size;
    return 0;
}

static int write_atomic(const char *path, const void *data, size_t len, unsigned mode, bool sync,
                        qr_error *err)
{
    int rc = 0;
    int fd = -1;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "fs", "cannot build temporary name");
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        rc = qr_error_set_cause(err, e == ENOSPC ? QR_ERR_DISK_FULL : QR_ERR_WRITE_FAILED, e, "fs",
                                "cannot create %s: %s", tmp, strerror(e));
        goto out;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            rc = qr_error_set_cause(err, e == ENOSPC ? QR_ERR_DISK_FULL : QR_ERR_WRITE_FAILED, e,
                                    "fs", "cannot write %s: %s", path, strerror(e));
            goto out;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fchmod(fd, mode ? mode : 0644) != 0 || (sync && fsync(fd) != 0)) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "fs", "cannot sync %s: %s", path,
                                strerror(e));
        goto out;
    }
    /*
     * Not synced now, but the disk may start on it: the qr_fs_sync_fs that
     * follows then finds most of it written (pst-geo, 63.6 MB in 5 slices:
     * syncfs waited 148 ms). Advice only: a failure changes nothing.
     */
    if (!sync)
        (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (close(fd) != 0) {
        fd = -1;
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "fs", "cannot close %s: %s", path,
                                strerror(e));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        int e = errno;
        rc = qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "fs", "cannot rename to %s: %s", path,
                                strerror(e));
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0 && tmp)
        unlink(tmp);
    free(tmp);
    return rc;
}

int qr_fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode, qr_error *err)
{
    return write_atomic(path, data, len, mode, true, err);
}

int qr_fs_write_replace(const char *path, const void *data, size_t len, unsigned mode,
                        qr_error *err)
{
    return write_atomic(path, data, len, mode, false, err);
}

int qr_fs_sync_fs(const char *path, qr_error *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return qr_error_set_cause(err, QR_ERR_WRITE_FAILED, e, "fs", "cannot sync %s: %s", path,
                                  strerror(e));
    }
    close(fd);
    return 0;
}

int qr_fs_mkdirs(const char *path, unsigned mode, qr_error *err)
{
    char buf[4096];
    if (!path || !*path)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fs", "empty directory path");
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fs", "path too long");
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, mode) != 0) {
                int e = errno;
                struct stat st;
                /* EEXIST is fine only if it is a directory (or a link to one). */
                if (e == EEXIST && stat(buf, &st) == 0 && !S_ISDIR(st.st_mode))
                    e = ENOTDIR;
                if (e != EEXIST)
                    return qr_error_set_cause(err, QR_ERR_IO, e, "fs", "cannot create %s: %s", buf,
                                              strerror(e));
            }
            *p = c;
            if (c == 0)
                break;
        }
    }
    return 0;
}

uint64_t qr_fs_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

typedef struct lib_search {
    const char *prefix;
    char *out;
    size_t n;
    bool found;
} lib_search;

static int find_lib(struct dl_phdr_info *info, size_t size, void *ud)
{
    (void)size;
    lib_search *s = ud;
    if (!info->dlpi_name || !info->dlpi_name[0])
        return 0;
    char real[PATH_MAX];
    const char *path = realpath(info->dlpi_name, real) ? real : info->dlpi_name;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (strncmp(base, s->prefix, strlen(s->prefix)) != 0)
        return 0;
    snprintf(s->out, s->n, "%s", base);
    s->found = true;
    return 1;
}

bool qr_fs_loaded_library(char *out, size_t n, const char *prefix)
{
    lib_search s = {.prefix = prefix, .out = out, .n = n, .found = false};
    if (n)
        out[0] = '\0';
    dl_iterate_phdr(find_lib, &s);
    return s.found;
}
