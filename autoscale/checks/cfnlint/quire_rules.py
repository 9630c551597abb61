"""cfn-lint rules for what cfn-lint 1.x does not check in quire's fleet template.

Loaded with `cfn-lint --append-rules autoscale/checks/cfnlint`. Each rule reads a
value either as a literal or as a Ref to a Number parameter; a parameter counts
with its Default and with every value between its MinValue and MaxValue, so a
rule holds for whatever value a stack is launched with, not only the default.

E9101  lifecycle hook HeartbeatTimeout within the API's 30..7200 seconds
E9102  DatapointsToAlarm <= EvaluationPeriods, and EvaluationPeriods x Period <= one day
E9103  step adjustments: no gap, no overlap, at most one open end each side, and
       covering the whole side of the threshold their alarm breaches on
E9104  AWS-ApplyChefRecipes association parameters: only the document's own names
"""

from cfnlint.rules import CloudFormationLintRule, RuleMatch

INF = float("inf")

# AWS-ApplyChefRecipes (deploy-autoscale.md, section 1.7).
CHEF_DOCUMENT_PARAMETERS = {
    "SourceType", "SourceInfo", "RunList", "JsonAttributesContent", "JsonAttributesSources",
    "ChefClientVersion", "ChefClientArguments", "WhyRun", "ComplianceSeverity",
    "ComplianceType", "ComplianceReportBucket",
}


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


class Value:
    """A numeric property: its default value and the range a launch may give it."""

    def __init__(self, default, low, high, key):
        self.default, self.low, self.high, self.key = default, low, high, key

    def same(self, other):
        """Equal for every launch: the same parameter, or the same literal."""
        if self.key is not None and self.key == other.key:
            return True
        return self.low == self.high == other.low == other.high


def value_of(cfn, v):
    """Value for a literal or a Ref to a Number parameter; None when unknowable."""
    if isinstance(v, dict) and list(v) == ["Ref"]:
        p = cfn.template.get("Parameters", {}).get(v["Ref"])
        if not isinstance(p, dict) or p.get("Type") != "Number":
            return None
        d = _number(p.get("Default"))
        lo = _number(p.get("MinValue"))
        hi = _number(p.get("MaxValue"))
        allowed = [_number(a) for a in p.get("AllowedValues", [])]
        if allowed and None not in allowed:
            lo, hi = min(allowed), max(allowed)
        return Value(d, -INF if lo is None else lo, INF if hi is None else hi, "Ref:" + v["Ref"])
    n = _number(v)
    if n is None:
        return None
    return Value(n, n, n, "lit:%r" % n)


class HookHeartbeatLimits(CloudFormationLintRule):
    id = "E9101"
    shortdesc = "Lifecycle hook HeartbeatTimeout within 30..7200 s"
    description = ("The Auto Scaling API refuses a HeartbeatTimeout outside 30..7200 seconds "
                   "(botocore autoscaling service model); cfn-lint's schema does not bound it.")
    source_url = "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html"
    tags = ["quire", "autoscaling", "lifecycle"]

    def _check(self, cfn, hook, path):
        matches = []
        if "HeartbeatTimeout" not in hook:
            return matches
        v = value_of(cfn, hook["HeartbeatTimeout"])
        where = path + ["HeartbeatTimeout"]
        if v is None:
            matches.append(RuleMatch(where, "HeartbeatTimeout must be a number or a Ref to a Number parameter"))
        elif v.low < 30 or v.high > 7200 or (v.default is not None and not 30 <= v.default <= 7200):
            matches.append(RuleMatch(where, "HeartbeatTimeout may be outside 30..7200 s (default %s, allowed %s..%s)"
                                     % (v.default, v.low, v.high)))
        return matches

    def match(self, cfn):
        matches = []
        for name, res in cfn.get_resources(["AWS::AutoScaling::AutoScalingGroup"]).items():
            hooks = res.get("Properties", {}).get("LifecycleHookSpecificationList", [])
            for i, hook in enumerate(hooks if isinstance(hooks, list) else []):
                if isinstance(hook, dict):
                    matches += self._check(cfn, hook, ["Resources", name, "Properties", "LifecycleHookSpecificationList", i])
        for name, res in cfn.get_resources(["AWS::AutoScaling::LifecycleHook"]).items():
            matches += self._check(cfn, res.get("Properties", {}), ["Resources", name, "Properties"])
        return matches


