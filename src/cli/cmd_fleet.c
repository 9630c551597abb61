/*
 * quire fleet ready: the last step of a converge on an Auto Scaling
 * instance, which releases the launching hook. quire metrics publish: the
 * queue metrics the group scales on, once or every interval. And the SSM
 * secrets the worker reads at start. docs/operations/autoscale.md has the
 * contract with the template.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "qr/aws.h"
#include "qr/clock.h"
#include "qr/fleet.h"
#include "qr/log.h"
#include "qr/resque.h"

int qr_cli_ssm_secret(char **out, size_t *len, const qr_aws_config *cfg, const char *name,
                      qr_error *err)
{
    char region[64];
    qr_aws_client *c = NULL;
    *out = NULL;
    *len = 0;
    int rc = qr_aws_region(region, sizeof(region), cfg, 1.0, err);
    if (rc == 0)
        rc = qr_aws_client_new(&c, cfg, region, err);
    if (rc == 0)
        rc = qr_aws_ssm_secret(out, len, c, name, err);
    qr_aws_client_free(c);
    return rc;
}

/* ---- quire fleet ready ---- */

/*
 * Sets the variables of a systemd EnvironmentFile (KEY=VALUE lines, # comments,
 * values optionally in double or single quotes) that are not already set.
 */
static int load_env_file(const char *path, qr_error *err)
{
    FILE *fp = fopen(path, "r");
    char line[4096];
    if (!fp)
        return qr_error_set(err, QR_ERR_SOURCE_NOT_FOUND, "config", "cannot open %s", path);
    while (fgets(line, sizeof(line), fp)) {
        char *p = line, *eq;
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#' || *p == ';' || !(eq = strchr(p, '=')))
            continue;
        *eq = '\0';
        char *v = eq + 1;
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        }
        if (!getenv(p) && setenv(p, v, 0) != 0) {
            fclose(fp);
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "config", "out of memory");
        }
    }
    fclose(fp);
    return 0;
}

void qr_cmd_fleet_usage(FILE *f)
{
    fprintf(f,
            "usage: quire fleet ready [--group NAME] [--env-file F]\n"
            "\n"
            "On an EC2 instance of an Auto Scaling group, completes the launching\n"
            "lifecycle hook (" QR_FLEET_LAUNCH_HOOK ") with CONTINUE: the instance goes into\n"
            "service. The cookbook's quire::deploy runs it last. Off EC2, with\n"
            "QUIRE_FLEET=off, or on an instance in no group, it does nothing and exits 0;\n"
            "so it does when no lifecycle action waits (a later converge).\n"
            "\n"
            "  --group NAME   the group (default $QUIRE_FLEET_GROUP, else asked of Auto Scaling)\n"
            "  --env-file F   first read the worker's environment file (systemd's\n"
            "                 EnvironmentFile format; variables already set win)\n"
            "\n"
            "Environment: QUIRE_FLEET (auto|on|off), AWS_REGION, AWS_ENDPOINT_URL*, the\n"
            "AWS credential chain (the instance profile through IMDSv2).\n");
}

