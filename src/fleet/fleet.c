/*
 * qr/fleet.h: this instance in its Auto Scaling group. Identity from
 * IMDSv2, the group from QUIRE_FLEET_GROUP or Auto Scaling, and the calls
 * that name this instance: scale-in protection, lifecycle heartbeats and
 * completion. Query-API failures that are worth repeating (the transport,
 * 5xx, throttling) are retried below, in qr_http and qr_aws_query; here a
 * call is tried again only on a transport failure of the whole exchange.
 */
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "qr/clock.h"
#include "qr/fleet.h"
#include "qr/log.h"

#define ID_MAX 64
#define GROUP_MAX 256
#define CALL_ATTEMPTS 3

struct qr_fleet {
    qr_aws_config cfg; /* borrowed pointers: the caller's config outlives the fleet */
    qr_aws_client *client;
    double imds_timeout_s;
    char instance[ID_MAX];
    char region[ID_MAX];
    char group[GROUP_MAX];
};

int qr_fleet_mode_parse(qr_fleet_mode *out, const char *s)
{
    if (!s || !*s || strcmp(s, "auto") == 0)
        *out = QR_FLEET_AUTO;
    else if (strcmp(s, "on") == 0)
        *out = QR_FLEET_ON;
    else if (strcmp(s, "off") == 0)
        *out = QR_FLEET_OFF;
    else
        return -1;
    return 0;
}

/*
 * Whether to ask the metadata service at all in auto mode: the machine says
 * it is an EC2 instance (DMI vendor "Amazon EC2" on Nitro, a Xen uuid
 * starting "ec2"), or the operator pointed the metadata endpoint elsewhere.
 * Off EC2 no packet goes to 169.254.169.254.
 */
static bool first_line_starts(const char *path, const char *prefix)
{
    char buf[64] = "";
    FILE *fp = fopen(path, "r");
    if (!fp)
        return false;
    bool ok = fgets(buf, sizeof(buf), fp) && strncasecmp(buf, prefix, strlen(prefix)) == 0;
    fclose(fp);
    return ok;
}

static bool looks_like_ec2(const qr_aws_config *cfg)
{
    if (cfg->imds_endpoint && strcmp(cfg->imds_endpoint, "http://169.254.169.254") != 0)
        return true;
    return first_line_starts("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2") ||
           first_line_starts("/sys/devices/virtual/dmi/id/board_vendor", "Amazon EC2") ||
           first_line_starts("/sys/hypervisor/uuid", "ec2");
}

static void say(char *why, size_t whylen, const char *what, const char *detail)
{
    if (why && whylen)
        snprintf(why, whylen, "%s%s%s%s", what, detail[0] ? " (" : "", detail,
                 detail[0] ? ")" : "");
}

/* The group this instance belongs to, from DescribeAutoScalingInstances. */
static int find_group(qr_fleet *f, bool *found, qr_error *err)
{
    char *xml = NULL;
    const char *p[2] = {"InstanceIds.member.1", f->instance};
    *found = false;
    int rc = qr_aws_query(&xml, f->client, QR_AWS_AUTOSCALING, "DescribeAutoScalingInstances", p, 1,
                          err);
    if (rc < 0)
        return rc;
    *found =
        qr_aws_xml_text(f->group, sizeof(f->group), xml, strlen(xml), "AutoScalingGroupName") &&
        f->group[0];
    free(xml);
    return 0;
}

int qr_fleet_detect(qr_fleet **out, char *why, size_t whylen, qr_fleet_mode mode,
                    const qr_aws_config *cfg, const char *group, double imds_timeout_s,
                    qr_error *err)
{
    qr_fleet *f = NULL;
    int rc = 0;
    *out = NULL;
    say(why, whylen, "", "");
    if (mode == QR_FLEET_OFF) {
        say(why, whylen, "fleet mode is off", "");
        return 0;
    }
    if (!(f = calloc(1, sizeof(*f))))
        return qr_error_set(err, QR_ERR_OUT_OF_MEMORY, "fleet", "out of memory");
    f->cfg = *cfg;
    f->imds_timeout_s = imds_timeout_s > 0 ? imds_timeout_s : 1.0;
    if (mode == QR_FLEET_AUTO && !cfg->imds_disabled && !looks_like_ec2(cfg)) {
        say(why, whylen, "not an EC2 instance", "");
        goto fail;
    }
    qr_error ie = QR_ERROR_INIT;
    if (cfg->imds_disabled || qr_aws_imds_value(f->instance, sizeof(f->instance), cfg,
                                         "meta-data/instance-id", f->imds_timeout_s, &ie) < 0) {
        const char *msg = cfg->imds_disabled ? "AWS_EC2_METADATA_DISABLED is set" : ie.msg;
        if (mode == QR_FLEET_ON) {
            rc = cfg->imds_disabled
                     ? qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fleet",
                                    "fleet mode is on but %s", msg)
                     : qr_error_set(err, ie.errid, "fleet",
                                    "fleet mode is on but the instance metadata service did not "
                                    "answer: %s",
                                    msg);
            goto fail;
        }
        say(why, whylen, "not an EC2 instance", msg);
        goto fail;
    }
    if ((rc = qr_aws_region(f->region, sizeof(f->region), cfg, f->imds_timeout_s, err)) < 0)
        goto fail;
    if ((rc = qr_aws_client_new(&f->client, cfg, f->region, err)) < 0)
        goto fail;
    if (group && *group) {
        if (strlen(group) >= sizeof(f->group)) {
            rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fleet", "group name too long");
            goto fail;
        }
        snprintf(f->group, sizeof(f->group), "%s", group);
    } else {
        bool found = false;
        if ((rc = find_group(f, &found, err)) < 0)
            goto fail;
        if (!found) {
            if (mode == QR_FLEET_ON) {
                rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fleet",
                                  "fleet mode is on but instance %s is in no Auto Scaling group",
                                  f->instance);
                goto fail;
            }
            say(why, whylen, "this instance is in no Auto Scaling group", f->instance);
            goto fail;
        }
    }
    *out = f;
    return 0;
