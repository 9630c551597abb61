/*
 * quire serve: the HTTP intake (qr/serve.h). Reads its settings and
 * secrets, opens Redis and the store, serves until SIGTERM or SIGINT.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "qr/aws.h"
#include "qr/resque.h"
#include "qr/serve.h"
#include "qr/store.h"

#define MAX_TOKENS 64

void qr_cmd_serve_usage(FILE *f)
{
    fprintf(
        f, "usage: quire serve [--listen ADDR:PORT] [--redis URL] [--namespace N]\n"
           "                   [--queue Q] [--class NAME] [--store STORE]\n"
           "                   [--upload-prefix P] [--spool-dir DIR]\n"
           "                   [--tokens-file F] [--tokens-ssm NAME]\n"
           "                   [--hmac-secret-file F] [--hmac-secret-ssm NAME] [--redis-ssm NAME]\n"
           "                   [--max-body KB] [--max-upload MB] [--max-connections N]\n"
           "                   [--rate N] [--idempotency-ttl S] [--no-auth] [--ui]\n"
           "\n"
           "The HTTP intake: POST /v1/books enqueues a book job (as `quire enqueue`),\n"
           "GET /v1/books/{id} and /v1/jobs/{id} report it, DELETE /v1/jobs/{id} removes\n"
           "a job still queued. docs/operations/serve.md and docs/api/openapi.yaml.\n"
           "\n"
           "  --listen ADDR:PORT      IPv4 address and port (default $QUIRE_SERVE_LISTEN,\n"
           "                          else 127.0.0.1:9188)\n"
           "  --redis URL             as quire worker ($QUIRE_REDIS, $REDIS_URL)\n"
           "  --namespace N           Redis key namespace (default $QUIRE_NAMESPACE, else resque)\n"
           "  --queue Q               queue jobs go to (default books)\n"
           "  --class NAME            job class (default Quire::ProcessBook)\n"
           "  --store STORE           the workers' store (directory or s3://bucket[/prefix],\n"
           "                          default $QUIRE_STORE): uploads go under its upload\n"
           "                          prefix; manifest URLs of published books name it\n"
           "  --upload-prefix P       default $QUIRE_UPLOAD_PREFIX, else uploads/\n"
           "  --spool-dir DIR         an upload is written here before the store ($TMPDIR)\n"
           "  --tokens-file F         bearer tokens, one a line (# comments), not world-readable\n"
           "                          (default $QUIRE_SERVE_TOKENS_FILE)\n"
           "  --tokens-ssm NAME       bearer tokens from this SSM SecureString\n"
           "  --hmac-secret-file F    secret of signed requests (default: the callback secret,\n"
           "                          $QUIRE_CALLBACK_SECRET or $QUIRE_CALLBACK_SECRET_FILE)\n"
           "  --hmac-secret-ssm NAME  that secret from this SSM SecureString\n"
           "  --redis-ssm NAME        the Redis URL from this SSM SecureString\n"
           "  --max-body KB           largest JSON body (default 64)\n"
           "  --max-upload MB         largest uploaded book (default 512)\n"
           "  --max-connections N     open connections at most (default 256)\n"
           "  --rate N                requests per second per client address (default 50;\n"
           "                          0: no limit)\n"
           "  --idempotency-ttl S     how long a submission is remembered (default 86400)\n"
           "  --no-auth               no authentication (only with a 127.0.0.1 address)\n"
           "  --ui                    the dashboard under /ui (open on a 127.x address, else\n"
           "                          it needs a token: HTTP Basic password or Bearer)\n");
}

enum {
    O_LISTEN = 1,
    O_REDIS,
    O_NS,
    O_QUEUE,
    O_CLASS,
    O_STORE,
    O_UPLOAD_PREFIX,
    O_SPOOL,
    O_TOKENS_FILE,
    O_TOKENS_SSM,
    O_HMAC_FILE,
    O_HMAC_SSM,
    O_REDIS_SSM,
    O_MAX_BODY,
    O_MAX_UPLOAD,
    O_MAX_CONN,
    O_RATE,
    O_IDEM_TTL,
    O_NO_AUTH,
    O_UI,
    O__COUNT
};

static const struct option longopts[] = {
    {"listen", required_argument, NULL, O_LISTEN},
    {"redis", required_argument, NULL, O_REDIS},
    {"namespace", required_argument, NULL, O_NS},
    {"queue", required_argument, NULL, O_QUEUE},
    {"class", required_argument, NULL, O_CLASS},
    {"store", required_argument, NULL, O_STORE},
    {"upload-prefix", required_argument, NULL, O_UPLOAD_PREFIX},
    {"spool-dir", required_argument, NULL, O_SPOOL},
    {"tokens-file", required_argument, NULL, O_TOKENS_FILE},
    {"tokens-ssm", required_argument, NULL, O_TOKENS_SSM},
    {"hmac-secret-file", required_argument, NULL, O_HMAC_FILE},
    {"hmac-secret-ssm", required_argument, NULL, O_HMAC_SSM},
    {"redis-ssm", required_argument, NULL, O_REDIS_SSM},
    {"max-body", required_argument, NULL, O_MAX_BODY},
    {"max-upload", required_argument, NULL, O_MAX_UPLOAD},
    {"max-connections", required_argument, NULL, O_MAX_CONN},
    {"rate", required_argument, NULL, O_RATE},
    {"idempotency-ttl", required_argument, NULL, O_IDEM_TTL},
    {"no-auth", no_argument, NULL, O_NO_AUTH},
    {"ui", no_argument, NULL, O_UI},
    {NULL, 0, NULL, 0}};

static int parse_num(long *out, const char *s, const char *name, long lo, long hi)
{
    char *end = NULL;
    if (!s)
        return 0;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !*s || *end || v < lo || v > hi)
        return qr_cli_usage_error("serve", "--%s wants a number in %ld..%ld", name, lo, hi);
    *out = v;
    return 0;
}

/* Reads a whole small file (at most 64 KiB) refusing one others may read. */
static int read_secret_file(char **out, const char *path, qr_error *err)
{
    struct stat sb;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return qr_error_set(err, QR_ERR_SOURCE_NOT_FOUND, "serve", "cannot open %s", path);
    if (fstat(fileno(f), &sb) != 0 || (sb.st_mode & 007)) {
        fclose(f);
        return qr_error_set(err, QR_ERR_KEY_FILE_INSECURE, "serve",
                            "%s may be read by others (chmod o-rwx)", path);
    }
    char *buf = calloc(1, 65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    bool more = buf && fgetc(f) != EOF;
    fclose(f);
    if (!buf)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "serve", "out of memory");
    if (more) {
        free(buf);
        return qr_error_set(err, QR_ERR_INPUT_TOO_LARGE, "serve", "%s is over 64 KiB", path);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

/* Splits `text` in place into tokens: one a line, blanks trimmed, '#' lines skipped. */
static size_t split_tokens(char *text, const char **tokens, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && n < max;
         line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t' || *line == '\r')
            line++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len && line[0] != '#')
            tokens[n++] = line;
    }
    return n;
}

