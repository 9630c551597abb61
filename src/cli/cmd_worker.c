/*
 * quire worker: a Resque-compatible worker (docs/operations/worker.md).
 * Reads its options from flags, else QUIRE_<OPTION>, else REDIS_URL for
 * --redis; installs the signal handlers (they only set flags); sets up the
 * process title memory; runs qr_worker_run. libvips is not started here:
 * each forked child starts its own (main.c skips it for this command).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "qr/fleet.h"
#include "qr/log.h"
#include "qr/payload.h"
#include "qr/metrics.h"
#include "qr/worker.h"

extern char **environ;

#define MAX_QUEUES 64

/* The one mutable global the worker binary needs: what the signal handlers set. */
static qr_worker_signals worker_signals;

static void on_signal(int sig)
{
    switch (sig) {
    case SIGTERM:
    case SIGINT:
        worker_signals.drain = 1;
        break;
    case SIGQUIT:
        worker_signals.quit = 1;
        break;
    case SIGUSR1:
        worker_signals.kill_child = 1;
        break;
    case SIGUSR2:
        worker_signals.paused = 1;
        break;
    case SIGCONT:
        worker_signals.paused = 0;
        break;
    default:
        break;
    }
}

static void install_signals(void)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    /* hiredis writes to the socket directly; a dropped connection must be an error, not death. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

void qr_cmd_worker_usage(FILE *f)
{
    fprintf(f,
            "usage: quire worker --redis URL --queues Q1,Q2|* --store STORE --key-file F\n"
            "                    [--namespace N] [--class NAME] [--source-dir DIR]\n"
            "                    [--job-timeout S] [--drain-timeout S] [--term-timeout S]\n"
            "                    [--interval S]\n"
            "                    [--heartbeat-interval S] [--sweep-interval S]\n"
            "                    [--prune-after S] [--max-attempts N] [--profile P]\n"
            "                    [--threads N] [--work-dir DIR] [--hostname H]\n"
            "                    [--memory-limit MB] [--min-free MB] [--slots N]\n"
            "                    [--fleet auto|on|off] [--fleet-group G] [--fleet-poll S]\n"
            "                    [--fleet-heartbeat S] [--redis-ssm NAME] [--key-ssm NAME]\n"
            "                    [--callback-secret-ssm NAME] [--history-max N] [--log-ttl S]\n"
            "                    [--disk-reserve MB]\n"
            "                    [--alert-smtp URL --alert-from A --alert-to A[,A...]]\n"
            "                    [--alert-smtp-user U] [--alert-smtp-tls required|optional]\n"
            "                    [--alert-smtp-ca FILE] [--alert-period S] [--alert-window S]\n"
            "                    [--alert-burst N] [--alert-failures] [--alert-webhook URL]\n"
            "\n"
            "Runs a Resque-compatible worker: registers in Redis as Ruby's Resque does,\n"
            "takes Quire::ProcessBook jobs from the queues (in priority order; * = all),\n"
            "forks one child per job to publish the book into the store, and records\n"
            "the result (resque:stat:*, resque:failed). A job is never lost: it is held\n"
            "in a per-worker processing list until its result is recorded.\n"
            "\n"
            "  --redis URL             redis://[:password@]host[:port][/db]\n"
            "                          (default: $REDIS_URL, else redis://127.0.0.1:6379)\n"
            "  --queues LIST           comma-separated queue names or globs, * = all\n"
            "  --store STORE           a directory or s3://bucket[/prefix]: publish under\n"
            "                          STORE/books/<book_id>/<revision>/\n"
            "  --key-file F            service key file (or $QUIRE_KEY_FILE)\n"
            "  --namespace N           Redis key namespace (default resque)\n"
            "  --class NAME            job class to run (default %s)\n"
            "  --source-dir DIR        refuse local job sources outside DIR\n"
            "  --job-timeout S         wall-clock limit per job (default: none)\n"
            "  --drain-timeout S       on SIGTERM, wait this long for the job (default 30)\n"
            "  --term-timeout S        then ask the job to stop (TERM: it cleans up) and kill\n"
            "                          it S later (default 10; 0 kills at once)\n"
            "  --interval S            poll interval when the queues are empty (default 5)\n"
            "  --heartbeat-interval S  default 60 (Resque prunes after 300)\n"
            "  --sweep-interval S      dead-worker sweep period (default 60)\n"
            "  --prune-after S         heartbeat age that makes a worker dead (default 300)\n"
            "  --max-attempts N        interrupted runs before a job fails (default 3)\n"
            "  --profile P             profile for jobs that name none (default tablet)\n"
            "  --threads N             image workers per job (default: one per CPU)\n"
            "  --work-dir DIR          parent of the jobs' work directories (default /tmp)\n"
            "  --hostname H            host part of the worker id (default: gethostname)\n"
            "  --memory-limit MB       kill a job whose resident memory passes MB and record\n"
            "                          an out-of-memory failure (default: none)\n"
            "  --min-free MB           take no job while the store or work directory has\n"
            "                          less free space (default 256)\n"
            "  --slots N               run N workers, one process each (default 1)\n"
            "  --admin ADDR            /healthz and /metrics on IPV4:PORT (default\n"
            "                          " QR_METRICS_DEFAULT_LISTEN "; 'off' disables; with\n"
            "                          --slots N, one endpoint for every slot)\n"
            "  --fleet MODE            an EC2 Auto Scaling instance: scale-in protection\n"
            "                          while a job runs, a drain for the terminating hook\n"
            "                          (auto: when IMDSv2 answers; on; off)\n"
            "  --fleet-group G         the instance's group (default: asked of Auto Scaling)\n"
            "  --fleet-poll S          target lifecycle state read every S (default 5)\n"
            "  --fleet-heartbeat S     drain hook heartbeat period (default 60)\n"
            "  --redis-ssm NAME        the Redis URL from this SSM SecureString\n"
            "  --key-ssm NAME          the key file from this SSM SecureString (never on disk)\n"
            "  --history-max N         job history records kept in Redis (default 10000)\n"
            "  --log-ttl S             per-job logs kept this long (default 14 days)\n"
            "  --disk-reserve MB       stop a job as disk-full when its work directory's file\n"
            "                          system has less free space (default 64; 0: off)\n"
            "  --callback-secret-ssm NAME\n"
            "                          the callback secret from this SSM SecureString\n"
            "  --alert-smtp URL        mail an alert when a job crashes, is killed at a limit\n"
            "                          or poison-pilled, through this relay (smtp:// with\n"
            "                          STARTTLS, or smtps://); password from\n"
            "                          QUIRE_ALERT_SMTP_PASSWORD(_FILE)\n"
            "  --alert-from A, --alert-to A[,A...]  the sender and recipients (--alert-to\n"
            "                          repeats)\n"
            "  --alert-smtp-user U     AUTH as U\n"
            "  --alert-smtp-tls MODE   required (default) or optional (STARTTLS if offered)\n"
            "  --alert-smtp-ca FILE    CA bundle for the relay's certificate\n"
            "  --alert-period S        at most one alert per book per S (default 3600)\n"
            "  --alert-window S, --alert-burst N  past N alerts in a window of S, the rest go\n"
            "                          into one digest at its end (default 5 in 300 s)\n"
            "  --alert-failures        alert on every failure, not only crashes and kills\n"
            "  --alert-webhook URL     also POST each alert as signed JSON (as callbacks)\n"
            "\n"
            "Every option can also be set as QUIRE_<OPTION> (--job-timeout ->\n"
            "QUIRE_JOB_TIMEOUT); flags win. Job sources may be paths, s3:// or https://\n"
            "URLs; S3 is configured with the AWS_* variables and files, job URLs and\n"
            "callbacks with QUIRE_NET_*, QUIRE_HTTP_*, QUIRE_CALLBACK_* (docs/operations/).\n"
            "Signals: TERM and INT drain (stop taking\n"
            "jobs, wait --drain-timeout for the running one, then requeue it at the head\n"
            "of its queue) and exit 0; QUIT finishes the job then exits; USR1 kills the\n"
            "running job; USR2 pauses; CONT resumes.\n",
            QR_PAYLOAD_DEFAULT_CLASS);
}

enum {
    O_REDIS,
    O_QUEUES,
    O_STORE,
    O_KEY_FILE,
    O_NAMESPACE,
    O_CLASS,
    O_SOURCE_DIR,
    O_JOB_TIMEOUT,
    O_DRAIN_TIMEOUT,
    O_TERM_TIMEOUT,
    O_INTERVAL,
    O_HEARTBEAT,
    O_SWEEP,
    O_PRUNE,
    O_MAX_ATTEMPTS,
    O_PROFILE,
    O_THREADS,
    O_WORK_DIR,
    O_HOSTNAME,
    O_MEMORY_LIMIT,
    O_MIN_FREE,
    O_SLOTS,
    O_ADMIN,
    O_FLEET,
    O_FLEET_GROUP,
    O_FLEET_POLL,
    O_FLEET_HEARTBEAT,
    O_REDIS_SSM,
    O_KEY_SSM,
    O_CALLBACK_SECRET_SSM,
    O_HISTORY_MAX,
    O_LOG_TTL,
    O_DISK_RESERVE,
    O_ALERT_SMTP,
    O_ALERT_FROM,
    O_ALERT_TO,
    O_ALERT_SMTP_USER,
    O_ALERT_SMTP_TLS,
    O_ALERT_SMTP_CA,
    O_ALERT_PERIOD,
    O_ALERT_WINDOW,
    O_ALERT_BURST,
    O_ALERT_FAILURES,
    O_ALERT_WEBHOOK,
    O_COUNT
};

static const struct option longopts[] = {
    {"redis", required_argument, NULL, O_REDIS},
    {"queues", required_argument, NULL, O_QUEUES},
    {"store", required_argument, NULL, O_STORE},
    {"key-file", required_argument, NULL, O_KEY_FILE},
    {"namespace", required_argument, NULL, O_NAMESPACE},
    {"class", required_argument, NULL, O_CLASS},
    {"source-dir", required_argument, NULL, O_SOURCE_DIR},
    {"job-timeout", required_argument, NULL, O_JOB_TIMEOUT},
    {"drain-timeout", required_argument, NULL, O_DRAIN_TIMEOUT},
    {"term-timeout", required_argument, NULL, O_TERM_TIMEOUT},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"heartbeat-interval", required_argument, NULL, O_HEARTBEAT},
    {"sweep-interval", required_argument, NULL, O_SWEEP},
    {"prune-after", required_argument, NULL, O_PRUNE},
    {"max-attempts", required_argument, NULL, O_MAX_ATTEMPTS},
    {"profile", required_argument, NULL, O_PROFILE},
    {"threads", required_argument, NULL, O_THREADS},
    {"work-dir", required_argument, NULL, O_WORK_DIR},
    {"hostname", required_argument, NULL, O_HOSTNAME},
    {"memory-limit", required_argument, NULL, O_MEMORY_LIMIT},
    {"min-free", required_argument, NULL, O_MIN_FREE},
    {"slots", required_argument, NULL, O_SLOTS},
    {"admin", required_argument, NULL, O_ADMIN},
    {"fleet", required_argument, NULL, O_FLEET},
    {"fleet-group", required_argument, NULL, O_FLEET_GROUP},
    {"fleet-poll", required_argument, NULL, O_FLEET_POLL},
    {"fleet-heartbeat", required_argument, NULL, O_FLEET_HEARTBEAT},
    {"redis-ssm", required_argument, NULL, O_REDIS_SSM},
    {"key-ssm", required_argument, NULL, O_KEY_SSM},
    {"callback-secret-ssm", required_argument, NULL, O_CALLBACK_SECRET_SSM},
    {"history-max", required_argument, NULL, O_HISTORY_MAX},
    {"log-ttl", required_argument, NULL, O_LOG_TTL},
    {"disk-reserve", required_argument, NULL, O_DISK_RESERVE},
    {"alert-smtp", required_argument, NULL, O_ALERT_SMTP},
    {"alert-from", required_argument, NULL, O_ALERT_FROM},
    {"alert-to", required_argument, NULL, O_ALERT_TO},
    {"alert-smtp-user", required_argument, NULL, O_ALERT_SMTP_USER},
    {"alert-smtp-tls", required_argument, NULL, O_ALERT_SMTP_TLS},
    {"alert-smtp-ca", required_argument, NULL, O_ALERT_SMTP_CA},
    {"alert-period", required_argument, NULL, O_ALERT_PERIOD},
    {"alert-window", required_argument, NULL, O_ALERT_WINDOW},
    {"alert-burst", required_argument, NULL, O_ALERT_BURST},
    {"alert-failures", optional_argument, NULL, O_ALERT_FAILURES},
    {"alert-webhook", required_argument, NULL, O_ALERT_WEBHOOK},
    {NULL, 0, NULL, 0}};

/* Option values, all owned copies: the title overwrites the argv memory they came from. */
typedef struct worker_args {
    char *v[O_COUNT];
    char *to_buf; /* --alert-to, split */
    char *password;
    char *queue_buf;
    const char *queues[MAX_QUEUES];
    size_t nqueues;
    char *url_buf;
} worker_args;

