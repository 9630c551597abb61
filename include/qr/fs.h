/* Filesystem helpers (libc only): per-job work directories, atomic writes. */
#ifndef QR_FS_H
#define QR_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qr/error.h"

/*
 * Creates a fresh private (0700) work directory under `parent`
 * (NULL: $TMPDIR is NOT read here; the caller passes it) named
 * "quire-<tag>-XXXXXX" and returns its malloc'd path in *out.
 */
int qr_workdir_create(char **out, const char *parent, const char *tag, qr_error *err) QR_WUR;
/* Removes a work directory and everything below it. Refuses "/" and "". */
int qr_workdir_remove(const char *path, qr_error *err) QR_WUR;

/* Free bytes available to an unprivileged user on the filesystem holding `path`. */
int qr_fs_free_bytes(uint64_t *out, const char *path, qr_error *err) QR_WUR;

/* Size of a regular file. QR_ERR_SOURCE_NOT_FOUND if missing. */
int qr_fs_file_size(uint64_t *out, const char *path, qr_error *err) QR_WUR;

/*
 * Writes `len` bytes to `path` atomically: a temporary file in the same
 * directory, fsync, rename. Mode 0644 unless `mode` is nonzero.
 */
int qr_fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                       qr_error *err) QR_WUR;

/*
 * The same without the fsync: the file is whole or absent, but may be lost
 * in a crash until qr_fs_sync_fs. For many small files that only become
 * reachable later (a package's slices before its manifest): 1,151 fsyncs
 * cost more than cutting the slices.
 */
int qr_fs_write_replace(const char *path, const void *data, size_t len, unsigned mode,
                        qr_error *err) QR_WUR;
/* syncfs(2) of the file system holding the directory `path`. Errors: write-failed. */
int qr_fs_sync_fs(const char *path, qr_error *err) QR_WUR;

/* mkdir -p. */
int qr_fs_mkdirs(const char *path, unsigned mode, qr_error *err) QR_WUR;

/*
 * The file name of the shared library this process loaded whose file name
 * starts with `prefix` ("libhiredis.so"), symbolic links resolved
 * ("libhiredis.so.0.14"), into `out`; false when none is loaded. For
 * libraries with no run-time version call.
 */
bool qr_fs_loaded_library(char *out, size_t n, const char *prefix);

/* Peak resident set size of this process in bytes (getrusage), 0 if unknown. */
uint64_t qr_fs_peak_rss(void);

#endif