static void trim_secret(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

int qr_cmd_serve(int argc, char **argv)
{
    const char *v[O__COUNT] = {0};
    qr_cli_remote net;
    qr_remote *remote = NULL;
    qr_store *store = NULL;
    qr_resque *r = NULL;
    qr_serve *srv = NULL;
    qr_error err = QR_ERROR_INIT;
    char *tokens_text = NULL, *hmac = NULL, *ssm_redis = NULL, *ssm_tokens = NULL, *ssm_hmac = NULL;
    size_t ssm_redis_len = 0, ssm_tokens_len = 0, ssm_hmac_len = 0;
    char *upload_base = NULL;
    const char *tokens[MAX_TOKENS];
    size_t ntokens = 0;
    int c, rc = 0;
    bool loaded = false;

    memset(&net, 0, sizeof(net));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c <= 0 || c >= O__COUNT)
            return qr_cli_usage_error("serve", "unknown option");
        v[c] = optarg ? optarg : "1";
    }
    if (optind != argc)
        return qr_cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if (!v[O_LISTEN])
        v[O_LISTEN] = getenv("QUIRE_SERVE_LISTEN");
    if (!v[O_STORE])
        v[O_STORE] = getenv("QUIRE_STORE");
    if (!v[O_UPLOAD_PREFIX])
        v[O_UPLOAD_PREFIX] = getenv("QUIRE_UPLOAD_PREFIX");
    if (!v[O_TOKENS_FILE])
        v[O_TOKENS_FILE] = getenv("QUIRE_SERVE_TOKENS_FILE");
    const char *listen = v[O_LISTEN] && *v[O_LISTEN] ? v[O_LISTEN] : "127.0.0.1:9188";
    if (v[O_NO_AUTH] && strncmp(listen, "127.", 4) != 0)
        return qr_cli_usage_error("serve", "--no-auth only with a 127.x.x.x --listen address");
    const char *queue = v[O_QUEUE] ? v[O_QUEUE] : "books";
    if (!queue[0] || strchr(queue, ':') || strchr(queue, ','))
        return qr_cli_usage_error("serve", "--queue must be non-empty, without ':' or ','");
    const char *pre = v[O_UPLOAD_PREFIX] && *v[O_UPLOAD_PREFIX] ? v[O_UPLOAD_PREFIX] : "uploads/";
    if (pre[0] == '/' || strstr(pre, ".."))
        return qr_cli_usage_error("serve", "--upload-prefix must be relative, without '..'");
    long max_body = 64, max_upload = 512, max_conn = 256, rate = 50, idem_ttl = 86400;
    if ((rc = parse_num(&max_body, v[O_MAX_BODY], "max-body", 1, 16384)) ||
        (rc = parse_num(&max_upload, v[O_MAX_UPLOAD], "max-upload", 1, 1L << 20)) ||
        (rc = parse_num(&max_conn, v[O_MAX_CONN], "max-connections", 1, 65536)) ||
        (rc = parse_num(&rate, v[O_RATE], "rate", 0, 1000000)) ||
        (rc = parse_num(&idem_ttl, v[O_IDEM_TTL], "idempotency-ttl", 60, 366L * 86400)))
        return rc;
    qr_remote_kind kind = v[O_STORE] ? qr_remote_classify(v[O_STORE]) : QR_REMOTE_LOCAL;
    if (v[O_STORE] && kind != QR_REMOTE_LOCAL && kind != QR_REMOTE_S3)
        return qr_cli_usage_error("serve", "--store wants a directory or s3://bucket[/prefix]");
    bool need_aws = kind == QR_REMOTE_S3 || v[O_TOKENS_SSM] || v[O_HMAC_SSM] || v[O_REDIS_SSM];

    loaded = true;
    if (qr_cli_remote_load(&net, need_aws, &err) < 0)
        goto fail;
    if ((v[O_REDIS_SSM] &&
         qr_cli_ssm_secret(&ssm_redis, &ssm_redis_len, &net.aws, v[O_REDIS_SSM], &err) < 0) ||
        (v[O_TOKENS_SSM] &&
         qr_cli_ssm_secret(&ssm_tokens, &ssm_tokens_len, &net.aws, v[O_TOKENS_SSM], &err) < 0) ||
        (v[O_HMAC_SSM] &&
         qr_cli_ssm_secret(&ssm_hmac, &ssm_hmac_len, &net.aws, v[O_HMAC_SSM], &err) < 0))
        goto fail;
    /* Bearer tokens: the file and the SSM parameter together. */
    if (v[O_TOKENS_FILE] && *v[O_TOKENS_FILE]) {
        if (read_secret_file(&tokens_text, v[O_TOKENS_FILE], &err) < 0)
            goto fail;
        ntokens = split_tokens(tokens_text, tokens, MAX_TOKENS);
    }
    if (ssm_tokens)
        ntokens += split_tokens(ssm_tokens, tokens + ntokens, MAX_TOKENS - ntokens);
    const char *hmac_secret = net.secret;
    if (v[O_HMAC_FILE]) {
        if (read_secret_file(&hmac, v[O_HMAC_FILE], &err) < 0)
            goto fail;
        trim_secret(hmac);
        hmac_secret = hmac;
    } else if (ssm_hmac) {
        trim_secret(ssm_hmac);
        hmac_secret = ssm_hmac;
    }
    if (v[O_STORE]) {
        if (kind == QR_REMOTE_LOCAL && mkdir(v[O_STORE], 0755) != 0 && errno != EEXIST) {
            qr_error_set(&err, QR_ERR_IO, "serve", "cannot create the store %s", v[O_STORE]);
            goto fail;
        }
        if (qr_remote_new(&remote, &net.ro, &err) < 0 ||
            qr_remote_store_open(remote, v[O_STORE], &store, &err) < 0)
            goto fail;
        if (kind == QR_REMOTE_LOCAL) {
            char real[PATH_MAX];
            if (!realpath(v[O_STORE], real)) {
                qr_error_set(&err, QR_ERR_IO, "serve", "cannot resolve the store %s", v[O_STORE]);
                goto fail;
            }
            if (asprintf(&upload_base, "%s/", real) < 0)
                upload_base = NULL;
        } else {
            size_t n = strlen(v[O_STORE]);
            if (asprintf(&upload_base, "%s%s", v[O_STORE], v[O_STORE][n - 1] == '/' ? "" : "/") < 0)
                upload_base = NULL;
        }
        if (!upload_base) {
            qr_error_set(&err, QR_ERR_OUT_OF_MEMORY, "serve", "out of memory");
            goto fail;
        }
    }
    if (qr_cli_resque_open(&r, ssm_redis ? ssm_redis : v[O_REDIS], v[O_NS], &err) < 0)
        goto fail;

    qr_serve_opts so = QR_SERVE_OPTS_INIT;
    so.listen = listen;
    so.redis = r;
    so.queue = queue;
    so.job_class = v[O_CLASS];
    so.policy = &net.policy;
    so.store = store;
    so.upload_prefix = pre;
    so.upload_base = upload_base;
    so.spool_dir = v[O_SPOOL];
    so.remote = remote;
    so.store_spec = v[O_STORE];
    so.tokens = tokens;
    so.ntokens = ntokens;
    so.hmac_secret = hmac_secret && *hmac_secret ? hmac_secret : NULL;
    so.open = v[O_NO_AUTH] != NULL;
    so.max_json_bytes = (size_t)max_body * 1024;
    so.max_upload_bytes = (uint64_t)max_upload << 20;
    so.max_connections = (unsigned)max_conn;
    so.rate = rate == 0 ? -1.0 : (double)rate;
    so.idempotency_ttl_s = idem_ttl;
    so.ui = v[O_UI] != NULL;

    /* Block the stop signals before the server's thread starts, so only sigwait sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (qr_serve_start(&srv, &so, &err) < 0)
        goto fail;
    fprintf(stderr, "quire serve: listening on %s (queue %s, %zu token(s), %s)\n", listen, queue,
            ntokens, so.hmac_secret ? "signed requests accepted" : "no signed requests");
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "quire serve: signal %d, stopping\n", sig);
    goto out;
fail:
    rc = qr_cli_fail(&err);
out:
    qr_serve_stop(srv);
    qr_resque_free(r);
    qr_store_free(store);
    qr_remote_free(remote);
    if (loaded)
        qr_cli_remote_free(&net);
    free(upload_base);
    free(tokens_text);
    free(hmac);
    qr_aws_secret_free(ssm_redis, ssm_redis_len);
    qr_aws_secret_free(ssm_tokens, ssm_tokens_len);
    qr_aws_secret_free(ssm_hmac, ssm_hmac_len);
    return rc;
}
