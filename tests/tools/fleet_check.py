#!/usr/bin/env python3
"""The worker in an Auto Scaling group, end to end: quire's own AWS calls
against moto (server mode) behind tests/tools/aws_endpoint.py, a fake IMDSv2
at 169.254.169.254 serving files of META_DIR, and a real redis-server, all in
the private network namespace tests/integration/test_fleet.sh made.

usage: fleet_check.py QUIRE REDIS_PORT MOTO_URL ENDPOINT_URL META_DIR IMDS_COUNT_URL WORKDIR LOG BOOK

Prints one line per case, "<case>\t<reason>" (empty reason: passed), and
exits 0. quire gets no AWS keys: its credentials come from the fake IMDS
through its own credential chain; boto3 talks to moto with test keys to set
up and read back. docs/operations/autoscale.md is the contract checked.
"""
import datetime
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import boto3

QUIRE, REDIS_PORT, MOTO, ENDPOINT, META, IMDS_COUNT, WORK, LOG, BOOK = sys.argv[1:10]
REGION = "us-east-1"
GROUP = "quire-test-workers"
NS = "resque"

os.environ.update({"AWS_ENDPOINT_URL": MOTO, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                   "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_EC2_METADATA_DISABLED": "true"})
asg = boto3.client("autoscaling")
cw = boto3.client("cloudwatch")
ssm = boto3.client("ssm")


