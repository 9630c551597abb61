/*
 * quire history: the job history kept in Redis (<ns>:quire:history), as a
 * list of runs and a summary (per stage and per size band, the slowest
 * books, failures by error id). quire logs: the log of one job, or of a
 * book's latest job, from any machine with the Redis URL.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zlib.h>

#include "cli.h"
#include "qr/clock.h"
#include "qr/resque.h"

#define LOG_MAX (64u * 1024u * 1024u)

/* "90s", "30m", "2h", "7d" (ago), or Unix seconds. -1 when neither. */
static double parse_since(const char *s)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!end || end == s || !(v >= 0))
        return -1;
    double unit = 0;
    if (!*end)
        return v;
    if (!strcmp(end, "s"))
        unit = 1;
    else if (!strcmp(end, "m"))
        unit = 60;
    else if (!strcmp(end, "h"))
        unit = 3600;
    else if (!strcmp(end, "d"))
        unit = 86400;
    else
        return -1;
    return (double)time(NULL) - v * unit;
}

static double num(const json_t *run, const char *k)
{
    const char *s = json_string_value(json_object_get(run, k));
    return s ? strtod(s, NULL) : 0;
}

static const char *str(const json_t *run, const char *k)
{
    const char *s = json_string_value(json_object_get(run, k));
    return s ? s : "";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* p-th percentile (nearest rank) of v[0..n), sorted here. */
static double pct(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return v[rank ? rank - 1 : 0];
}

static json_t *stat_of(const json_t *runs, const char *field, double lo_bytes, double hi_bytes)
{
    size_t n = json_array_size(runs), k = 0;
    double *v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(runs, i);
        double b = num(r, "bytes_in");
        if (strcmp(str(r, "outcome"), "succeeded") != 0 || b < lo_bytes || b >= hi_bytes)
            continue;
        v[k++] = num(r, field);
    }
    double p50 = pct(v, k, 50), p95 = pct(v, k, 95);
    free(v);
    return json_pack("{s:I, s:f, s:f}", "runs", (json_int_t)k, "p50", p50, "p95", p95);
}

static json_t *summary(const json_t *runs)
{
    static const char *const stages[] = {"t_compress", "t_positions", "t_slice",
                                         "t_encrypt",  "t_publish",   "seconds"};
    static const struct {
        const char *name;
        double lo, hi;
    } bands[] = {
        {"under 10 MB", 0, 10e6}, {"10-100 MB", 10e6, 100e6}, {"over 100 MB", 100e6, 1e300}};
    json_t *o = json_object(), *st = json_object(), *bd = json_object(), *fails = json_object();
    json_t *slow = json_array();
    if (!o || !st || !bd || !fails || !slow)
        goto fail;
    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
        json_object_set_new(st, stages[i], stat_of(runs, stages[i], 0, 1e300));
    for (size_t i = 0; i < sizeof(bands) / sizeof(bands[0]); i++)
        json_object_set_new(bd, bands[i].name, stat_of(runs, "seconds", bands[i].lo, bands[i].hi));
    size_t n = json_array_size(runs);
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(runs, i);
        const char *e = str(r, "error");
        if (*e) {
            json_int_t c = json_integer_value(json_object_get(fails, e));
            json_object_set_new(fails, e, json_integer(c + 1));
        }
    }
    /* The five slowest successful runs. */
    const json_t *pick[5] = {NULL};
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(runs, i);
        if (strcmp(str(r, "outcome"), "succeeded") != 0)
            continue;
        for (size_t j = 0; j < 5; j++) {
            if (!pick[j] || num(r, "seconds") > num(pick[j], "seconds")) {
                memmove(pick + j + 1, pick + j, (4 - j) * sizeof(pick[0]));
                pick[j] = r;
                break;
            }
        }
    }
    for (size_t j = 0; j < 5 && pick[j]; j++)
        json_array_append_new(slow, json_pack("{s:s, s:f, s:f}", "book_id", str(pick[j], "book_id"),
                                              "seconds", num(pick[j], "seconds"), "bytes_in",
                                              num(pick[j], "bytes_in")));
    json_object_set_new(o, "stages", st);
    json_object_set_new(o, "size_bands", bd);
    json_object_set_new(o, "slowest", slow);
    json_object_set_new(o, "failures", fails);
    return o;
fail:
    json_decref(o);
    json_decref(st);
    json_decref(bd);
    json_decref(fails);
    json_decref(slow);
    return NULL;
}

