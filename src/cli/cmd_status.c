/*
 * quire status: queues, workers, processing lists, counters and the latest
 * failures, as resque-web's overview shows them. Also the shared Redis
 * connection setup of the operator commands (enqueue, status, failures,
 * health).
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "qr/resque.h"

#define RECENT_FAILURES 10

int qr_cli_resque_open(qr_resque **out, const char *url, const char *ns, qr_error *err)
{
    qr_resque_opts o = QR_RESQUE_OPTS_INIT;
    char *buf = NULL;
    int rc = 0;
    *out = NULL;
    /* hiredis writes to the socket directly; a closed connection must be an error, not a kill. */
    signal(SIGPIPE, SIG_IGN);
    if (!url || !url[0])
        url = getenv("QUIRE_REDIS");
    if (!url || !url[0])
        url = getenv("REDIS_URL");
    if (!url || !url[0])
        url = "redis://127.0.0.1:6379";
    if (!ns || !ns[0])
        ns = getenv("QUIRE_NAMESPACE");
    o.ns = ns && ns[0] ? ns : NULL;
    if ((rc = qr_resque_opts_parse_url(&o, &buf, url, err)) == 0)
        rc = qr_resque_new(out, &o, err);
    free(buf);
    return rc;
}

void qr_cmd_status_usage(FILE *f)
{
    fprintf(f,
            "usage: quire status [--json] [--watch [--interval S]] [--redis URL] [--namespace N]\n"
            "\n"
            "Shows the queues with their depths, the registered workers (started,\n"
            "heartbeat age, current job), quire's processing lists, the processed and\n"
            "failed counters and the %d most recent failures.\n"
            "\n"
            "  --json          one JSON object on stdout (fields: docs/cli.md)\n"
            "  --watch         refresh every --interval seconds (default 2) until Ctrl-C;\n"
            "                  with --json, one object per line\n"
            "  --redis URL     redis://[:password@]host[:port][/db]\n"
            "                  (default: $QUIRE_REDIS, else $REDIS_URL, else\n"
            "                  redis://127.0.0.1:6379)\n"
            "  --namespace N   Redis key namespace (default $QUIRE_NAMESPACE, else resque)\n",
            RECENT_FAILURES);
}

static const char *str_or(const json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

/* book_id is a string or an integer in payloads. */
static void book_id(char *buf, size_t n, const json_t *o)
{
    const json_t *v = json_object_get(o, "book_id");
    if (json_is_integer(v))
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, n, "%s", json_is_string(v) ? json_string_value(v) : "-");
}

/*
 * What a quire worker runs (quire:worker:<id>:info): its version and
 * commit, and its libraries, the ones older than quire's minimum marked.
 */