fail:
    qr_fleet_free(f);
    return rc;
}

void qr_fleet_free(qr_fleet *f)
{
    if (!f)
        return;
    qr_aws_client_free(f->client);
    free(f);
}

const char *qr_fleet_instance(const qr_fleet *f)
{
    return f->instance;
}

const char *qr_fleet_group(const qr_fleet *f)
{
    return f->group;
}

const char *qr_fleet_region(const qr_fleet *f)
{
    return f->region;
}

qr_aws_client *qr_fleet_client(qr_fleet *f)
{
    return f->client;
}

/* An Auto Scaling call about this instance, a lost exchange tried again with backoff. */
static int call(char **xml, qr_fleet *f, const char *action, const char *const *params,
                size_t nparams, qr_error *err)
{
    int rc = 0;
    for (int attempt = 1; attempt <= CALL_ATTEMPTS; attempt++) {
        qr_error_clear(err);
        rc = qr_aws_query(xml, f->client, QR_AWS_AUTOSCALING, action, params, nparams, err);
        if (rc == 0 || (err->errid != QR_ERR_FETCH_FAILED && err->errid != QR_ERR_TIMEOUT &&
                        err->errid != QR_ERR_REMOTE_ERROR))
            break;
        if (attempt < CALL_ATTEMPTS) {
            qr_log(QR_LOG_WARN, "fleet", "%s: %s; attempt %d of %d", action, err->msg, attempt,
                   CALL_ATTEMPTS);
            qr_sleep(0.5 * attempt);
        }
    }
    return rc;
}

int qr_fleet_protect(qr_fleet *f, bool on, qr_error *err)
{
    char *xml = NULL;
    const char *p[6] = {"InstanceIds.member.1", f->instance,
                        "AutoScalingGroupName", f->group,
                        "ProtectedFromScaleIn", on ? "true" : "false"};
    int rc = call(&xml, f, "SetInstanceProtection", p, 3, err);
    free(xml);
    return rc;
}

int qr_fleet_target_state(qr_fleet *f, char *out, size_t cap, qr_error *err)
{
    char *body = NULL;
    long status = 0;
    if (cap)
        out[0] = '\0';
    int rc =
        qr_aws_imds_get(&body, &status, &f->cfg, "meta-data/autoscaling/target-lifecycle-state",
                        f->imds_timeout_s, err);
    if (rc < 0)
        return rc;
    if (status == 200) {
        size_t n = strcspn(body, "\r\n");
        body[n] = '\0';
        snprintf(out, cap, "%s", body);
    } else if (status != 404) {
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "fleet",
                          "instance metadata autoscaling/target-lifecycle-state: HTTP %ld", status);
    }
    free(body);
    return rc;
}

int qr_fleet_heartbeat(qr_fleet *f, const char *hook, qr_error *err)
{
    char *xml = NULL;
    const char *p[6] = {"LifecycleHookName", hook,       "AutoScalingGroupName", f->group,
                        "InstanceId",        f->instance};
    int rc = call(&xml, f, "RecordLifecycleActionHeartbeat", p, 3, err);
    free(xml);
    return rc;
}

int qr_fleet_complete(qr_fleet *f, const char *hook, const char *result, bool *pending,
                      qr_error *err)
{
    char *xml = NULL;
    const char *p[8] = {"LifecycleHookName", hook,        "AutoScalingGroupName",  f->group,
                        "InstanceId",        f->instance, "LifecycleActionResult", result};
    if (pending)
        *pending = true;
    int rc = call(&xml, f, "CompleteLifecycleAction", p, 4, err);
    free(xml);
    /* Auto Scaling's answer when nothing waits: "No active Lifecycle Action found with instance ID
     * ..." */
    if (rc < 0 && err->errid == QR_ERR_INVALID_ARGUMENT && strstr(err->msg, "ValidationError") &&
        strstr(err->msg, "No active Lifecycle Action")) {
        if (pending)
            *pending = false;
        qr_error_clear(err);
        return 0;
    }
    return rc;
}