class AlarmDatapoints(CloudFormationLintRule):
    id = "E9102"
    shortdesc = "DatapointsToAlarm <= EvaluationPeriods; evaluation within one day"
    description = ("An M-of-N alarm needs M <= N (PutMetricAlarm refuses more), and "
                   "EvaluationPeriods x Period may not exceed 86400 s.")
    source_url = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html"
    tags = ["quire", "cloudwatch"]

    def match(self, cfn):
        matches = []
        for name, res in cfn.get_resources(["AWS::CloudWatch::Alarm"]).items():
            props = res.get("Properties", {})
            base = ["Resources", name, "Properties"]
            n = value_of(cfn, props.get("EvaluationPeriods"))
            if n is None:
                continue
            if "DatapointsToAlarm" in props:
                m = value_of(cfn, props["DatapointsToAlarm"])
                if m is None:
                    matches.append(RuleMatch(base + ["DatapointsToAlarm"], "DatapointsToAlarm must be a number"))
                elif not m.same(n) and (m.high > n.low or (m.default or 0) > (n.default or 0)):
                    matches.append(RuleMatch(
                        base + ["DatapointsToAlarm"],
                        "DatapointsToAlarm (default %s, up to %s) may exceed EvaluationPeriods (default %s, from %s)"
                        % (m.default, m.high, n.default, n.low)))
                elif m.low < 1:
                    matches.append(RuleMatch(base + ["DatapointsToAlarm"], "DatapointsToAlarm may be below 1"))
            period = value_of(cfn, props.get("Period"))
            if period is not None and n.high * period.high > 86400:
                matches.append(RuleMatch(base + ["EvaluationPeriods"],
                                         "EvaluationPeriods x Period may exceed one day (%s x %s s)" % (n.high, period.high)))
        return matches