/* Overwrites a secret before its memory is freed. */
static void wipe(char *p, size_t n)
{
    volatile char *v = p;
    while (n--)
        *v++ = 0;
}

static void args_free(worker_args *a)
{
    for (int i = 0; i < O_COUNT; i++)
        free(a->v[i]);
    free(a->queue_buf);
    free(a->url_buf);
    free(a->to_buf);
    if (a->password) {
        wipe(a->password, strlen(a->password));
        free(a->password);
    }
}

static int set_arg(worker_args *a, int idx, const char *val)
{
    /* --alert-to repeats: the values are joined into one comma list. */
    if (idx == O_ALERT_TO && a->v[idx]) {
        size_t n = strlen(a->v[idx]) + strlen(val) + 2;
        char *j = malloc(n);
        if (!j)
            return -1;
        snprintf(j, n, "%s,%s", a->v[idx], val);
        free(a->v[idx]);
        a->v[idx] = j;
        return 0;
    }
    char *copy = strdup(val);
    if (!copy)
        return -1;
    free(a->v[idx]);
    a->v[idx] = copy;
    return 0;
}

/* The worker's embedded-metric-format lines, on stderr with the rest of the log. */
static void write_emf(const char *lines, void *ud)
{
    (void)ud;
    fprintf(stderr, "%s\n", lines);
    fflush(stderr);
}

