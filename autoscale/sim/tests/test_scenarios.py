"""Whole simulations small enough to compute by hand, on the rules read from the template."""
import os
import subprocess
import sys
import unittest

from helpers import MEASUREMENTS, SIM, add_instance, config, flat_model, rules, sim

from fleetsim.cloudwatch import Metrics
from fleetsim.policies import POLICIES, by_name
from fleetsim.report import Summary
from fleetsim.workload import JobModel, standard_traces

QUEUE = ("BacklogHighAlarm", "ActivityLowAlarm", "FromZeroAlarm")


class TinyTrace(unittest.TestCase):
    def test_one_instance_three_jobs(self):
        """MinSize 1, one slot, three 10 s jobs at 0, 1 and 2 s, polling from t = 0: they run
        back to back, 0-10, 10-20, 20-30, so they wait 0, 9 and 18 s; the first minute's CPU is
        30 s at 1 + 50 % and 30 s at 1 %: 26 %."""
        r = rules({"MinSize": 1})
        s = sim(r, config(), [(0.0, 5.0), (1.0, 5.0), (2.0, 5.0)], 600, model=flat_model(10.0, 0.5))
        res = s.run()
        self.assertEqual([(j.started, j.finished) for j in res.jobs], [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)])
        cpu = s.metrics.datapoint(("AWS/EC2", "CPUUtilization"), 0, 60, "Average")
        self.assertAlmostEqual(cpu, (30 * 51.0 + 30 * 1.0) / 60.0)
        self.assertEqual(res.launches, 0)  # the MinSize instance was there from the start

    def test_idle_slot_polls(self):
        """A job arriving while the slot waits is taken at the next poll (every 5 s)."""
        r = rules({"MinSize": 1})
        res = sim(r, config(), [(7.0, 5.0)], 120).run()
        self.assertEqual(res.jobs[0].started, 10.0)

    def test_publisher_metrics(self):
        """Two instances, five 100 s jobs at t = 0: the publisher (10 s into each minute)
        sees 3 queued and 2 running; at 70 s, the same; JobsProcessed counts finishes."""
        r = rules({"MinSize": 2, "MaxSize": 2})
        s = sim(r, config(), [(0.0, 5.0)] * 5, 400, model=flat_model(100.0, 0.9))
        s.run()
        get = lambda name, t: s.metrics.datapoint(("Quire", name), t, 60, "Maximum")  # noqa: E731
        self.assertEqual((get("QueueDepth", 0), get("RunningJobs", 0), get("BacklogPerInstance", 0)), (3.0, 2.0, 2.5))
        self.assertEqual(get("JobsProcessed", 120), 2.0)  # two finished at 100 s, sampled at 130 s
        self.assertEqual(get("ActivityPerInstance", 120), (1.0 + 2.0 + 2.0) / 2)
        self.assertEqual(get("UnservedQueueDepth", 0), 0.0)


class FromZero(unittest.TestCase):
    def test_scale_from_zero(self):
        """MinSize 0, one book at 600 s. The publisher (10 s into each minute) reports
        UnservedQueueDepth 1 at 610 s; FromZeroAlarm (1 of 1) goes to ALARM at 660 s and its
        policy sets desired 0 -> 1; boot 60 s + converge 180 s put the instance in service at
        900 s, whose first poll takes the book: it waited 300 s. Thirty quiet minutes of
        ActivityPerInstance later the instance goes again."""
        r = rules()
        self.assertEqual(r.min_size, 0)
        s = sim(r, config(), [(600.0, 5.0)], 4 * 3600)
        res = s.run()
        job = res.jobs[0]
        self.assertEqual(job.started, 900.0)
        self.assertEqual(job.finished, 910.0)
        desired = [e for e in res.events if e[1] == "desired"]
        self.assertEqual(desired[0], (660.0, "desired", "0 -> 1 (FromZeroPolicy)"))
        self.assertEqual(desired[1][2], "1 -> 0 (ActivityScaleInPolicy)")
        # The book finished at 910 s, just as the publisher sampled (JobsProcessed 1, activity 1
        # in the minute [900, 960)); thirty quiet minutes after it, [960, 2760), the alarm fires.
        self.assertEqual(desired[1][0], 960.0 + 1800.0)
        self.assertEqual(res.launches, 1)

    def test_cpu_alone_cannot(self):
        """The same book with only the CPU alarms: no instance, no CPU, no scale-out ever."""
        r = rules(drop=QUEUE)
        res = sim(r, config(publisher=False), [(600.0, 5.0)], 4 * 3600).run()
        self.assertIsNone(res.jobs[0].started)
        self.assertEqual(res.launches, 0)

    def test_big_batch_from_zero_takes_the_big_step(self):
        """200 books at zero: backlog 200 per (max 1) instance is over threshold + BacklogBigStepAbove,
        so the backlog policy starts BacklogBigStepInstances at once."""
        r = rules()
        s = sim(r, config(), [(600.0, 5.0)] * 200, 1200)
        res = s.run()
        first = [e for e in res.events if e[1] == "desired"][0]
        self.assertEqual(first[0], 660.0)
        self.assertTrue(first[2].startswith("0 -> 4 "), first)


