/*
 * The credential provider chain, in the SDKs' order: environment, shared
 * credentials file, config file, ECS container endpoint, EC2 instance
 * metadata (IMDSv2). The provider caches what it found and resolves the
 * chain again when the credentials expire within the refresh window.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "aws/aws_internal.h"
#include "qr/aws.h"
#include "qr/buf.h"
#include "qr/http.h"
#include "qr/log.h"

#define META_BODY_MAX (64u * 1024u)

struct qr_aws_provider {
    qr_aws_config cfg; /* the credential-related fields only */
    qr_aws_provider_opts opts;
    qr_aws_creds cached;
    unsigned resolutions;
};

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t qr_aws__parse_iso8601(const char *s)
{
    unsigned y, mo, d, h, mi, se;
    char z = 0;
    if (!s || sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u%c", &y, &mo, &d, &h, &mi, &se, &z) != 7)
        return -1;
    /* Fractions of a second are allowed before the Z. */
    if (z == '.') {
        const char *p = strchr(s, '.') + 1;
        while (isdigit((unsigned char)*p))
            p++;
        z = *p;
    }
    if (z != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
}

/* jansson owns the bytes but has no "wipe": they are ours to overwrite before json_decref. */
static void wipe_json_string(json_t *v)
{
    if (!json_is_string(v))
        return;
    const char *cp = json_string_value(v);
    char *p;
    memcpy(&p, &cp, sizeof(p));
    sodium_memzero(p, json_string_length(v));
}

int qr_aws__parse_creds_json(qr_aws_creds *out, const char *json, size_t len, const char *source,
                             qr_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    int rc = 0;
    qr_aws_creds_clear(out);
    if (!json_is_object(root)) {
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "aws",
                          "%s answered with something that is not a JSON object", source);
        goto out;
    }
    const char *code = json_string_value(json_object_get(root, "Code"));
    const char *ak = json_string_value(json_object_get(root, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(root, "SecretAccessKey"));
    const char *tok = json_string_value(json_object_get(root, "Token"));
    const char *exp = json_string_value(json_object_get(root, "Expiration"));
    if (code && strcmp(code, "Success") != 0) {
        rc = qr_error_set(err, QR_ERR_ACCESS_DENIED, "aws", "%s refused credentials: Code %.64s",
                          source, code);
        goto out;
    }
    if (!ak || !ak[0] || !sk || !sk[0]) {
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "aws",
                          "%s answered without AccessKeyId or SecretAccessKey", source);
        goto out;
    }
    int64_t when = 0;
    if (exp && (when = qr_aws__parse_iso8601(exp)) < 0) {
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "aws", "%s answered a malformed Expiration",
                          source);
        goto out;
    }
    out->access_key_id = strdup(ak);
    out->secret_access_key = strdup(sk);
    out->session_token = tok && tok[0] ? strdup(tok) : NULL;
    out->expiration = when;
    out->source = source;
    if (!out->access_key_id || !out->secret_access_key || (tok && tok[0] && !out->session_token)) {
        qr_aws_creds_clear(out);
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    }
out:
    /* The parsed tree held the secrets too: wipe its strings before freeing. */
    if (json_is_object(root)) {
        wipe_json_string(json_object_get(root, "SecretAccessKey"));
        wipe_json_string(json_object_get(root, "Token"));
    }
    json_decref(root);
    return rc;
}

static void meta_http_opts(qr_http_opts *h, const qr_aws_meta_opts *o)
{
    qr_http_opts d = QR_HTTP_OPTS_INIT;
    *h = d;
    h->connect_timeout_s = o->connect_timeout_s;
    h->timeout_s = o->timeout_s;
    h->stall_s = o->timeout_s;
    h->max_attempts = o->attempts;
    h->backoff_base_s = 0.2;
    h->backoff_max_s = 1;
    h->max_body_bytes = META_BODY_MAX;
}

int qr_aws__meta_call(long *status, qr_buf *body, const qr_aws_meta_opts *o, const char *method,
                      const char *url, const qr_http_header *hs, size_t nh, qr_error *err)
{
    qr_http_opts h;
    meta_http_opts(&h, o);
    qr_http_request req = QR_HTTP_REQUEST_INIT;
    req.method = method;
    req.url = url;
    req.headers = hs;
    req.nheaders = nh;
    qr_http_response resp = QR_HTTP_RESPONSE_INIT;
    qr_buf_reset(body);
    resp.body = body;
    int rc = qr_http_perform(&h, &req, &resp, err);
    *status = resp.status;
    qr_http_response_free(&resp);
    return rc;
}

