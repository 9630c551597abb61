"""CloudWatch alarm evaluation against AWS's own examples (golden cases).

The two tables are those of the CloudWatch user guide, "How alarm state is
evaluated when data is missing" (awsdocs/amazon-cloudwatch-user-guide,
doc_source/AlarmThatSendsEmail.md): datapoints of the evaluation range oldest
first (0 not breaching, X breaching, - missing), and the state for each
TreatMissingData choice. "retain" means the alarm keeps its current state.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fleetsim.cloudwatch import ALARM, INSUFFICIENT, OK, Alarm, Metrics, evaluate  # noqa: E402

TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")

# DatapointsToAlarm 3, EvaluationPeriods 3 (the guide's first table).
THREE_OF_THREE = [
    ("0 - X - X", (OK, OK, OK, OK)),
    ("0 - - - -", (OK, OK, OK, OK)),
    ("- - - - -", (INSUFFICIENT, "retain", ALARM, OK)),
    ("0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("- - - - X", (INSUFFICIENT, "retain", ALARM, OK)),
    ("X - - - -", (ALARM, "retain", ALARM, OK)),
]
# DatapointsToAlarm 2, EvaluationPeriods 3 (the guide's second table).
TWO_OF_THREE = [
    ("0 - X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 0 X 0 X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 - X - -", (OK, OK, ALARM, OK)),
    ("- - - - 0", (OK, OK, ALARM, OK)),
    ("- - - - X", (INSUFFICIENT, "retain", ALARM, OK)),
]


class GoldenTables(unittest.TestCase):
    def check(self, m, n, table):
        for row, states in table:
            for treat, want in zip(TREATMENTS, states):
                for current in (OK, ALARM, INSUFFICIENT):
                    expected = current if want == "retain" else want
                    with self.subTest(row=row, treat=treat, current=current):
                        self.assertEqual(evaluate(row.split(), m, n, treat, current), expected)

    def test_three_of_three(self):
        self.check(3, 3, THREE_OF_THREE)

    def test_two_of_three(self):
        self.check(2, 3, TWO_OF_THREE)

    def test_m_of_n_need_not_be_consecutive(self):
        # "The breaching data points do not have to be consecutive."
        self.assertEqual(evaluate("X 0 X 0 X".split(), 3, 5, "missing"), ALARM)
        self.assertEqual(evaluate("X 0 X 0 0".split(), 3, 5, "missing"), OK)

    def test_the_guides_figure(self):
        # Threshold 3 units, 3 of 3: ALARM in periods 3-5, OK at 6, a lone breach at 9 stays OK.
        values = [1, 2, 4, 4, 4, 2, 1, 1, 4, 1]
        state, states = INSUFFICIENT, []
        for k in range(len(values)):
            window = ["X" if v > 3 else "0" for v in values[max(0, k - 4):k + 1]]
            window = ["-"] * (5 - len(window)) + window
            state = evaluate(window, 3, 3, "missing", state)
            states.append(state)
        self.assertEqual(states[4], ALARM)
        self.assertEqual(states[5], OK)
        self.assertEqual(states[8], OK)


def spec(**kw):
    s = {"name": "a", "namespace": "Quire", "metric": "M", "dimensions": [], "statistic": "Maximum",
         "period": 60, "evaluation_periods": 3, "datapoints_to_alarm": 3, "threshold": 5.0,
         "comparison": "GreaterThanOrEqualToThreshold", "treat_missing": "notBreaching", "actions": ["P"]}
    s.update(kw)
    return s


class AlarmTicks(unittest.TestCase):
    def test_auto_scaling_actions_repeat_every_period_in_alarm(self):
        metrics, alarm = Metrics(), Alarm(spec(), ("Quire", "M"), 0)
        acted = []
        for minute in range(10):
            metrics.put(("Quire", "M"), minute * 60 + 30, 9.0 if 2 <= minute <= 7 else 1.0)
            if alarm.tick(metrics, (minute + 1) * 60) is not None:
                acted.append(minute + 1)
        # Breaching samples in minutes 2..7: ALARM once three are in (t = 300), acting every minute
        # through the last breaching window (t = 480), then OK.
        self.assertEqual(acted, [5, 6, 7, 8])
        self.assertEqual([(t, new) for t, _, new in alarm.history], [(60, OK), (300, ALARM), (540, OK)])

    def test_longer_period_acts_once_per_period(self):
        metrics, alarm = Metrics(), Alarm(spec(period=300, evaluation_periods=1, datapoints_to_alarm=1),
                                          ("Quire", "M"), 0)
        acted = []
        for minute in range(30):
            metrics.put(("Quire", "M"), minute * 60 + 1, 9.0)
            if alarm.tick(metrics, (minute + 1) * 60) is not None:
                acted.append(minute + 1)
        self.assertEqual(acted, [5, 10, 15, 20, 25, 30])

    def test_statistic_over_the_period_and_lag(self):
        metrics = Metrics()
        for s, v in ((0, 10.0), (20, 30.0), (61, 50.0)):
            metrics.put(("AWS/EC2", "CPUUtilization"), s, v)
        alarm = Alarm(spec(namespace="AWS/EC2", metric="CPUUtilization", statistic="Average", threshold=15.0,
                           evaluation_periods=1, datapoints_to_alarm=1), ("AWS/EC2", "CPUUtilization"), 60)
        # At t = 120 with a 60 s lag the newest complete datapoint is [0, 60): average 20.
        alarm.tick(metrics, 120)
        self.assertEqual(alarm.last_value, 20.0)
        self.assertEqual(alarm.state, ALARM)


if __name__ == "__main__":
    unittest.main()
