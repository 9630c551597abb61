/* Shared declarations of the quire command-line tool (not part of the library). */
#ifndef QR_CLI_H
#define QR_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "qr/aws.h"
#include "qr/crypt.h"
#include "qr/error.h"
#include "qr/http.h"
#include "qr/notify.h"
#include "qr/remote.h"

typedef struct qr_cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *f);
} qr_cli_cmd;

int qr_cmd_compress(int argc, char **argv);
void qr_cmd_compress_usage(FILE *f);
int qr_cmd_inspect(int argc, char **argv);
void qr_cmd_inspect_usage(FILE *f);
int qr_cmd_keys(int argc, char **argv);
void qr_cmd_keys_usage(FILE *f);
int qr_cmd_sample_book(int argc, char **argv);
void qr_cmd_sample_book_usage(FILE *f);
int qr_cmd_process(int argc, char **argv);
void qr_cmd_process_usage(FILE *f);
int qr_cmd_verify(int argc, char **argv);
void qr_cmd_verify_usage(FILE *f);
int qr_cmd_unpack(int argc, char **argv);
void qr_cmd_unpack_usage(FILE *f);
int qr_cmd_worker(int argc, char **argv);
void qr_cmd_worker_usage(FILE *f);
int qr_cmd_enqueue(int argc, char **argv);
void qr_cmd_enqueue_usage(FILE *f);
int qr_cmd_serve(int argc, char **argv);
void qr_cmd_serve_usage(FILE *f);
int qr_cmd_status(int argc, char **argv);
void qr_cmd_status_usage(FILE *f);
int qr_cmd_failures(int argc, char **argv);
void qr_cmd_failures_usage(FILE *f);
int qr_cmd_health(int argc, char **argv);
void qr_cmd_health_usage(FILE *f);
int qr_cmd_history(int argc, char **argv);
void qr_cmd_history_usage(FILE *f);
int qr_cmd_logs(int argc, char **argv);
void qr_cmd_logs_usage(FILE *f);
int qr_cmd_fleet(int argc, char **argv);
void qr_cmd_fleet_usage(FILE *f);
int qr_cmd_metrics(int argc, char **argv);
void qr_cmd_metrics_usage(FILE *f);
int qr_cmd_version(int argc, char **argv);
void qr_cmd_version_usage(FILE *f);

/*
 * The service key file for the package commands: `key_file`, else
 * $QUIRE_KEY_FILE, else the per-user development key
 * ($XDG_CONFIG_HOME/quire/dev-keys.json or ~/.config/quire/dev-keys.json),
 * created with mode 0600 when `create_dev` and missing. Named on stderr.
 */
int qr_cli_load_keyring(qr_keyring **out, const char *key_file, bool create_dev, qr_error *err);

/*
 * A Redis context for the operator commands (cmd_status.c): `url`, else
 * $QUIRE_REDIS, else $REDIS_URL, else redis://127.0.0.1:6379; namespace `ns`,
 * else $QUIRE_NAMESPACE, else resque. Ignores SIGPIPE (hiredis writes to
 * the socket directly).
 */
struct qr_resque;
int qr_cli_resque_open(struct qr_resque **out, const char *url, const char *ns, qr_error *err);

/*
 * Network settings from the environment (remote_env.c): the SSRF policy
 * (QUIRE_NET_ALLOW, QUIRE_NET_ALLOW_HTTP), source downloads (QUIRE_HTTP_*,
 * QUIRE_SOURCE_MAX_BYTES, QUIRE_PUBLIC_URL), callbacks (QUIRE_CALLBACK_*)
 * and, when `with_aws`, the AWS configuration (AWS_* and the shared files).
 * `ro` and `cb` point into the struct: do not move it after loading.
 * Free with qr_cli_remote_free, also after a failure.
 */
typedef struct qr_cli_remote {
    char **allow;
    size_t nallow;
    qr_net_policy policy;
    qr_aws_config aws;
    bool have_aws;
    char *secret;
    qr_remote_opts ro;
    qr_callback_opts cb;
} qr_cli_remote;

int qr_cli_remote_load(qr_cli_remote *r, bool with_aws, qr_error *err);
void qr_cli_remote_free(qr_cli_remote *r);

/*
 * The store holding a package for verify/unpack: an existing directory
 * (source-not-found otherwise) or s3://bucket[/prefix] (loads `net` with
 * the AWS settings). Free *store, then *remote, then `net`, also on failure.
 */
struct qr_store;
int qr_cli_package_store(qr_cli_remote *net, qr_remote **remote, struct qr_store **store,
                         const char *spec, qr_error *err);

/*
 * Splits a comma-separated list in place (`buf` is modified): items with
 * their leading spaces skipped, empty ones dropped, into out[0..*n).
 * -1 when there are more than `max`.
 */
int qr_cli_split_list(char *buf, const char **out, size_t max, size_t *n);

struct qr_aws_config;
/* getenv as a qr_aws_config_load lookup (`ud` unused). */
const char *qr_cli_env_lookup(const char *name, void *ud);
/*
 * The SecureString `name` from SSM (cmd_fleet.c), decrypted, in guarded
 * memory: free with qr_aws_secret_free(*out, *len).
 */
int qr_cli_ssm_secret(char **out, size_t *len, const struct qr_aws_config *cfg, const char *name,
                      qr_error *err);

/* Prints "quire: error: <id>: <msg> (<context>)" and returns the exit status for `err`. */
int qr_cli_fail(const qr_error *err);
/* Usage error: prints the message and returns exit status 2. */
int qr_cli_usage_error(const char *cmd, const char *fmt, ...) QR_PRINTF(2, 3);
/* True if stderr is a terminal (human output and progress display). */
bool qr_cli_stderr_tty(void);

#endif
