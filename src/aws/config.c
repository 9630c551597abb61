/*
 * AWS configuration as the CLI and SDKs resolve it: environment first, then
 * the profile in the shared config and credentials files, then defaults.
 * Everything is resolved once here, so the credential provider and the S3
 * client never look at the environment again.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "aws/aws_internal.h"
#include "qr/aws.h"
#include "qr/buf.h"

#define AWS_FILE_MAX (1u << 20) /* a config or credentials file larger than 1 MiB is not one */
#define MIB (1024ull * 1024ull)

void qr_aws__free_secret(char *s)
{
    if (!s)
        return;
    sodium_memzero(s, strlen(s));
    free(s);
}

void qr_aws_creds_clear(qr_aws_creds *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    qr_aws__free_secret(c->secret_access_key);
    qr_aws__free_secret(c->session_token);
    c->access_key_id = c->secret_access_key = c->session_token = NULL;
    c->expiration = 0;
    c->source = NULL;
}

int qr_aws_creds_copy(qr_aws_creds *dst, const qr_aws_creds *src, qr_error *err)
{
    qr_aws_creds_clear(dst);
    dst->access_key_id = src->access_key_id ? strdup(src->access_key_id) : NULL;
    dst->secret_access_key = src->secret_access_key ? strdup(src->secret_access_key) : NULL;
    dst->session_token = src->session_token ? strdup(src->session_token) : NULL;
    dst->expiration = src->expiration;
    dst->source = src->source;
    if ((src->access_key_id && !dst->access_key_id) ||
        (src->secret_access_key && !dst->secret_access_key) ||
        (src->session_token && !dst->session_token)) {
        qr_aws_creds_clear(dst);
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    }
    return 0;
}

