"""Step scaling as the EC2 Auto Scaling user guide describes it (golden cases).

awsdocs/amazon-ec2-auto-scaling-user-guide, doc_source/as-scaling-simple-step.md:
a group of 10, threshold 50, PercentChangeInCapacity steps
  scale out  [0, 10): 0   [10, 20): +10 %   [20, +inf): +30 %
  scale in   (-10, 0]: 0  (-20, -10]: -10 %  (-inf, -20]: -30 %
"metric 60: +1 to 11; then 70: +3 (30 % of 11 = 3.3) to 14; 40: -1 (1.4) to 13;
30: -3 (3.9) to 10"; and, with warm-up, "60 then 62 while warming: no change;
70 while warming: 30 % of 10 = 3, desired already 11, so only 2 are added".
"""
import unittest

from helpers import add_instance, config, rules, sim

from fleetsim.engine import adjusted, round_percent, step_for

OUT = [(0.0, 10.0, 0), (10.0, 20.0, 10), (20.0, None, 30)]
IN = [(-10.0, 0.0, 0), (-20.0, -10.0, -10), (None, -20.0, -30)]


def policy(steps, kind="PercentChangeInCapacity", warmup=300.0, mam=None):
    return {"name": "P", "adjustment_type": kind, "aggregation": "Average", "warmup": warmup,
            "min_adjustment_magnitude": mam, "steps": steps}


class Alarmish:
    def __init__(self, threshold):
        self.spec = {"threshold": threshold}


class Rounding(unittest.TestCase):
    def test_guide_rounding(self):
        self.assertEqual([round_percent(x) for x in (12.7, 0.67, -0.58, -6.67, 1.0, -1.0)], [12, 1, -1, -6, 1, -1])

    def test_min_adjustment_magnitude(self):
        # "a policy that adds 25 percent ... minimum increment of 2 ... group with 4 instances ... 2 are added"
        self.assertEqual(adjusted(policy([], mam=2), 4, 25), 6)

    def test_bounds_inclusive_above_exclusive_below(self):
        self.assertEqual(step_for(OUT, 10.0), 10)  # lower bound inclusive above the threshold
        self.assertEqual(step_for(OUT, 19.999), 10)
        self.assertEqual(step_for(OUT, 20.0), 30)
        self.assertEqual(step_for(IN, -9.999), 0)
        self.assertEqual(step_for(IN, -10.0), -10)  # upper bound inclusive below the threshold
        self.assertEqual(step_for(IN, -19.999), -10)
        self.assertEqual(step_for(IN, -20.0), -30)  # the guide: metric 30 takes the third step
        self.assertIsNone(step_for([(0.0, 5.0, 1)], 7.0))  # a gap scales nothing


class GuideWalkthrough(unittest.TestCase):
    def group(self, n, warm=True):
        r = rules({"MinSize": 0, "MaxSize": 100})
        s = sim(r, config(), [], 3600)
        for _ in range(n):
            add_instance(s, warm=warm)
        s.desired = n
        return s

    def settle(self, s):
        """Launched instances come into service and warm up; terminated ones leave."""
        for i in s.instances:
            if i.state == "Pending":
                s.become_inservice(i, s.t)
            i.warm_until = min(i.warm_until, s.t)
            if i.state == "Terminating":
                s.finish_termination(s.t, i)

    def test_steps_and_rounding(self):
        s = self.group(10)
        s.execute(0, policy(OUT), Alarmish(50), 60)
        self.assertEqual(s.desired, 11)
        self.settle(s)
        s.execute(0, policy(OUT), Alarmish(50), 70)
        self.assertEqual(s.desired, 14)
        self.settle(s)
        s.execute(0, policy(IN), Alarmish(50), 40)
        self.assertEqual(s.desired, 13)
        self.settle(s)
        s.execute(0, policy(IN), Alarmish(50), 30)
        self.assertEqual(s.desired, 10)

    def test_warmup(self):
        s = self.group(10)
        s.execute(0, policy(OUT), Alarmish(50), 60)
        self.assertEqual(s.desired, 11)  # the new instance is launching / warming
        s.execute(60, policy(OUT), Alarmish(50), 62)
        self.assertEqual(s.desired, 11)  # same step: one activity
        s.execute(120, policy(OUT), Alarmish(50), 70)
        self.assertEqual(s.desired, 13)  # 30 % of the 10 warm ones; only 2 added
        self.assertEqual(sum(1 for i in s.instances if i.state == "Pending"), 3)

    def test_scale_in_waits_for_scale_out(self):
        s = self.group(10)
        s.execute(0, policy(OUT), Alarmish(50), 60)
        s.execute(60, policy(IN), Alarmish(50), 30)
        self.assertEqual(s.desired, 11)  # "A scale-in activity can't start while a scale-out ... is in progress"

    def test_terminating_instances_count_when_scaling_in(self):
        s = self.group(10)
        s.execute(0, policy([(None, 0.0, -1)], kind="ChangeInCapacity"), Alarmish(50), 30)
        self.assertEqual(s.desired, 9)
        self.assertEqual(sum(1 for i in s.instances if i.state == "Terminating"), 1)
        s.execute(60, policy([(None, 0.0, -1)], kind="ChangeInCapacity"), Alarmish(50), 30)
        self.assertEqual(s.desired, 9)  # the terminating one still counts: nothing more removed

    def test_min_and_max(self):
        s = self.group(2)
        s.max_size = 3
        s.execute(0, policy([(0.0, None, 5)], kind="ChangeInCapacity"), Alarmish(50), 60)
        self.assertEqual(s.desired, 3)
        s = self.group(2)
        s.min_size = 1
        s.execute(0, policy([(None, 0.0, -5)], kind="ChangeInCapacity"), Alarmish(50), 40)
        self.assertEqual(s.desired, 1)


class TerminationChoice(unittest.TestCase):
    def test_default_policy(self):
        s = sim(rules({"MinSize": 0}), config(), [], 7200)
        a = add_instance(s, t=0.0, az=0)
        b = add_instance(s, t=0.0, az=0)
        c = add_instance(s, t=0.0, az=1)
        a.launched, b.launched, c.launched = 0.0, 1500.0, 3000.0
        s.t = 3500.0
        # The zone with the most instances (0), then the instance closest to its next billing
        # hour: a has run 3500 s, b 2000 s.
        self.assertIs(s.choose_victim(s.t, [a, b, c]), a)
        # Protected instances are not candidates: with a protected, b goes.
        a.protected = True
        s.desired = 2
        s.reconcile(s.t)
        self.assertEqual(b.state, "Terminating")
        self.assertEqual(a.state, "InService")


if __name__ == "__main__":
    unittest.main()
