#!/usr/bin/env python3
"""Runs the fleet template's queue metrics publisher (the Publisher function's
inline code, taken from autoscale/quire-fleet.yaml) against a real redis-server
and moto in server mode, and reads what it published back with GetMetricData.

usage: publisher_check.py TEMPLATE REDIS_PORT MOTO_URL WORKDIR
Needs the python3 first on PATH (cfn-lint, boto3) and redis-cli. Prints one line
per case, "<case>\t<reason>" with an empty reason when the case passed, and
exits 0; tests/integration/test_autoscale_publisher.sh turns them into
PASS/FAIL lines. The contract checked is docs/operations/autoscale.md,
"Metric and API contract".
"""
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import traceback
from contextlib import redirect_stdout

import boto3
from cfnlint.decode import decode

TEMPLATE, REDIS_PORT, MOTO_URL, WORKDIR = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
PASSWORD = "s3cret word"  # a space: the URL must be percent-decoded
REGION = "us-east-1"
os.environ.update({
    "AWS_ENDPOINT_URL": MOTO_URL, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
})
METRICS = ("QueueDepth", "RunningJobs", "JobsProcessed", "BacklogPerInstance", "ActivityPerInstance",
           "UnservedQueueDepth")


def redis(*args):
    out = subprocess.run(["redis-cli", "-p", REDIS_PORT, "-a", PASSWORD, "--no-auth-warning", "-n", "2", *args],
                         capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    if out.startswith("(error)") or out.startswith("ERR"):
        raise RuntimeError("redis-cli %s: %s" % (" ".join(args), out))
    return out


def publisher_source():
    tpl, problems = decode(TEMPLATE)
    if problems:
        raise SystemExit("cannot read %s: %s" % (TEMPLATE, problems))
    code = tpl["Resources"]["Publisher"]["Properties"]["Code"]["ZipFile"]
    path = os.path.join(WORKDIR, "index.py")
    with open(path, "w") as f:
        f.write(str(code))
    return path


def load(path, env):
    """A fresh copy of the function module, as a new Lambda execution environment gets."""
    os.environ.update(env)
    spec = importlib.util.spec_from_file_location("publisher_%d" % load.n, path)
    load.n += 1
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


load.n = 0


def make_group(name, instances):
    ec2 = boto3.client("ec2")
    lt = "lt-" + name
    ec2.create_launch_template(LaunchTemplateName=lt,
                               LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "c7i.large"})
    asg = boto3.client("autoscaling")
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=10, DesiredCapacity=instances,
                                  LaunchTemplate={"LaunchTemplateName": lt}, AvailabilityZones=[REGION + "a"])
    got = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]
    states = [i["LifecycleState"] for i in got]
    if states != ["InService"] * instances:
        raise RuntimeError("moto made %s for %d instances" % (states, instances))


def read_back(group):
    """The latest datapoint of each metric of the group, from GetMetricData."""
    now = datetime.datetime.now(datetime.timezone.utc)
    queries = [{"Id": "m%d" % i, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": "Quire", "MetricName": m,
                   "Dimensions": [{"Name": "AutoScalingGroupName", "Value": group}]},
        "Period": 60, "Stat": "Maximum"}} for i, m in enumerate(METRICS)]
    res = boto3.client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=now - datetime.timedelta(minutes=10),
        EndTime=now + datetime.timedelta(minutes=2))
    out = {}
    for r in res["MetricDataResults"]:
        name = METRICS[int(r["Id"][1:])]
        if r["Values"]:
            out[name] = r["Values"][0]
    return out


def expect(got, want):
    bad = ["%s=%s (want %s)" % (k, got.get(k), v) for k, v in want.items() if got.get(k) != v]
    return "; ".join(bad)


def published_units(group):
    """The units and dimensions moto stored for the group's metrics."""
    cw = boto3.client("cloudwatch")
    listed = cw.list_metrics(Namespace="Quire", Dimensions=[{"Name": "AutoScalingGroupName", "Value": group}])
    return sorted(m["MetricName"] for m in listed["Metrics"]), [m["Dimensions"] for m in listed["Metrics"]]