class StepAdjustments(CloudFormationLintRule):
    id = "E9103"
    shortdesc = "Step adjustments without gaps or overlaps, covering the alarm's side"
    description = ("Step bounds are relative to the alarm threshold: the ranges may not overlap "
                   "or leave gaps, only one may be open below and one above, and together they "
                   "must cover every value the alarm breaches on, or a breach scales nothing.")
    source_url = "https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html"
    tags = ["quire", "autoscaling"]

    @staticmethod
    def _alarm_sides(cfn, policy):
        """'above' / 'below' for each alarm whose actions Ref the policy."""
        sides = []
        for res in cfn.get_resources(["AWS::CloudWatch::Alarm"]).values():
            props = res.get("Properties", {})
            actions = props.get("AlarmActions", [])
            if any(isinstance(a, dict) and a.get("Ref") == policy for a in (actions if isinstance(actions, list) else [])):
                op = str(props.get("ComparisonOperator", ""))
                sides.append("above" if op.startswith("Greater") else "below" if op.startswith("Less") else None)
        return sides

    def match(self, cfn):
        matches = []
        for name, res in cfn.get_resources(["AWS::AutoScaling::ScalingPolicy"]).items():
            props = res.get("Properties", {})
            steps = props.get("StepAdjustments")
            base = ["Resources", name, "Properties", "StepAdjustments"]
            if props.get("PolicyType") != "StepScaling":
                if steps:
                    matches.append(RuleMatch(base, "StepAdjustments belong to StepScaling policies only"))
                continue
            if not isinstance(steps, list) or not steps:
                matches.append(RuleMatch(base, "a StepScaling policy needs StepAdjustments"))
                continue
            ranges = []
            for i, s in enumerate(steps):
                lo = value_of(cfn, s["MetricIntervalLowerBound"]) if "MetricIntervalLowerBound" in s else Value(-INF, -INF, -INF, "-inf")
                hi = value_of(cfn, s["MetricIntervalUpperBound"]) if "MetricIntervalUpperBound" in s else Value(INF, INF, INF, "+inf")
                if lo is None or hi is None:
                    matches.append(RuleMatch(base + [i], "step bounds must be numbers or Refs to Number parameters"))
                    break
                if lo.key == "-inf" and hi.key == "+inf":
                    matches.append(RuleMatch(base + [i], "a step cannot be open on both sides"))
                if not lo.same(hi) and lo.high >= hi.low and not (lo.key in ("-inf",) or hi.key in ("+inf",)):
                    matches.append(RuleMatch(base + [i], "step %d may be empty: lower bound (up to %s) not below upper bound (from %s)"
                                             % (i, lo.high, hi.low)))
                ranges.append((lo, hi, i))
            else:
                ranges.sort(key=lambda r: r[0].default if r[0].default is not None else -INF)
                if sum(1 for lo, _, _ in ranges if lo.key == "-inf") > 1:
                    matches.append(RuleMatch(base, "only one step may have no lower bound"))
                if sum(1 for _, hi, _ in ranges if hi.key == "+inf") > 1:
                    matches.append(RuleMatch(base, "only one step may have no upper bound"))
                for (_, hi, i), (lo, _, j) in zip(ranges, ranges[1:]):
                    if not hi.same(lo) and hi.default != lo.default:
                        kind = "a gap" if (hi.default or 0) < (lo.default or 0) else "an overlap"
                        matches.append(RuleMatch(base + [j], "%s between step %d (upper %s) and step %d (lower %s)"
                                                 % (kind, i, hi.default, j, lo.default)))
                first_lo, last_hi = ranges[0][0], ranges[-1][1]
                for side in self._alarm_sides(cfn, name):
                    if side == "above" and not (last_hi.key == "+inf" and first_lo.high <= 0 and first_lo.key != "-inf" and first_lo.low >= 0):
                        matches.append(RuleMatch(base, "the alarm breaches above its threshold: steps must cover [0, +inf) exactly"))
                    if side == "below" and not (first_lo.key == "-inf" and last_hi.low >= 0 and last_hi.key != "+inf" and last_hi.high <= 0):
                        matches.append(RuleMatch(base, "the alarm breaches below its threshold: steps must cover (-inf, 0] exactly"))
        return matches


class ChefRecipesParameters(CloudFormationLintRule):
    id = "E9104"
    shortdesc = "AWS-ApplyChefRecipes parameters by their exact names"
    description = ("State Manager accepts an association whose parameter names the document does not "
                   "have only to fail on the instance; check them against the document's list.")
    source_url = "https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-state-manager-chef.html"
    tags = ["quire", "ssm"]

    def match(self, cfn):
        matches = []
        for name, res in cfn.get_resources(["AWS::SSM::Association"]).items():
            props = res.get("Properties", {})
            if props.get("Name") != "AWS-ApplyChefRecipes":
                continue
            params = props.get("Parameters", {})
            for key in params if isinstance(params, dict) else []:
                if key not in CHEF_DOCUMENT_PARAMETERS:
                    matches.append(RuleMatch(["Resources", name, "Properties", "Parameters", key],
                                             "AWS-ApplyChefRecipes has no parameter %r" % key))
            for required in ("SourceType", "SourceInfo", "RunList"):
                if isinstance(params, dict) and required not in params:
                    matches.append(RuleMatch(["Resources", name, "Properties", "Parameters"],
                                             "AWS-ApplyChefRecipes needs %s" % required))
        return matches
