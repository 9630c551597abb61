"""The policies compared in docs/operations/autoscale.md, each read from the template.

Every policy is the fleet template with some parameters overridden and some
alarms left out (as a stack launched with those parameters, without those
alarms), plus how the workers behave (protection, what a termination does).
"""
from .engine import Config
from .template import Rules, Template

QUEUE_ALARMS = ("BacklogHighAlarm", "ActivityLowAlarm", "FromZeroAlarm")

# OpsWorks load-based scaling as the seed used it: the values of AWS's own example
# configuration (aws-cli awscli/examples/opsworks/describe-load-based-auto-scaling.rst):
# up at 80 % CPU for 5 minutes, one instance, metrics ignored 5 minutes; down at
# 30 % for 10 minutes, one instance. IgnoreMetricsTime becomes the instance warm-up.
SEED_PARAMS = {
    "CpuScaleOutThreshold": 80, "CpuScaleOutMinutes": 5, "CpuScaleOutInstances": 1,
    "CpuScaleInThreshold": 30, "CpuScaleInMinutes": 10, "CpuScaleInInstances": 1,
    "InstanceWarmup": 300, "MinSize": 1,
}


class Policy:
    def __init__(self, name, title, params=None, drop=(), **worker):
        self.name, self.title = name, title
        self.params = dict(params or {})
        self.drop = tuple(drop)
        self.worker = worker

    def rules(self, template_path, extra_params=None):
        params = dict(extra_params or {})
        params.update(self.params)
        return Rules(Template.from_file(template_path, params)).without(*self.drop)

    def config(self, **kw):
        settings = dict(self.worker)
        settings.update(kw)
        return Config(**settings)


POLICIES = [
    Policy("seed", "the seed's CPU-only policy: OpsWorks' 80 %/5 min up, 30 %/10 min down, 5 min warm-up, "
           "one 24/7 instance; Resque's TERM kills the running job",
           params=SEED_PARAMS, drop=QUEUE_ALARMS, protection=False, termination="term-kill", publisher=False),
    Policy("cpu", "CPU without protection: the template's CPU alarms alone, scale-out at its defaults, "
           "scale-in at OpsWorks' 30 %/10 min, MinSize 1 (CPU cannot scale from zero); quire's worker "
           "drains 30 s on TERM, then requeues",
           params={"MinSize": 1, "CpuScaleInThreshold": 30, "CpuScaleInMinutes": 10}, drop=QUEUE_ALARMS,
           protection=False, termination="term-drain", publisher=False),
    Policy("quire-unprotected", "quire's defaults without scale-in protection or the drain hook",
           protection=False, termination="term-drain"),
    Policy("quire", "quire's defaults: the template as it is, the worker protecting its instance while a job "
           "runs and draining through the terminating hook"),
]


def by_name(name):
    for p in POLICIES:
        if p.name == name:
            return p
    raise KeyError("no policy %s (have: %s)" % (name, ", ".join(p.name for p in POLICIES)))