def run_cases(path):
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/quire/test/redis", Type="SecureString",
                      Value="redis://:%s@127.0.0.1:%s/2" % (PASSWORD.replace(" ", "%20"), REDIS_PORT))
    base = {"QUIRE_REDIS_SSM": "/quire/test/redis", "QUIRE_NAMESPACE": "resque"}

    # Two queues with jobs waiting; three processing lists, one of a queue not watched.
    for q, n in (("books", 5), ("covers", 2), ("other", 4)):
        redis("SADD", "resque:queues", q)
        for i in range(n):
            redis("RPUSH", "resque:queue:" + q, json.dumps({"class": "Quire::ProcessBook", "args": [{"book_id": "%s-%d" % (q, i)}]}))
    for member, n in (("books:ip-10-0-0-1:41:books,covers", 1), ("covers:ip-10-0-0-2:7:books,covers", 1),
                      ("other:ip-10-0-0-3:9:other", 3)):
        redis("SADD", "resque:quire:processing", member)
        for i in range(n):
            redis("RPUSH", "resque:quire:processing:" + member, "{}")
    # quire's per-queue counters of finished jobs (HINCRBY by the worker's done step).
    redis("HSET", "resque:quire:processed", "books", "10", "covers", "5", "other", "100")
    # Keys that look alike but are not jobs.
    redis("SET", "resque:queue:books:lock", "x")
    redis("RPUSH", "resque:failed", "{}")

    yield "sums queued and running jobs of the watched queues, over two InService instances", _case(
        path, base, "fleet-two", 2, "books,covers",
        {"QueueDepth": 7.0, "RunningJobs": 2.0, "JobsProcessed": 0.0, "BacklogPerInstance": 4.5,
         "ActivityPerInstance": 4.5, "UnservedQueueDepth": 0.0})

    state = redis("GET", "resque:quire:metrics:fleet-two:processed")
    yield "the first sample keeps the counters' sum for the next one", "" if state == "15" else "state is %r" % state

    redis("HINCRBY", "resque:quire:processed", "books", "3")
    redis("HINCRBY", "resque:quire:processed", "covers", "1")
    redis("HINCRBY", "resque:quire:processed", "other", "50")
    yield "jobs finished since the previous sample, of the watched queues only, count as activity", _case(
        path, base, "fleet-two", 2, "books,covers",
        {"QueueDepth": 7.0, "RunningJobs": 2.0, "JobsProcessed": 4.0, "BacklogPerInstance": 4.5,
         "ActivityPerInstance": 6.5, "UnservedQueueDepth": 0.0}, existing=True)

    redis("SET", "resque:quire:metrics:fleet-reset:processed", "1000")
    yield "counters below the kept sum (Redis lost them) count from zero", _case(
        path, base, "fleet-reset", 1, "books,covers",
        {"QueueDepth": 7.0, "RunningJobs": 2.0, "JobsProcessed": 19.0, "BacklogPerInstance": 9.0,
         "ActivityPerInstance": 28.0, "UnservedQueueDepth": 0.0})

    yield "no InService instance: backlog over one, queued jobs unserved", _case(
        path, base, "fleet-zero", 0, "books,covers",
        {"QueueDepth": 7.0, "RunningJobs": 2.0, "JobsProcessed": 0.0, "BacklogPerInstance": 9.0,
         "ActivityPerInstance": 9.0, "UnservedQueueDepth": 7.0})

    yield "globs and !q expand as Resque 3 does (*,!bulk,!other: books and covers, not .hidden-b)", (
        redis("SADD", "resque:queues", "bulk", ".hidden-b"), redis("RPUSH", "resque:queue:bulk", "{}"),
        redis("RPUSH", "resque:queue:.hidden-b", "{}"), _case(
            path, base, "fleet-glob", 1, "*,!bulk,!other",
            {"QueueDepth": 7.0, "RunningJobs": 2.0, "JobsProcessed": 0.0, "BacklogPerInstance": 9.0,
             "ActivityPerInstance": 9.0, "UnservedQueueDepth": 0.0}))[-1]

    yield "empty queues publish zeros (the alarms need real zeros, not missing data)", (
        redis("DEL", "resque:queue:nothing"), _case(
            path, base, "fleet-idle", 3, "nothing",
            {"QueueDepth": 0.0, "RunningJobs": 0.0, "JobsProcessed": 0.0, "BacklogPerInstance": 0.0,
             "ActivityPerInstance": 0.0, "UnservedQueueDepth": 0.0}))[-1]

    names, dims = published_units("fleet-two")
    yield "exactly the six contract metrics, each with the one dimension AutoScalingGroupName", (
        "" if names == sorted(METRICS) and all(d == [{"Name": "AutoScalingGroupName", "Value": "fleet-two"}] for d in dims)
        else "listed %s with %s" % (names, dims))

    # A wrong parameter name is an error that names it, and publishes nothing.
    make_group("fleet-badname", 1)
    mod = load(path, dict(base, QUIRE_FLEET_GROUP="fleet-badname", QUIRE_QUEUES="books",
                          QUIRE_REDIS_SSM="/quire/test/no-such"))
    try:
        mod.handler({}, None)
        reason = "the handler returned"
    except Exception as e:  # noqa: BLE001 - any error is what is tested
        reason = "" if "ParameterNotFound" in repr(e) or "no-such" in str(e) else "error does not name it: %r" % e
    if not reason and read_back("fleet-badname"):
        reason = "metrics were published anyway"
    yield "a wrong SSM parameter name fails clearly and publishes nothing", reason

    # A group that does not exist: an error naming it; the counters' sum is not advanced,
    # so the jobs of a failed minute are counted in the next one.
    mod = load(path, dict(base, QUIRE_FLEET_GROUP="fleet-missing", QUIRE_QUEUES="books"))
    try:
        mod.handler({}, None)
        reason = "the handler returned"
    except RuntimeError as e:
        reason = "" if "fleet-missing" in str(e) else "error does not name the group: %r" % e
    if not reason and redis("EXISTS", "resque:quire:metrics:fleet-missing:processed") != "0":
        reason = "the counters' sum was kept although nothing was published"
    yield "an unknown group fails, naming it, and keeps no state", reason

    # Redis down: an error, nothing published (the alarms then see missing data).
    ssm.put_parameter(Name="/quire/test/redis-down", Type="SecureString", Value="redis://127.0.0.1:1/0")
    make_group("fleet-down", 1)
    mod = load(path, dict(base, QUIRE_FLEET_GROUP="fleet-down", QUIRE_QUEUES="books",
                          QUIRE_REDIS_SSM="/quire/test/redis-down"))
    try:
        mod.handler({}, None)
        reason = "the handler returned"
    except OSError:
        reason = "" if not read_back("fleet-down") else "metrics were published anyway"
    yield "Redis unreachable fails and publishes nothing", reason

    # A wrong Redis password is Redis's own error.
    ssm.put_parameter(Name="/quire/test/redis-badpw", Type="SecureString",
                      Value="redis://:wrong@127.0.0.1:%s/2" % REDIS_PORT)
    mod = load(path, dict(base, QUIRE_FLEET_GROUP="fleet-down", QUIRE_QUEUES="books",
                          QUIRE_REDIS_SSM="/quire/test/redis-badpw"))
    try:
        mod.handler({}, None)
        reason = "the handler returned"
    except RuntimeError as e:
        reason = "" if str(e).startswith("Redis: ") else "unexpected error %r" % e
    yield "a wrong Redis password is reported as Redis's error", reason


def _case(path, base, group, instances, queues, want, existing=False):
    if not existing:
        make_group(group, instances)
    mod = load(path, dict(base, QUIRE_FLEET_GROUP=group, QUIRE_QUEUES=queues))
    with redirect_stdout(sys.stderr):  # the function's own log line
        returned = mod.handler({}, None)
    reason = expect({k: float(v) for k, v in returned.items()}, want)
    if reason:
        return "returned: " + reason
    reason = expect(read_back(group), want)
    return "read back: " + reason if reason else ""


def main():
    path = publisher_source()
    cases = run_cases(path)
    while True:
        try:
            name, reason = next(cases)
        except StopIteration:
            break
        except Exception:  # noqa: BLE001 - report, then stop: later cases depend on earlier setup
            print("harness\t%s" % traceback.format_exc().strip().replace("\n", " | "))
            break
        print("%s\t%s" % (name, reason))


if __name__ == "__main__":
    main()
