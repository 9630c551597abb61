/*
 * The worker as a member of an EC2 Auto Scaling group: who it is (IMDSv2:
 * instance id, region; its group), scale-in protection while a job runs,
 * the lifecycle hooks (the launch hook released once the instance is
 * converged, the terminating hook kept alive while the jobs in hand finish,
 * then completed), and the queue metrics the group scales on. Every call
 * names this instance and its own group only, goes through the SigV4
 * client and the credential chain of qr/aws.h, is retried with backoff and
 * fails with the API's error code in the message.
 * docs/operations/autoscale.md ("Metric and API contract") is the contract
 * with the CloudFormation template (autoscale/quire-fleet.yaml).
 */
#ifndef QR_FLEET_H
#define QR_FLEET_H

#include <stdbool.h>
#include <stddef.h>

#include "qr/aws.h"
#include "qr/error.h"
#include "qr/resque.h"

/* The CloudWatch namespace and the hook names the template defines. */
#define QR_FLEET_NAMESPACE "Quire"
#define QR_FLEET_LAUNCH_HOOK "quire-converged"
#define QR_FLEET_DRAIN_HOOK "quire-drain"

typedef enum qr_fleet_mode {
    QR_FLEET_AUTO = 0, /* a fleet member when an IMDSv2 token can be had */
    QR_FLEET_ON,       /* must be one: failing to find out is an error */
    QR_FLEET_OFF
} qr_fleet_mode;

/* "auto", "on", "off" (NULL or "": auto). -1 for anything else. */
int qr_fleet_mode_parse(qr_fleet_mode *out, const char *s);

typedef struct qr_fleet qr_fleet;

/*
 * Finds out whether this machine is an instance of an Auto Scaling group:
 * the instance id and region (cfg's region first, else IMDS
 * placement/region) from IMDSv2 within `imds_timeout_s` (0: 1 s), and the
 * group: `group` when given (QUIRE_FLEET_GROUP), else
 * DescribeAutoScalingInstances of this instance. In QR_FLEET_AUTO, *out is
 * NULL with 0 returned when no metadata service answers or the instance is
 * in no group; `why` (`whylen` bytes, may be NULL) then says which. In
 * QR_FLEET_ON those are errors; QR_FLEET_OFF returns NULL at once.
 * Errors: fetch-failed, timeout (no metadata service, ON), invalid-argument
 * (in no group, ON), access-denied, remote-error, out-of-memory.
 */
int qr_fleet_detect(qr_fleet **out, char *why, size_t whylen, qr_fleet_mode mode,
                    const qr_aws_config *cfg, const char *group, double imds_timeout_s,
                    qr_error *err) QR_WUR;
void qr_fleet_free(qr_fleet *f);

const char *qr_fleet_instance(const qr_fleet *f);
const char *qr_fleet_group(const qr_fleet *f);
const char *qr_fleet_region(const qr_fleet *f);
/* The client the fleet calls with (borrowed from `f`). */
qr_aws_client *qr_fleet_client(qr_fleet *f);

/* SetInstanceProtection (ProtectedFromScaleIn = on) of this instance in its group. */
int qr_fleet_protect(qr_fleet *f, bool on, qr_error *err) QR_WUR;

/*
 * The instance's target lifecycle state from IMDS
 * (autoscaling/target-lifecycle-state: "InService", "Terminated", ...) into
 * `out` (`cap` bytes); "" when the service has no such path yet.
 * Errors: those of qr_aws_imds_get.
 */
int qr_fleet_target_state(qr_fleet *f, char *out, size_t cap, qr_error *err) QR_WUR;

/* RecordLifecycleActionHeartbeat of `hook` for this instance. */
int qr_fleet_heartbeat(qr_fleet *f, const char *hook, qr_error *err) QR_WUR;

/*
 * CompleteLifecycleAction of `hook` for this instance with `result`
 * ("CONTINUE" or "ABANDON"). *pending (may be NULL) is false when Auto
 * Scaling answered that no lifecycle action waits for this instance (a
 * ValidationError saying so): that is not an error.
 */
int qr_fleet_complete(qr_fleet *f, const char *hook, const char *result, bool *pending,
                      qr_error *err) QR_WUR;

/* ---- queue metrics (publish.c) ---- */

/* One publish: the six metrics of the contract, and what they came from. */
typedef struct qr_fleet_sample {
    long long queued;     /* QueueDepth */
    long long running;    /* RunningJobs */
    long long processed;  /* JobsProcessed since the previous publish */
    long long in_service; /* InService instances of the group */
    double backlog;       /* BacklogPerInstance */
    double activity;      /* ActivityPerInstance */
    long long unserved;   /* UnservedQueueDepth */
} qr_fleet_sample;

/*
 * Samples `queues` (already expanded, qr_resque_queues) in Redis, counts the
 * group's InService instances (DescribeAutoScalingGroups of `group` only)
 * and publishes QueueDepth, RunningJobs, JobsProcessed, BacklogPerInstance,
 * ActivityPerInstance and UnservedQueueDepth in namespace Quire with the
 * dimension AutoScalingGroupName = `group`, in one PutMetricData call; then
 * keeps the done counters' sum for the next publish. `out` (may be NULL)
 * receives the figures. Nothing is published when any step fails.
 * Errors: invalid-argument (no such group), those of the queue layer and of
 * qr_aws_query.
 */
int qr_fleet_publish(qr_fleet_sample *out, qr_aws_client *c, const char *group, qr_resque *r,
                     const char *const *queues, size_t nqueues, qr_error *err) QR_WUR;

#endif