class Protection(unittest.TestCase):
    def run_case(self, **kw):
        """One instance busy with a 1000 s job from t = 0, a second idle; at 100 s the desired
        capacity drops to 0. No alarm: only the group's own mechanics act."""
        r = rules({"MinSize": 0}, drop=("CpuHighAlarm",) + QUEUE)
        s = sim(r, config(publisher=False, **kw), [(0.0, 5.0)], 3000, model=flat_model(1000.0, 0.9))
        busy = add_instance(s, az=0)
        idle = add_instance(s, az=1)
        # One per zone; at t = 100 s the busy one is the closer to its next billing hour,
        # so the default termination policy picks it first when it may.
        busy.launched, idle.launched = -3400.0, -3000.0
        s.desired = 2
        s.step(0.0)
        self.assertIs(res_job_instance(s), busy)
        s.t = 1.0
        s.step(1.0)  # SetInstanceProtection takes effect (protection on)
        s.t = 100.0
        s.set_desired(100.0, 0, "test")
        s.reconcile(100.0)
        return s, busy, idle, s.run()

    def test_protected_busy_instance_is_kept_until_its_job_is_done(self):
        s, busy, idle, res = self.run_case(protection=True, termination="hook")
        self.assertEqual(idle.terminating_since, 100.0)  # only the idle one goes at once
        self.assertEqual(res.jobs[0].finished, 1000.0)
        self.assertEqual(res.jobs[0].attempts, 1)
        # Unprotected api_latency_s after the job; the group terminates it then.
        self.assertEqual(busy.terminating_since, 1001.0)
        self.assertEqual((res.busy_picked, res.busy_terminated), (0, 0))

    def test_unprotected_busy_instance_is_picked_and_its_job_killed(self):
        s, busy, idle, res = self.run_case(protection=False, termination="term-drain")
        self.assertEqual(busy.terminating_since, 100.0)
        self.assertEqual((res.busy_picked, res.busy_terminated), (1, 1))
        self.assertEqual(busy.terminated_at, 130.0 + 20.0)  # 30 s drain, then 20 s shutdown
        # Requeued at the head of the queue, where it waits for an instance.
        self.assertEqual(res.jobs[0].attempts, 1)
        self.assertIsNone(res.jobs[0].finished)
        self.assertEqual(s.queue, [res.jobs[0]])

    def test_hook_lets_a_picked_busy_instance_finish(self):
        s, busy, idle, res = self.run_case(protection=False, termination="hook")
        self.assertEqual((res.busy_picked, res.busy_terminated), (1, 0))
        self.assertEqual(res.jobs[0].finished, 1000.0)
        self.assertEqual(busy.terminated_at, 1000.0 + 20.0)

    def test_hook_global_timeout_ends_a_too_long_drain(self):
        # DrainHeartbeatTimeout 30 s: global timeout 100 x 30 = 3000 s after Terminating:Wait starts.
        r = rules({"MinSize": 0, "DrainHeartbeatTimeout": 30}, drop=("CpuHighAlarm",) + QUEUE)
        s = sim(r, config(protection=False, publisher=False), [(0.0, 5.0)], 6000, model=flat_model(5000.0, 0.9))
        busy = add_instance(s)
        s.desired = 1
        s.step(0.0)
        s.t = 100.0
        s.set_desired(100.0, 0, "test")
        s.reconcile(100.0)
        res = s.run()
        self.assertEqual(busy.terminated_at, 3100.0 + 20.0)
        self.assertEqual(res.busy_terminated, 1)

    def test_resque_term_loses_the_job(self):
        s, busy, idle, res = self.run_case(protection=False, termination="term-kill")
        self.assertTrue(res.jobs[0].lost)
        self.assertEqual(busy.terminated_at, 100.0 + 20.0)


def res_job_instance(s):
    return s.jobs[0].instance