/* [p, e) with blanks removed at both ends. */
static void trim(const char **p, const char **e)
{
    while (*p < *e && isspace((unsigned char)**p))
        (*p)++;
    while (*e > *p && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

static bool span_eq(const char *p, const char *e, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(e - p) == n && memcmp(p, s, n) == 0;
}

int qr_aws__ini_get(char **out, bool *found_section, const char *text, size_t len,
                    const char *section, const char *key, qr_error *err)
{
    *out = NULL;
    if (found_section)
        *found_section = false;
    const char *dot = strchr(key, '.');
    const char *end = text + len;
    bool in = false;
    const char *parent = NULL, *parent_end = NULL; /* the open sub-section ("s3 =") */
    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        bool indented = line < le && (*line == ' ' || *line == '\t');
        const char *p = line, *e = le;
        trim(&p, &e);
        line = next;
        if (p == e || *p == '#' || *p == ';')
            continue;
        if (*p == '[') {
            const char *rb = memchr(p, ']', (size_t)(e - p));
            if (!rb)
                continue;
            const char *sp = p + 1, *se = rb;
            trim(&sp, &se);
            in = span_eq(sp, se, section);
            if (in && found_section)
                *found_section = true;
            parent = NULL;
            continue;
        }
        if (!in)
            continue;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (!eq)
            continue;
        const char *kp = p, *ke = eq, *vp = eq + 1, *ve = e;
        trim(&kp, &ke);
        trim(&vp, &ve);
        if (!indented)
            parent = NULL;
        bool match;
        if (indented && parent) {
            match = dot && (size_t)(parent_end - parent) == (size_t)(dot - key) &&
                    memcmp(parent, key, (size_t)(dot - key)) == 0 && span_eq(kp, ke, dot + 1);
        } else {
            match = !dot && span_eq(kp, ke, key);
            if (vp == ve) {
                parent = kp;
                parent_end = ke;
            }
        }
        if (!match)
            continue;
        /* The last assignment wins, as in configparser. */
        free(*out);
        *out = strndup(vp, (size_t)(ve - vp));
        if (!*out)
            return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    }
    return 0;
}

void qr_aws_config_free(qr_aws_config *c)
{
    if (!c)
        return;
    free(c->profile);
    free(c->region);
    free(c->endpoint_url);
    free(c->cache_control);
    free(c->config_file);
    free(c->credentials_file);
    qr_aws_creds_clear(&c->env_creds);
    qr_aws_creds_clear(&c->file_creds);
    free(c->ecs_relative_uri);
    free(c->ecs_full_uri);
    qr_aws__free_secret(c->ecs_auth_token);
    free(c->ecs_auth_token_file);
    free(c->ecs_host);
    free(c->imds_endpoint);
    free(c->endpoint_autoscaling);
    free(c->endpoint_cloudwatch);
    free(c->endpoint_ssm);
    memset(c, 0, sizeof(*c));
}

static const char *envv(qr_aws_env_fn env, void *ud, const char *name)
{
    const char *v = env ? env(name, ud) : NULL;
    return v && v[0] ? v : NULL;
}

static int dup_to(char **dst, const char *s, qr_error *err)
{
    *dst = NULL;
    if (!s)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
}

/* `v` with a leading "~/" replaced by $HOME; or HOME/`dflt` when v is NULL. */
static int resolve_path(char **out, const char *v, const char *dflt, const char *home,
                        qr_error *err)
{
    *out = NULL;
    const char *rest = NULL;
    if (!v)
        rest = dflt;
    else if (v[0] == '~' && (v[1] == '/' || v[1] == '\0'))
        rest = v[1] ? v + 2 : "";
    else
        return dup_to(out, v, err);
    if (!home)
        return 0;
    size_t n = strlen(home) + strlen(rest) + 2;
    *out = malloc(n);
    if (!*out)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    snprintf(*out, n, "%s/%s", home, rest);
    return 0;
}

static int read_optional(qr_buf *b, const char *path, qr_error *err)
{
    if (!path)
        return 0;
    qr_error e = QR_ERROR_INIT;
    if (qr_buf_read_file(b, path, "aws", &e) == 0)
        return 0;
    if (e.errid == QR_ERR_SOURCE_NOT_FOUND)
        return 0;
    return qr_error_set_cause(
        err, e.errid == QR_ERR_INPUT_TOO_LARGE ? QR_ERR_INVALID_ARGUMENT : QR_ERR_IO, e.cause,
        "aws", "cannot read %s: %s", path, e.msg);
}

/* Parses a byte count: digits with an optional K, M or G (powers of 1024). */
static int parse_size(uint64_t *out, const char *name, const char *v, qr_error *err)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    uint64_t mul = 1;
    if (end && (*end == 'k' || *end == 'K'))
        mul = 1024, end++;
    else if (end && (*end == 'm' || *end == 'M'))
        mul = MIB, end++;
    else if (end && (*end == 'g' || *end == 'G'))
        mul = 1024 * MIB, end++;
    if (end && (*end == 'i' || *end == 'I') && mul > 1)
        end++;
    if (end && (*end == 'b' || *end == 'B') && mul > 1)
        end++;
    if (errno || !isdigit((unsigned char)v[0]) || !end || *end || n > UINT64_MAX / mul)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws", "%s: '%s' is not a size", name, v);
    *out = (uint64_t)n * mul;
    return 0;
}

typedef struct files {
    qr_buf cfg;
    qr_buf cred;
    char *cfg_section; /* "default" or "profile NAME" */
} files;

/* A setting of the profile in the config file ("default" is also "[profile default]"). */
static int cfg_get(char **out, bool *found, const files *f, const char *profile, const char *key,
                   qr_error *err)
{
    int rc = qr_aws__ini_get(out, found, (const char *)f->cfg.data, f->cfg.len, f->cfg_section, key,
                             err);
    if (rc == 0 && !*out && strcmp(profile, "default") == 0) {
        bool f2 = false;
        rc = qr_aws__ini_get(out, &f2, (const char *)f->cfg.data, f->cfg.len, "profile default",
                             key, err);
        if (found)
            *found = *found || f2;
    }
    return rc;
}