static void wipe_buf(qr_buf *b)
{
    if (b->data)
        sodium_memzero(b->data, b->len);
    qr_buf_free(b);
}

/* The ECS authorization token: from the file when named, else the variable. */
static int ecs_token(char **out, const qr_aws_config *cfg, qr_error *err)
{
    *out = NULL;
    if (cfg->ecs_auth_token_file) {
        qr_buf b = QR_BUF_INIT(16384);
        qr_error e = QR_ERROR_INIT;
        if (qr_buf_read_file(&b, cfg->ecs_auth_token_file, "aws", &e) < 0) {
            wipe_buf(&b);
            return qr_error_set_cause(err, QR_ERR_CREDENTIALS_MISSING, e.cause, "aws",
                                      "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
                                      cfg->ecs_auth_token_file, e.msg);
        }
        size_t n = b.len;
        while (n > 0 && isspace(b.data[n - 1]))
            n--;
        *out = strndup((const char *)b.data, n);
        wipe_buf(&b);
    } else if (cfg->ecs_auth_token) {
        *out = strdup(cfg->ecs_auth_token);
    } else {
        return 0;
    }
    return *out ? 0 : qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
}

int qr_aws__ecs_fetch(qr_aws_creds *out, const qr_aws_config *cfg, const qr_aws_meta_opts *o,
                      qr_error *err)
{
    qr_buf body = QR_BUF_INIT(META_BODY_MAX);
    char *url = NULL, *tok = NULL;
    int rc = 0;
    if (cfg->ecs_full_uri) {
        url = strdup(cfg->ecs_full_uri);
    } else {
        size_t n = strlen(cfg->ecs_host) + strlen(cfg->ecs_relative_uri) + 2;
        if ((url = malloc(n)))
            snprintf(url, n, "%s%s%s", cfg->ecs_host, cfg->ecs_relative_uri[0] == '/' ? "" : "/",
                     cfg->ecs_relative_uri);
    }
    if (!url) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
        goto out;
    }
    if ((rc = ecs_token(&tok, cfg, err)) < 0)
        goto out;
    qr_http_header h[1] = {{"Authorization", tok}};
    long status = 0;
    if ((rc = qr_aws__meta_call(&status, &body, o, "GET", url, h, tok ? 1 : 0, err)) < 0)
        goto out;
    if (status == 401 || status == 403) {
        rc = qr_error_set(err, QR_ERR_ACCESS_DENIED, "aws",
                          "the ECS credential endpoint refused the request: HTTP %ld", status);
        goto out;
    }
    if (status != 200) {
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "aws",
                          "the ECS credential endpoint answered HTTP %ld", status);
        goto out;
    }
    rc = qr_aws__parse_creds_json(out, (const char *)body.data, body.len, "ecs", err);
out:
    wipe_buf(&body);
    qr_aws__free_secret(tok);
    free(url);
    return rc;
}

