/*
 * quire health: exit status 0 when this host has a live worker, for a
 * container HEALTHCHECK. Live = registered in <ns>:workers with an id
 * starting "<hostname>:" and a heartbeat younger than --max-age.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "qr/resque.h"

void qr_cmd_health_usage(FILE *f)
{
    fprintf(f, "usage: quire health [--max-age S] [--hostname H] [--redis URL] [--namespace N]\n"
               "\n"
               "Exits 0 when a worker of this host (id \"<hostname>:...\" in <ns>:workers)\n"
               "has a heartbeat younger than --max-age seconds (Redis time); otherwise\n"
               "prints one line saying why and exits 1. For a container HEALTHCHECK:\n"
               "  HEALTHCHECK --interval=30s --timeout=10s CMD [\"quire\", \"health\"]\n"
               "\n"
               "  --max-age S     default 90 (the worker heartbeats every 60 s)\n"
               "  --hostname H    host part of the worker ids (default: $QUIRE_HOSTNAME,\n"
               "                  else gethostname, as quire worker)\n"
               "  --redis URL     default: $QUIRE_REDIS, else $REDIS_URL, else\n"
               "                  redis://127.0.0.1:6379\n"
               "  --namespace N   Redis key namespace (default $QUIRE_NAMESPACE, else resque)\n");
}

static const struct option longopts[] = {{"max-age", required_argument, NULL, 'm'},
                                         {"hostname", required_argument, NULL, 'h'},
                                         {"redis", required_argument, NULL, 'r'},
                                         {"namespace", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};

int qr_cmd_health(int argc, char **argv)
{
    const char *url = NULL, *ns = NULL, *host = getenv("QUIRE_HOSTNAME");
    char hostbuf[256];
    long max_age = 90;
    long long age = -1;
    size_t nworkers = 0;
    qr_resque *r = NULL;
    qr_error err = QR_ERROR_INIT;
    char *end = NULL;
    int c, rc = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            max_age = strtol(optarg, &end, 10);
            if (!end || *end || end == optarg || max_age < 1 || max_age > 86400)
                return qr_cli_usage_error("health", "--max-age wants 1..86400 seconds");
            break;
        case 'h':
            host = optarg;
            break;
        case 'r':
            url = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        default:
            return qr_cli_usage_error("health", "unknown option");
        }
    }
    if (optind != argc)
        return qr_cli_usage_error("health", "unexpected argument '%s'", argv[optind]);
    if (!host || !host[0]) {
        memset(hostbuf, 0, sizeof(hostbuf));
        if (gethostname(hostbuf, sizeof(hostbuf) - 1) != 0) {
            fprintf(stderr, "unhealthy: cannot read the host name\n");
            return 1;
        }
        host = hostbuf;
    }
    if (qr_cli_resque_open(&r, url, ns, &err) < 0 ||
        qr_resque_host_heartbeat(&age, &nworkers, r, host, &err) < 0) {
        fprintf(stderr, "unhealthy: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    if (nworkers == 0) {
        fprintf(stderr, "unhealthy: no worker of host %s is registered\n", host);
        rc = 1;
    } else if (age < 0) {
        fprintf(stderr, "unhealthy: %zu worker(s) of host %s, none with a heartbeat\n", nworkers,
                host);
        rc = 1;
    } else if (age >= max_age) {
        fprintf(stderr, "unhealthy: newest heartbeat of host %s is %lld s old (max %ld)\n", host,
                age, max_age);
        rc = 1;
    } else {
        printf("healthy: %zu worker(s) of host %s, heartbeat %lld s ago\n", nworkers, host, age);
    }
out:
    qr_resque_free(r);
    return rc;
}