int qr_cmd_fleet(int argc, char **argv)
{
    static const struct option opts[] = {{"group", required_argument, NULL, 'g'},
                                         {"env-file", required_argument, NULL, 'e'},
                                         {NULL, 0, NULL, 0}};
    const char *group = NULL, *env_file = NULL;
    qr_aws_config cfg;
    qr_fleet *f = NULL;
    qr_fleet_mode mode = QR_FLEET_AUTO;
    qr_error err = QR_ERROR_INIT;
    char why[200];
    int rc = 0, c;
    memset(&cfg, 0, sizeof(cfg));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'g')
            group = optarg;
        else if (c == 'e')
            env_file = optarg;
        else
            return qr_cli_usage_error("fleet", "unknown option");
    }
    if (optind != argc - 1 || strcmp(argv[optind], "ready") != 0)
        return qr_cli_usage_error("fleet", "the one action is 'ready'");
    if (env_file && load_env_file(env_file, &err) < 0)
        return qr_cli_fail(&err);
    if (!group)
        group = getenv("QUIRE_FLEET_GROUP");
    if (qr_fleet_mode_parse(&mode, getenv("QUIRE_FLEET")) < 0)
        return qr_cli_usage_error("fleet", "QUIRE_FLEET wants auto, on or off");
    if (qr_aws_config_load(&cfg, qr_cli_env_lookup, NULL, &err) < 0 ||
        qr_fleet_detect(&f, why, sizeof(why), mode, &cfg, group, 1.0, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    if (!f) {
        printf("quire fleet ready: nothing to do: %s\n", why);
        goto out;
    }
    bool pending = true;
    if (qr_fleet_complete(f, QR_FLEET_LAUNCH_HOOK, "CONTINUE", &pending, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    if (pending)
        printf("quire fleet ready: %s completed (CONTINUE) for %s in %s\n", QR_FLEET_LAUNCH_HOOK,
               qr_fleet_instance(f), qr_fleet_group(f));
    else
        printf("quire fleet ready: no %s action waits for %s in %s (already in service)\n",
               QR_FLEET_LAUNCH_HOOK, qr_fleet_instance(f), qr_fleet_group(f));
out:
    qr_fleet_free(f);
    qr_aws_config_free(&cfg);
    return rc;
}

/* ---- quire metrics publish ---- */

static volatile sig_atomic_t publish_stop;

static void on_stop(int signo)
{
    (void)signo;
    publish_stop = 1;
}

void qr_cmd_metrics_usage(FILE *f)
{
    fprintf(f, "usage: quire metrics publish [--once] [--interval S] [--group NAME]\n"
               "                             [--queues LIST] [--redis URL] [--namespace NS]\n"
               "\n"
               "Publishes the queue metrics an Auto Scaling group of quire workers scales on\n"
               "(CloudWatch namespace " QR_FLEET_NAMESPACE ", dimension AutoScalingGroupName):\n"
               "QueueDepth, RunningJobs, JobsProcessed, BacklogPerInstance,\n"
               "ActivityPerInstance and UnservedQueueDepth, one JSON line per publish on\n"
               "stdout. Run one publisher per group, outside it (it must see the queue when\n"
               "no instance runs).\n"
               "\n"
               "  --once          publish once; exit 0 when published, non-zero otherwise\n"
               "  --interval S    seconds between publishes (default 60)\n"
               "  --group NAME    the group (default $QUIRE_FLEET_GROUP)\n"
               "  --queues LIST   watched queues as quire worker takes them\n"
               "                  (default $QUIRE_QUEUES, else books)\n"
               "  --redis URL     default $QUIRE_REDIS, $REDIS_URL, the SecureString named by\n"
               "                  $QUIRE_REDIS_SSM, else redis://127.0.0.1:6379\n"
               "  --namespace NS  Resque namespace (default $QUIRE_NAMESPACE, else resque)\n"
               "\n"
               "Needs autoscaling:DescribeAutoScalingGroups, cloudwatch:PutMetricData and,\n"
               "with QUIRE_REDIS_SSM, ssm:GetParameter (docs/operations/autoscale.md).\n");
}

#define MAX_SPEC 64

static int publish_once(qr_aws_client *c, const char *group, qr_resque *r, const char *const *spec,
                        size_t nspec, qr_error *err)
{
    char **queues = NULL;
    size_t nq = 0;
    qr_fleet_sample s;
    int rc = qr_resque_queues(&queues, &nq, r, spec, nspec, err);
    if (rc == 0)
        rc = qr_fleet_publish(&s, c, group, r, (const char *const *)queues, nq, err);
    if (rc == 0) {
        json_t *qs = json_array();
        for (size_t i = 0; qs && i < nq; i++)
            json_array_append_new(qs, json_string(queues[i]));
        json_t *o = json_pack(
            "{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:f, s:f}", "msg", "published", "group",
            group, "queues", qs ? qs : json_null(), "in_service", (json_int_t)s.in_service,
            "QueueDepth", (json_int_t)s.queued, "RunningJobs", (json_int_t)s.running,
            "JobsProcessed", (json_int_t)s.processed, "UnservedQueueDepth", (json_int_t)s.unserved,
            "BacklogPerInstance", s.backlog, "ActivityPerInstance", s.activity);
        char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (line) {
            printf("%s\n", line);
            fflush(stdout);
        }
        free(line);
        json_decref(o);
    }
    qr_resque_strv_free(queues);
    return rc;
}

int qr_cmd_metrics(int argc, char **argv)
{
    static const struct option opts[] = {{"once", no_argument, NULL, 'o'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"queues", required_argument, NULL, 'q'},
                                         {"redis", required_argument, NULL, 'r'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *group = getenv("QUIRE_FLEET_GROUP"), *spec_s = getenv("QUIRE_QUEUES");
    const char *url = NULL, *ns = NULL;
    bool once = false;
    double interval = 60;
    qr_aws_config cfg;
    qr_aws_client *client = NULL;
    qr_resque *r = NULL;
    char *spec_buf = NULL, *ssm_url = NULL, region[64];
    size_t ssm_len = 0;
    const char *spec[MAX_SPEC];
    size_t nspec = 0;
    qr_error err = QR_ERROR_INIT;
    int rc = 0, c;
    memset(&cfg, 0, sizeof(cfg));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'o':
            once = true;
            break;
        case 'i':
            interval = strtod(optarg, &end);
            if (!end || *end || !(interval >= 1 && interval <= 3600))
                return qr_cli_usage_error("metrics", "--interval wants 1..3600 seconds");
            break;
        case 'g':
            group = optarg;
            break;
        case 'q':
            spec_s = optarg;
            break;
        case 'r':
            url = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        default:
            return qr_cli_usage_error("metrics", "unknown option");
        }
    }
    if (optind != argc - 1 || strcmp(argv[optind], "publish") != 0)
        return qr_cli_usage_error("metrics", "the one action is 'publish'");
    if (!group || !*group)
        return qr_cli_usage_error("metrics", "no group: --group or QUIRE_FLEET_GROUP");
    if (!(spec_buf = strdup(spec_s && *spec_s ? spec_s : "books")))
        return qr_cli_usage_error("metrics", "out of memory");
    if (qr_cli_split_list(spec_buf, spec, MAX_SPEC, &nspec) < 0) {
        rc = qr_cli_usage_error("metrics", "at most %d queues", MAX_SPEC);
        goto out;
    }
    if (nspec == 0) {
        rc = qr_cli_usage_error("metrics", "no queues");
        goto out;
    }
    if (!url && !getenv("QUIRE_REDIS") && !getenv("REDIS_URL") && getenv("QUIRE_REDIS_SSM") &&
        *getenv("QUIRE_REDIS_SSM")) {
        if (qr_aws_config_load(&cfg, qr_cli_env_lookup, NULL, &err) < 0 ||
            qr_cli_ssm_secret(&ssm_url, &ssm_len, &cfg, getenv("QUIRE_REDIS_SSM"), &err) < 0) {
            rc = qr_cli_fail(&err);
            goto out;
        }
        url = ssm_url;
    } else if (qr_aws_config_load(&cfg, qr_cli_env_lookup, NULL, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    if (qr_aws_region(region, sizeof(region), &cfg, 1.0, &err) < 0 ||
        qr_aws_client_new(&client, &cfg, region, &err) < 0 ||
        qr_cli_resque_open(&r, url, ns, &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    for (;;) {
        double started = qr_now();
        qr_error_clear(&err);
        if (publish_once(client, group, r, spec, nspec, &err) < 0) {
            if (once) {
                rc = qr_cli_fail(&err);
                break;
            }
            qr_log(QR_LOG_WARN, "metrics", "publish: %s: %s; trying again next interval", err.id,
                   err.msg);
        }
        if (once)
            break;
        while (!publish_stop && qr_now() < started + interval)
            qr_sleep(0.1);
        if (publish_stop)
            break;
    }
out:
    qr_resque_free(r);
    qr_aws_client_free(client);
    qr_aws_config_free(&cfg);
    qr_aws_secret_free(ssm_url, ssm_len);
    free(spec_buf);
    return rc;
}
