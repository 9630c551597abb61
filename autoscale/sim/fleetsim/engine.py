"""The fleet simulation: a queue, workers on instances, CloudWatch alarms and an
Auto Scaling group, advanced from event to event (no fixed tick), seeded.

Auto Scaling, as documented (awsdocs/amazon-ec2-auto-scaling-user-guide,
doc_source/as-scaling-simple-step.md, ec2-auto-scaling-instance-protection.md,
as-instance-termination.md, lifecycle hooks in deploy-autoscale.md 2.4):
- Step scaling: the metric value minus the threshold picks the step (above the
  threshold the lower bound is inclusive and the upper exclusive; below it the
  other way round); ChangeInCapacity / ExactCapacity / PercentChangeInCapacity
  (rounding: above 1 down, (0, 1) to 1, (-1, 0) to -1, below -1 up;
  MinAdjustmentMagnitude), then MinSize/MaxSize.
- Warm-up: while scaling out, instances still launching or warming up are not
  part of the current capacity, so new desired = max(desired, warm InService +
  adjustment), and repeated breaches in one step add nothing; warming instances
  are left out of the group's CPU metric. While scaling in, terminating
  instances count, so desired = min(desired, InService + Terminating +
  adjustment). A scale-in cannot start while a scale-out is in progress
  (an instance launching or warming up).
- Desired below the instances in service: unprotected InService instances are
  terminated, chosen by the default termination policy (the Availability Zone
  with the most instances, then the instance closest to its next billing hour,
  then at random); protected ones are skipped, and when all are protected the
  desired capacity still drops and the group terminates them as soon as their
  protection is removed.
- Lifecycle: launch, Pending (boot, then the converge, held by the launching
  hook), InService (warm-up from here), Terminating (with a terminating hook:
  Terminating:Wait until the worker completes it, or the global timeout
  min(48 h, 100 x HeartbeatTimeout)), Terminated; billed from launch to
  termination.

The worker (quire worker, one process per slot), as docs/operations/worker.md
and the fleet contract in docs/operations/autoscale.md say: an idle slot polls
the queue every `poll_s` seconds and takes the next job as soon as the last one
finishes; with protection on, the instance is protected `api_latency_s` after a
slot takes a job and unprotected the same delay after every slot is idle. On
termination:
- "hook": the worker sees Terminating:Wait within `imds_poll_s`, takes no new
  job, finishes the jobs in hand (heartbeating the hook) and completes it;
- "term-drain": quire worker without the fleet: SIGTERM at shutdown, the jobs in
  hand get `drain_timeout_s` to finish, then are killed and requeued at the head
  of their queue;
- "term-kill": Ruby Resque's TERM: the child is killed at once, the job is lost
  (a Resque::DirtyExit failure, not retried).
"""
import math
import random

from .cloudwatch import Alarm, Metrics

PENDING, INSERVICE, TERMINATING, TERMINATED = "Pending", "InService", "Terminating", "Terminated"
INF = float("inf")


class Config:
    """Everything the simulation assumes that the template does not say."""

    def __init__(self, **kw):
        self.slots = 1
        self.protection = True
        self.termination = "hook"  # hook | term-drain | term-kill
        self.publisher = True
        self.boot_s = 60.0  # EC2 launch to user data done (SSM agent installed)
        self.converge_s = 180.0  # AWS-ApplyChefRecipes: Chef client, quire package, deploy
        self.startup_jitter = 0.2  # each of the two varies uniformly by +-20 %
        self.shutdown_s = 20.0  # OS shutdown to Terminated
        self.poll_s = 5.0  # quire worker --interval
        self.imds_poll_s = 5.0  # how often the worker reads target-lifecycle-state
        self.api_latency_s = 1.0  # SetInstanceProtection taking effect
        self.drain_timeout_s = 30.0  # quire worker --drain-timeout (term-drain)
        self.idle_cpu = 1.0  # % CPU of an idle instance
        self.ec2_lag_s = 60.0  # an EC2 datapoint is complete this long after its period
        self.quire_lag_s = 0.0  # the publisher's datapoints are final when published
        self.azs = 2
        self.job_scale = 1.0  # jobs this many times longer than measured (a what-if, not quire)
        self.job_jitter = 0.05  # sigma of each job's log-normal time factor
        self.publisher_offset = None  # seconds into each minute the publisher runs; None: seeded random
        self.poll_phase = None  # seconds after InService of a slot's first poll; None: seeded random
        self.seed = 1
        for k, v in kw.items():
            if not hasattr(self, k):
                raise KeyError("no simulation setting %s" % k)
            setattr(self, k, v)


