"""Reads the scaling rules out of the fleet's CloudFormation template.

What it takes: parameter defaults (overridable, as a stack's parameters are),
conditions, the Auto Scaling group (sizes, default warm-up, lifecycle hooks),
every CloudWatch alarm and the scaling policy it acts on, and scheduled
actions. Intrinsics are resolved the way CloudFormation would for these
properties: Ref to a parameter or AWS::NoValue, Fn::If, Fn::Sub of parameters,
Fn::Equals/Not/And/Or in conditions. Anything else (a Ref to a resource, a
GetAtt) is kept as an opaque reference, which is all the simulator needs.

PyYAML is Debian's python3-yaml (run through /usr/bin/python3).
"""
import re

import yaml

_NO_VALUE = object()


class Unresolved:
    """A reference the simulator does not evaluate (a resource's Ref or GetAtt)."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return "Unresolved(%r)" % (self.what,)


def _short_form_loader():
    class Loader(yaml.SafeLoader):
        pass

    def construct(tag):
        name = "Ref" if tag == "Ref" else "Fn::" + tag

        def f(loader, node):
            if isinstance(node, yaml.ScalarNode):
                value = loader.construct_scalar(node)
                if tag == "GetAtt" and isinstance(value, str):
                    value = value.split(".", 1)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)
            return {name: value}
        return f

    for tag in ("Ref", "Sub", "If", "Equals", "Not", "And", "Or", "GetAtt", "Base64", "Join",
                "Select", "Split", "FindInMap", "ImportValue", "GetAZs", "Condition", "Cidr"):
        Loader.add_constructor("!" + tag, construct(tag))
    return Loader


def load_yaml(path):
    with open(path) as f:
        return yaml.load(f, Loader=_short_form_loader())


class Template:
    """A template with parameter values chosen; `value()` resolves intrinsics."""

    def __init__(self, doc, overrides=None):
        self.doc = doc
        self.params = {}
        for name, p in doc.get("Parameters", {}).items():
            self.params[name] = p.get("Default")
        for name, v in (overrides or {}).items():
            if name not in self.params:
                raise KeyError("the template has no parameter %s" % name)
            self.params[name] = v
        self.pseudo = {"AWS::StackName": "quire", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
                       "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        self._conditions = {}

    @classmethod
    def from_file(cls, path, overrides=None):
        return cls(load_yaml(path), overrides)

    def resources(self, type_=None):
        out = {}
        for name, r in self.doc.get("Resources", {}).items():
            if type_ and r.get("Type") != type_:
                continue
            if "Condition" in r and not self.condition(r["Condition"]):
                continue
            out[name] = r
        return out

    def condition(self, name):
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.doc["Conditions"][name]))
        return self._conditions[name]

    def value(self, v):
        if isinstance(v, dict) and len(v) == 1:
            (k, a), = v.items()
            if k == "Ref":
                if a == "AWS::NoValue":
                    return _NO_VALUE
                if a in self.params:
                    return self.params[a]
                if a in self.pseudo:
                    return self.pseudo[a]
                return Unresolved(v)
            if k == "Fn::If":
                return self.value(a[1] if self.condition(a[0]) else a[2])
            if k == "Fn::Equals":
                x, y = (self.value(a[0]), self.value(a[1]))
                return str(x) == str(y)
            if k == "Fn::Not":
                return not self.value(a[0])
            if k == "Fn::And":
                return all(self.value(x) for x in a)
            if k == "Fn::Or":
                return any(self.value(x) for x in a)
            if k == "Fn::Condition":
                return self.condition(a)
            if k == "Fn::Sub":
                text, extra = (a, {}) if isinstance(a, str) else (a[0], a[1])
                return self._sub(text, extra)
            if k.startswith("Fn::"):
                return Unresolved(v)
        if isinstance(v, dict):
            out = {}
            for key, x in v.items():
                x = self.value(x)
                if x is not _NO_VALUE:
                    out[key] = x
            return out
        if isinstance(v, list):
            return [x for x in (self.value(i) for i in v) if x is not _NO_VALUE]
        return v

    def _sub(self, text, extra):
        def repl(m):
            name = m.group(1)
            if name in extra:
                return str(self.value(extra[name]))
            if name in self.params:
                return str(self.params[name])
            if name in self.pseudo:
                return self.pseudo[name]
            return m.group(0)
        return re.sub(r"\$\{([A-Za-z0-9:]+)\}", repl, text)

    def number(self, v, default=None):
        v = self.value(v) if v is not None else None
        if v is None or isinstance(v, Unresolved):
            return default
        return float(v)


def ref_name(v):
    """The logical id a raw (unresolved) `!Ref X` names, else None."""
    if isinstance(v, dict) and list(v) == ["Ref"]:
        return v["Ref"]
    return None


class Rules:
    """What the simulator needs, read from a Template."""

    def __init__(self, tpl):
        groups = tpl.resources("AWS::AutoScaling::AutoScalingGroup")
        if len(groups) != 1:
            raise ValueError("the template must have exactly one Auto Scaling group, it has %d" % len(groups))
        (self.group_id, g), = groups.items()
        p = g["Properties"]
        self.min_size = int(tpl.number(p["MinSize"]))
        self.max_size = int(tpl.number(p["MaxSize"]))
        self.default_warmup = tpl.number(p.get("DefaultInstanceWarmup"), None)
        self.default_cooldown = tpl.number(p.get("Cooldown"), 300.0)
        self.protected_at_launch = str(tpl.value(p.get("NewInstancesProtectedFromScaleIn", False))).lower() == "true"
        self.hooks = {}
        for h in tpl.value(p.get("LifecycleHookSpecificationList", [])):
            self.hooks[h["LifecycleTransition"]] = {
                "name": h["LifecycleHookName"],
                "heartbeat": float(h.get("HeartbeatTimeout", 3600)),
                "default_result": h.get("DefaultResult", "ABANDON"),
            }
        for name, h in tpl.resources("AWS::AutoScaling::LifecycleHook").items():
            hp = h["Properties"]
            if ref_name(hp.get("AutoScalingGroupName")) == self.group_id:
                self.hooks[tpl.value(hp["LifecycleTransition"])] = {
                    "name": tpl.value(hp.get("LifecycleHookName", name)),
                    "heartbeat": tpl.number(hp.get("HeartbeatTimeout"), 3600.0),
                    "default_result": tpl.value(hp.get("DefaultResult", "ABANDON")),
                }

        self.policies = {}
        for name, r in tpl.resources("AWS::AutoScaling::ScalingPolicy").items():
            pp = r["Properties"]
            if ref_name(pp.get("AutoScalingGroupName")) != self.group_id:
                continue
            kind = tpl.value(pp.get("PolicyType", "SimpleScaling"))
            if kind != "StepScaling":
                raise ValueError("policy %s: only StepScaling is simulated, not %s" % (name, kind))
            steps = []
            for s in tpl.value(pp["StepAdjustments"]):
                lo = s.get("MetricIntervalLowerBound")
                hi = s.get("MetricIntervalUpperBound")
                steps.append((None if lo is None else float(lo), None if hi is None else float(hi),
                              int(float(s["ScalingAdjustment"]))))
            mam = pp.get("MinAdjustmentMagnitude")
            self.policies[name] = {
                "name": name,
                "adjustment_type": tpl.value(pp.get("AdjustmentType", "ChangeInCapacity")),
                "aggregation": tpl.value(pp.get("MetricAggregationType", "Average")),
                "warmup": tpl.number(pp.get("EstimatedInstanceWarmup"), None),
                "min_adjustment_magnitude": None if mam is None else int(tpl.number(mam)),
                "steps": steps,
            }

        self.alarms = {}
        for name, r in tpl.resources("AWS::CloudWatch::Alarm").items():
            ap = r["Properties"]
            actions = [ref_name(a) for a in ap.get("AlarmActions", [])]
            actions = [a for a in actions if a in self.policies]
            # Alarms that only notify (JobCrashedAlarm, DiskLowAlarm, ...) scale nothing.
            if not actions:
                continue
            n = int(tpl.number(ap["EvaluationPeriods"]))
            dims = tpl.value(ap.get("Dimensions", []))
            self.alarms[name] = {
                "name": name,
                "namespace": tpl.value(ap["Namespace"]),
                "metric": tpl.value(ap["MetricName"]),
                "dimensions": [d["Name"] for d in dims],
                "statistic": tpl.value(ap.get("Statistic", "Average")),
                "period": int(tpl.number(ap["Period"])),
                "evaluation_periods": n,
                "datapoints_to_alarm": int(tpl.number(ap.get("DatapointsToAlarm"), n)),
                "threshold": tpl.number(ap["Threshold"]),
                "comparison": tpl.value(ap["ComparisonOperator"]),
                "treat_missing": tpl.value(ap.get("TreatMissingData", "missing")),
                "actions": actions,
            }

        self.scheduled = []
        for name, r in tpl.resources("AWS::AutoScaling::ScheduledAction").items():
            sp = r["Properties"]
            if ref_name(sp.get("AutoScalingGroupName")) != self.group_id:
                continue
            self.scheduled.append({
                "name": name,
                "recurrence": tpl.value(sp["Recurrence"]),
                "min": None if "MinSize" not in sp else int(tpl.number(sp["MinSize"])),
                "max": None if "MaxSize" not in sp else int(tpl.number(sp["MaxSize"])),
                "desired": None if "DesiredCapacity" not in sp else int(tpl.number(sp["DesiredCapacity"])),
            })

    def without(self, *names):
        """These rules minus some alarms (and any policy then left without an alarm)."""
        import copy
        other = copy.deepcopy(self)
        for n in names:
            other.alarms.pop(n, None)
            other.policies.pop(n, None)
        used = {a for al in other.alarms.values() for a in al["actions"]}
        other.policies = {k: v for k, v in other.policies.items() if k in used}
        return other
