/*
 * qr_pool_run (qr/pool.h): threads take task indexes under one mutex, either
 * from a shared counter or from per-thread contiguous shares with stealing
 * from the end of the largest share. Each thread keeps the failure with its
 * lowest index; the pool reports the lowest of those, as a sequential run
 * would.
 */
#include "qr/pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct share {
    size_t next, end;
} share;

typedef struct pool {
    const qr_pool_job *job;
    pthread_mutex_t lock;
    size_t next;   /* the shared counter */
    share *shares; /* contiguous mode: one per thread */
    int nthreads;
    bool stop;
} pool;

typedef struct worker {
    pool *p;
    int index;
    bool failed;
    size_t failed_at; /* SIZE_MAX: thread_start failed (before every task) */
    qr_error err;
} worker;

int qr_pool_threads(int threads, size_t ntasks)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = threads > 0 ? threads : (cpus > 0 ? (int)cpus : 1);
    if (n > QR_POOL_MAX_THREADS)
        n = QR_POOL_MAX_THREADS;
    if (ntasks > 0 && (size_t)n > ntasks)
        n = (int)ntasks;
    return n < 1 ? 1 : n;
}

/* The next task for thread `w`, or SIZE_MAX when none is left; called under the lock. */
static size_t take(pool *p, int w)
{
    if (p->stop)
        return SIZE_MAX;
    if (!p->shares)
        return p->next < p->job->ntasks ? p->next++ : SIZE_MAX;
    share *own = &p->shares[w];
    if (own->next < own->end)
        return own->next++;
    share *big = NULL;
    for (int i = 0; i < p->nthreads; i++) {
        share *o = &p->shares[i];
        if (o->end > o->next && (!big || o->end - o->next > big->end - big->next))
            big = o;
    }
    return big ? --big->end : SIZE_MAX;
}

static void fail(worker *wk, size_t at)
{
    pool *p = wk->p;
    if (!wk->failed || at < wk->failed_at || at == SIZE_MAX) {
        wk->failed = true;
        wk->failed_at = at;
    }
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_mutex_unlock(&p->lock);
}

static void *run(void *arg)
{
    worker *wk = arg;
    pool *p = wk->p;
    const qr_pool_job *job = p->job;
    void *state = NULL;
    if (job->thread_start && job->thread_start(job->ctx, wk->index, &state, &wk->err) < 0) {
        fail(wk, SIZE_MAX);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = take(p, wk->index);
        pthread_mutex_unlock(&p->lock);
        if (i == SIZE_MAX)
            break;
        qr_error e = QR_ERROR_INIT;
        if (job->task(job->ctx, state, i, &e) < 0) {
            /* Keep this thread's earliest failure only. */
            if (!wk->failed || i < wk->failed_at)
                wk->err = e;
            fail(wk, i);
        }
    }
    if (job->thread_end)
        job->thread_end(job->ctx, state);
    return NULL;
}

int qr_pool_run(const qr_pool_job *job, int *nthreads, qr_error *err)
{
    if (nthreads)
        *nthreads = 0;
    if (!job || !job->task)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "pool", "no task function");
    if (job->ntasks == 0)
        return 0;
    pool p;
    memset(&p, 0, sizeof(p));
    p.job = job;
    p.nthreads = qr_pool_threads(job->threads, job->ntasks);
    worker *wks = calloc((size_t)p.nthreads, sizeof(*wks));
    pthread_t *tids = calloc((size_t)p.nthreads, sizeof(*tids));
    if (job->contiguous)
        p.shares = calloc((size_t)p.nthreads, sizeof(*p.shares));
    int rc = 0, started = 1;
    if (!wks || !tids || (job->contiguous && !p.shares)) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "pool", "out of memory");
        goto out;
    }
    if (pthread_mutex_init(&p.lock, NULL) != 0) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "pool", "cannot create a mutex");
        goto out;
    }
    size_t n = job->ntasks, nt = (size_t)p.nthreads;
    for (int i = 0; i < p.nthreads; i++) {
        wks[i].p = &p;
        wks[i].index = i;
        qr_error_clear(&wks[i].err);
        if (p.shares) {
            p.shares[i].next = n * (size_t)i / nt;
            p.shares[i].end = n * (size_t)(i + 1) / nt;
        }
    }
    /* The caller is thread 0. */
    for (; started < p.nthreads; started++)
        if (pthread_create(&tids[started], NULL, run, &wks[started]) != 0)
            break;
    run(&wks[0]);
    for (int i = 1; i < started; i++)
        pthread_join(tids[i], NULL);
    /* Threads that did not start left their shares to the others, which take from them. */
    pthread_mutex_destroy(&p.lock);
    if (nthreads)
        *nthreads = started;

    worker *first = NULL;
    for (int i = 0; i < p.nthreads; i++) {
        if (!wks[i].failed)
            continue;
        /* thread_start failures (SIZE_MAX) rank before every task. */
        size_t at = wks[i].failed_at == SIZE_MAX ? 0 : wks[i].failed_at + 1;
        size_t best = !first ? SIZE_MAX : first->failed_at == SIZE_MAX ? 0 : first->failed_at + 1;
        if (!first || at < best)
            first = &wks[i];
    }
    if (first) {
        rc = first->err.code ? first->err.code : QR_EIO;
        if (err && err->code == 0)
            *err = first->err;
    }
out:
    free(p.shares);
    free(tids);
    free(wks);
    return rc;
}
