/* qr_warnings: recording, de-duplication, the cap, and appends from many threads. */
#include "qr_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/warn.h"

static int setup(void **state)
{
    qr_warnings *w = qr_warnings_new();
    if (!w)
        return -1;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    qr_warnings_free(*state);
    return 0;
}

static void test_record_and_read_back(void **state)
{
    qr_warnings *w = *state;
    assert_int_equal(qr_warnings_count(w), 0);
    assert_null(qr_warnings_get(w, 0));
    qr_warn(w, "href-backslash", "epub", "OEBPS\\ch1.xhtml", "read %s as %s", "a\\b", "a/b");
    assert_int_equal(qr_warnings_count(w), 1);
    const qr_warning *x = qr_warnings_get(w, 0);
    assert_non_null(x);
    assert_string_equal(x->code, "href-backslash");
    assert_string_equal(x->stage, "epub");
    assert_string_equal(x->context, "OEBPS\\ch1.xhtml");
    assert_string_equal(x->msg, "read a\\b as a/b");
    assert_true(qr_warnings_has(w, "href-backslash"));
    assert_false(qr_warnings_has(w, "href-fragment"));
    assert_null(qr_warnings_get(w, 1));
    assert_int_equal(qr_warnings_dropped(w), 0);
}

/* Messages are single lines; NULL context is empty; long fields are truncated, not overrun. */
static void test_message_hygiene(void **state)
{
    qr_warnings *w = *state;
    qr_warn(w, "xml-recovered", "epub", NULL, "line one\nline two\r\n%s", "end");
    const qr_warning *x = qr_warnings_get(w, 0);
    assert_string_equal(x->context, "");
    assert_null(strchr(x->msg, '\n'));
    assert_null(strchr(x->msg, '\r'));
    assert_string_equal(x->msg, "line one line two  end");

    char long_ctx[1000];
    memset(long_ctx, 'c', sizeof(long_ctx) - 1);
    long_ctx[sizeof(long_ctx) - 1] = 0;
    qr_warn(w, "missing-resource", "epub", long_ctx, "%s", long_ctx);
    x = qr_warnings_get(w, 1);
    assert_int_equal(strlen(x->context), sizeof(x->context) - 1);
    assert_int_equal(strlen(x->msg), sizeof(x->msg) - 1);
}

/* One entry per (code, context): a repair repeated on the same item is recorded once. */
static void test_dedupe(void **state)
{
    qr_warnings *w = *state;
    qr_warn(w, "href-case-mismatch", "epub", "Images/A.jpg", "first");
    qr_warn(w, "href-case-mismatch", "epub", "Images/A.jpg", "second");
    qr_warn(w, "href-case-mismatch", "epub", "Images/B.jpg", "other item");
    qr_warn(w, "href-fragment", "epub", "Images/A.jpg", "other code");
    assert_int_equal(qr_warnings_count(w), 3);
    assert_string_equal(qr_warnings_get(w, 0)->msg, "first");
    assert_int_equal(qr_warnings_dropped(w), 0);
}

/* At QR_WARNINGS_MAX further distinct warnings are counted as dropped, duplicates are not. */
static void test_cap(void **state)
{
    qr_warnings *w = *state;
    for (int i = 0; i < QR_WARNINGS_MAX + 25; i++) {
        char ctx[32];
        snprintf(ctx, sizeof(ctx), "item-%d", i);
        qr_warn(w, "missing-resource", "epub", ctx, "n=%d", i);
    }
    assert_int_equal(qr_warnings_count(w), QR_WARNINGS_MAX);
    assert_int_equal(qr_warnings_dropped(w), 25);
    qr_warn(w, "missing-resource", "epub", "item-0", "duplicate of a kept one");
    assert_int_equal(qr_warnings_dropped(w), 25);
    assert_string_equal(qr_warnings_get(w, QR_WARNINGS_MAX - 1)->context, "item-499");
    assert_null(qr_warnings_get(w, QR_WARNINGS_MAX));
}

static void test_null_list(void **state)
{
    (void)state;
    qr_warn(NULL, "x", "y", "z", "ignored");
    assert_int_equal(qr_warnings_count(NULL), 0);
    assert_null(qr_warnings_get(NULL, 0));
    assert_int_equal(qr_warnings_dropped(NULL), 0);
    assert_false(qr_warnings_has(NULL, "x"));
    qr_warnings_free(NULL);
}

#define NTHREADS 8
#define PER_THREAD 50

typedef struct warn_job {
    qr_warnings *w;
    int id;
} warn_job;

static void *warn_many(void *arg)
{
    warn_job *j = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char ctx[32];
        snprintf(ctx, sizeof(ctx), "t%d-%d", j->id, i);
        qr_warn(j->w, "image-decode", "image", ctx, "thread %d item %d", j->id, i);
        /* Every thread also reports the same shared item: kept once. */
        qr_warn(j->w, "image-decode", "image", "shared.jpg", "thread %d", j->id);
    }
    return NULL;
}

static void run_threads(qr_warnings *w)
{
    pthread_t tids[NTHREADS];
    warn_job jobs[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        jobs[t].w = w;
        jobs[t].id = t;
        assert_int_equal(pthread_create(&tids[t], NULL, warn_many, &jobs[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_join(tids[t], NULL), 0);
}

static void test_threads(void **state)
{
    qr_warnings *w = *state;
    run_threads(w);
    assert_int_equal(qr_warnings_count(w), NTHREADS * PER_THREAD + 1);
    assert_int_equal(qr_warnings_dropped(w), 0);
    /* Every distinct item is there exactly once. */
    int seen[NTHREADS][PER_THREAD];
    memset(seen, 0, sizeof(seen));
    int shared = 0;
    for (size_t i = 0; i < qr_warnings_count(w); i++) {
        const qr_warning *x = qr_warnings_get(w, i);
        int t, n;
        if (strcmp(x->context, "shared.jpg") == 0)
            shared++;
        else if (sscanf(x->context, "t%d-%d", &t, &n) == 2 && t >= 0 && t < NTHREADS && n >= 0 &&
                 n < PER_THREAD)
            seen[t][n]++;
        else
            fail_msg("unexpected context %s", x->context);
    }
    assert_int_equal(shared, 1);
    for (int t = 0; t < NTHREADS; t++)
        for (int n = 0; n < PER_THREAD; n++)
            assert_int_equal(seen[t][n], 1);
}

/* Past the cap from many threads: nothing lost from the count, nothing stored past the cap. */
static void test_threads_past_cap(void **state)
{
    qr_warnings *w = *state;
    for (int i = 0; i < QR_WARNINGS_MAX - 100; i++) {
        char ctx[32];
        snprintf(ctx, sizeof(ctx), "pre-%d", i);
        qr_warn(w, "missing-resource", "epub", ctx, "pre");
    }
    run_threads(w);
    size_t distinct = (QR_WARNINGS_MAX - 100) + NTHREADS * PER_THREAD + 1;
    assert_int_equal(qr_warnings_count(w), QR_WARNINGS_MAX);
    assert_int_equal(qr_warnings_count(w) + qr_warnings_dropped(w), distinct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_hygiene, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedupe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
        cmocka_unit_test(test_null_list),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_past_cap, setup, teardown),
    };
    return cmocka_run_group_tests_name("core/warn", tests, NULL, NULL);
}