class Instance:
    def __init__(self, iid, az, launched, ready_at, warmup):
        self.id, self.az, self.launched, self.ready_at = iid, az, launched, ready_at
        self.warm_until = ready_at + warmup
        self.state = PENDING
        self.slots = []  # per slot: job or None
        self.next_poll = []
        self.protected = False
        self.protect_change = None  # (time, value)
        self.terminating_since = None
        self.notice_at = None  # when the worker sees Terminating:Wait (hook)
        self.term_signal_at = None  # SIGTERM (no hook)
        self.kill_at = None
        self.terminated_at = None
        self.cpu_acc = 0.0  # %-seconds in the current minute
        self.cpu_since = None
        self.progress_t = None
        self.killed_jobs = 0

    def busy(self):
        return any(j is not None for j in self.slots)

    def cpu_now(self, idle_cpu):
        demand = sum(j.cpu for j in self.slots if j is not None)
        return min(100.0, idle_cpu + 100.0 * demand)

    def rate(self):
        demand = sum(j.cpu for j in self.slots if j is not None)
        return 1.0 / max(1.0, demand)


class Result:
    def __init__(self):
        self.jobs = []
        self.instances = []
        self.events = []  # (t, kind, detail)
        self.series = []  # (t, instances, in_service, desired, queued, running)
        self.scale_events = 0
        self.launches = 0
        self.terminations = 0
        self.busy_terminated = 0
        self.busy_picked = 0
        self.horizon = 0.0


def round_percent(x):
    """The guide's rounding of a percentage adjustment: away from zero below 1, toward it above."""
    if x >= 1:
        return math.floor(x)
    if 0 < x < 1:
        return 1
    if -1 < x < 0:
        return -1
    if x <= -1:
        return math.ceil(x)
    return 0


def step_for(steps, diff):
    """The adjustment of the step that `diff` (metric - threshold) falls in, or None."""
    for lo, hi, adj in steps:
        if diff >= 0:
            ok = (lo is None or diff >= lo) and (hi is None or diff < hi)
        else:
            ok = (lo is None or diff > lo) and (hi is None or diff <= hi)
        if ok:
            return adj
    return None


def adjusted(policy, current, adj):
    kind = policy["adjustment_type"]
    if kind == "ExactCapacity":
        return adj
    if kind == "ChangeInCapacity":
        return current + adj
    if kind == "PercentChangeInCapacity":
        delta = round_percent(current * adj / 100.0)
        mam = policy.get("min_adjustment_magnitude")
        if mam and abs(delta) < mam:
            delta = mam if delta > 0 else -mam
        return current + delta
    raise ValueError("adjustment type %s" % kind)


