/*
 * qr_aws_imds_get (qr/aws.h): one path of the instance metadata service
 * with an IMDSv2 session token, a short deadline and one attempt, so a
 * machine that is not an EC2 instance learns it within the timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_internal.h"

#define IMDS_BODY_MAX (64u * 1024u)

int qr_aws_imds_get(char **out, long *status, const qr_aws_config *cfg, const char *path,
                    double timeout_s, qr_error *err)
{
    qr_buf body = QR_BUF_INIT(IMDS_BODY_MAX);
    char *token = NULL, *url = NULL;
    int rc = 0;
    *out = NULL;
    *status = 0;
    if (cfg->imds_disabled)
        return qr_error_set(
            err, QR_ERR_INVALID_ARGUMENT, "aws",
            "the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED)");
    qr_aws_meta_opts mo = {.connect_timeout_s = timeout_s, .timeout_s = timeout_s, .attempts = 1};
    size_t ulen = strlen(cfg->imds_endpoint) + strlen(path) + 32;
    if (!(url = malloc(ulen)))
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    snprintf(url, ulen, "%s/latest/api/token", cfg->imds_endpoint);
    qr_http_header th[1] = {{"X-aws-ec2-metadata-token-ttl-seconds", "300"}};
    if ((rc = qr_aws__meta_call(status, &body, &mo, "PUT", url, th, 1, err)) < 0)
        goto out;
    if (*status != 200 || body.len == 0) {
        rc = qr_error_set(err, QR_ERR_ACCESS_DENIED, "aws",
                          "the instance metadata service refused a token: HTTP %ld", *status);
        goto out;
    }
    if (!(token = strndup((const char *)body.data, body.len))) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
        goto out;
    }
    snprintf(url, ulen, "%s/latest/%s", cfg->imds_endpoint, path);
    qr_http_header gh[1] = {{"X-aws-ec2-metadata-token", token}};
    if ((rc = qr_aws__meta_call(status, &body, &mo, "GET", url, gh, 1, err)) < 0)
        goto out;
    if (!(*out = strndup(body.data ? (const char *)body.data : "", body.len)))
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
out:
    qr_aws__free_secret(token);
    qr_buf_free(&body);
    free(url);
    return rc;
}

/* An instance id or region as IMDS gives it: printable, no spaces, bounded. */
static bool plain(const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

int qr_aws_imds_value(char *out, size_t cap, const qr_aws_config *cfg, const char *path,
                      double timeout_s, qr_error *err)
{
    char *body = NULL;
    long status = 0;
    int rc = qr_aws_imds_get(&body, &status, cfg, path, timeout_s, err);
    if (rc < 0)
        return rc;
    if (status != 200 || !plain(body, cap))
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "aws", "instance metadata %s: HTTP %ld, %s",
                          path, status, status == 200 ? "not a plain value" : "no value");
    else
        snprintf(out, cap, "%s", body);
    free(body);
    return rc;
}

int qr_aws_region(char *out, size_t cap, const qr_aws_config *cfg, double timeout_s,
                  qr_error *err)
{
    if (cfg->region_set) {
        if (strlen(cfg->region) >= cap)
            return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "config", "AWS region too long");
        snprintf(out, cap, "%s", cfg->region);
        return 0;
    }
    qr_error ie = QR_ERROR_INIT;
    if (!cfg->imds_disabled &&
        qr_aws_imds_value(out, cap, cfg, "meta-data/placement/region", timeout_s, &ie) == 0)
        return 0;
    return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "config",
                        "no AWS region: set AWS_REGION (the instance metadata service %s)",
                        cfg->imds_disabled ? "is disabled" : ie.msg);
}