void qr_cmd_history_usage(FILE *f)
{
    fprintf(f, "usage: quire history [--book ID] [--since T] [--outcome O] [--limit N] [--json]\n"
               "                     [--redis URL] [--namespace NS]\n"
               "\n"
               "The runs kept in Redis's job history, newest first, then a summary: p50/p95\n"
               "seconds per stage and per size band (under 10 MB, 10-100, over 100), the\n"
               "slowest books and the failures by error id.\n"
               "\n"
               "  --book ID     only this book's runs\n"
               "  --since T     only runs after T: 90s, 30m, 2h, 7d ago, or Unix seconds\n"
               "  --outcome O   succeeded, failed, crashed or requeued\n"
               "  --limit N     read at most N records (default 1000)\n"
               "  --json        {\"runs\": [...], \"summary\": {...}} on stdout\n"
               "  --redis URL   default $QUIRE_REDIS, $REDIS_URL, redis://127.0.0.1:6379\n");
}

int qr_cmd_history(int argc, char **argv)
{
    static const struct option opts[] = {{"book", required_argument, NULL, 'b'},
                                         {"since", required_argument, NULL, 's'},
                                         {"outcome", required_argument, NULL, 'o'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"redis", required_argument, NULL, 'r'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *book = NULL, *outcome = NULL, *url = NULL, *ns = NULL;
    double since = 0;
    long limit = 1000;
    bool as_json = false;
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'b':
            book = optarg;
            break;
        case 'o':
            outcome = optarg;
            break;
        case 'j':
            as_json = true;
            break;
        case 'r':
            url = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        case 's':
            if ((since = parse_since(optarg)) < 0)
                return qr_cli_usage_error("history",
                                          "--since wants 90s, 30m, 2h, 7d or Unix seconds");
            break;
        case 'l':
            limit = strtol(optarg, &end, 10);
            if (!end || *end || limit < 1 || limit > 1000000)
                return qr_cli_usage_error("history", "--limit wants 1..1000000");
            break;
        default:
            return qr_cli_usage_error("history", "unknown option");
        }
    }
    if (optind != argc)
        return qr_cli_usage_error("history", "unexpected argument '%s'", argv[optind]);
    qr_resque *r = NULL;
    json_t *all = NULL, *runs = json_array(), *sum = NULL;
    qr_error err = QR_ERROR_INIT;
    if (!runs || qr_cli_resque_open(&r, url, ns, &err) < 0 ||
        qr_resque_history_read(&all, r, (long long)(since * 1000), (size_t)limit, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *run = json_array_get(all, i);
        if ((book && strcmp(str(run, "book_id"), book) != 0) ||
            (outcome && strcmp(str(run, "outcome"), outcome) != 0))
            continue;
        json_array_append(runs, run);
    }
    sum = summary(runs);
    if (as_json) {
        json_t *o = json_pack("{s:O, s:O}", "runs", runs, "summary", sum ? sum : json_null());
        char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
        goto out;
    }
    printf("%-20s %-24s %-10s %-18s %8s %9s %7s %8s %s\n", "started (UTC)", "book", "outcome",
           "error", "seconds", "MB in", "slices", "RSS MB", "worker");
    for (size_t i = 0; i < json_array_size(runs); i++) {
        const json_t *run = json_array_get(runs, i);
        time_t t = (time_t)num(run, "started");
        struct tm tm;
        char when[32];
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%-20s %-24.24s %-10s %-18.18s %8.2f %9.1f %7.0f %8.0f %s\n", when,
               str(run, "book_id"), str(run, "outcome"), str(run, "error"), num(run, "seconds"),
               num(run, "bytes_in") / 1e6, num(run, "slices"), num(run, "peak_rss") / 1048576.0,
               str(run, "worker"));
    }
    printf("\n%zu run(s)\n", json_array_size(runs));
    if (sum) {
        const char *k;
        json_t *v;
        printf("\nseconds per stage (succeeded runs): p50 / p95\n");
        json_object_foreach(json_object_get(sum, "stages"), k, v)
            printf("  %-12s %8.2f / %8.2f\n", k, json_real_value(json_object_get(v, "p50")),
                   json_real_value(json_object_get(v, "p95")));
        printf("by size: runs, p50 / p95 seconds\n");
        json_object_foreach(json_object_get(sum, "size_bands"), k, v) printf(
            "  %-12s %4lld  %8.2f / %8.2f\n", k,
            (long long)json_integer_value(json_object_get(v, "runs")),
            json_real_value(json_object_get(v, "p50")), json_real_value(json_object_get(v, "p95")));
        printf("slowest:\n");
        size_t i;
        json_array_foreach(json_object_get(sum, "slowest"), i, v)
            printf("  %-24s %8.2f s  %8.1f MB\n", json_string_value(json_object_get(v, "book_id")),
                   json_real_value(json_object_get(v, "seconds")),
                   json_real_value(json_object_get(v, "bytes_in")) / 1e6);
        printf("failures by error id:\n");
        json_object_foreach(json_object_get(sum, "failures"), k, v)
            printf("  %-24s %lld\n", k, (long long)json_integer_value(v));
    }
out:
    json_decref(sum);
    json_decref(runs);
    json_decref(all);
    qr_resque_free(r);
    return rc;
}