/* QUIRE_<OPTION>: upper case, dashes to underscores. */
static int load_env(worker_args *a)
{
    for (int i = 0; longopts[i].name; i++) {
        char name[64] = "QUIRE_";
        size_t n = strlen(name);
        for (const char *p = longopts[i].name; *p && n + 1 < sizeof(name); p++)
            name[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        name[n] = '\0';
        const char *v = getenv(name);
        if (v && v[0] && set_arg(a, longopts[i].val, v) < 0)
            return -1;
    }
    const char *url = getenv("REDIS_URL");
    if (!a->v[O_REDIS] && url && url[0] && set_arg(a, O_REDIS, url) < 0)
        return -1;
    return 0;
}

static int parse_seconds(double *out, const char *s, const char *name)
{
    char *end = NULL;
    if (!s)
        return 0;
    double v = strtod(s, &end);
    if (!end || *end || end == s || !(v >= 0) || v > 86400.0 * 365)
        return qr_cli_usage_error("worker", "--%s wants seconds, got '%s'", name, s);
    *out = v;
    return 0;
}

static int parse_long(long *out, const char *s, const char *name, long lo, long hi)
{
    char *end = NULL;
    if (!s)
        return 0;
    long v = strtol(s, &end, 10);
    if (!end || *end || end == s || v < lo || v > hi)
        return qr_cli_usage_error("worker", "--%s wants %ld..%ld, got '%s'", name, lo, hi, s);
    *out = v;
    return 0;
}

static int split_queues(worker_args *a)
{
    a->queue_buf = strdup(a->v[O_QUEUES]);
    if (!a->queue_buf)
        return 1;
    if (qr_cli_split_list(a->queue_buf, a->queues, MAX_QUEUES, &a->nqueues) < 0)
        return qr_cli_usage_error("worker", "at most %d queues", MAX_QUEUES);
    if (a->nqueues == 0)
        return qr_cli_usage_error("worker", "--queues is empty");
    return 0;
}

/*
 * The memory `ps` shows: main's argv strings and, after them, the
 * environment strings (moved to the heap first, as Ruby's setproctitle
 * does). main passes argv + 1, so argv[-1] is main's argv[0]. The moved
 * environment lives as long as the process.
 */
static char *title_area(int argc, char **argv, size_t *cap)
{
    char *start = argv[-1];
    char *end = start + strlen(start) + 1;
    for (int i = 0; i < argc; i++)
        if (argv[i] == end)
            end += strlen(argv[i]) + 1;
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 1, sizeof(*env));
    if (env) {
        size_t i;
        for (i = 0; i < n; i++) {
            env[i] = strdup(environ[i]);
            if (!env[i])
                break;
        }
        if (i == n) {
            for (i = 0; i < n; i++)
                if (environ[i] == end)
                    end += strlen(environ[i]) + 1;
            environ = env;
        } else {
            for (size_t j = 0; j < i; j++)
                free(env[j]);
            free(env);
        }
    }
    *cap = (size_t)(end - start);
    return start;
}

