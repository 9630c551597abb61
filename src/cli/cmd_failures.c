/*
 * quire failures: resque-web's "Failed" tab on the command line. Entries of
 * <ns>:failed are numbered from 0 (the oldest), as resque-web numbers them.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "qr/resque.h"

/* Most entries `list` prints. */
#define LIST_MAX 1000

void qr_cmd_failures_usage(FILE *f)
{
    fprintf(f, "usage: quire failures list [--json] [--limit N]\n"
               "       quire failures show N [--json]\n"
               "       quire failures retry N\n"
               "       quire failures remove N\n"
               "       (each also takes --redis URL and --namespace N)\n"
               "\n"
               "Works on <ns>:failed as resque-web does. Entries are numbered from 0, the\n"
               "oldest. list: index, failed_at, queue, exception, error (newest last).\n"
               "show: the whole entry. retry: pushes the payload back to the tail of its\n"
               "queue and marks the entry retried_at (Resque::Failure.requeue). remove:\n"
               "deletes the entry. Both act only if entry N is still the one read, so\n"
               "numbers shift after a remove: list again.\n"
               "\n"
               "  --json          JSON output ({\"total\":..,\"failures\":[{index, entry}]})\n"
               "  --limit N       list at most N entries, the newest (default 100)\n"
               "  --redis URL     default: $QUIRE_REDIS, else $REDIS_URL, else\n"
               "                  redis://127.0.0.1:6379\n"
               "  --namespace N   Redis key namespace (default $QUIRE_NAMESPACE, else resque)\n");
}

static const char *str_or(const json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

static int print_json(json_t *items, long long total)
{
    json_t *o = json_pack("{s:I, s:O}", "total", (json_int_t)total, "failures", items);
    int rc = 0;
    if (!o || json_dumpf(o, stdout, JSON_COMPACT) < 0 || putchar('\n') == EOF)
        rc = 1;
    json_decref(o);
    return rc;
}

static void print_list(const json_t *items, long long total)
{
    size_t i;
    json_t *v;
    printf("%lld failure entr%s\n", total, total == 1 ? "y" : "ies");
    json_array_foreach(items, i, v)
    {
        const json_t *e = json_object_get(v, "entry");
        printf("#%" JSON_INTEGER_FORMAT "  %s  %s  %s: %s%s%s%s\n",
               json_integer_value(json_object_get(v, "index")), str_or(e, "failed_at", "?"),
               str_or(e, "queue", "?"), str_or(e, "exception", "?"), str_or(e, "error", ""),
               json_object_get(e, "retried_at") ? "  (retried " : "",
               json_object_get(e, "retried_at") ? str_or(e, "retried_at", "?") : "",
               json_object_get(e, "retried_at") ? ")" : "");
    }
}

static void print_entry(const json_t *item)
{
    const json_t *e = json_object_get(item, "entry");
    char *payload = json_dumps(json_object_get(e, "payload"), JSON_COMPACT | JSON_ENCODE_ANY);
    size_t i;
    json_t *line;
    printf("index:      %" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(item, "index")));
    printf("failed_at:  %s\n", str_or(e, "failed_at", "-"));
    printf("retried_at: %s\n", str_or(e, "retried_at", "-"));
    printf("queue:      %s\n", str_or(e, "queue", "-"));
    printf("worker:     %s\n", str_or(e, "worker", "-"));
    printf("exception:  %s\n", str_or(e, "exception", "-"));
    printf("error:      %s\n", str_or(e, "error", "-"));
    printf("payload:    %s\n", payload ? payload : "-");
    printf("backtrace:\n");
    json_array_foreach(json_object_get(e, "backtrace"), i, line)
        printf("  %s\n", json_is_string(line) ? json_string_value(line) : "?");
    free(payload);
}

static int parse_index(long long *out, const char *s)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!end || *end || end == s || v < 0)
        return qr_cli_usage_error("failures", "want an entry number >= 0, got '%s'", s);
    *out = v;
    return 0;
}

static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"redis", required_argument, NULL, 'r'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};

int qr_cmd_failures(int argc, char **argv)
{
    const char *url = NULL, *ns = NULL;
    bool as_json = false;
    long long limit = 100, index = 0, total = 0;
    qr_resque *r = NULL;
    json_t *items = NULL;
    char *queue = NULL, *end = NULL;
    qr_error err = QR_ERROR_INIT;
    int c, rc = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            as_json = true;
            break;
        case 'l':
            limit = strtoll(optarg, &end, 10);
            if (!end || *end || end == optarg || limit < 1 || limit > LIST_MAX)
                return qr_cli_usage_error("failures", "--limit wants 1..%d", LIST_MAX);
            break;
        case 'r':
            url = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        default:
            return qr_cli_usage_error("failures", "unknown option");
        }
    }
    if (optind >= argc)
        return qr_cli_usage_error("failures", "want list, show N, retry N or remove N");
    const char *verb = argv[optind];
    bool is_list = strcmp(verb, "list") == 0;
    if (!is_list && strcmp(verb, "show") != 0 && strcmp(verb, "retry") != 0 &&
        strcmp(verb, "remove") != 0)
        return qr_cli_usage_error("failures", "unknown action '%s'", verb);
    if (optind + (is_list ? 1 : 2) != argc)
        return qr_cli_usage_error("failures", "%s takes %s", verb,
                                  is_list ? "no argument" : "one entry number");
    if (!is_list && (rc = parse_index(&index, argv[optind + 1])) != 0)
        return rc;
    if (qr_cli_resque_open(&r, url, ns, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    if (is_list) {
        /* The count first, then the newest `limit` entries. */
        if (qr_resque_failures(&items, &total, r, 0, 0, &err) < 0) {
            rc = qr_cli_fail(&err);
            goto out;
        }
        json_decref(items);
        items = NULL;
        if (qr_resque_failures(&items, &total, r, total > limit ? total - limit : 0, limit, &err) <
            0) {
            rc = qr_cli_fail(&err);
            goto out;
        }
        if (as_json)
            rc = print_json(items, total);
        else
            print_list(items, total);
    } else if (strcmp(verb, "show") == 0) {
        if (qr_resque_failures(&items, &total, r, index, 1, &err) < 0) {
            rc = qr_cli_fail(&err);
            goto out;
        }
        if (json_array_size(items) == 0) {
            fprintf(stderr, "quire failures: no entry #%lld (%lld entries)\n", index, total);
            rc = 1;
        } else if (as_json) {
            rc = json_dumpf(json_array_get(items, 0), stdout, JSON_COMPACT) < 0 ||
                 putchar('\n') == EOF;
        } else {
            print_entry(json_array_get(items, 0));
        }
    } else if (strcmp(verb, "retry") == 0) {
        if (qr_resque_failure_retry(&queue, r, index, &err) < 0) {
            rc = qr_cli_fail(&err);
            goto out;
        }
        printf("failure #%lld requeued to %s\n", index, queue);
    } else {
        if (qr_resque_failure_remove(r, index, &err) < 0) {
            rc = qr_cli_fail(&err);
            goto out;
        }
        printf("failure #%lld removed\n", index);
    }
out:
    free(queue);
    json_decref(items);
    qr_resque_free(r);
    return rc;
}
