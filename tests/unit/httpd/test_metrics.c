/* httpd/metrics.c and server.c: /metrics text, health decisions, address parsing and a real
 * request over loopback. */
#include "qr_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qr/clock.h"
#include "qr/metrics.h"

static int setup(void **state)
{
    qr_metrics *a = NULL;
    qr_error err = QR_ERROR_INIT;
    if (qr_metrics_new(&a, 10.0, &err) < 0)
        return -1;
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    qr_metrics_free(*state);
    return 0;
}

static void test_metrics_text(void **state)
{
    qr_metrics *a = *state;
    qr_error err = QR_ERROR_INIT;
    char *m = NULL;
    const char *queues[] = {"books", "we\"ird\\q"};
    const long long depths[] = {7, 0};
    qr_metrics_record_job(a, QR_METRICS_SUCCEEDED, 1.5);
    qr_metrics_record_job(a, QR_METRICS_SUCCEEDED, 2.5);
    qr_metrics_record_job(a, QR_METRICS_FAILED, 1.0);
    qr_metrics_record_job(a, QR_METRICS_REQUEUED, 0.25);
    qr_metrics_set_busy(a, 1);
    qr_metrics_set_depths(a, queues, depths, 2);
    assert_int_equal(qr_metrics_render(&m, a, qr_now(), &err), 0);
    assert_non_null(strstr(m, "# TYPE quire_jobs_total counter\n"));
    assert_non_null(strstr(m, "\nquire_jobs_total{outcome=\"succeeded\"} 2\n"));
    assert_non_null(strstr(m, "\nquire_jobs_total{outcome=\"failed\"} 1\n"));
    assert_non_null(strstr(m, "\nquire_jobs_total{outcome=\"requeued\"} 1\n"));
    assert_non_null(strstr(m, "\nquire_job_duration_seconds_sum 5.250000\n"));
    assert_non_null(strstr(m, "\nquire_job_duration_seconds_count 4\n"));
    assert_non_null(strstr(m, "\nquire_busy_slots 1\n"));
    assert_non_null(strstr(m, "\nquire_queue_depth{queue=\"books\"} 7\n"));
    assert_non_null(strstr(m, "\nquire_queue_depth{queue=\"we\\\"ird\\\\q\"} 0\n"));
    /* Never heartbeated: no age line rather than a meaningless one. */
    assert_null(strstr(m, "quire_worker_heartbeat_age_seconds "));
    free(m);
    m = NULL;
    qr_metrics_set_depths(a, queues, depths, 1);
    qr_metrics_heartbeat(a);
    assert_int_equal(qr_metrics_render(&m, a, qr_now() + 3.0, &err), 0);
    assert_null(strstr(m, "we\\\"ird"));
    assert_non_null(strstr(m, "\nquire_worker_heartbeat_age_seconds 3."));
    free(m);
}

static void test_health(void **state)
{
    qr_metrics *a = *state;
    char reason[128];
    assert_false(qr_metrics_healthy(a, qr_now(), reason, sizeof(reason)));
    assert_string_equal(reason, "worker not registered");
    qr_metrics_set_registered(a, true);
    assert_true(qr_metrics_healthy(a, qr_now(), reason, sizeof(reason)));
    assert_false(qr_metrics_healthy(a, qr_now() + 11.0, reason, sizeof(reason)));
    assert_non_null(strstr(reason, "last heartbeat"));
    qr_metrics_heartbeat(a);
    assert_true(qr_metrics_healthy(a, qr_now() + 5.0, reason, sizeof(reason)));
    qr_metrics_set_registered(a, false);
    assert_false(qr_metrics_healthy(a, qr_now(), reason, sizeof(reason)));
}