/* ---- quire logs ---- */

void qr_cmd_logs_usage(FILE *f)
{
    fprintf(f, "usage: quire logs JOB|BOOK [--follow] [--redis URL] [--namespace NS]\n"
               "\n"
               "Prints the log of job JOB (the id a failure entry's 'log:' line names), or of\n"
               "book BOOK's latest job in the history: the child's JSON lines, kept with the\n"
               "history for --log-ttl. With --follow, waits for a job still running to end.\n");
}

static int print_log(qr_resque *r, const char *job_id, qr_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = qr_resque_log_get(&data, &len, r, job_id, err);
    if (rc < 0)
        return rc;
    if (len >= 5 && memcmp(data, "zlib:", 5) == 0) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        unsigned char buf[65536];
        size_t total = 0;
        if (inflateInit(&z) != Z_OK) {
            free(data);
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "logs", "inflateInit failed");
        }
        z.next_in = (Bytef *)data + 5;
        z.avail_in = (uInt)(len - 5);
        int zr;
        do {
            z.next_out = buf;
            z.avail_out = sizeof(buf);
            zr = inflate(&z, Z_NO_FLUSH);
            size_t got = sizeof(buf) - z.avail_out;
            total += got;
            fwrite(buf, 1, got, stdout);
        } while (zr == Z_OK && total < LOG_MAX);
        inflateEnd(&z);
        if (zr != Z_STREAM_END && total < LOG_MAX)
            rc = qr_error_set(err, QR_ERR_CORRUPT_ARCHIVE, "logs", "the log of %s is damaged",
                              job_id);
    } else {
        fwrite(data, 1, len, stdout);
    }
    free(data);
    return rc;
}

int qr_cmd_logs(int argc, char **argv)
{
    static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                         {"redis", required_argument, NULL, 'r'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *ns = NULL;
    bool follow = false;
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'f')
            follow = true;
        else if (c == 'r')
            url = optarg;
        else if (c == 'n')
            ns = optarg;
        else
            return qr_cli_usage_error("logs", "unknown option");
    }
    if (optind != argc - 1)
        return qr_cli_usage_error("logs", "one JOB or BOOK id");
    const char *id = argv[optind];
    qr_resque *r = NULL;
    json_t *all = NULL;
    char job[256];
    qr_error err = QR_ERROR_INIT;
    snprintf(job, sizeof(job), "%s", id);
    if (qr_cli_resque_open(&r, url, ns, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    /* A job id as given; else the latest run of a book of that id. */
    char *probe = NULL;
    size_t plen = 0;
    qr_error pe = QR_ERROR_INIT;
    if (qr_resque_log_get(&probe, &plen, r, job, &pe) < 0) {
        if (qr_resque_history_read(&all, r, 0, 100000, &err) < 0) {
            rc = qr_cli_fail(&err);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(all); i++) {
            const json_t *run = json_array_get(all, i);
            if (strcmp(str(run, "book_id"), id) == 0) {
                snprintf(job, sizeof(job), "%s", str(run, "job_id"));
                break;
            }
        }
    }
    free(probe);
    if (follow) {
        /* The log is kept when the job ends: wait while its live state says running. */
        for (int i = 0; i < 86400; i++) {
            char key[300];
            snprintf(key, sizeof(key), "%s", job);
            const char *kv_state = NULL;
            json_t *st = NULL;
            qr_error se = QR_ERROR_INIT;
            if (qr_resque_job_get(&st, r, key, &se) < 0)
                break;
            kv_state = json_string_value(json_object_get(st, "state"));
            bool running = kv_state && strcmp(kv_state, "running") == 0;
            json_decref(st);
            if (!running)
                break;
            qr_sleep(1.0);
        }
    }
    if (print_log(r, job, &err) < 0)
        rc = qr_cli_fail(&err);
out:
    json_decref(all);
    qr_resque_free(r);
    return rc;
}