/* The SMTP password: QUIRE_ALERT_SMTP_PASSWORD, or the first line of QUIRE_ALERT_SMTP_PASSWORD_FILE. */
static int load_password(worker_args *a)
{
    const char *v = getenv("QUIRE_ALERT_SMTP_PASSWORD");
    const char *file = getenv("QUIRE_ALERT_SMTP_PASSWORD_FILE");
    if (v && v[0])
        return (a->password = strdup(v)) ? 0 : qr_cli_usage_error("worker", "out of memory");
    if (!file || !file[0])
        return 0;
    FILE *f = fopen(file, "r");
    char line[1024];
    if (!f)
        return qr_cli_usage_error("worker", "QUIRE_ALERT_SMTP_PASSWORD_FILE %s: %s", file,
                                  strerror(errno));
    if (!fgets(line, sizeof(line), f))
        line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    a->password = strdup(line);
    wipe(line, sizeof(line));
    return a->password ? 0 : qr_cli_usage_error("worker", "out of memory");
}

static bool flag_on(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
                 strcasecmp(v, "on") == 0);
}

/* --alert-*: fills `al`; 0 or a usage error. */
static int alert_options(qr_alert_opts *al, worker_args *a)
{
    int rc;
    long n;
    memset(al, 0, sizeof(*al));
    al->smtp.url = a->v[O_ALERT_SMTP];
    al->webhook = a->v[O_ALERT_WEBHOOK];
    al->failures = flag_on(a->v[O_ALERT_FAILURES]);
    if (al->smtp.url && strncmp(al->smtp.url, "smtp://", 7) != 0 &&
        strncmp(al->smtp.url, "smtps://", 8) != 0)
        return qr_cli_usage_error("worker", "--alert-smtp wants smtp://host[:port] or smtps://");
    if (al->smtp.url) {
        al->smtp.from = a->v[O_ALERT_FROM];
        if (!qr_alert_address_ok(al->smtp.from))
            return qr_cli_usage_error("worker", "--alert-smtp needs --alert-from ADDRESS");
        if (!a->v[O_ALERT_TO])
            return qr_cli_usage_error("worker", "--alert-smtp needs --alert-to ADDRESS[,...]");
        if (!(a->to_buf = strdup(a->v[O_ALERT_TO])))
            return qr_cli_usage_error("worker", "out of memory");
        char *save = NULL;
        for (char *t = strtok_r(a->to_buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            if (al->smtp.nto == QR_ALERT_MAX_TO)
                return qr_cli_usage_error("worker", "at most %d --alert-to addresses",
                                          QR_ALERT_MAX_TO);
            if (!qr_alert_address_ok(t))
                return qr_cli_usage_error("worker", "--alert-to: not a mail address: '%s'", t);
            al->smtp.to[al->smtp.nto++] = t;
        }
        if (al->smtp.nto == 0)
            return qr_cli_usage_error("worker", "--alert-to is empty");
        al->smtp.user = a->v[O_ALERT_SMTP_USER];
        if ((rc = load_password(a)) != 0)
            return rc;
        al->smtp.password = a->password;
        if (al->smtp.user && !al->smtp.password)
            return qr_cli_usage_error("worker", "--alert-smtp-user needs QUIRE_ALERT_SMTP_PASSWORD "
                                                "or QUIRE_ALERT_SMTP_PASSWORD_FILE");
        const char *tls = a->v[O_ALERT_SMTP_TLS];
        if (tls && strcmp(tls, "required") != 0 && strcmp(tls, "optional") != 0)
            return qr_cli_usage_error("worker", "--alert-smtp-tls wants required or optional");
        al->smtp.tls_optional = tls && strcmp(tls, "optional") == 0;
        al->smtp.ca_file = a->v[O_ALERT_SMTP_CA];
    }
    n = 0;
    if ((rc = parse_long(&n, a->v[O_ALERT_PERIOD], "alert-period", 1, 366L * 86400)))
        return rc;
    al->period_s = n;
    n = 0;
    if ((rc = parse_long(&n, a->v[O_ALERT_WINDOW], "alert-window", 1, 86400)))
        return rc;
    al->window_s = n;
    n = 0;
    if ((rc = parse_long(&n, a->v[O_ALERT_BURST], "alert-burst", 1, 1000)))
        return rc;
    al->burst = n;
    return 0;
}

int qr_cmd_worker(int argc, char **argv)
{
    worker_args a;
    memset(&a, 0, sizeof(a));
    qr_worker_opts wo = QR_WORKER_OPTS_INIT;
    qr_keyring *k = NULL;
    qr_cli_remote net;
    memset(&net, 0, sizeof(net));
    qr_fleet *fleet = NULL;
    qr_alert_opts alert;
    char *ssm_redis = NULL, *ssm_key = NULL, *ssm_cb = NULL;
    size_t ssm_redis_len = 0, ssm_key_len = 0, ssm_cb_len = 0;
    qr_error err = QR_ERROR_INIT;
    long n = 0;
    int rc = 0;
    if (load_env(&a) < 0) {
        rc = qr_cli_usage_error("worker", "out of memory");
        goto out;
    }
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c < 0 || c >= O_COUNT) {
            rc = qr_cli_usage_error("worker", "unknown option");
            goto out;
        }
        if (set_arg(&a, c, optarg ? optarg : "1") < 0) {
            rc = qr_cli_usage_error("worker", "out of memory");
            goto out;
        }
    }
    if (optind != argc) {
        rc = qr_cli_usage_error("worker", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!a.v[O_QUEUES] || !a.v[O_STORE]) {
        rc = qr_cli_usage_error("worker", "--queues and --store are required");
        goto out;
    }
    qr_remote_kind store_kind = qr_remote_classify(a.v[O_STORE]);
    if (store_kind != QR_REMOTE_LOCAL && store_kind != QR_REMOTE_S3) {
        rc = qr_cli_usage_error("worker", "--store wants a directory or s3://bucket[/prefix]");
        goto out;
    }
    if ((rc = split_queues(&a)) != 0)
        goto out;
    qr_fleet_mode fleet_mode = QR_FLEET_AUTO;
    if (qr_fleet_mode_parse(&fleet_mode, a.v[O_FLEET]) < 0) {
        rc = qr_cli_usage_error("worker", "--fleet wants auto, on or off");
        goto out;
    }
    if (qr_cli_remote_load(&net, true, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    /* Secrets named in SSM: read once, now, into guarded memory; never written to disk. */
    if (a.v[O_REDIS_SSM] &&
        qr_cli_ssm_secret(&ssm_redis, &ssm_redis_len, &net.aws, a.v[O_REDIS_SSM], &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    if (a.v[O_KEY_SSM] &&
        qr_cli_ssm_secret(&ssm_key, &ssm_key_len, &net.aws, a.v[O_KEY_SSM], &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    if (a.v[O_CALLBACK_SECRET_SSM] &&
        qr_cli_ssm_secret(&ssm_cb, &ssm_cb_len, &net.aws, a.v[O_CALLBACK_SECRET_SSM], &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    if (qr_resque_opts_parse_url(&wo.redis, &a.url_buf,
                                 ssm_redis      ? ssm_redis
                                 : a.v[O_REDIS] ? a.v[O_REDIS]
                                                : "redis://127.0.0.1:6379",
                                 &err) < 0) {
        /* The message of a URL read from SSM could quote the secret: name the parameter only. */
        if (ssm_redis)
            rc = qr_cli_usage_error("worker", "ssm:%s is not a redis:// URL", a.v[O_REDIS_SSM]);
        else
            rc = qr_cli_usage_error("worker", "--redis: %s", err.msg);
        goto out;
    }
    wo.redis.ns = a.v[O_NAMESPACE];
    wo.queues = a.queues;
    wo.nqueues = a.nqueues;
    wo.job_class = a.v[O_CLASS];
    wo.store_dir = a.v[O_STORE];
    wo.process.source_dir = a.v[O_SOURCE_DIR];
    wo.process.work_parent = a.v[O_WORK_DIR];
    wo.hostname = a.v[O_HOSTNAME];
    if ((rc = parse_seconds(&wo.job_timeout_s, a.v[O_JOB_TIMEOUT], "job-timeout")) ||
        (rc = parse_seconds(&wo.drain_timeout_s, a.v[O_DRAIN_TIMEOUT], "drain-timeout")) ||
        (rc = parse_seconds(&wo.term_timeout_s, a.v[O_TERM_TIMEOUT], "term-timeout")) ||
        (rc = parse_seconds(&wo.interval_s, a.v[O_INTERVAL], "interval")) ||
        (rc = parse_seconds(&wo.heartbeat_s, a.v[O_HEARTBEAT], "heartbeat-interval")) ||
        (rc = parse_seconds(&wo.sweep_s, a.v[O_SWEEP], "sweep-interval")) ||
        (rc = parse_seconds(&wo.fleet_poll_s, a.v[O_FLEET_POLL], "fleet-poll")) ||
        (rc = parse_seconds(&wo.fleet_heartbeat_s, a.v[O_FLEET_HEARTBEAT], "fleet-heartbeat")))
        goto out;
    if ((rc = parse_long(&n, a.v[O_PRUNE], "prune-after", 1, 86400)))
        goto out;
    wo.prune_after_s = n;
    n = 0;
    if ((rc = parse_long(&n, a.v[O_MAX_ATTEMPTS], "max-attempts", 1, 1000)))
        goto out;
    wo.max_attempts = (unsigned)n;
    n = 0;
    if ((rc = parse_long(&n, a.v[O_THREADS], "threads", 1, 64)))
        goto out;
    wo.process.threads = (int)n;
    n = 0;
    if ((rc = parse_long(&n, a.v[O_MEMORY_LIMIT], "memory-limit", 1, 1L << 30)))
        goto out;
    wo.memory_limit = (uint64_t)n << 20;
    n = 256;
    if ((rc = parse_long(&n, a.v[O_MIN_FREE], "min-free", 0, 1L << 30)))
        goto out;
    wo.min_free = (uint64_t)n << 20;
    n = 0;
    if ((rc = parse_long(&n, a.v[O_HISTORY_MAX], "history-max", 10, 100000000)))
        goto out;
    wo.history_max = (size_t)n;
    n = 0;
    if ((rc = parse_long(&n, a.v[O_LOG_TTL], "log-ttl", 60, 366L * 86400)))
        goto out;
    wo.log_ttl_s = n;
    n = 64;
    if ((rc = parse_long(&n, a.v[O_DISK_RESERVE], "disk-reserve", 0, 1L << 30)))
        goto out;
    wo.disk_reserve = (uint64_t)n << 20;
    /* CloudWatch embedded-metric-format lines in the log (docs/operations/monitoring.md). */
    const char *emf = getenv("QUIRE_EMF");
    if (emf && strcmp(emf, "1") == 0)
        wo.emf = write_emf;
    if ((rc = alert_options(&alert, &a)))
        goto out;
    if (alert.smtp.url || alert.webhook)
        wo.alert = &alert;
    long slots = 1;
    if ((rc = parse_long(&slots, a.v[O_SLOTS], "slots", 1, 256)))
        goto out;
    /* With --slots N the supervisor serves it for every slot. */
    wo.admin_listen = a.v[O_ADMIN] ? a.v[O_ADMIN] : QR_METRICS_DEFAULT_LISTEN;
    if (strcmp(wo.admin_listen, "off") == 0)
        wo.admin_listen = NULL;
    if (a.v[O_PROFILE] && !(wo.process.profile = qr_profile_get(a.v[O_PROFILE]))) {
        rc = qr_cli_usage_error("worker", "unknown profile '%s' (one of: %s)", a.v[O_PROFILE],
                                qr_profile_names());
        goto out;
    }
    if (wo.heartbeat_s > 0 && wo.heartbeat_s > 60)
        qr_log(QR_LOG_WARN, "worker",
               "--heartbeat-interval %.0f s is over Resque's 60 s: Ruby workers prune after 300 s",
               wo.heartbeat_s);
    if (ssm_key) {
        char what[300];
        snprintf(what, sizeof(what), "ssm:%s", a.v[O_KEY_SSM]);
        if (qr_keyring_parse(&k, ssm_key, ssm_key_len, what, &err) < 0) {
            rc = qr_cli_fail(&err);
            goto out;
        }
    } else if (qr_cli_load_keyring(&k, a.v[O_KEY_FILE], false, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    wo.keyring = k;
    wo.remote = &net.ro;
    wo.callback = &net.cb;
    if (ssm_cb)
        net.cb.secret = ssm_cb;
    char why[200];
    if (qr_fleet_detect(&fleet, why, sizeof(why), fleet_mode, &net.aws, a.v[O_FLEET_GROUP], 1.0,
                        &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    if (fleet)
        wo.fleet = fleet;
    else if (fleet_mode == QR_FLEET_AUTO)
        qr_log(QR_LOG_INFO, "worker", "not in a fleet: %s", why);
    if (!net.cb.secret)
        qr_log(QR_LOG_WARN, "worker",
               "no QUIRE_CALLBACK_SECRET: jobs that carry a callback_url will fail "
               "(docs/operations/callbacks.md)");
    install_signals();
    wo.title = title_area(argc, argv, &wo.title_cap);
    wo.notify_systemd = true;
    if (qr_worker_run_slots(&wo, (unsigned)slots, &worker_signals, &err) < 0)
        rc = qr_cli_fail(&err);
out:
    qr_fleet_free(fleet);
    qr_cli_remote_free(&net);
    qr_keyring_free(k);
    qr_aws_secret_free(ssm_redis, ssm_redis_len);
    qr_aws_secret_free(ssm_key, ssm_key_len);
    qr_aws_secret_free(ssm_cb, ssm_cb_len);
    args_free(&a);
    return rc;
}
