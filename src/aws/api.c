/*
 * AWS's query and JSON APIs (qr/aws.h): Auto Scaling and CloudWatch speak
 * the query protocol (a form POST, an XML answer), SSM the JSON 1.1
 * protocol (X-Amz-Target, a JSON answer). Both are signed with SigV4 over
 * the credential chain and sent through qr_http, which retries transport
 * errors and 5xx; throttling, which AWS answers with a 400, is retried
 * here. The operator's endpoints are trusted: no network policy applies.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/aws_internal.h"
#include "qr/clock.h"
#include "qr/log.h"

#define ANSWER_MAX (4u * 1024u * 1024u)
#define THROTTLE_ATTEMPTS 5

struct qr_aws_client {
    qr_aws_provider *prov;
    char *region;
    char *endpoint[3]; /* per qr_aws_service; NULL: AWS */
};

static const struct {
    const char *signing; /* SigV4 service name */
    const char *host;    /* <host>.<region>.amazonaws.com */
    const char *version; /* query APIs */
    const char *target;  /* JSON APIs: X-Amz-Target prefix */
    const char *name;    /* for messages */
} services[] = {
    {"autoscaling", "autoscaling", "2011-01-01", NULL, "autoscaling"},
    {"monitoring", "monitoring", "2010-08-01", NULL, "cloudwatch"},
    {"ssm", "ssm", NULL, "AmazonSSM", "ssm"},
};

