/*
 * quire enqueue: pushes a book job exactly as Ruby's
 * `Resque.enqueue(Quire::ProcessBook, {...})` does (SADD queues, RPUSH the
 * payload), so a producer can be tested without Ruby.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qr/payload.h"
#include "qr/resque.h"

void qr_cmd_enqueue_usage(FILE *f)
{
    fprintf(f,
            "usage: quire enqueue SOURCE --book-id ID [--queue Q] [--callback URL]\n"
            "                     [--profile P] [--revision R] [--class NAME]\n"
            "                     [--job-id ID] [--redis URL] [--namespace N]\n"
            "\n"
            "Pushes a job as Resque.enqueue(Quire::ProcessBook, {...}) does:\n"
            "SADD <ns>:queues Q, then RPUSH <ns>:queue:Q\n"
            "{\"class\":...,\"args\":[{\"book_id\":...,\"source\":...}]}. Prints the payload.\n"
            "\n"
            "  SOURCE          URL or path of the book, as the worker will read it\n"
            "  --book-id ID    the book's id (written as a string)\n"
            "  --queue Q       default books\n"
            "  --callback URL  callback_url of the job\n"
            "  --profile P     compression profile of the job\n"
            "  --revision R    revision of the job (written as a string)\n"
            "  --class NAME    job class (default %s)\n"
            "  --job-id ID     job_id of the job (1-128 of [A-Za-z0-9._:-]), as `quire serve`\n"
            "                  sets it; without it the worker derives the id\n"
            "  --redis URL     redis://[:password@]host[:port][/db] (default: $QUIRE_REDIS,\n"
            "                  else $REDIS_URL, else redis://127.0.0.1:6379)\n"
            "  --namespace N   Redis key namespace (default $QUIRE_NAMESPACE, else resque)\n",
            QR_PAYLOAD_DEFAULT_CLASS);
}

static const struct option longopts[] = {
    {"book-id", required_argument, NULL, 'b'},   {"queue", required_argument, NULL, 'q'},
    {"callback", required_argument, NULL, 'c'},  {"profile", required_argument, NULL, 'p'},
    {"revision", required_argument, NULL, 'v'},  {"class", required_argument, NULL, 'k'},
    {"job-id", required_argument, NULL, 'j'},    {"redis", required_argument, NULL, 'r'},
    {"namespace", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};

int qr_cmd_enqueue(int argc, char **argv)
{
    const char *url = NULL, *ns = NULL, *queue = "books";
    char default_class[] = QR_PAYLOAD_DEFAULT_CLASS;
    qr_job job;
    qr_resque *r = NULL;
    char *payload = NULL;
    qr_error err = QR_ERROR_INIT;
    int c, rc = 0;

    memset(&job, 0, sizeof(job));
    job.job_class = default_class;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            job.book_id = optarg;
            break;
        case 'q':
            queue = optarg;
            break;
        case 'c':
            job.callback_url = optarg;
            break;
        case 'p':
            job.profile = optarg;
            break;
        case 'v':
            job.revision = optarg;
            break;
        case 'k':
            job.job_class = optarg;
            break;
        case 'j':
            job.job_id = optarg;
            break;
        case 'r':
            url = optarg;
            break;
        case 'n':
            ns = optarg;
            break;
        default:
            return qr_cli_usage_error("enqueue", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return qr_cli_usage_error("enqueue", "want exactly one SOURCE");
    job.source = argv[optind];
    if (!job.book_id || !job.book_id[0])
        return qr_cli_usage_error("enqueue", "--book-id is required");
    if (!job.job_class[0])
        return qr_cli_usage_error("enqueue", "--class is empty");
    if (!queue[0] || strchr(queue, ':') || strchr(queue, ','))
        return qr_cli_usage_error("enqueue", "--queue must be non-empty, without ':' or ','");
    qr_payload_stamp(&job);
    if (qr_payload_serialize(&payload, &job, &err) < 0 ||
        qr_cli_resque_open(&r, url, ns, &err) < 0 ||
        qr_resque_push(r, queue, payload, strlen(payload), &err) < 0) {
        rc = qr_cli_fail(&err);
        goto out;
    }
    printf("%s\n", payload);
out:
    free(payload);
    qr_resque_free(r);
    return rc;
}