/* Several slots (forked processes in the worker) write their parts of one holder. */
static void test_slots(void **state)
{
    (void)state;
    qr_metrics *m = NULL, *s1 = NULL;
    qr_error err = QR_ERROR_INIT;
    char reason[128], *text = NULL;
    assert_int_equal(qr_metrics_new_slots(&m, 2, 10.0, &err), 0);
    assert_int_equal(qr_metrics_attach(&s1, m, 1, &err), 0);
    qr_metrics *bad = NULL;
    assert_int_equal(qr_metrics_attach(&bad, m, 2, &err), QR_EINVAL);
    qr_metrics_set_registered(m, true);
    assert_false(qr_metrics_healthy(m, qr_now(), reason, sizeof(reason)));
    assert_string_equal(reason, "slot 1: worker not registered");
    qr_metrics_set_registered(s1, true);
    assert_true(qr_metrics_healthy(m, qr_now(), reason, sizeof(reason)));
    qr_metrics_record_job(m, QR_METRICS_SUCCEEDED, 1.0);
    qr_metrics_record_job(s1, QR_METRICS_SUCCEEDED, 2.0);
    qr_metrics_record_job(s1, QR_METRICS_FAILED, 1.0);
    qr_metrics_set_busy(s1, 1);
    qr_metrics_record_wait(s1, 4.5);
    assert_int_equal(qr_metrics_render(&text, m, qr_now(), &err), 0);
    assert_non_null(strstr(text, "\nquire_slots 2\n"));
    assert_non_null(strstr(text, "\nquire_jobs_total{outcome=\"succeeded\"} 2\n"));
    assert_non_null(strstr(text, "\nquire_slot_jobs_total{slot=\"1\",outcome=\"failed\"} 1\n"));
    assert_non_null(strstr(text, "\nquire_slot_busy{slot=\"0\"} 0\n"));
    assert_non_null(strstr(text, "\nquire_slot_busy{slot=\"1\"} 1\n"));
    assert_non_null(strstr(text, "\nquire_busy_slots 1\n"));
    assert_non_null(strstr(text, "\nquire_queue_wait_seconds_sum 4.500000\n"));
    free(text);
    qr_metrics_free(s1);
    qr_metrics_free(m);
}

/* The resource metrics: stage histogram, child RSS, disk, crashes, failures by id, oldest age. */
static void test_resources(void **state)
{
    (void)state;
    qr_metrics *m = NULL, *s1 = NULL;
    qr_error err = QR_ERROR_INIT;
    char *text = NULL;
    assert_int_equal(qr_metrics_new_slots(&m, 2, 10.0, &err), 0);
    assert_int_equal(qr_metrics_attach(&s1, m, 1, &err), 0);
    qr_metrics_record_stage(m, "compress", 0.05);     /* le 0.1 */
    qr_metrics_record_stage(s1, "compress", 0.1);     /* le 0.1: bounds are inclusive */
    qr_metrics_record_stage(s1, "compress", 40.0);    /* le 60 */
    qr_metrics_record_stage(s1, "compress", 20000.0); /* only +Inf */
    qr_metrics_record_stage(s1, "fetch", 3.0);
    qr_metrics_record_stage(s1, "parse", 3.0); /* not a stage of the histogram */
    qr_metrics_record_stage(s1, "slice", -1.0);
    qr_metrics_set_busy(s1, 1);
    qr_metrics_set_child_rss(s1, 123456789ULL);
    qr_metrics_set_disk(m, 1000, 5000);
    qr_metrics_record_job(s1, QR_METRICS_CRASHED, 1.0);
    qr_metrics_record_failure(s1, "disk-full");
    qr_metrics_record_failure(m, "disk-full");
    qr_metrics_record_failure(m, "zip-bomb");
    const char *queues[] = {"books", "covers"};
    const long long depths[] = {3, 5};
    const double ages[] = {42.5, -1};
    qr_metrics_set_queues(m, queues, depths, ages, 2);
    assert_int_equal(qr_metrics_render(&text, m, qr_now(), &err), 0);
    assert_non_null(strstr(text, "# TYPE quire_stage_duration_seconds histogram\n"));
    assert_non_null(
        strstr(text, "\nquire_stage_duration_seconds_bucket{stage=\"compress\",le=\"0.1\"} 2\n"));
    assert_non_null(
        strstr(text, "\nquire_stage_duration_seconds_bucket{stage=\"compress\",le=\"30\"} 2\n"));
    assert_non_null(
        strstr(text, "\nquire_stage_duration_seconds_bucket{stage=\"compress\",le=\"60\"} 3\n"));
    assert_non_null(
        strstr(text, "\nquire_stage_duration_seconds_bucket{stage=\"compress\",le=\"14400\"} 3\n"));
    assert_non_null(
        strstr(text, "\nquire_stage_duration_seconds_bucket{stage=\"compress\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(text, "\nquire_stage_duration_seconds_count{stage=\"compress\"} 4\n"));
    assert_non_null(strstr(text, "\nquire_stage_duration_seconds_sum{stage=\"fetch\"} 3.000000\n"));
    assert_non_null(strstr(text, "\nquire_stage_duration_seconds_count{stage=\"slice\"} 0\n"));
    assert_null(strstr(text, "stage=\"parse\""));
    assert_non_null(strstr(text, "\nquire_child_rss_bytes 123456789\n"));
    assert_non_null(strstr(text, "\nquire_child_rss_bytes{slot=\"1\"} 123456789\n"));
    assert_non_null(strstr(text, "\nquire_child_rss_bytes{slot=\"0\"} 0\n"));
    assert_non_null(strstr(text, "\nquire_disk_free_bytes 1000\n"));
    assert_non_null(strstr(text, "\nquire_disk_total_bytes 5000\n"));
    assert_non_null(strstr(text, "\nquire_jobs_total{outcome=\"crashed\"} 1\n"));
    assert_non_null(strstr(text, "\nquire_slot_jobs_total{slot=\"1\",outcome=\"crashed\"} 1\n"));
    assert_non_null(strstr(text, "\nquire_job_failures_total{error=\"disk-full\"} 2\n"));
    assert_non_null(strstr(text, "\nquire_job_failures_total{error=\"zip-bomb\"} 1\n"));
    assert_non_null(strstr(text, "\nquire_queue_oldest_age_seconds{queue=\"books\"} 42.500\n"));
    assert_null(strstr(text, "quire_queue_oldest_age_seconds{queue=\"covers\"}"));
    free(text);
    /* Idle again: the slot's RSS goes back to 0. */
    qr_metrics_set_busy(s1, 0);
    assert_int_equal(qr_metrics_render(&text, m, qr_now(), &err), 0);
    assert_non_null(strstr(text, "\nquire_child_rss_bytes 0\n"));
    free(text);
    qr_metrics_free(s1);
    qr_metrics_free(m);
}

static void test_bad_addresses(void **state)
{
    qr_metrics *a = *state;
    const char *bad[] = {"",
                         "9187",
                         "localhost:9187",
                         "127.0.0.1:",
                         "127.0.0.1:0",
                         "127.0.0.1:65536",
                         "127.0.0.1:91x",
                         "::1:9187"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        qr_error err = QR_ERROR_INIT;
        qr_httpd *h = NULL;
        assert_int_equal(qr_httpd_start(&h, bad[i], qr_metrics_handle, a, &err), QR_EINVAL);
        assert_null(h);
        assert_string_equal(err.id, "invalid-argument");
    }
}

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* One HTTP/1.0 request; returns the response head and body in `out`. */
static void request(char *out, size_t cap, int port, const char *line)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char req[128];
    int n = snprintf(req, sizeof(req), "%s HTTP/1.0\r\nHost: x\r\n\r\n", line);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(fd, out + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fd);
}

