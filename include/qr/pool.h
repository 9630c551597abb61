/*
 * The one thread pool (libc + pthreads): run `ntasks` independent tasks on
 * up to `threads` threads and report the failure a sequential run would have
 * met first. Image re-encoding (EPUB and PDF), the PDF split and the sample
 * book's pictures all run on it.
 *
 * The calling thread works as thread 0, so a pool of one starts no thread,
 * and a pool whose threads cannot be created still finishes on the caller.
 * Tasks are handed out in one of two orders:
 *   - in order from one shared counter (the default): long tasks listed
 *     first start first;
 *   - `contiguous`: each thread starts on its own contiguous share of the
 *     indexes, and a thread that runs out takes from the end of the largest
 *     share left (locality for tasks that read neighbouring data).
 * After a task fails no new task starts; tasks already running finish.
 */
#ifndef QR_POOL_H
#define QR_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "qr/error.h"

/* Most threads one pool runs. */
#define QR_POOL_MAX_THREADS 64

typedef struct qr_pool_job {
    size_t ntasks;
    int threads;     /* 0: one per online CPU; clamped to 1..min(ntasks, QR_POOL_MAX_THREADS) */
    bool contiguous; /* hand out contiguous shares (see above) instead of one counter */
    void *ctx;       /* passed to every callback */
    /*
     * Optional: runs once on each thread before its first task and may set
     * *state (passed to `task` and `thread_end`). A failure stops the pool
     * and counts as a failure before every task.
     */
    int (*thread_start)(void *ctx, int thread, void **state, qr_error *err);
    /* Runs task i; a negative return stops the pool. */
    int (*task)(void *ctx, void *state, size_t i, qr_error *err);
    /* Optional: runs once on each started thread after its last task. */
    void (*thread_end)(void *ctx, void *state);
} qr_pool_job;

#define QR_POOL_JOB_INIT                                                                           \
    {                                                                                              \
        .ntasks = 0, .threads = 0, .contiguous = false, .ctx = NULL, .thread_start = NULL,         \
        .task = NULL, .thread_end = NULL                                                           \
    }

/*
 * Runs every task of `job` (none when ntasks is 0). Returns 0, or the code of
 * the failure with the lowest task index (a thread_start failure ranks before
 * every task) with `err` set to that failure. *nthreads (nullable) receives
 * the number of threads that ran, the caller included.
 * Errors: those of the callbacks, invalid-argument (no task function),
 * out-of-memory.
 */
int qr_pool_run(const qr_pool_job *job, int *nthreads, qr_error *err) QR_WUR;

/* The thread count qr_pool_run uses for `threads` requested and `ntasks` tasks. */
int qr_pool_threads(int threads, size_t ntasks);

#endif