/* aws_access_key_id & co. from one section of one file, into `c` (left empty when incomplete). */
static int creds_from(qr_aws_creds *c, const qr_buf *b, const char *section, const char *source,
                      qr_error *err)
{
    char *ak = NULL, *sk = NULL, *tok = NULL;
    const char *t = (const char *)b->data;
    int rc = qr_aws__ini_get(&ak, NULL, t, b->len, section, "aws_access_key_id", err);
    if (rc == 0)
        rc = qr_aws__ini_get(&sk, NULL, t, b->len, section, "aws_secret_access_key", err);
    if (rc == 0)
        rc = qr_aws__ini_get(&tok, NULL, t, b->len, section, "aws_session_token", err);
    if (rc == 0 && ak && ak[0] && sk && sk[0]) {
        c->access_key_id = ak;
        c->secret_access_key = sk;
        c->session_token = tok && tok[0] ? tok : NULL;
        c->source = source;
        ak = sk = NULL;
        if (c->session_token)
            tok = NULL;
    }
    free(ak);
    qr_aws__free_secret(sk);
    qr_aws__free_secret(tok);
    return rc;
}

static int load_env_creds(qr_aws_config *out, qr_aws_env_fn env, void *ud, qr_error *err)
{
    const char *ak = envv(env, ud, "AWS_ACCESS_KEY_ID");
    const char *sk = envv(env, ud, "AWS_SECRET_ACCESS_KEY");
    if (!ak || !sk)
        return 0;
    int rc = dup_to(&out->env_creds.access_key_id, ak, err);
    if (rc == 0)
        rc = dup_to(&out->env_creds.secret_access_key, sk, err);
    if (rc == 0)
        rc = dup_to(&out->env_creds.session_token, envv(env, ud, "AWS_SESSION_TOKEN"), err);
    out->env_creds.source = "env";
    return rc;
}

static int load_endpoints(qr_aws_config *out, qr_aws_env_fn env, void *ud, qr_error *err)
{
    int rc = dup_to(&out->ecs_relative_uri, envv(env, ud, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
                    err);
    if (rc == 0)
        rc = dup_to(&out->ecs_full_uri, envv(env, ud, "AWS_CONTAINER_CREDENTIALS_FULL_URI"), err);
    if (rc == 0)
        rc = dup_to(&out->ecs_auth_token, envv(env, ud, "AWS_CONTAINER_AUTHORIZATION_TOKEN"), err);
    if (rc == 0)
        rc = dup_to(&out->ecs_auth_token_file,
                    envv(env, ud, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), err);
    if (rc == 0)
        rc = dup_to(&out->ecs_host, "http://169.254.170.2", err);
    const char *imds = envv(env, ud, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (rc == 0)
        rc = dup_to(&out->imds_endpoint, imds ? imds : "http://169.254.169.254", err);
    if (rc == 0 && out->imds_endpoint) {
        size_t n = strlen(out->imds_endpoint);
        while (n > 0 && out->imds_endpoint[n - 1] == '/')
            out->imds_endpoint[--n] = '\0';
    }
    const char *dis = envv(env, ud, "AWS_EC2_METADATA_DISABLED");
    out->imds_disabled = dis && strcasecmp(dis, "true") == 0;
    return rc;
}

static int load_s3(qr_aws_config *out, const files *f, qr_aws_env_fn env, void *ud, qr_error *err)
{
    char *style = NULL;
    int rc = 0;
    const char *v = envv(env, ud, "QUIRE_S3_PATH_STYLE");
    out->path_style = out->endpoint_url != NULL;
    if (v) {
        if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0)
            out->path_style = true;
        else if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0)
            out->path_style = false;
        else
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws",
                                "QUIRE_S3_PATH_STYLE: '%s' is not 0 or 1", v);
    } else {
        rc = cfg_get(&style, NULL, f, out->profile, "s3.addressing_style", err);
        if (rc == 0 && style && strcmp(style, "path") == 0)
            out->path_style = true;
        else if (rc == 0 && style && strcmp(style, "virtual") == 0)
            out->path_style = false;
        else if (rc == 0 && style && strcmp(style, "auto") != 0)
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws",
                              "s3.addressing_style '%s' in %s is not path, virtual or auto", style,
                              out->config_file);
        free(style);
        if (rc < 0)
            return rc;
    }
    out->part_size = 8 * MIB;
    out->multipart_threshold = 16 * MIB;
    if ((v = envv(env, ud, "QUIRE_S3_PART_SIZE")) &&
        (rc = parse_size(&out->part_size, "QUIRE_S3_PART_SIZE", v, err)) < 0)
        return rc;
    if ((v = envv(env, ud, "QUIRE_S3_MULTIPART_THRESHOLD")) &&
        (rc = parse_size(&out->multipart_threshold, "QUIRE_S3_MULTIPART_THRESHOLD", v, err)) < 0)
        return rc;
    /* S3's limits: parts of 5 MiB to 5 GiB (all but the last), at most 10000 of them. */
    if (out->part_size < 5 * MIB || out->part_size > 5 * 1024 * MIB)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws",
                            "QUIRE_S3_PART_SIZE: %llu is outside 5 MiB .. 5 GiB",
                            (unsigned long long)out->part_size);
    if (out->multipart_threshold == 0 || out->multipart_threshold > 5 * 1024 * MIB)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws",
                            "QUIRE_S3_MULTIPART_THRESHOLD: %llu is outside 1 byte .. 5 GiB",
                            (unsigned long long)out->multipart_threshold);
    v = envv(env, ud, "QUIRE_S3_CACHE_CONTROL");
    return dup_to(&out->cache_control, v ? v : "public, max-age=31536000, immutable", err);
}

