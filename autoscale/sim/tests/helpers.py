"""Small builders for the simulator's tests."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.dirname(HERE)
sys.path.insert(0, SIM)

from fleetsim.engine import INSERVICE, Config, Instance, Simulation  # noqa: E402
from fleetsim.template import Rules, Template  # noqa: E402
from fleetsim.workload import JobModel, Trace  # noqa: E402

TEMPLATE = os.path.join(os.path.dirname(SIM), "quire-fleet.yaml")
MEASUREMENTS = os.path.join(SIM, "data", "quire-process.json")


def rules(params=None, drop=()):
    return Rules(Template.from_file(TEMPLATE, params or {})).without(*drop)


def flat_model(wall=10.0, cpu=0.5):
    """Every book takes `wall` seconds at `cpu` of the instance, whatever its size."""
    return JobModel([(1.0, wall, cpu), (1000.0, wall, cpu)], 2)


def config(**kw):
    base = dict(startup_jitter=0.0, job_jitter=0.0, publisher_offset=10.0, poll_phase=0.0, seed=7)
    base.update(kw)
    return Config(**base)


def sim(r, cfg, arrivals, horizon, model=None, burst=None):
    return Simulation(r, cfg, Trace("t", "test", arrivals, horizon, burst), model or flat_model())


def add_instance(s, t=0.0, warm=True, az=None):
    """An InService instance added by hand (not through scaling)."""
    inst = Instance("i-x%d" % len(s.instances), len(s.instances) % 2 if az is None else az, t, t, 0.0 if warm else 600.0)
    s.instances.append(inst)
    s.become_inservice(inst, t)
    assert inst.state == INSERVICE
    return inst