static void test_serves_loopback(void **state)
{
    qr_metrics *a = *state;
    qr_metrics *b = NULL;
    qr_httpd *h = NULL, *h2 = NULL;
    qr_error err = QR_ERROR_INIT;
    char addr[32], resp[4096];
    int port = free_port();
    assert_true(port > 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    assert_int_equal(qr_httpd_start(&h, addr, qr_metrics_handle, a, &err), 0);
    request(resp, sizeof(resp), port, "GET /healthz");
    assert_non_null(strstr(resp, " 503 "));
    assert_non_null(strstr(resp, "worker not registered\n"));
    qr_metrics_set_registered(a, true);
    request(resp, sizeof(resp), port, "GET /healthz");
    assert_non_null(strstr(resp, " 200 "));
    request(resp, sizeof(resp), port, "GET /metrics");
    assert_non_null(strstr(resp, "text/plain; version=0.0.4"));
    assert_non_null(strstr(resp, "quire_busy_slots 0\n"));
    request(resp, sizeof(resp), port, "GET /nope");
    assert_non_null(strstr(resp, " 404 "));
    request(resp, sizeof(resp), port, "DELETE /metrics");
    assert_non_null(strstr(resp, " 405 "));
    /* The port is taken now: a second server fails with io. */
    assert_int_equal(qr_metrics_new(&b, 1.0, &err), 0);
    assert_int_equal(qr_httpd_start(&h2, addr, qr_metrics_handle, b, &err), QR_EIO);
    assert_string_equal(err.id, "io");
    qr_metrics_free(b);
    qr_httpd_stop(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_resources),
        cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serves_loopback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
