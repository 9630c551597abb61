/* qr_log: level gating, the job id, a capture sink, and the text and JSON line sinks. */
#include "qr_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/log.h"

#define CAPTURE_MAX 16

/* The capture sink: copies of the events it was given. */
typedef struct captured {
    qr_log_level level;
    char stage[32];
    char msg[2048];
    char job[160];
    int has_stage, has_job;
    double ts;
} captured;

typedef struct capture {
    captured ev[CAPTURE_MAX];
    int n;
} capture;

static void capture_sink(const qr_log_event *ev, void *ud)
{
    capture *c = ud;
    if (c->n >= CAPTURE_MAX)
        return;
    captured *e = &c->ev[c->n++];
    e->level = ev->level;
    e->has_stage = ev->stage != NULL;
    e->has_job = ev->job != NULL;
    snprintf(e->stage, sizeof(e->stage), "%s", ev->stage ? ev->stage : "");
    snprintf(e->msg, sizeof(e->msg), "%s", ev->msg);
    snprintf(e->job, sizeof(e->job), "%s", ev->job ? ev->job : "");
    e->ts = ev->ts;
}

static int setup(void **state)
{
    capture *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    qr_log_set_sink(capture_sink, c, QR_LOG_INFO);
    qr_log_set_job(NULL);
    *state = c;
    return 0;
}

/* The logger is process state: leave it as a fresh process has it. */
static int teardown(void **state)
{
    qr_log_set_sink(NULL, NULL, QR_LOG_INFO);
    qr_log_set_job(NULL);
    free(*state);
    return 0;
}

static void test_capture_and_gating(void **state)
{
    capture *c = *state;
    assert_int_equal(qr_log_get_level(), QR_LOG_INFO);
    qr_log(QR_LOG_DEBUG, "epub", "hidden %d", 1);
    qr_log(QR_LOG_INFO, "epub", "shown %d", 2);
    qr_log(QR_LOG_ERROR, NULL, "no stage");
    assert_int_equal(c->n, 2);
    assert_int_equal(c->ev[0].level, QR_LOG_INFO);
    assert_string_equal(c->ev[0].stage, "epub");
    assert_string_equal(c->ev[0].msg, "shown 2");
    assert_false(c->ev[0].has_job);
    assert_true(c->ev[0].ts > 1.6e9); /* wall clock, seconds since the epoch */
    assert_false(c->ev[1].has_stage);

    qr_log_set_level(QR_LOG_DEBUG);
    assert_int_equal(qr_log_get_level(), QR_LOG_DEBUG);
    qr_log(QR_LOG_DEBUG, "epub", "now shown");
    assert_int_equal(c->n, 3);

    qr_log_set_level(QR_LOG_ERROR);
    qr_log(QR_LOG_WARN, "epub", "hidden");
    qr_log(QR_LOG_ERROR, "epub", "error shown");
    assert_int_equal(c->n, 4);

    qr_log_set_level(QR_LOG_OFF);
    qr_log(QR_LOG_ERROR, "epub", "hidden");
    assert_int_equal(c->n, 4);

    /* No sink: nothing is called, nothing crashes. */
    qr_log_set_sink(NULL, NULL, QR_LOG_DEBUG);
    qr_log(QR_LOG_ERROR, "epub", "dropped");
    assert_int_equal(c->n, 4);
}

static void test_job_id(void **state)
{
    capture *c = *state;
    qr_log_set_job("job-42");
    qr_log(QR_LOG_INFO, "fetch", "with job");
    qr_log_set_job(NULL);
    qr_log(QR_LOG_INFO, "fetch", "without job");
    assert_int_equal(c->n, 2);
    assert_true(c->ev[0].has_job);
    assert_string_equal(c->ev[0].job, "job-42");
    assert_false(c->ev[1].has_job);
}

/* Format characters inside arguments stay data; messages are one line; long ones are cut. */
static void test_message_safety(void **state)
{
    capture *c = *state;
    qr_log(QR_LOG_INFO, "image", "%s", "100% done %s %n");
    qr_log(QR_LOG_INFO, "image", "a\nb\r\nc");
    char big[3000];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    qr_log(QR_LOG_INFO, "image", "%s", big);
    assert_int_equal(c->n, 3);
    assert_string_equal(c->ev[0].msg, "100% done %s %n");
    assert_string_equal(c->ev[1].msg, "a b  c");
    assert_true(strlen(c->ev[2].msg) > 500);
    assert_true(strlen(c->ev[2].msg) < sizeof(big) - 1);
}