int qr_aws__imds_fetch(qr_aws_creds *out, const qr_aws_config *cfg, const qr_aws_meta_opts *o,
                       qr_error *err)
{
    qr_buf body = QR_BUF_INIT(META_BODY_MAX);
    char *token = NULL, *url = NULL;
    const char *base = cfg->imds_endpoint;
    size_t ulen = strlen(base) + 256 + 64;
    long status = 0;
    int rc = 0;
    if (!(url = malloc(ulen)))
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");

    /* IMDSv2: a session token first (PUT), then every GET carries it. */
    snprintf(url, ulen, "%s/latest/api/token", base);
    qr_http_header th[1] = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    if ((rc = qr_aws__meta_call(&status, &body, o, "PUT", url, th, 1, err)) < 0)
        goto out;
    if (status != 200 || body.len == 0) {
        rc = qr_error_set(
            err, status == 401 || status == 403 ? QR_ERR_ACCESS_DENIED : QR_ERR_REMOTE_ERROR, "aws",
            "the instance metadata service refused a token: HTTP %ld", status);
        goto out;
    }
    token = strndup((const char *)body.data, body.len);
    if (!token) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
        goto out;
    }
    qr_http_header gh[1] = {{"X-aws-ec2-metadata-token", token}};
    snprintf(url, ulen, "%s/latest/meta-data/iam/security-credentials/", base);
    if ((rc = qr_aws__meta_call(&status, &body, o, "GET", url, gh, 1, err)) < 0)
        goto out;
    if (status == 404) {
        rc = qr_error_set(err, QR_ERR_CREDENTIALS_MISSING, "aws",
                          "the instance has no IAM role (instance metadata: HTTP 404)");
        goto out;
    }
    if (status != 200) {
        rc = qr_error_set(
            err, status == 401 || status == 403 ? QR_ERR_ACCESS_DENIED : QR_ERR_REMOTE_ERROR, "aws",
            "instance metadata role list: HTTP %ld", status);
        goto out;
    }
    /* The first line is the role name. */
    size_t rl = strcspn((const char *)body.data, "\r\n");
    while (rl > 0 && isspace(body.data[rl - 1]))
        rl--;
    if (rl == 0 || rl > 255) {
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "aws",
                          "instance metadata returned no usable role name");
        goto out;
    }
    for (size_t i = 0; i < rl; i++) {
        unsigned char c = body.data[i];
        if (!isalnum(c) && !strchr("+=,.@_-", c)) {
            rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "aws",
                              "instance metadata returned a malformed role name");
            goto out;
        }
    }
    snprintf(url, ulen, "%s/latest/meta-data/iam/security-credentials/%.*s", base, (int)rl,
             (const char *)body.data);
    if ((rc = qr_aws__meta_call(&status, &body, o, "GET", url, gh, 1, err)) < 0)
        goto out;
    if (status != 200) {
        rc = qr_error_set(
            err, status == 401 || status == 403 ? QR_ERR_ACCESS_DENIED : QR_ERR_REMOTE_ERROR, "aws",
            "instance metadata role credentials: HTTP %ld", status);
        goto out;
    }
    rc = qr_aws__parse_creds_json(out, (const char *)body.data, body.len, "imds", err);
out:
    wipe_buf(&body);
    qr_aws__free_secret(token);
    free(url);
    return rc;
}

static int dup_field(char **dst, const char *s)
{
    *dst = NULL;
    if (!s)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : -1;
}

int qr_aws_provider_new(qr_aws_provider **out, const qr_aws_config *cfg,
                        const qr_aws_provider_opts *opts, qr_error *err)
{
    *out = NULL;
    if (!cfg)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws", "no AWS configuration");
    qr_aws_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    if (opts)
        p->opts = *opts;
    if (p->opts.refresh_window_s <= 0)
        p->opts.refresh_window_s = 300;
    if (p->opts.metadata_connect_timeout_s <= 0)
        p->opts.metadata_connect_timeout_s = 1;
    if (p->opts.metadata_timeout_s <= 0)
        p->opts.metadata_timeout_s = 3;
    if (!p->opts.metadata_attempts)
        p->opts.metadata_attempts = 2;
    qr_aws_config *c = &p->cfg;
    int bad = dup_field(&c->profile, cfg->profile) | dup_field(&c->config_file, cfg->config_file) |
              dup_field(&c->credentials_file, cfg->credentials_file) |
              dup_field(&c->ecs_relative_uri, cfg->ecs_relative_uri) |
              dup_field(&c->ecs_full_uri, cfg->ecs_full_uri) |
              dup_field(&c->ecs_auth_token, cfg->ecs_auth_token) |
              dup_field(&c->ecs_auth_token_file, cfg->ecs_auth_token_file) |
              dup_field(&c->ecs_host, cfg->ecs_host) |
              dup_field(&c->imds_endpoint, cfg->imds_endpoint);
    c->credential_process = cfg->credential_process;
    c->imds_disabled = cfg->imds_disabled || !cfg->imds_endpoint;
    if (bad || qr_aws_creds_copy(&c->env_creds, &cfg->env_creds, NULL) < 0 ||
        qr_aws_creds_copy(&c->file_creds, &cfg->file_creds, NULL) < 0) {
        qr_aws_provider_free(p);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    }
    *out = p;
    return 0;
}