class TemplateReading(unittest.TestCase):
    def test_rules(self):
        r = rules()
        self.assertEqual(r.hooks["autoscaling:EC2_INSTANCE_LAUNCHING"]["name"], "quire-converged")
        self.assertEqual(r.hooks["autoscaling:EC2_INSTANCE_TERMINATING"]["name"], "quire-drain")
        self.assertEqual({a: x["actions"] for a, x in r.alarms.items()}, {
            "CpuHighAlarm": ["CpuScaleOutPolicy"], "BacklogHighAlarm": ["BacklogScaleOutPolicy"],
            "ActivityLowAlarm": ["ActivityScaleInPolicy"], "FromZeroAlarm": ["FromZeroPolicy"]})
        self.assertEqual(r.policies["BacklogScaleOutPolicy"]["steps"], [(0.0, 100.0, 1), (100.0, None, 4)])
        self.assertEqual(r.scheduled, [])

    def test_parameters_and_conditions(self):
        r = rules({"CpuScaleInThreshold": 30, "CpuScaleInMinutes": 10, "CpuScaleInInstances": 2,
                   "ScheduledMinSize": 2, "InstanceWarmup": 120})
        low = r.alarms["CpuLowAlarm"]
        self.assertEqual((low["threshold"], low["evaluation_periods"], low["datapoints_to_alarm"]), (30.0, 10, 10))
        self.assertEqual(r.policies["CpuScaleInPolicy"]["steps"], [(None, 0.0, -2)])
        self.assertEqual(r.policies["CpuScaleOutPolicy"]["warmup"], 120.0)
        self.assertEqual([(x["recurrence"], x["min"]) for x in r.scheduled],
                         [("0 8 * * 1-5", 2), ("0 19 * * 1-5", 0)])

    def test_unknown_parameter(self):
        with self.assertRaises(KeyError):
            rules({"NoSuchParameter": 1})


class Scheduled(unittest.TestCase):
    def test_business_hours(self):
        """ScheduledMinSize 2 from 08:00 to 19:00 on weekdays (t = 0 is a Monday 00:00)."""
        r = rules({"ScheduledMinSize": 2})
        res = sim(r, config(), [], 24 * 3600).run()
        desired = [(e[0], e[2]) for e in res.events if e[1] == "desired"]
        # At 19:00 the scheduled action only lowers MinSize; the activity alarm, in ALARM (and
        # acting every minute) since 08:30 but held at MinSize 2, then removes one instance at
        # once and the other a minute later, when the first has terminated.
        self.assertEqual(desired, [(8 * 3600.0, "0 -> 2 (ScheduledStart)"),
                                   (19 * 3600.0, "2 -> 1 (ActivityScaleInPolicy)"),
                                   (19 * 3600.0 + 60, "1 -> 0 (ActivityScaleInPolicy)")])


class Comparison(unittest.TestCase):
    """The policies on the three standard traces, with the measured job model."""

    @classmethod
    def setUpClass(cls):
        cls.model = JobModel.from_measurements(MEASUREMENTS)
        cls.traces = standard_traces(1)

    def run_all(self, **sets):
        out = []
        for trace in self.traces:
            for p in POLICIES:
                out.append(Summary(trace, p, __import__("fleetsim.engine", fromlist=["Simulation"]).Simulation(
                    p.rules(os.path.join(os.path.dirname(SIM), "quire-fleet.yaml")), p.config(seed=1, **sets),
                    trace, self.model).run()))
        return out

    def test_invariants(self):
        for sets in ({}, {"job_scale": 30.0}):
            for s in self.run_all(**sets):
                with self.subTest(trace=s.trace.name, policy=s.policy.name, **sets):
                    self.assertEqual(s.done + s.lost + s.unfinished, s.jobs)
                    self.assertEqual(s.unfinished, 0)  # every trace ends with time to drain
                    if s.policy.name == "quire":
                        self.assertEqual(s.busy_terminated, 0)
                        self.assertEqual(s.lost, 0)
                    if s.policy.name == "seed":
                        self.assertGreaterEqual(s.instance_minutes, s.trace.horizon / 60 - 1)  # one 24/7 instance

    def test_deterministic_for_a_seed(self):
        p = by_name("quire")
        tpl = os.path.join(os.path.dirname(SIM), "quire-fleet.yaml")
        from fleetsim.engine import Simulation
        a = Simulation(p.rules(tpl), p.config(seed=3), self.traces[1], self.model).run()
        b = Simulation(p.rules(tpl), p.config(seed=3), self.traces[1], self.model).run()
        self.assertEqual(a.events, b.events)
        self.assertEqual(a.series, b.series)

    def test_run_py_prints_the_table(self):
        out = subprocess.run([sys.executable, os.path.join(SIM, "run.py"), "--trace", "batch", "--policy", "quire"],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("| batch | quire |", out.stdout)


class MetricsStore(unittest.TestCase):
    def test_buckets(self):
        m = Metrics()
        m.put(("Quire", "X"), 59.9, 1.0)
        m.put(("Quire", "X"), 60.0, 5.0)
        self.assertEqual(m.datapoint(("Quire", "X"), 0, 60, "Sum"), 1.0)
        self.assertEqual(m.datapoint(("Quire", "X"), 0, 120, "Sum"), 6.0)
        self.assertIsNone(m.datapoint(("Quire", "X"), 120, 60, "Sum"))


if __name__ == "__main__":
    unittest.main()
