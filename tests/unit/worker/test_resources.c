/*
 * resources.c: the CloudWatch embedded-metric-format lines checked against
 * the rules of AWS's specification (a root _aws member with an integer
 * Timestamp in milliseconds and a CloudWatchMetrics array of directives;
 * each directive's Namespace, Dimensions as arrays of at most 30 names that
 * are root members with string values, Metrics of at most 100 definitions
 * whose Name is a numeric root member and whose Unit is one CloudWatch
 * knows), and the disk helpers on a real directory.
 */
#include "qr_test.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker/worker_int.h"

static const char *const units[] = {"Seconds",
                                    "Microseconds",
                                    "Milliseconds",
                                    "Bytes",
                                    "Kilobytes",
                                    "Megabytes",
                                    "Gigabytes",
                                    "Terabytes",
                                    "Bits",
                                    "Kilobits",
                                    "Megabits",
                                    "Gigabits",
                                    "Terabits",
                                    "Percent",
                                    "Count",
                                    "Bytes/Second",
                                    "Kilobytes/Second",
                                    "Megabytes/Second",
                                    "Gigabytes/Second",
                                    "Terabytes/Second",
                                    "Bits/Second",
                                    "Kilobits/Second",
                                    "Megabits/Second",
                                    "Gigabits/Second",
                                    "Terabits/Second",
                                    "Count/Second",
                                    "None"};

static bool known_unit(const char *u)
{
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(u, units[i]) == 0)
            return true;
    return false;
}

/* One line checked against the specification; returns it parsed. */
static json_t *check_emf(const char *line, long long ts)
{
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    if (!json_is_object(o))
        fail_msg("not a JSON object: %s (%s)", line, je.text);
    json_t *aws = json_object_get(o, "_aws");
    assert_true(json_is_object(aws));
    assert_true(json_is_integer(json_object_get(aws, "Timestamp")));
    assert_int_equal(json_integer_value(json_object_get(aws, "Timestamp")), ts);
    json_t *cwm = json_object_get(aws, "CloudWatchMetrics");
    assert_true(json_is_array(cwm));
    assert_true(json_array_size(cwm) >= 1);
    size_t i, j, k;
    json_t *d;
    json_array_foreach(cwm, i, d)
    {
        assert_string_equal(json_string_value(json_object_get(d, "Namespace")), "Quire");
        json_t *dims = json_object_get(d, "Dimensions");
        assert_true(json_is_array(dims));
        json_t *set;
        json_array_foreach(dims, j, set)
        {
            assert_true(json_is_array(set));
            assert_true(json_array_size(set) <= 30);
            json_t *name;
            json_array_foreach(set, k, name)
            {
                assert_true(json_is_string(name));
                /* A dimension's value is a string root member. */
                assert_true(json_is_string(json_object_get(o, json_string_value(name))));
            }
        }
        json_t *metrics = json_object_get(d, "Metrics");
        assert_true(json_is_array(metrics));
        assert_true(json_array_size(metrics) >= 1 && json_array_size(metrics) <= 100);
        json_t *m;
        json_array_foreach(metrics, j, m)
        {
            const char *n = json_string_value(json_object_get(m, "Name"));
            assert_non_null(n);
            assert_true(strlen(n) >= 1 && strlen(n) <= 1024);
            const char *u = json_string_value(json_object_get(m, "Unit"));
            if (u && !known_unit(u))
                fail_msg("unit %s of %s is not a CloudWatch unit", u, n);
            /* The value: a number at the root. */
            assert_true(json_is_number(json_object_get(o, n)));
        }
    }
    return o;
}