void qr_aws_provider_free(qr_aws_provider *p)
{
    if (!p)
        return;
    qr_aws_creds_clear(&p->cached);
    qr_aws_config_free(&p->cfg);
    free(p);
}

unsigned qr_aws_provider_resolutions(const qr_aws_provider *p)
{
    return p ? p->resolutions : 0;
}

/* A metadata failure that means "this source is not there" rather than "it is broken". */
static bool unavailable(const qr_error *e)
{
    return e->errid == QR_ERR_FETCH_FAILED || e->errid == QR_ERR_TIMEOUT ||
           e->errid == QR_ERR_CREDENTIALS_MISSING;
}

/* Walks the chain into p->cached. */
static int resolve(qr_aws_provider *p, qr_error *err)
{
    const qr_aws_config *c = &p->cfg;
    qr_aws_meta_opts mo = {p->opts.metadata_connect_timeout_s, p->opts.metadata_timeout_s,
                           p->opts.metadata_attempts};
    qr_aws_creds got = QR_AWS_CREDS_INIT;
    char imds_note[200] = "disabled";
    int rc = 0;
    p->resolutions++;
    if (c->env_creds.access_key_id)
        return qr_aws_creds_copy(&p->cached, &c->env_creds, err);
    if (c->file_creds.access_key_id)
        return qr_aws_creds_copy(&p->cached, &c->file_creds, err);
    if (c->ecs_relative_uri || c->ecs_full_uri) {
        /* Configured by the platform: a failure here is an error, not a miss. */
        rc = qr_aws__ecs_fetch(&got, c, &mo, err);
        if (rc == 0) {
            qr_aws_creds_clear(&p->cached);
            p->cached = got;
        }
        return rc;
    }
    if (!c->imds_disabled) {
        qr_error e = QR_ERROR_INIT;
        rc = qr_aws__imds_fetch(&got, c, &mo, &e);
        if (rc == 0) {
            qr_aws_creds_clear(&p->cached);
            p->cached = got;
            return 0;
        }
        if (!unavailable(&e)) {
            if (err && !err->code)
                *err = e;
            return rc;
        }
        snprintf(imds_note, sizeof(imds_note), "%.120s: %s", c->imds_endpoint,
                 e.errid == QR_ERR_TIMEOUT ? "timed out" : "unreachable");
    }
    rc = qr_error_set(err, QR_ERR_CREDENTIALS_MISSING, "aws",
                      "no AWS credentials: tried env, credentials file and config file "
                      "(profile %.40s), ECS (not configured), instance metadata (%s)%s",
                      c->profile ? c->profile : "default", imds_note,
                      c->credential_process ? "; credential_process is not supported" : "");
    qr_error_set_context(err, "%.120s, %.120s",
                         c->credentials_file ? c->credentials_file : "(no credentials file)",
                         c->config_file ? c->config_file : "(no config file)");
    return rc;
}

int qr_aws_provider_get(qr_aws_provider *p, qr_aws_creds *out, qr_error *err)
{
    if (!p || !out)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws", "no provider");
    qr_aws_creds_clear(out);
    int64_t now = (int64_t)time(NULL);
    const qr_aws_creds *k = &p->cached;
    if (k->access_key_id && (k->expiration == 0 || k->expiration - now > p->opts.refresh_window_s))
        return qr_aws_creds_copy(out, k, err);
    bool had = k->access_key_id && k->expiration > now;
    qr_error e = QR_ERROR_INIT;
    int rc = resolve(p, &e);
    if (rc < 0) {
        /* Credentials still valid for a while beat a failed refresh. */
        if (had) {
            qr_log(QR_LOG_WARN, "aws",
                   "refreshing %s credentials failed (%s: %s); using the "
                   "current ones, valid %llds more",
                   k->source, e.id, e.msg, (long long)(k->expiration - now));
            return qr_aws_creds_copy(out, k, err);
        }
        if (err && !err->code)
            *err = e;
        return rc;
    }
    qr_log(QR_LOG_DEBUG, "aws", "credentials from %s%s", p->cached.source,
           p->cached.expiration ? " (temporary)" : "");
    return qr_aws_creds_copy(out, &p->cached, err);
}