/* The other services' endpoints, from the environment only (the SDKs' names). */
static int load_service_endpoints(qr_aws_config *out, qr_aws_env_fn env, void *ud, qr_error *err)
{
    struct {
        const char *var;
        char **dst;
    } svc[] = {{"AWS_ENDPOINT_URL_AUTO_SCALING", &out->endpoint_autoscaling},
               {"AWS_ENDPOINT_URL_CLOUDWATCH", &out->endpoint_cloudwatch},
               {"AWS_ENDPOINT_URL_SSM", &out->endpoint_ssm}};
    const char *all = envv(env, ud, "AWS_ENDPOINT_URL");
    for (size_t i = 0; i < sizeof(svc) / sizeof(svc[0]); i++) {
        const char *v = envv(env, ud, svc[i].var);
        if (!v)
            v = all;
        if (!v)
            continue;
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws",
                                "%s '%s' is not an http(s) URL", svc[i].var, v);
        int rc = dup_to(svc[i].dst, v, err);
        if (rc < 0)
            return rc;
        size_t n = strlen(*svc[i].dst);
        while (n > 0 && (*svc[i].dst)[n - 1] == '/')
            (*svc[i].dst)[--n] = '\0';
    }
    return 0;
}

int qr_aws_config_load(qr_aws_config *out, qr_aws_env_fn env, void *ud, qr_error *err)
{
    files f = {QR_BUF_INIT(AWS_FILE_MAX), QR_BUF_INIT(AWS_FILE_MAX), NULL};
    char *tmp = NULL, *services = NULL, *svc_section = NULL;
    bool in_cfg = false, in_cred = false;
    memset(out, 0, sizeof(*out));
    const char *home = envv(env, ud, "HOME");
    const char *profile = envv(env, ud, "AWS_PROFILE");
    int rc = dup_to(&out->profile, profile ? profile : "default", err);
    if (rc == 0)
        rc = resolve_path(&out->config_file, envv(env, ud, "AWS_CONFIG_FILE"), ".aws/config", home,
                          err);
    if (rc == 0)
        rc = resolve_path(&out->credentials_file, envv(env, ud, "AWS_SHARED_CREDENTIALS_FILE"),
                          ".aws/credentials", home, err);
    if (rc == 0)
        rc = read_optional(&f.cfg, out->config_file, err);
    if (rc == 0)
        rc = read_optional(&f.cred, out->credentials_file, err);
    if (rc < 0)
        goto out;
    size_t sn = strlen(out->profile) + 9;
    f.cfg_section = malloc(sn);
    if (!f.cfg_section) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
        goto out;
    }
    if (strcmp(out->profile, "default") == 0)
        snprintf(f.cfg_section, sn, "default");
    else
        snprintf(f.cfg_section, sn, "profile %s", out->profile);

    /* Region. */
    const char *v = envv(env, ud, "AWS_REGION");
    if (!v)
        v = envv(env, ud, "AWS_DEFAULT_REGION");
    if ((rc = cfg_get(&tmp, &in_cfg, &f, out->profile, "region", err)) < 0)
        goto out;
    out->region_set = v || (tmp && tmp[0]);
    rc = dup_to(&out->region, v ? v : tmp && tmp[0] ? tmp : "us-east-1", err);
    free(tmp);
    tmp = NULL;
    if (rc < 0)
        goto out;

    /* Endpoint: env for S3, env for all, the profile's services section, the profile. */
    v = envv(env, ud, "AWS_ENDPOINT_URL_S3");
    if (!v)
        v = envv(env, ud, "AWS_ENDPOINT_URL");
    if (v) {
        rc = dup_to(&out->endpoint_url, v, err);
    } else {
        rc = cfg_get(&services, NULL, &f, out->profile, "services", err);
        if (rc == 0 && services && services[0]) {
            size_t n = strlen(services) + 10;
            svc_section = malloc(n);
            if (!svc_section) {
                rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
                goto out;
            }
            snprintf(svc_section, n, "services %s", services);
            rc = qr_aws__ini_get(&out->endpoint_url, NULL, (const char *)f.cfg.data, f.cfg.len,
                                 svc_section, "s3.endpoint_url", err);
        }
        if (rc == 0 && !out->endpoint_url)
            rc = cfg_get(&out->endpoint_url, NULL, &f, out->profile, "endpoint_url", err);
    }
    if (rc < 0)
        goto out;
    if (out->endpoint_url) {
        size_t n = strlen(out->endpoint_url);
        while (n > 0 && out->endpoint_url[n - 1] == '/')
            out->endpoint_url[--n] = '\0';
        if (strncmp(out->endpoint_url, "http://", 7) != 0 &&
            strncmp(out->endpoint_url, "https://", 8) != 0) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws",
                              "S3 endpoint '%s' is not an http(s) URL", out->endpoint_url);
            goto out;
        }
    }
    if ((rc = load_s3(out, &f, env, ud, err)) < 0)
        goto out;
    if ((rc = load_service_endpoints(out, env, ud, err)) < 0)
        goto out;

    /* Static credentials: the environment, then the credentials file, then the config file. */
    if ((rc = load_env_creds(out, env, ud, err)) < 0)
        goto out;
    if ((rc = qr_aws__ini_get(&tmp, &in_cred, (const char *)f.cred.data, f.cred.len, out->profile,
                              "credential_process", err)) < 0)
        goto out;
    out->credential_process = tmp != NULL;
    free(tmp);
    tmp = NULL;
    if ((rc = cfg_get(&tmp, NULL, &f, out->profile, "credential_process", err)) < 0)
        goto out;
    out->credential_process = out->credential_process || tmp != NULL;
    free(tmp);
    tmp = NULL;
    rc = creds_from(&out->file_creds, &f.cred, out->profile, "credentials-file", err);
    if (rc == 0 && !out->file_creds.access_key_id)
        rc = creds_from(&out->file_creds, &f.cfg, f.cfg_section, "config-file", err);
    if (rc == 0 && !out->file_creds.access_key_id && strcmp(out->profile, "default") == 0)
        rc = creds_from(&out->file_creds, &f.cfg, "profile default", "config-file", err);
    if (rc < 0)
        goto out;
    if (profile && strcmp(profile, "default") != 0 && !in_cfg && !in_cred) {
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws",
                          "AWS_PROFILE '%s' is in neither %s nor %s", profile,
                          out->config_file ? out->config_file : "(no config file)",
                          out->credentials_file ? out->credentials_file : "(no credentials file)");
        goto out;
    }
    rc = load_endpoints(out, env, ud, err);
out:
    free(tmp);
    free(services);
    free(svc_section);
    free(f.cfg_section);
    if (f.cred.data)
        sodium_memzero(f.cred.data, f.cred.len);
    if (f.cfg.data)
        sodium_memzero(f.cfg.data, f.cfg.len);
    qr_buf_free(&f.cfg);
    qr_buf_free(&f.cred);
    return rc;
}