def cron_matches(expr, t):
    """Cron (minute hour day month weekday) at t seconds; t = 0 is a Monday 00:00 UTC."""
    minute = int(t // 60)
    fields = [minute % 60, (minute // 60) % 24, (minute // 1440) % 30 + 1, 1, ((minute // 1440) + 1) % 7]
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError("cron %r" % expr)
    for part, value in zip(parts, fields):
        ok = False
        for item in part.split(","):
            if item == "*":
                ok = True
            elif "-" in item:
                a, b = item.split("-")
                ok = ok or int(a) <= value <= int(b)
            else:
                ok = ok or int(item) == value
        if not ok:
            return False
    return True


class Simulation:
    def __init__(self, rules, config, trace, model):
        self.rules, self.cfg, self.trace = rules, config, trace
        self.rng = random.Random(config.seed)
        self.jobs = trace.jobs(model, random.Random(config.seed + 1), config.job_jitter)
        for j in self.jobs:
            j.work *= config.job_scale
            j.remaining = j.work
        self.pending_arrivals = sorted(self.jobs, key=lambda j: j.arrival)
        self.queue = []
        self.instances = []
        self.metrics = Metrics()
        self.min_size, self.max_size = rules.min_size, rules.max_size
        self.desired = rules.min_size
        self.alarms = []
        for spec in rules.alarms.values():
            if spec["namespace"] == "Quire" and not config.publisher:
                continue
            lag = config.ec2_lag_s if spec["namespace"] == "AWS/EC2" else config.quire_lag_s
            self.alarms.append(Alarm(spec, (spec["namespace"], spec["metric"]), lag))
        hook = rules.hooks.get("autoscaling:EC2_INSTANCE_TERMINATING")
        if config.termination == "hook" and hook is None:
            raise ValueError("termination 'hook' needs a TERMINATING lifecycle hook in the template")
        self.hook_global = None if hook is None else min(172800.0, 100 * hook["heartbeat"])
        offset = self.rng.uniform(0, 60) if config.publisher_offset is None else config.publisher_offset
        self.next_publish = offset if config.publisher else INF
        self.next_minute = 60.0
        self.finished_since_publish = 0
        self.res = Result()
        self.res.horizon = trace.horizon
        self.next_id = 0
        self.t = 0.0
        self.warmup_default = rules.default_warmup if rules.default_warmup is not None else rules.default_cooldown
        # The group starts at MinSize, in service and warm.
        for _ in range(self.desired):
            inst = self.launch(0.0, 0.0, warm=True)
            self.become_inservice(inst, 0.0)

    # -- instances -----------------------------------------------------------
    def launch(self, t, warmup, warm=False):
        counts = [sum(1 for i in self.instances if i.az == a and i.state != TERMINATED) for a in range(self.cfg.azs)]
        az = counts.index(min(counts))
        j = self.cfg.startup_jitter
        startup = 0.0 if warm else (self.cfg.boot_s * self.rng.uniform(1 - j, 1 + j)
                                    + self.cfg.converge_s * self.rng.uniform(1 - j, 1 + j))
        inst = Instance("i-%04d" % self.next_id, az, t, t + startup, 0.0 if warm else warmup)
        self.next_id += 1
        self.instances.append(inst)
        if not warm:
            self.res.launches += 1
        self.log(t, "launch", inst.id)
        return inst

    def become_inservice(self, inst, t):
        inst.state = INSERVICE
        inst.slots = [None] * self.cfg.slots
        inst.next_poll = [t + (self.rng.uniform(0, self.cfg.poll_s) if self.cfg.poll_phase is None else self.cfg.poll_phase)
                          for _ in range(self.cfg.slots)]
        inst.cpu_since = t
        inst.progress_t = t
        self.log(t, "inservice", inst.id)

    def active(self):
        return [i for i in self.instances if i.state in (PENDING, INSERVICE)]

    def in_service(self):
        return [i for i in self.instances if i.state == INSERVICE]

    def log(self, t, kind, detail):
        self.res.events.append((t, kind, detail))

    # -- scaling -------------------------------------------------------------
    def set_desired(self, t, value, why):
        value = max(self.min_size, min(self.max_size, value))
        if value != self.desired:
            self.log(t, "desired", "%d -> %d (%s)" % (self.desired, value, why))
            self.desired = value
            self.res.scale_events += 1

    def scale_out_in_progress(self, t):
        return any(i.state == PENDING or (i.state == INSERVICE and t < i.warm_until) for i in self.instances)

    def execute(self, t, policy, alarm, value):
        adj = step_for(policy["steps"], value - alarm.spec["threshold"])
        if adj is None:
            return
        warmup = policy["warmup"] if policy["warmup"] is not None else self.warmup_default
        if adj > 0 or policy["adjustment_type"] == "ExactCapacity" and adj > self.desired:
            base = sum(1 for i in self.in_service() if t >= i.warm_until)
            new = max(self.min_size, min(self.max_size, adjusted(policy, base, adj)))
            if new > self.desired:
                self.set_desired(t, new, policy["name"])
                self.reconcile(t, warmup)
        elif adj < 0 or policy["adjustment_type"] == "ExactCapacity":
            if self.scale_out_in_progress(t):
                return
            base = sum(1 for i in self.instances if i.state in (INSERVICE, TERMINATING))
            new = max(self.min_size, min(self.max_size, adjusted(policy, base, adj)))
            if new < self.desired:
                self.set_desired(t, new, policy["name"])
                self.reconcile(t, warmup)

    def reconcile(self, t, warmup=None):
        active = self.active()
        if len(active) < self.desired:
            w = self.warmup_default if warmup is None else warmup
            for _ in range(self.desired - len(active)):
                self.launch(t, w)
            return
        excess = len(active) - self.desired
        while excess > 0:
            candidates = [i for i in self.in_service() if not i.protected]
            if not candidates:
                candidates = [i for i in self.active() if i.state == PENDING and not i.protected]
            if not candidates:
                return
            victim = self.choose_victim(t, candidates)
            self.begin_termination(t, victim)
            excess -= 1

    def choose_victim(self, t, candidates):
        per_az = {}
        for i in self.active():
            per_az[i.az] = per_az.get(i.az, 0) + 1
        top = max(per_az.get(c.az, 0) for c in candidates)
        cands = [c for c in candidates if per_az.get(c.az, 0) == top]
        closest = max(((t - c.launched) % 3600.0) for c in cands)
        cands = [c for c in cands if abs(((t - c.launched) % 3600.0) - closest) < 1e-9]
        return cands[self.rng.randrange(len(cands))] if len(cands) > 1 else cands[0]

    def begin_termination(self, t, inst):
        self.settle_cpu(inst, t)
        inst.state = TERMINATING
        inst.terminating_since = t
        self.res.terminations += 1
        if inst.busy():
            self.res.busy_picked += 1
        self.log(t, "terminate", "%s%s" % (inst.id, " busy" if inst.busy() else ""))
        mode = self.cfg.termination
        if mode == "hook":
            inst.notice_at = t + self.rng.uniform(0, self.cfg.imds_poll_s)
            inst.kill_at = t + self.hook_global
        else:
            inst.term_signal_at = t
            inst.kill_at = t + (self.cfg.drain_timeout_s if mode == "term-drain" else 0.0)

    def finish_termination(self, t, inst):
        killed = [j for j in inst.slots if j is not None]
        if killed:
            self.res.busy_terminated += 1
            inst.killed_jobs += len(killed)
        for j in killed:
            j.instance = None
            if self.cfg.termination == "term-kill":
                j.lost = True
                self.log(t, "lost", "job %d" % j.id)
            else:
                j.remaining = j.work  # requeued at the head, restarts from scratch
                j.started = None
                self.queue.insert(0, j)
                self.log(t, "requeued", "job %d" % j.id)
        inst.slots = [None] * len(inst.slots)
        inst.state = TERMINATED
        inst.terminated_at = t + self.cfg.shutdown_s
        self.log(t, "terminated", inst.id)

    # -- jobs ----------------------------------------------------------------
    def take(self, inst, slot, t):
        job = self.queue.pop(0)
        self.settle_cpu(inst, t)
        self.apply_progress(inst, t)
        job.started = t
        job.attempts += 1
        job.instance = inst
        inst.slots[slot] = job
        self.update_protection(inst, t)

    def update_protection(self, inst, t):
        if not self.cfg.protection:
            return
        want = inst.busy()
        target = inst.protect_change[1] if inst.protect_change else inst.protected
        if want != target:
            inst.protect_change = (t + self.cfg.api_latency_s, want)

    def apply_progress(self, inst, t):
        since = inst.progress_t
        if since is not None and t > since:
            r = inst.rate()
            for j in inst.slots:
                if j is not None:
                    j.remaining -= (t - since) * r
        inst.progress_t = t

    def settle_cpu(self, inst, t):
        if inst.state != INSERVICE or inst.cpu_since is None:
            return
        inst.cpu_acc += inst.cpu_now(self.cfg.idle_cpu) * (t - inst.cpu_since)
        inst.cpu_since = t

    # -- the per-minute work -------------------------------------------------
    def minute(self, t):
        # CPU of the minute that just ended, from InService instances past warm-up.
        for inst in self.instances:
            if inst.state != INSERVICE:
                inst.cpu_acc = 0.0
                continue
            self.settle_cpu(inst, t)
            if inst.warm_until <= t - 60:
                self.metrics.put(("AWS/EC2", "CPUUtilization"), t - 60, inst.cpu_acc / 60.0)
            inst.cpu_acc = 0.0
        for s in self.rules.scheduled:
            if cron_matches(s["recurrence"], t):
                if s["min"] is not None:
                    self.min_size = s["min"]
                if s["max"] is not None:
                    self.max_size = s["max"]
                target = s["desired"] if s["desired"] is not None else self.desired
                self.set_desired(t, max(self.min_size, min(self.max_size, target)), s["name"])
                self.reconcile(t)
        for alarm in self.alarms:
            value = alarm.tick(self.metrics, t)
            if value is not None:
                for name in alarm.spec["actions"]:
                    self.execute(t, self.rules.policies[name], alarm, value)
        if self.desired < self.min_size:
            self.set_desired(t, self.min_size, "MinSize")
        self.reconcile(t)
        running = sum(1 for i in self.instances for j in i.slots if j is not None)
        self.res.series.append((t, len(self.active()), len(self.in_service()), self.desired, len(self.queue), running))

    def publish(self, t):
        queued = len(self.queue)
        running = sum(1 for i in self.instances for j in i.slots if j is not None)
        done, self.finished_since_publish = self.finished_since_publish, 0
        n = len(self.in_service())
        for name, v in (("QueueDepth", queued), ("RunningJobs", running), ("JobsProcessed", done),
                        ("BacklogPerInstance", (queued + running) / max(n, 1)),
                        ("ActivityPerInstance", (queued + running + done) / max(n, 1)),
                        ("UnservedQueueDepth", queued if n == 0 else 0)):
            self.metrics.put(("Quire", name), t, float(v))

    # -- the loop ------------------------------------------------------------
    def can_take(self, inst, t):
        """Whether the instance's worker takes new jobs at t."""
        if inst.state == INSERVICE:
            return True
        return (inst.state == TERMINATING and self.cfg.termination == "hook"
                and inst.notice_at is not None and t < inst.notice_at)

    def next_event(self):
        cands = [self.next_minute, self.next_publish]
        if self.pending_arrivals:
            cands.append(self.pending_arrivals[0].arrival)
        for inst in self.instances:
            if inst.state == PENDING:
                cands.append(inst.ready_at)
            if inst.state not in (INSERVICE, TERMINATING):
                continue
            r = inst.rate()
            for k, j in enumerate(inst.slots):
                if j is not None:
                    cands.append(inst.progress_t + max(0.0, j.remaining) / r)
                elif self.queue and self.can_take(inst, self.t):
                    cands.append(inst.next_poll[k])
            if inst.protect_change:
                cands.append(inst.protect_change[0])
            if inst.state == TERMINATING:
                if inst.notice_at is not None and inst.notice_at > self.t:
                    cands.append(inst.notice_at)
                cands.append(inst.kill_at)
            elif inst.warm_until > self.t:
                cands.append(inst.warm_until)
        return min(cands)

    def step(self, t):
        """Everything due at t, until nothing more changes."""
        eps = 1e-9
        while self.pending_arrivals and self.pending_arrivals[0].arrival <= t + eps:
            self.queue.append(self.pending_arrivals.pop(0))
        changed = True
        while changed:
            changed = False
            for inst in list(self.instances):
                if inst.state == PENDING and inst.ready_at <= t + eps:
                    self.become_inservice(inst, t)
                    changed = True
                if inst.state not in (INSERVICE, TERMINATING):
                    continue
                for k, j in enumerate(inst.slots):
                    if j is not None and j.remaining <= 1e-6:
                        self.settle_cpu(inst, t)
                        j.finished = t
                        self.finished_since_publish += 1
                        j.instance = None
                        inst.slots[k] = None
                        inst.next_poll[k] = t  # the worker reserves the next job at once
                        self.update_protection(inst, t)
                        changed = True
                if inst.protect_change and inst.protect_change[0] <= t + eps:
                    inst.protected = inst.protect_change[1]
                    inst.protect_change = None
                    changed = True
                if self.can_take(inst, t):
                    for k, j in enumerate(inst.slots):
                        if j is not None or inst.next_poll[k] > t + eps:
                            continue
                        if not self.queue:
                            inst.next_poll[k] = t + self.cfg.poll_s
                            continue
                        # The polls since next_poll found the queue empty (a poll that finds a
                        # job is an event): the slot takes the job at its first poll from now.
                        late = t - inst.next_poll[k]
                        if late > eps:
                            inst.next_poll[k] += math.ceil(late / self.cfg.poll_s - eps) * self.cfg.poll_s
                        if inst.next_poll[k] <= t + eps:
                            self.take(inst, k, t)
                            changed = True
                if inst.state == TERMINATING:
                    drained = not inst.busy()
                    if self.cfg.termination == "hook":
                        done = (inst.notice_at <= t + eps and drained) or inst.kill_at <= t + eps
                    else:
                        done = drained or inst.kill_at <= t + eps
                    if done:
                        self.finish_termination(t, inst)
                        changed = True
            if changed:
                self.reconcile(t)
        if self.next_publish <= t + eps:
            self.publish(t)
            self.next_publish += 60.0
        if self.next_minute <= t + eps:
            self.minute(t)
            self.next_minute += 60.0

    def run(self):
        stuck = 0
        while True:
            t = max(self.next_event(), self.t)
            if t > self.trace.horizon:
                break
            stuck = stuck + 1 if t == self.t else 0
            if stuck > 10000:
                raise RuntimeError("the simulation does not advance at t=%.3f" % t)
            for inst in self.instances:
                if inst.state in (INSERVICE, TERMINATING):
                    self.apply_progress(inst, t)
            self.t = t
            self.step(t)
        for inst in self.instances:
            self.settle_cpu(inst, self.trace.horizon)
        self.res.jobs = self.jobs
        self.res.instances = self.instances
        return self.res
