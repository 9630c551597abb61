"""CloudWatch metric alarms, as the CloudWatch user guide describes their evaluation.

Sources (awsdocs/amazon-cloudwatch-user-guide, doc_source/AlarmThatSendsEmail.md):
- Period, EvaluationPeriods (N) and DatapointsToAlarm (M): ALARM when at least M
  of the N datapoints evaluated breach; they need not be consecutive.
- The evaluation range holds more datapoints than N (5 for N = 3 in the guide's
  tables). With no missing datapoint in it, or with at least N real ones, the N
  most recent real datapoints are evaluated and TreatMissingData plays no part.
- With fewer than N real datapoints, the missing ones are filled with the
  TreatMissingData choice, "as few times as possible": every real datapoint of
  the range counts, and N - (real ones) filled ones.
  * breaching / notBreaching: the fill breaches / does not.
  * missing: the alarm does not consider missing datapoints. It goes to ALARM
    when M real datapoints breach; to OK when a real one does not breach (then
    it cannot reach M with the others missing); with only breaching ones, fewer
    than M, it is INSUFFICIENT_DATA, unless the oldest breaching datapoint is at
    least M periods old and every newer one breaches or is missing, which is
    ALARM (the guide's sixth row; AWS knowledge center "alarm after a single
    breached data point").
  * ignore: as missing, except that where missing gives INSUFFICIENT_DATA (or
    the premature ALARM) the alarm keeps its current state.
- No datapoint at all: missing -> INSUFFICIENT_DATA, ignore -> current state,
  breaching -> ALARM, notBreaching -> OK.
This is the rule that reproduces every row of both tables in the guide; the
golden tests hold it to them (autoscale/sim/tests/test_cloudwatch.py).

The evaluation range is N + 2 datapoints, as in the guide's tables; it is an
inference (the guide gives the range only for N = 3).

Alarm actions: a state change invokes the actions; Auto Scaling actions are
invoked again for every period the alarm stays in ALARM ("For Amazon EC2 Auto
Scaling actions, the alarm continues to invoke the action for every period that
the alarm remains in the new state").
"""

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
BREACH, CLEAR, MISSING = "X", "0", "-"


def evaluate(points, m, n, treat, current=INSUFFICIENT):
    """State for datapoints of the evaluation range, oldest first.

    points: a sequence of BREACH ('X'), CLEAR ('0') or MISSING ('-').
    """
    real = [p for p in points if p != MISSING]
    if len(real) >= n:
        recent = real[-n:]
        return ALARM if recent.count(BREACH) >= m else OK
    if not real:
        return {"missing": INSUFFICIENT, "ignore": current, "breaching": ALARM, "notBreaching": OK}[treat]
    fill = n - len(real)
    if treat == "breaching":
        return ALARM if real.count(BREACH) + fill >= m else OK
    if treat == "notBreaching":
        return ALARM if real.count(BREACH) >= m else OK
    # missing / ignore: only the real datapoints count.
    if real.count(BREACH) >= m:
        return ALARM
    if CLEAR in real:
        return OK
    if treat == "ignore":
        return current
    # Every real datapoint breaches but fewer than M: premature ALARM when the
    # oldest breaching one is at least M periods old (newer ones breach or are missing).
    oldest = next(i for i, p in enumerate(points) if p == BREACH)
    age = len(points) - oldest
    return ALARM if age >= m else INSUFFICIENT


def compare(value, threshold, op):
    if op == "GreaterThanOrEqualToThreshold":
        return value >= threshold
    if op == "GreaterThanThreshold":
        return value > threshold
    if op == "LessThanThreshold":
        return value < threshold
    if op == "LessThanOrEqualToThreshold":
        return value <= threshold
    raise ValueError("comparison %s is not simulated" % op)


def statistic(samples, stat):
    if not samples:
        return None
    if stat == "Average":
        return sum(samples) / len(samples)
    if stat == "Maximum":
        return max(samples)
    if stat == "Minimum":
        return min(samples)
    if stat == "Sum":
        return sum(samples)
    if stat == "SampleCount":
        return float(len(samples))
    raise ValueError("statistic %s is not simulated" % stat)


class Metrics:
    """Raw samples per metric key, bucketed by period start (one-minute storage)."""

    def __init__(self):
        self.samples = {}

    def put(self, key, t, value):
        self.samples.setdefault(key, {}).setdefault(int(t // 60) * 60, []).append(value)

    def datapoint(self, key, start, period, stat):
        """The statistic over [start, start + period), or None when nothing was published."""
        buckets = self.samples.get(key, {})
        vals = []
        for s in range(int(start), int(start + period), 60):
            vals += buckets.get(s, [])
        return statistic(vals, stat)


class Alarm:
    """One metric alarm; `tick(t)` evaluates it at time t (a multiple of 60 s)."""

    def __init__(self, spec, key, lag):
        self.spec = spec
        self.key = key  # (namespace, metric)
        self.lag = lag  # seconds after a period ends before its datapoint is complete
        self.state = INSUFFICIENT
        self.history = []  # (t, old, new)
        self.last_value = None
        self.last_action = None

    def range_points(self, metrics, t):
        s = self.spec
        period, n = s["period"], s["evaluation_periods"]
        newest_end = int((t - self.lag) // period) * period
        starts = [newest_end - period * (k + 1) for k in reversed(range(n + 2))]
        values = [metrics.datapoint(self.key, st, period, s["statistic"]) for st in starts]
        return values

    def tick(self, metrics, t):
        """Evaluates; returns the metric value to act on when actions are due, else None."""
        s = self.spec
        values = self.range_points(metrics, t)
        points = [MISSING if v is None else (BREACH if compare(v, s["threshold"], s["comparison"]) else CLEAR)
                  for v in values]
        new = evaluate(points, s["datapoints_to_alarm"], s["evaluation_periods"], s["treat_missing"], self.state)
        real = [v for v in values if v is not None]
        self.last_value = real[-1] if real else None
        changed = new != self.state
        if changed:
            self.history.append((t, self.state, new))
            self.state = new
        if self.state != ALARM or not s["actions"]:
            return None
        if not changed and self.last_action is not None and t - self.last_action < s["period"]:
            return None
        self.last_action = t
        # Step policies compare the aggregated recent datapoint with the step bounds;
        # with no real datapoint (breaching fill), the threshold itself.
        return self.last_value if self.last_value is not None else s["threshold"]