int qr_aws_client_new(qr_aws_client **out, const qr_aws_config *cfg, const char *region,
                      qr_error *err)
{
    *out = NULL;
    qr_aws_client *c = calloc(1, sizeof(*c));
    if (!c)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    const char *eps[3] = {cfg->endpoint_autoscaling, cfg->endpoint_cloudwatch, cfg->endpoint_ssm};
    int rc = qr_aws_provider_new(&c->prov, cfg, NULL, err);
    if (rc == 0 && !(c->region = strdup(region ? region : cfg->region)))
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    for (int i = 0; rc == 0 && i < 3; i++)
        if (eps[i] && !(c->endpoint[i] = strdup(eps[i])))
            rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    if (rc < 0) {
        qr_aws_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void qr_aws_client_free(qr_aws_client *c)
{
    if (!c)
        return;
    qr_aws_provider_free(c->prov);
    free(c->region);
    for (int i = 0; i < 3; i++)
        free(c->endpoint[i]);
    free(c);
}

const char *qr_aws_client_region(const qr_aws_client *c)
{
    return c->region;
}

/* application/x-www-form-urlencoded as AWS expects it (RFC 3986 unreserved kept). */
static int form_append(qr_buf *b, const char *s, qr_error *err)
{
    char *e = qr_aws_uri_encode(s, false);
    if (!e)
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
    int rc = qr_buf_append(b, e, strlen(e), err);
    free(e);
    return rc;
}

/* The error id an AWS error Code maps to. */
static qr_errid errid_for(long status, const char *code)
{
    static const char *const denied[] = {"AccessDenied",
                                         "AccessDeniedException",
                                         "UnauthorizedOperation",
                                         "InvalidClientTokenId",
                                         "SignatureDoesNotMatch",
                                         "ExpiredToken",
                                         "UnrecognizedClientException"};
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
        if (strcmp(code, denied[i]) == 0)
            return QR_ERR_ACCESS_DENIED;
    if (strcmp(code, "ParameterNotFound") == 0)
        return QR_ERR_SOURCE_NOT_FOUND;
    if (status == 401 || status == 403)
        return QR_ERR_ACCESS_DENIED;
    if (status >= 400 && status < 500)
        return QR_ERR_INVALID_ARGUMENT;
    return QR_ERR_REMOTE_ERROR;
}

static bool throttled(const char *code)
{
    return strcmp(code, "Throttling") == 0 || strcmp(code, "ThrottlingException") == 0 ||
           strcmp(code, "RequestLimitExceeded") == 0 || strcmp(code, "TooManyUpdates") == 0;
}

/* The Code (and Message) of an error answer, query XML or JSON 1.1. */
static void error_code(char *code, size_t cc, char *msg, size_t mc, bool json, const qr_buf *b)
{
    code[0] = msg[0] = '\0';
    if (!b->len)
        return;
    if (!json) {
        qr_aws_xml_text(code, cc, (const char *)b->data, b->len, "Code");
        qr_aws_xml_text(msg, mc, (const char *)b->data, b->len, "Message");
        return;
    }
    json_t *j = json_loadb((const char *)b->data, b->len, 0, NULL);
    const char *t = json_string_value(json_object_get(j, "__type"));
    const char *m = json_string_value(json_object_get(j, "message"));
    if (!m)
        m = json_string_value(json_object_get(j, "Message"));
    /* "com.amazonaws.ssm#ParameterNotFound" → "ParameterNotFound". */
    if (t && strchr(t, '#'))
        t = strchr(t, '#') + 1;
    snprintf(code, cc, "%s", t ? t : "");
    snprintf(msg, mc, "%s", m ? m : "");
    json_decref(j);
}

/* One signed POST of `body`, throttling retried; the 2xx answer in *answer. */
static int call(char **answer, qr_aws_client *c, qr_aws_service svc, const char *action,
                const char *content_type, const char *target, const qr_buf *body, qr_error *err)
{
    qr_buf resp_body = QR_BUF_INIT(ANSWER_MAX);
    char url[512], hash[65];
    int rc = 0;
    *answer = NULL;
    if (c->endpoint[svc])
        snprintf(url, sizeof(url), "%s/", c->endpoint[svc]);
    else
        snprintf(url, sizeof(url), "https://%s.%s.amazonaws.com/", services[svc].host, c->region);
    qr_aws_sha256_hex(hash, body->data ? body->data : (const uint8_t *)"", body->len);
    for (unsigned attempt = 1;; attempt++) {
        qr_aws_creds cr = QR_AWS_CREDS_INIT;
        qr_aws_sigv4 sig = QR_AWS_SIGV4_INIT;
        qr_http_header sh[2] = {{"Content-Type", content_type}, {"X-Amz-Target", target}};
        size_t nsh = target ? 2 : 1;
        if ((rc = qr_aws_provider_get(c->prov, &cr, err)) < 0)
            break;
        qr_aws_sigv4_request sr = {.method = "POST",
                                   .url = url,
                                   .headers = sh,
                                   .nheaders = nsh,
                                   .payload_hash = hash,
                                   .region = c->region,
                                   .service = services[svc].signing,
                                   .when = time(NULL)};
        rc = qr_aws_sigv4_sign(&sig, &sr, &cr, err);
        qr_http_header hs[6];
        size_t nh = 0;
        for (size_t i = 0; i < nsh; i++)
            hs[nh++] = sh[i];
        hs[nh++] = (qr_http_header){"X-Amz-Date", sig.amz_date};
        hs[nh++] = (qr_http_header){"X-Amz-Content-SHA256", hash};
        if (cr.session_token)
            hs[nh++] = (qr_http_header){"X-Amz-Security-Token", cr.session_token};
        hs[nh++] = (qr_http_header){"Authorization", sig.authorization};
        qr_http_response resp = QR_HTTP_RESPONSE_INIT;
        if (rc == 0) {
            qr_http_opts o = QR_HTTP_OPTS_INIT;
            o.timeout_s = 30;
            o.max_body_bytes = ANSWER_MAX;
            qr_http_request req = QR_HTTP_REQUEST_INIT;
            req.method = "POST";
            req.url = url;
            req.headers = hs;
            req.nheaders = nh;
            req.body = body->data ? body->data : (const uint8_t *)"";
            req.body_len = body->len;
            qr_buf_reset(&resp_body);
            resp.body = &resp_body;
            rc = qr_http_perform(&o, &req, &resp, err);
        }
        long status = resp.status;
        qr_http_response_free(&resp);
        qr_aws_sigv4_free(&sig);
        qr_aws_creds_clear(&cr);
        if (rc < 0)
            break;
        if (status >= 200 && status <= 299) {
            if (!(*answer =
                      strndup(resp_body.data ? (const char *)resp_body.data : "", resp_body.len)))
                rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
            break;
        }
        char code[96], msg[200];
        error_code(code, sizeof(code), msg, sizeof(msg), target != NULL, &resp_body);
        if (throttled(code) && attempt < THROTTLE_ATTEMPTS) {
            double wait =
                0.2 * (double)(1u << attempt) * (0.5 + randombytes_uniform(1000) / 2000.0);
            qr_log(QR_LOG_WARN, "aws", "%s %s: HTTP %ld %s; attempt %u of %u, retrying in %.2f s",
                   services[svc].name, action, status, code, attempt, THROTTLE_ATTEMPTS, wait);
            qr_sleep(wait);
            continue;
        }
        rc = qr_error_set(err, errid_for(status, code), "aws", "%s %s: HTTP %ld%s%s%s%s%s",
                          services[svc].name, action, status, code[0] ? " " : "", code,
                          msg[0] ? " (" : "", msg, msg[0] ? ")" : "");
        break;
    }
    qr_buf_free(&resp_body);
    return rc;
}

int qr_aws_query(char **xml, qr_aws_client *c, qr_aws_service svc, const char *action,
                 const char *const *params, size_t nparams, qr_error *err)
{
    *xml = NULL;
    if (!c || !action || (unsigned)svc > QR_AWS_CLOUDWATCH)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws", "not a query API call");
    qr_buf body = QR_BUF_INIT(1u << 20);
    int rc = qr_buf_appendf(&body, err, "Action=");
    if (rc == 0)
        rc = form_append(&body, action, err);
    if (rc == 0)
        rc = qr_buf_appendf(&body, err, "&Version=%s", services[svc].version);
    for (size_t i = 0; rc == 0 && i < nparams; i++) {
        rc = qr_buf_appendf(&body, err, "&");
        if (rc == 0)
            rc = form_append(&body, params[2 * i], err);
        if (rc == 0)
            rc = qr_buf_appendf(&body, err, "=");
        if (rc == 0)
            rc = form_append(&body, params[2 * i + 1], err);
    }
    if (rc == 0)
        rc = call(xml, c, svc, action, "application/x-www-form-urlencoded; charset=utf-8", NULL,
                  &body, err);
    qr_buf_free(&body);
    return rc;
}

int qr_aws_json_call(char **json, qr_aws_client *c, qr_aws_service svc, const char *action,
                     const char *body, qr_error *err)
{
    *json = NULL;
    if (!c || !action || svc != QR_AWS_SSM)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws", "not a JSON API call");
    char target[128];
    snprintf(target, sizeof(target), "%s.%s", services[svc].target, action);
    qr_buf b = QR_BUF_INIT(1u << 20);
    int rc = qr_buf_append(&b, body ? body : "{}", strlen(body ? body : "{}"), err);
    if (rc == 0)
        rc = call(json, c, svc, action, "application/x-amz-json-1.1", target, &b, err);
    qr_buf_free(&b);
    return rc;
}

void qr_aws_secret_free(char *s, size_t len)
{
    (void)len;
    if (s)
        sodium_free(s);
}

int qr_aws_ssm_secret(char **out, size_t *len, qr_aws_client *c, const char *name, qr_error *err)
{
    char *answer = NULL;
    json_t *req = NULL, *resp = NULL;
    char *body = NULL;
    int rc = 0;
    *out = NULL;
    *len = 0;
    if (!name || !*name)
        return qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "aws", "no SSM parameter name");
    req = json_pack("{s:s, s:b}", "Name", name, "WithDecryption", 1);
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    if (!body) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
        goto out;
    }
    if ((rc = qr_aws_json_call(&answer, c, QR_AWS_SSM, "GetParameter", body, err)) < 0) {
        qr_error_set_context(err, "ssm:%s", name);
        goto out;
    }
    resp = json_loads(answer, 0, NULL);
    const char *v = json_string_value(json_object_get(json_object_get(resp, "Parameter"), "Value"));
    if (!v) {
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "aws",
                          "ssm GetParameter %s: no Parameter.Value", name);
        goto out;
    }
    size_t n = strlen(v);
    /* Guarded memory: locked, never swapped, wiped when freed. */
    char *s = sodium_malloc(n + 1);
    if (!s) {
        rc = qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "aws", "out of memory");
        goto out;
    }
    memcpy(s, v, n + 1);
    *out = s;
    *len = n;
out:
    if (resp) {
        json_t *p = json_object_get(resp, "Parameter");
        json_t *v2 = json_object_get(p, "Value");
        if (json_is_string(v2))
            sodium_memzero((void *)(uintptr_t)json_string_value(v2), json_string_length(v2));
    }
    json_decref(resp);
    json_decref(req);
    if (answer) {
        sodium_memzero(answer, strlen(answer));
        free(answer);
    }
    free(body);
    return rc;
}
