/*
 * The network settings of the binary, read from the environment the way
 * operators already set them: the AWS variables and files for S3 (through
 * qr_aws_config_load), QUIRE_NET_* and QUIRE_HTTP_* for job URLs,
 * QUIRE_CALLBACK_* for callbacks (docs/operations/network.md, s3.md,
 * callbacks.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cli.h"

const char *qr_cli_env_lookup(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

static int env_double(double *out, const char *name, double lo, double hi, qr_error *err)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || d < lo || d > hi)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "config",
                            "%s must be a number from %g to %g, not '%s'", name, lo, hi, v);
    *out = d;
    return 0;
}

static int env_u64(uint64_t *out, const char *name, uint64_t lo, uint64_t hi, qr_error *err)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || n < lo || n > hi)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "config",
                            "%s must be an integer from %llu to %llu, not '%s'", name,
                            (unsigned long long)lo, (unsigned long long)hi, v);
    *out = n;
    return 0;
}

static int env_bool(bool *out, const char *name, qr_error *err)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
        *out = true;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
        *out = false;
    else
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "config", "%s must be 0 or 1, not '%s'",
                            name, v);
    return 0;
}

/* Reads the callback secret from QUIRE_CALLBACK_SECRET_FILE (trailing newlines dropped). */
static int secret_from_file(qr_cli_remote *r, const char *path, qr_error *err)
{
    char buf[4097];
    FILE *f = fopen(path, "rb");
    if (!f)
        return qr_error_set_cause(err, QR_ERR_IO, errno, "config",
                                  "cannot read QUIRE_CALLBACK_SECRET_FILE %s: %s", path,
                                  strerror(errno));
    size_t n = fread(buf, 1, sizeof(buf), f);
    bool bad = ferror(f) != 0;
    fclose(f);
    int rc = 0;
    if (bad || n == sizeof(buf)) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "config",
                          "QUIRE_CALLBACK_SECRET_FILE %s is unreadable or over 4096 bytes", path);
    } else {
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        r->secret = malloc(n + 1);
        if (r->secret) {
            memcpy(r->secret, buf, n);
            r->secret[n] = '\0';
        } else {
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "config", "out of memory");
        }
    }
    sodium_memzero(buf, sizeof(buf));
    return rc;
}

int qr_cli_remote_load(qr_cli_remote *r, bool with_aws, qr_error *err)
{
    memset(r, 0, sizeof(*r));
    qr_net_policy pol = QR_NET_POLICY_INIT;
    r->policy = pol;
    qr_remote_opts ro = QR_REMOTE_OPTS_INIT;
    r->ro = ro;
    qr_callback_opts co = QR_CALLBACK_OPTS_INIT;
    r->cb = co;
    int rc = qr_net_allow_parse(&r->allow, &r->nallow, getenv("QUIRE_NET_ALLOW"), err);
    if (rc < 0)
        return rc;
    r->policy.allow = (const char *const *)r->allow;
    r->policy.nallow = r->nallow;
    uint64_t attempts = 0, cb_attempts = 0;
    if ((rc = env_bool(&r->policy.allow_http, "QUIRE_NET_ALLOW_HTTP", err)) < 0 ||
        (rc = env_double(&r->ro.http_timeout_s, "QUIRE_HTTP_TIMEOUT", 0.1, 86400, err)) < 0 ||
        (rc = env_u64(&attempts, "QUIRE_HTTP_ATTEMPTS", 1, 100, err)) < 0 ||
        (rc = env_u64(&r->ro.source_max_bytes, "QUIRE_SOURCE_MAX_BYTES", 1, UINT64_MAX, err)) < 0 ||
        (rc = env_u64(&cb_attempts, "QUIRE_CALLBACK_ATTEMPTS", 1, 100, err)) < 0 ||
        (rc = env_double(&r->cb.timeout_s, "QUIRE_CALLBACK_TIMEOUT", 0.1, 3600, err)) < 0)
        return rc;
    r->ro.http_attempts = (unsigned)attempts;
    r->ro.policy = &r->policy;
    r->ro.public_base_url = getenv("QUIRE_PUBLIC_URL");
    r->cb.max_attempts = (unsigned)cb_attempts;
    r->cb.policy = &r->policy;
    const char *secret = getenv("QUIRE_CALLBACK_SECRET");
    const char *secret_file = getenv("QUIRE_CALLBACK_SECRET_FILE");
    if (secret && *secret) {
        r->secret = strdup(secret);
        if (!r->secret)
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "config", "out of memory");
    } else if (secret_file && *secret_file) {
        if ((rc = secret_from_file(r, secret_file, err)) < 0)
            return rc;
    }
    r->cb.secret = r->secret;
    if (with_aws) {
        if ((rc = qr_aws_config_load(&r->aws, qr_cli_env_lookup, NULL, err)) < 0)
            return rc;
        r->have_aws = true;
        r->ro.aws = &r->aws;
    }
    return 0;
}

void qr_cli_remote_free(qr_cli_remote *r)
{
    if (!r)
        return;
    qr_net_allow_free(r->allow, r->nallow);
    if (r->secret) {
        sodium_memzero(r->secret, strlen(r->secret));
        free(r->secret);
    }
    qr_aws_config_free(&r->aws);
    memset(r, 0, sizeof(*r));
}

int qr_cli_package_store(qr_cli_remote *net, qr_remote **remote, qr_store **store, const char *spec,
                         qr_error *err)
{
    *remote = NULL;
    *store = NULL;
    qr_remote_kind kind = qr_remote_classify(spec);
    if (kind == QR_REMOTE_LOCAL) {
        struct stat sb;
        /* The local store would create a missing directory: a package must exist. */
        if (stat(spec, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return qr_error_set(err, QR_ERR_SOURCE_NOT_FOUND, "verify", "no package directory %s",
                                spec);
    } else if (kind != QR_REMOTE_S3) {
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "verify",
                            "a package is in a directory or under s3://bucket[/prefix]");
    }
    int rc = qr_cli_remote_load(net, kind == QR_REMOTE_S3, err);
    if (rc == 0)
        rc = qr_remote_new(remote, &net->ro, err);
    if (rc == 0)
        rc = qr_remote_store_open(*remote, spec, store, err);
    return rc;
}