def quire_env(**extra):
    """quire's environment: no keys, no region: both from the instance metadata service."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("QUIRE_")}
    env.update({"AWS_ENDPOINT_URL": ENDPOINT, "AWS_CONFIG_FILE": os.path.join(WORK, "no-config"),
                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(WORK, "no-credentials"),
                "HOME": WORK, "QUIRE_LOG_FORMAT": "text"})
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def quire(*args, timeout=60, **env):
    return subprocess.run([QUIRE, *args], capture_output=True, text=True, timeout=timeout, env=quire_env(**env))


def redis(*args):
    return subprocess.run(["redis-cli", "-p", REDIS_PORT, *args], capture_output=True, text=True,
                          timeout=10, check=True).stdout.strip()


def meta(path, value):
    full = os.path.join(META, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    if value is None:
        if os.path.exists(full):
            os.remove(full)
        return
    with open(full + ".tmp", "w") as f:
        f.write(value)
    os.rename(full + ".tmp", full)


def log_entries():
    try:
        with open(LOG) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def imds_count():
    with urllib.request.urlopen(IMDS_COUNT, timeout=5) as r:
        return json.load(r)


def pending(hook, instance):
    req = urllib.request.Request(ENDPOINT + "/_pending", method="POST", data=json.dumps(
        {"hook": hook, "group": GROUP, "instance": instance}).encode())
    urllib.request.urlopen(req, timeout=5).read()


def protected(instance):
    got = asg.describe_auto_scaling_instances(InstanceIds=[instance])["AutoScalingInstances"]
    return got[0]["ProtectedFromScaleIn"] if got else None


def wait(pred, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def job(book_id, rev):
    return json.dumps({"class": "Quire::ProcessBook",
                       "args": [{"book_id": book_id, "source": BOOK, "revision": rev}]})


def make_group():
    ec2 = boto3.client("ec2")
    ec2.create_launch_template(LaunchTemplateName="quire-test",
                               LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "c7i.large"})
    asg.create_auto_scaling_group(AutoScalingGroupName=GROUP, MinSize=0, MaxSize=4, DesiredCapacity=1,
                                  LaunchTemplate={"LaunchTemplateName": "quire-test"},
                                  AvailabilityZones=[REGION + "a"])
    inst = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"][0]["Instances"]
    return inst[0]["InstanceId"]


class Worker:
    def __init__(self, name, *args, **env):
        self.err = open(os.path.join(WORK, name + ".err"), "w")
        self.path = self.err.name
        self.p = subprocess.Popen(
            [QUIRE, "worker", "--redis", "redis://127.0.0.1:%s" % REDIS_PORT, "--queues", "books",
             "--store", os.path.join(WORK, "store"), "--interval", "0.2", "--threads", "1",
             "--admin", "off", "--fleet-poll", "0.3", "--fleet-heartbeat", "1", *args],
            stdout=subprocess.DEVNULL, stderr=self.err, env=quire_env(**env))

    def text(self):
        with open(self.path) as f:
            return f.read()

    def stop(self, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()
        finally:
            self.err.close()


def protected_first(w):
    """The protection was on before the job's child started (the slot waits for it): the
    agent logs it before it lets the slot go on, and the slot logs the child after its fork."""
    wait(lambda: ": child " in w.text(), 60)
    text = w.text()
    on, child = text.find("scale-in protection on"), text.find(": child ")
    return on >= 0 and child >= 0 and on < child


def running():
    return redis("SMEMBERS", NS + ":quire:processing") != ""


def cases():
    # ---- fleet ready, off EC2 and on it -------------------------------------------------
    r = quire("fleet", "ready", QUIRE_FLEET="off")
    yield "fleet ready with QUIRE_FLEET=off does nothing, exit 0", (
        "" if r.returncode == 0 and "nothing to do" in r.stdout else "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    before = imds_count()["token"]
    r = quire("fleet", "ready")
    after = imds_count()["token"]
    yield "fleet ready in auto mode on a machine that is not EC2 (DMI) sends no metadata request", (
        "" if r.returncode == 0 and "not an EC2 instance" in r.stdout and after == before
        else "rc %d, %d token request(s): %s%s" % (r.returncode, after - before, r.stdout, r.stderr))

    r = quire("fleet", "ready", QUIRE_FLEET="on")
    yield "fleet ready with QUIRE_FLEET=on and no instance id fails clearly", (
        "" if r.returncode != 0 and "instance metadata" in r.stderr else "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    instance = make_group()
    meta("instance-id", instance)
    meta("placement/region", REGION)
    pending("quire-converged", instance)
    r = quire("fleet", "ready", QUIRE_FLEET="on")
    done = [e for e in log_entries() if e["action"] == "CompleteLifecycleAction" and e["status"] == 200]
    want = {"LifecycleHookName": "quire-converged", "AutoScalingGroupName": GROUP, "InstanceId": instance,
            "LifecycleActionResult": "CONTINUE"}
    reason = ""
    if r.returncode != 0:
        reason = "rc %d: %s" % (r.returncode, r.stderr)
    elif len(done) != 1 or done[0]["params"] != want:
        reason = "completions: %s" % done
    elif not any(e["action"] == "DescribeAutoScalingInstances" for e in log_entries()):
        reason = "the group was not asked of Auto Scaling"
    yield "fleet ready completes quire-converged (CONTINUE) for this instance and its group, found through DescribeAutoScalingInstances", reason

    envfile = os.path.join(WORK, "quire.env")
    with open(envfile, "w") as f:
        f.write("# as the cookbook writes it\nQUIRE_FLEET=on\nQUIRE_FLEET_GROUP=\"%s\"\n" % GROUP)
    r = quire("fleet", "ready", "--env-file", envfile)
    yield "fleet ready --env-file a second time (no action waits) is success", (
        "" if r.returncode == 0 and "no quire-converged action waits" in r.stdout
        else "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    # ---- secrets from SSM ------------------------------------------------------------------
    keyfile = os.path.join(WORK, "service.key")
    subprocess.run([QUIRE, "keys", "generate", "-o", keyfile], check=True, capture_output=True, timeout=30)
    with open(keyfile) as f:
        ssm.put_parameter(Name="/quire/test/service-key", Type="SecureString", Value=f.read())
    os.remove(keyfile)
    ssm.put_parameter(Name="/quire/test/callback", Type="SecureString", Value="c" * 40)
    ssm.put_parameter(Name="/quire/test/redis", Type="SecureString", Value="redis://127.0.0.1:%s/0" % REDIS_PORT)

    w = Worker("nosuch", "--key-ssm", "/quire/test/no-such-key", QUIRE_FLEET="on")
    rc = w.p.wait(60)
    text = w.text()
    w.stop()
    yield "a key named in SSM that does not exist stops the worker at start, naming it and the error code", (
        "" if rc != 0 and "/quire/test/no-such-key" in text and "ParameterNotFound" in text
        else "rc %d: %s" % (rc, text[-500:]))

    # ---- protection around a job, and the job's processed counter -------------------------
    asg.set_instance_protection(InstanceIds=[instance], AutoScalingGroupName=GROUP, ProtectedFromScaleIn=True)
    w = Worker("protect", "--key-ssm", "/quire/test/service-key", "--callback-secret-ssm", "/quire/test/callback",
               "--redis-ssm", "/quire/test/redis", QUIRE_FLEET="on")
    off_at_start = wait(lambda: protected(instance) is False, 30)
    yield "the worker clears a protection left on at start (the instance is idle)", (
        "" if off_at_start else "still protected: %s" % w.text()[-800:])

    redis("RPUSH", NS + ":queue:books", job("fleet-a", "r1"))
    redis("SADD", NS + ":queues", "books")
    saw_running = wait(running, 60)
    # The processing list fills at the reserve, a moment before the slot asks for protection.
    prot_running = wait(lambda: protected(instance), 10)
    yield "protected from scale-in while the job runs, from before its child started", (
        "" if saw_running and prot_running and protected_first(w) else
        "running %s, protected %s: %s" % (saw_running, prot_running, w.text()[-800:]))

    finished = wait(lambda: os.path.exists(os.path.join(WORK, "store/books/fleet-a/r1/manifest.json")), 300)
    off_after = wait(lambda: protected(instance) is False, 30)
    yield "unprotected once the job is done and the queue is empty", (
        "" if finished and off_after else "finished %s, protected %s: %s" % (finished, protected(instance), w.text()[-800:]))

    yield "the done step counts the job per queue (quire:processed)", (
        "" if redis("HGET", NS + ":quire:processed", "books") == "1" else
        "HGET gives %r" % redis("HGET", NS + ":quire:processed", "books"))

    # The key lives in SSM only; the check takes a copy for quire verify.
    keyfile = os.path.join(WORK, "verify.key")
    with open(os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(ssm.get_parameter(Name="/quire/test/service-key", WithDecryption=True)["Parameter"]["Value"])
    v = subprocess.run([QUIRE, "verify", os.path.join(WORK, "store"), "--prefix", "books/fleet-a/r1",
                        "--key-file", keyfile], capture_output=True, text=True, timeout=120)
    yield "the package made with the key read from SSM verifies", (
        "" if v.returncode == 0 else "verify rc %d: %s" % (v.returncode, v.stderr[-300:]))

    # ---- the terminating hook: stop taking jobs, heartbeat, finish, complete --------------
    redis("RPUSH", NS + ":queue:books", job("fleet-b", "r1"))
    redis("RPUSH", NS + ":queue:books", job("fleet-c", "r1"))
    saw_running = wait(running, 60)
    pending("quire-drain", instance)
    meta("autoscaling/target-lifecycle-state", "Terminated")
    try:
        rc = w.p.wait(600)
    except subprocess.TimeoutExpired:
        rc = None
    text = w.text()
    w.stop()
    entries = log_entries()
    beats = [e for e in entries if e["action"] == "RecordLifecycleActionHeartbeat"]
    completes = [e for e in entries if e["action"] == "CompleteLifecycleAction" and
                 e.get("params", {}).get("LifecycleHookName") == "quire-drain"]
    reasons = []
    if rc != 0:
        reasons.append("worker rc %s" % rc)
    if not os.path.exists(os.path.join(WORK, "store/books/fleet-b/r1/manifest.json")):
        reasons.append("the job in hand did not finish")
    if os.path.exists(os.path.join(WORK, "store/books/fleet-c")):
        reasons.append("a new job was taken after Terminated")
    if redis("LLEN", NS + ":queue:books") != "1":
        reasons.append("the queue holds %s jobs, not the one left" % redis("LLEN", NS + ":queue:books"))
    if not beats:
        reasons.append("no heartbeat while the job ran")
    bad = [e for e in beats + completes if e["signature"] != "ok" or e.get("model") != "ok" or e["status"] != 200]
    if bad:
        reasons.append("rejected by the endpoint: %s" % bad)
    want = {"LifecycleHookName": "quire-drain", "AutoScalingGroupName": GROUP, "InstanceId": instance}
    if any(e["params"] != want for e in beats):
        reasons.append("heartbeat parameters: %s" % beats[0]["params"])
    if len(completes) != 1 or completes[0]["params"] != dict(want, LifecycleActionResult="CONTINUE"):
        reasons.append("completions: %s" % completes)
    elif beats and completes[0]["at"] < beats[-1]["at"]:
        reasons.append("completed before the last heartbeat")
    else:
        done_at = os.path.getmtime(os.path.join(WORK, "store/books/fleet-b/r1/manifest.json"))
        at = datetime.datetime.fromisoformat(completes[0]["at"]).timestamp()
        if at < done_at:
            reasons.append("completed %.1f s before the job's manifest was written" % (done_at - at))
    if reasons:
        reasons.append(text[-1500:])
    yield "Terminated: no new job, the job in hand finishes, heartbeats meanwhile, then CONTINUE and exit 0 (%d heartbeat(s))" % len(beats), "; ".join(reasons)

    # ---- queue metrics -----------------------------------------------------------------------
    r = quire("metrics", "publish", "--once", "--group", GROUP, "--queues", "books",
              "--redis", "redis://127.0.0.1:%s/0" % REDIS_PORT)
    got = {}
    if r.returncode == 0:
        now = datetime.datetime.now(datetime.timezone.utc)
        names = ["QueueDepth", "RunningJobs", "JobsProcessed", "BacklogPerInstance", "ActivityPerInstance",
                 "UnservedQueueDepth"]
        res = cw.get_metric_data(MetricDataQueries=[{"Id": "m%d" % i, "MetricStat": {"Metric": {
            "Namespace": "Quire", "MetricName": m, "Dimensions": [{"Name": "AutoScalingGroupName", "Value": GROUP}]},
            "Period": 60, "Stat": "Maximum"}} for i, m in enumerate(names)],
            StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=2))
        got = {names[int(x["Id"][1:])]: x["Values"][0] for x in res["MetricDataResults"] if x["Values"]}
    want = {"QueueDepth": 1.0, "RunningJobs": 0.0, "JobsProcessed": 0.0, "BacklogPerInstance": 1.0,
            "ActivityPerInstance": 1.0, "UnservedQueueDepth": 0.0}
    yield "metrics publish --once: the six metrics read back with GetMetricData", (
        "" if got == want else "rc %d, got %s: %s" % (r.returncode, got, r.stderr[-300:]))

    state = redis("GET", NS + ":quire:metrics:%s:processed" % GROUP)
    yield "the done counters' sum is kept for the next publish", "" if state == "2" else "kept %r" % state

    r = quire("metrics", "publish", "--once", "--group", "no-such-group", "--queues", "books",
              "--redis", "redis://127.0.0.1:%s/0" % REDIS_PORT)
    yield "metrics publish for a group that does not exist fails naming it and keeps no state", (
        "" if r.returncode != 0 and "no-such-group" in r.stderr and
        redis("EXISTS", NS + ":quire:metrics:no-such-group:processed") == "0"
        else "rc %d: %s" % (r.returncode, r.stderr))

    # ---- --slots 2: the supervisor's agent does it for the instance --------------------------
    meta("autoscaling/target-lifecycle-state", "InService")
    w = Worker("slots", "--slots", "2", "--key-ssm", "/quire/test/service-key", QUIRE_FLEET="on")
    saw_running = wait(running, 60)  # fleet-c, left in the queue by the drain above
    prot_running = wait(lambda: protected(instance), 10)
    finished = wait(lambda: os.path.exists(os.path.join(WORK, "store/books/fleet-c/r1/manifest.json")), 300)
    off_after = wait(lambda: protected(instance) is False, 30)
    yield "--slots 2: protected while a slot runs a job (from before its child started), unprotected when both are idle", (
        "" if saw_running and prot_running and protected_first(w) and finished and off_after else
        "running %s, protected %s, finished %s, off after %s: %s" % (
            saw_running, prot_running, finished, off_after, w.text()[-800:]))

    redis("RPUSH", NS + ":queue:books", job("fleet-d", "r1"))
    saw_running = wait(running, 60)
    pending("quire-drain", instance)
    meta("autoscaling/target-lifecycle-state", "Terminated")
    try:
        rc = w.p.wait(600)
    except subprocess.TimeoutExpired:
        rc = None
    text = w.text()
    w.stop()
    completes = [e for e in log_entries() if e["action"] == "CompleteLifecycleAction" and
                 e.get("params", {}).get("LifecycleHookName") == "quire-drain" and e["status"] == 200]
    agents = text.count("agent pid")
    reasons = []
    if rc != 0:
        reasons.append("supervisor rc %s" % rc)
    if not os.path.exists(os.path.join(WORK, "store/books/fleet-d/r1/manifest.json")):
        reasons.append("the job in hand did not finish")
    if len(completes) != 2:
        reasons.append("%d drain completions in all (want 2)" % len(completes))
    if agents != 1:
        reasons.append("%d fleet agents started (want 1, the supervisor's)" % agents)
    if reasons:
        reasons.append(text[-1500:])
    yield "--slots 2: Terminated drains every slot, then one CONTINUE from the supervisor's agent", "; ".join(reasons)

    unsigned = [e for e in log_entries() if e["signature"] != "ok"]
    yield "every request quire sent was signed as botocore signs it (%d requests)" % len(log_entries()), (
        "" if not unsigned else "bad: %s" % unsigned[:3])


def main():
    for name, reason in cases():
        print("%s\t%s" % (name, " | ".join(reason.splitlines())), flush=True)


if __name__ == "__main__":
    main()