static void test_level_names(void **state)
{
    (void)state;
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = QR_LOG_DEBUG; i <= QR_LOG_OFF; i++) {
        assert_string_equal(qr_log_level_str((qr_log_level)i), names[i]);
        assert_int_equal(qr_log_level_parse(names[i]), i);
    }
    assert_int_equal(qr_log_level_parse("warning"), QR_LOG_WARN);
    assert_int_equal(qr_log_level_parse("INFO"), -1);
    assert_int_equal(qr_log_level_parse("verbose"), -1);
    assert_int_equal(qr_log_level_parse(""), -1);
    assert_int_equal(qr_log_level_parse(NULL), -1);
    assert_string_equal(qr_log_level_str((qr_log_level)99), "?");
}

/* Runs `fn` (a sink) over a few events into a memory stream; returns malloc'd output. */
static char *sink_output(qr_log_sink_fn fn, const qr_log_event *evs, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fn(&evs[i], f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_text_sink(void **state)
{
    (void)state;
    const qr_log_event evs[] = {
        {QR_LOG_INFO, "epub", "opened book.epub", NULL, 1.7e9},
        {QR_LOG_WARN, "image", "kept a.png", "job-1", 1.7e9},
        {QR_LOG_ERROR, NULL, "100% broken", NULL, 1.7e9},
    };
    char *out = sink_output(qr_log_sink_text, evs, 3);
    assert_string_equal(out, "quire: epub: opened book.epub\n"
                             "quire: warn: image: kept a.png\n"
                             "quire: error: 100% broken\n");
    free(out);
}

/* One JSON object per line, parseable back, whatever the message holds. */
static void test_json_sink(void **state)
{
    (void)state;
    const qr_log_event evs[] = {
        {QR_LOG_INFO, "epub", "plain", NULL, 1700000000.25},
        {QR_LOG_WARN, "image", "quote \" backslash \\ percent %s %d", "job-7", 1700000001.0},
        {QR_LOG_ERROR, NULL, "tab\tand unicode \xc3\xa9 \xe2\x80\x94", NULL, 1700000002.999},
        /* Not UTF-8 (a Latin-1 file name, a sequence cut in half): must not lose the line. */
        {QR_LOG_ERROR, "epub", "caf\xe9.xhtml and cut \xc3", "job-\xff", 1700000003.0},
    };
    char *out = sink_output(qr_log_sink_json, evs, 4);
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (!o)
            fail_msg("line %d is not JSON (%s): %s", lines + 1, jerr.text, line);
        assert_true(json_is_object(o));
        const qr_log_event *ev = &evs[lines];
        assert_string_equal(json_string_value(json_object_get(o, "level")),
                            qr_log_level_str(ev->level));
        const char *ts = json_string_value(json_object_get(o, "ts"));
        assert_non_null(ts);
        assert_int_equal(strlen(ts), strlen("2023-11-14T22:13:20.250Z"));
        assert_int_equal(ts[strlen(ts) - 1], 'Z');
        if (ev->stage)
            assert_string_equal(json_string_value(json_object_get(o, "stage")), ev->stage);
        else
            assert_null(json_object_get(o, "stage"));
        const char *msg = json_string_value(json_object_get(o, "msg"));
        assert_non_null(msg);
        if (lines < 3)
            assert_string_equal(msg, ev->msg);
        else
            assert_string_equal(msg, "caf?.xhtml and cut ?");
        if (lines == 1)
            assert_string_equal(json_string_value(json_object_get(o, "job")), "job-7");
        if (lines == 3)
            assert_string_equal(json_string_value(json_object_get(o, "job")), "job-?");
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, 4);
    free(out);

    const qr_log_event first = evs[0];
    char *one = sink_output(qr_log_sink_json, &first, 1);
    assert_string_equal(one, "{\"ts\":\"2023-11-14T22:13:20.250Z\",\"level\":\"info\","
                             "\"stage\":\"epub\",\"msg\":\"plain\"}\n");
    free(one);
}

/* The path the binary uses: qr_log into the JSON sink. */
static void test_log_through_json_sink(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    qr_log_set_sink(qr_log_sink_json, f, QR_LOG_INFO);
    qr_log_set_job("job-9");
    qr_log(QR_LOG_INFO, "pipeline", "%d%% of %s\nnext line", 50, "book");
    qr_log_set_sink(NULL, NULL, QR_LOG_INFO);
    assert_int_equal(fclose(f), 0);
    assert_non_null(buf);
    assert_int_equal(strchr(buf, '\n'), buf + len - 1); /* exactly one line */
    json_t *o = json_loads(buf, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "50% of book next line");
    assert_string_equal(json_string_value(json_object_get(o, "job")), "job-9");
    json_decref(o);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capture_and_gating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_safety, setup, teardown),
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_text_sink),
        cmocka_unit_test(test_json_sink),
        cmocka_unit_test_setup_teardown(test_log_through_json_sink, setup, teardown),
    };
    return cmocka_run_group_tests_name("core/log", tests, NULL, NULL);
}