/* "1.2 GB" style, from a decimal string of bytes. */
static void human_bytes(char *out, size_t n, const char *s)
{
    double v = s ? strtod(s, NULL) : 0;
    const char *unit[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* The job's live state, as its worker last wrote it: stage, RSS, disk. */
static void print_live(const json_t *live)
{
    if (!json_is_object(live))
        return;
    char rss[32], used[32], fr[32];
    human_bytes(rss, sizeof(rss), str_or(live, "rss", "0"));
    human_bytes(used, sizeof(used), str_or(live, "disk_used", "0"));
    human_bytes(fr, sizeof(fr), str_or(live, "disk_free", "0"));
    long age = (long)time(NULL) - strtol(str_or(live, "updated", "0"), NULL, 10);
    printf("    stage %s, RSS %s, work dir %s, disk free %s (as of %ld s ago)\n",
           str_or(live, "stage", "?"), rss, used, fr, age < 0 ? 0 : age);
}

static void print_info(const json_t *info)
{
    if (!json_is_object(info))
        return;
    printf("    quire %s (commit %s):", str_or(info, "version", "?"), str_or(info, "commit", "?"));
    const char *name;
    json_t *lib;
    json_object_foreach(json_object_get(info, "libraries"), name, lib)
    {
        printf(" %s %s%s", name, str_or(lib, "version", "?"),
               json_is_false(json_object_get(lib, "ok")) ? " (TOO OLD)" : "");
    }
    printf("\n");
}

static void print_human(const json_t *s)
{
    size_t i;
    json_t *v;
    char id[64];

    printf("queues:\n");
    json_array_foreach(json_object_get(s, "queues"), i, v)
        printf("  %-24s %" JSON_INTEGER_FORMAT "\n", str_or(v, "name", "?"),
               json_integer_value(json_object_get(v, "depth")));
    if (json_array_size(json_object_get(s, "queues")) == 0)
        printf("  (none)\n");

    printf("workers:\n");
    json_array_foreach(json_object_get(s, "workers"), i, v)
    {
        const json_t *age = json_object_get(v, "heartbeat_age_s");
        const json_t *job = json_object_get(v, "job");
        printf("  %s\n    started %s, heartbeat ", str_or(v, "id", "?"), str_or(v, "started", "-"));
        if (json_is_integer(age))
            printf("%" JSON_INTEGER_FORMAT " s ago\n", json_integer_value(age));
        else
            printf("none\n");
        if (json_is_object(job)) {
            book_id(id, sizeof(id), job);
            printf("    working on %s book %s from %s since %s", str_or(job, "class", "?"), id,
                   str_or(job, "queue", "?"), str_or(job, "run_at", "?"));
            const json_t *el = json_object_get(job, "elapsed_s");
            if (json_is_integer(el))
                printf(" (%" JSON_INTEGER_FORMAT " s)", json_integer_value(el));
            printf("\n");
            print_live(json_object_get(job, "live"));
        } else {
            printf("    idle\n");
        }
        print_info(json_object_get(v, "info"));
    }
    if (json_array_size(json_object_get(s, "workers")) == 0)
        printf("  (none)\n");

    printf("processing lists:\n");
    json_array_foreach(json_object_get(s, "processing"), i, v)
        printf("  %s %" JSON_INTEGER_FORMAT "\n", str_or(v, "key", "?"),
               json_integer_value(json_object_get(v, "length")));
    if (json_array_size(json_object_get(s, "processing")) == 0)
        printf("  (none)\n");

    printf("processed %" JSON_INTEGER_FORMAT ", failed %" JSON_INTEGER_FORMAT
           ", failure entries %" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(s, "processed")),
           json_integer_value(json_object_get(s, "failed")),
           json_integer_value(json_object_get(s, "failed_entries")));
    json_array_foreach(json_object_get(s, "recent_failures"), i, v)
    {
        if (i == 0)
            printf("recent failures (newest first):\n");
        book_id(id, sizeof(id), v);
        printf("  #%" JSON_INTEGER_FORMAT " %s %s book %s (%s): %s: %s\n",
               json_integer_value(json_object_get(v, "index")), str_or(v, "failed_at", "?"),
               str_or(v, "queue", "?"), id, str_or(v, "class", "?"), str_or(v, "exception", "?"),
               str_or(v, "error", ""));
    }
}

static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                         {"redis", required_argument, NULL, 'r'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {"watch", no_argument, NULL, 'w'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {NULL, 0, NULL, 0}};

/* Set by SIGINT/SIGTERM to end --watch; the handler does nothing else. */
static volatile sig_atomic_t watch_stop;

static void on_stop(int sig)
{
    (void)sig;
    watch_stop = 1;
}

/* One snapshot: JSON on one line, or the human view (cleared first when watching a tty). */
static int show(qr_resque *r, bool as_json, bool clear, qr_error *err)
{
    json_t *snap = NULL;
    int rc = qr_resque_status(&snap, r, RECENT_FAILURES, err);
    if (rc < 0)
        return rc;
    if (as_json) {
        if (json_dumpf(snap, stdout, JSON_COMPACT) < 0 || putchar('\n') == EOF)
            rc = qr_error_set(err, QR_ERR_IO, "status", "cannot write to stdout");
    } else {
        if (clear)
            fputs("\033[H\033[2J", stdout);
        print_human(snap);
    }
    fflush(stdout);
    json_decref(snap);
    return rc;
}

int qr_cmd_status(int argc, char **argv)
{
    const char *url = NULL, *ns = NULL;
    bool as_json = false, watch = false;
    double interval = 2.0;
    qr_resque *r = NULL;
    qr_error err = QR_ERROR_INIT;
    int c, rc = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            as_json = true;
            break;
        case 'r':
            url = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        case 'w':
            watch = true;
            break;
        case 'i': {
            char *end = NULL;
            interval = strtod(optarg, &end);
            if (!end || *end || interval < 0.1 || interval > 3600)
                return qr_cli_usage_error("status", "--interval wants 0.1..3600 s, got '%s'",
                                          optarg);
            break;
        }
        default:
            return qr_cli_usage_error("status", "unknown option");
        }
    }
    if (optind != argc)
        return qr_cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
    if (qr_cli_resque_open(&r, url, ns, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    if (watch) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    bool clear = watch && isatty(STDOUT_FILENO);
    do {
        if (show(r, as_json, clear, &err) < 0) {
            rc = qr_cli_fail(&err);
            goto out;
        }
        /* Sleep in short steps so Ctrl-C ends the watch at once. */
        const struct timespec step = {0, 100000000L};
        for (double t = 0; watch && !watch_stop && t < interval; t += 0.1)
            nanosleep(&step, NULL);
    } while (watch && !watch_stop);
out:
    qr_resque_free(r);
    return rc;
}