static void test_emf_lines(void **state)
{
    (void)state;
    qr_worker_outcome oc;
    qr_worker__outcome_init(&oc);
    snprintf(oc.job_id, sizeof(oc.job_id), "abc123");
    oc.seconds = 12.5;
    oc.t_fetch = 0.25;
    oc.t_stage[0] = 7.0; /* compress */
    oc.t_stage[2] = 2.0; /* slice; positions, encrypt and publish did not run */
    oc.peak_rss = 200u << 20;
    oc.disk_free = 5ull << 30;
    oc.disk_free_min = 4ull << 30;
    char *lines = NULL;
    qr_error err = QR_ERROR_INIT;
    long long ts = 1764940000123LL;
    assert_int_equal(qr_worker__emf_line(&lines, &oc, "books", "crashed", "quire-fleet", ts, &err),
                     0);
    size_t n = 0;
    const char *want_stage[] = {"fetch", "compress", "slice"};
    const double want_s[] = {0.25, 7.0, 2.0};
    char *save = NULL;
    for (char *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save), n++) {
        json_t *o = check_emf(l, ts);
        if (n == 0) {
            assert_string_equal(json_string_value(json_object_get(o, "Queue")), "books");
            assert_string_equal(json_string_value(json_object_get(o, "Outcome")), "crashed");
            assert_true(json_real_value(json_object_get(o, "JobSeconds")) == 12.5);
            assert_int_equal(json_integer_value(json_object_get(o, "PeakRssBytes")), 200 << 20);
            assert_int_equal(json_integer_value(json_object_get(o, "DiskFreeBytes")), 4ll << 30);
            assert_int_equal(json_integer_value(json_object_get(o, "JobsCrashed")), 1);
            assert_int_equal(json_integer_value(json_object_get(o, "JobsFailed")), 0);
            assert_int_equal(json_integer_value(json_object_get(o, "JobsSucceeded")), 0);
            json_t *dims = json_object_get(
                json_array_get(json_object_get(json_object_get(o, "_aws"), "CloudWatchMetrics"), 0),
                "Dimensions");
            /* The contract (deploy/monitoring/metrics.txt): the group is the one dimension. */
            assert_int_equal(json_array_size(dims), 1);
            assert_int_equal(json_array_size(json_array_get(dims, 0)), 1);
            assert_string_equal(json_string_value(json_array_get(json_array_get(dims, 0), 0)),
                                "AutoScalingGroupName");
            assert_string_equal(json_string_value(json_object_get(o, "AutoScalingGroupName")),
                                "quire-fleet");
        } else {
            assert_true(n <= 3);
            json_t *dims = json_object_get(
                json_array_get(json_object_get(json_object_get(o, "_aws"), "CloudWatchMetrics"), 0),
                "Dimensions");
            assert_int_equal(json_array_size(json_array_get(dims, 0)), 2);
            assert_string_equal(json_string_value(json_object_get(o, "Stage")), want_stage[n - 1]);
            assert_true(json_real_value(json_object_get(o, "StageSeconds")) == want_s[n - 1]);
        }
        json_decref(o);
    }
    assert_int_equal(n, 4);
    free(lines);

    /* Outside a fleet: no dimension on the job line, Stage alone on the stage lines. */
    assert_int_equal(qr_worker__emf_line(&lines, &oc, "books", "succeeded", NULL, ts, &err), 0);
    n = 0;
    save = NULL;
    for (char *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save), n++) {
        json_t *o = check_emf(l, ts);
        json_t *dims = json_object_get(
            json_array_get(json_object_get(json_object_get(o, "_aws"), "CloudWatchMetrics"), 0),
            "Dimensions");
        assert_int_equal(json_array_size(dims), 1);
        assert_int_equal(json_array_size(json_array_get(dims, 0)), n == 0 ? 0 : 1);
        assert_null(json_object_get(o, "AutoScalingGroupName"));
        json_decref(o);
    }
    assert_int_equal(n, 4);
    free(lines);
}

static void test_disk_helpers(void **state)
{
    (void)state;
    char dir[] = "/tmp/quire-test-res-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64], file[96];
    snprintf(sub, sizeof(sub), "%s/a", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(file, sizeof(file), "%s/f.bin", sub);
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    char buf[4096];
    memset(buf, 'x', sizeof(buf));
    for (int i = 0; i < 256; i++)
        assert_int_equal(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
    fclose(f);
    uint64_t used = qr_worker__dir_usage(dir);
    assert_true(used >= 1u << 20);
    assert_true(used < 2u << 20);
    uint64_t fr = 0, total = 0;
    assert_int_equal(qr_worker__disk(dir, &fr, &total), 0);
    assert_true(total > 0 && fr <= total);
    assert_int_equal(qr_worker__disk("/nonexistent/quire", &fr, &total), -1);
    unlink(file);
    rmdir(sub);
    rmdir(dir);
    assert_int_equal(qr_worker__dir_usage(dir), 0);

    qr_error e = QR_ERROR_INIT;
    qr_error_set(&e, QR_ERR_IO, "compress", "writing x: %s", strerror(ENOSPC));
    assert_true(qr_worker__says_disk_full(&e));
    qr_error_clear(&e);
    qr_error_set(&e, QR_ERR_IO, "compress", "writing x: %s", strerror(EACCES));
    assert_false(qr_worker__says_disk_full(&e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emf_lines),
        cmocka_unit_test(test_disk_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
