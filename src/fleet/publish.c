/*
 * qr_fleet_publish (qr/fleet.h): the queue metrics the fleet scales on, as
 * docs/operations/autoscale.md defines them and the template's publisher
 * function computes them: one sample of Redis, the group's InService count,
 * six datapoints in one PutMetricData call, and only then the done
 * counters' sum kept for the next publish (a failed minute is counted in
 * the next one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qr/fleet.h"

#define NMETRICS 6

static int in_service(long long *out, qr_aws_client *c, const char *group, qr_error *err)
{
    char *xml = NULL;
    const char *p[2] = {"AutoScalingGroupNames.member.1", group};
    int rc = qr_aws_query(&xml, c, QR_AWS_AUTOSCALING, "DescribeAutoScalingGroups", p, 1, err);
    if (rc < 0)
        return rc;
    size_t len = strlen(xml);
    char name[256];
    if (!qr_aws_xml_text(name, sizeof(name), xml, len, "AutoScalingGroupName") ||
        strcmp(name, group) != 0)
        rc = qr_error_set(err, QR_ERR_INVALID_ARGUMENT, "fleet", "no Auto Scaling group named %s",
                          group);
    else
        *out = qr_aws_xml_count(xml, len, "LifecycleState", "InService");
    if (rc == 0 && *out < 0)
        rc = qr_error_set(err, QR_ERR_REMOTE_ERROR, "fleet",
                          "DescribeAutoScalingGroups: the answer is not XML");
    free(xml);
    return rc;
}

int qr_fleet_publish(qr_fleet_sample *out, qr_aws_client *c, const char *group, qr_resque *r,
                     const char *const *queues, size_t nqueues, qr_error *err)
{
    qr_resque_counts b;
    qr_fleet_sample s;
    memset(&s, 0, sizeof(s));
    int rc = qr_resque_backlog(&b, r, queues, nqueues, group, err);
    if (rc < 0)
        return rc;
    if ((rc = in_service(&s.in_service, c, group, err)) < 0)
        return rc;
    s.queued = b.queued;
    s.running = b.running;
    /* 0 at the first publish; the whole sum when Redis lost the counters. */
    s.processed = b.previous < 0              ? 0
                  : b.processed >= b.previous ? b.processed - b.previous
                                              : b.processed;
    double per = s.in_service > 0 ? (double)s.in_service : 1.0;
    s.backlog = (double)(s.queued + s.running) / per;
    s.activity = (double)(s.queued + s.running + s.processed) / per;
    s.unserved = s.in_service == 0 ? s.queued : 0;

    const char *names[NMETRICS] = {"QueueDepth",          "RunningJobs",
                                   "JobsProcessed",       "BacklogPerInstance",
                                   "ActivityPerInstance", "UnservedQueueDepth"};
    double values[NMETRICS] = {(double)s.queued, (double)s.running, (double)s.processed,
                               s.backlog,        s.activity,        (double)s.unserved};
    char stamp[32], vals[NMETRICS][32], keys[NMETRICS][8][64];
    const char *p[2 * NMETRICS * 8 + 2];
    size_t np = 0;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    p[2 * np] = "Namespace";
    p[2 * np++ + 1] = QR_FLEET_NAMESPACE;
    for (int i = 0; i < NMETRICS; i++) {
        static const char *const fields[7] = {"MetricName",
                                              "Dimensions.member.1.Name",
                                              "Dimensions.member.1.Value",
                                              "Timestamp",
                                              "Value",
                                              "Unit",
                                              "StorageResolution"};
        const char *v[7] = {names[i], "AutoScalingGroupName", group, stamp, vals[i], "Count", "60"};
        snprintf(vals[i], sizeof(vals[i]), "%.6g", values[i]);
        for (int k = 0; k < 7; k++) {
            snprintf(keys[i][k], sizeof(keys[i][k]), "MetricData.member.%d.%s", i + 1, fields[k]);
            p[2 * np] = keys[i][k];
            p[2 * np++ + 1] = v[k];
        }
    }
    char *xml = NULL;
    rc = qr_aws_query(&xml, c, QR_AWS_CLOUDWATCH, "PutMetricData", p, np, err);
    free(xml);
    if (rc < 0)
        return rc;
    if ((rc = qr_resque_backlog_mark(r, group, b.processed, err)) < 0)
        return rc;
    if (out)
        *out = s;
    return 0;
}
