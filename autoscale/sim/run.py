#!/usr/bin/python3
"""Replays the job traces against the fleet template's scaling rules and compares policies.

usage: autoscale/sim/run.py [--write-docs | --check-docs] [--param NAME=VALUE ...] [--policy P ...]
                            [--trace T ...] [--seed N] [--set SETTING=VALUE ...]
                            [--sweep NAME=V1,V2,... ...]

  (no option)      print the comparison table (every policy on every trace)
  --write-docs     also write it, with the chart, into docs/operations/autoscale.md
                   (between the sim markers) and docs/operations/autoscale-sim.svg
  --check-docs     exit 1 if those are not what --write-docs would write now
  --param N=V      launch the template with parameter N = V (all policies)
  --set S=V        a simulation setting (fleetsim.engine.Config: boot_s, converge_s, slots, ...)
  --sweep N=a,b,c  the quire policy on every trace for each combination of values,
                   one line each (--write-docs also writes the sweeps behind the defaults)
Runs with /usr/bin/python3 (PyYAML from Debian's python3-yaml); deterministic for a seed.
"""
import argparse
import itertools
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from fleetsim import report  # noqa: E402
from fleetsim.engine import Simulation  # noqa: E402
from fleetsim.policies import POLICIES, by_name  # noqa: E402
from fleetsim.workload import JobModel, standard_traces  # noqa: E402

TEMPLATE = os.path.join(ROOT, "autoscale", "quire-fleet.yaml")
MEASUREMENTS = os.path.join(HERE, "data", "quire-process.json")
DOC = os.path.join(ROOT, "docs", "operations", "autoscale.md")
SVG = os.path.join(ROOT, "docs", "operations", "autoscale-sim.svg")
BEGIN, END = "<!-- sim:begin (autoscale/sim/run.py --write-docs) -->", "<!-- sim:end -->"
# The what-if: jobs as long as the seed's Ruby pipeline took ("a few minutes to almost an
# hour"), with the backlog threshold scaled to such jobs (about the wait accepted over the
# mean job time).
LONG_JOBS = {"job_scale": 30.0}
LONG_JOB_PARAMS = {"BacklogScaleOutThreshold": "2", "BacklogBigStepAbove": "4"}
# The sweeps behind the defaults, regenerated with the table.
SWEEPS = [
    ("Scale-in", [("MinSize", ["0", "1"]), ("CpuScaleInThreshold", ["0", "10"]),
                  ("ActivityScaleInMinutes", ["15", "30", "60"])]),
    ("Scale-out", [("BacklogScaleOutThreshold", ["2", "10", "30"]), ("BacklogBigStepAbove", ["8", "100"]),
                   ("BacklogBigStepInstances", ["2", "4", "8"])]),
]
WINDOWS = {"batch": (0.75 * 3600, 2.0 * 3600), "trickle": (0, 24 * 3600), "weekend": (59.5 * 3600, 63.5 * 3600)}


def pairs(items):
    out = {}
    for item in items or []:
        k, _, v = item.partition("=")
        if not _:
            raise SystemExit("expected NAME=VALUE, got %r" % item)
        out[k] = v
    return out


def settings(items):
    out = {}
    for k, v in pairs(items).items():
        out[k] = v.lower() == "true" if v.lower() in ("true", "false") else (float(v) if re.match(r"^-?[0-9.]+$", v) else v)
        if k in ("slots", "azs", "seed"):
            out[k] = int(out[k])
    return out


def simulate(policies, traces, params, sets, seed, model):
    out = []
    for trace in traces:
        for policy in policies:
            rules = policy.rules(TEMPLATE, params)
            cfg = policy.config(seed=seed, **sets)
            out.append(report.Summary(trace, policy, Simulation(rules, cfg, trace, model).run()))
    return out


def section(summaries, long_summaries, sweeps, model, seed, sets):
    cfg = POLICIES[-1].config(seed=seed, **sets)
    lines = [BEGIN, ""]
    lines.append("Job model: %s. A book of 15 MB takes %.1f s and keeps %.0f %% of the instance busy; "
                 "one of 300 MB, %.1f s at %.0f %%." % (
                     os.path.relpath(model.source.split(" ")[0], ROOT) + " " + " ".join(model.source.split(" ")[1:]),
                     model.wall(15), 100 * model.cpu(15), model.wall(300), 100 * model.cpu(300)))
    lines.append("Assumed, not measured: boot %.0f s and converge %.0f s (each +-%.0f %%), %d slot per instance; "
                 "seed %d." % (cfg.boot_s, cfg.converge_s, 100 * cfg.startup_jitter, cfg.slots, seed))
    lines.append("")
    lines.append(report.table(summaries))
    lines.append("")
    lines.append("Policies:")
    lines.append("")
    for p in POLICIES:
        lines.append("- `%s`: %s." % (p.name, p.title))
    lines.append("")
    lines.append("![instances in the group and jobs queued over time, per policy](autoscale-sim.svg)")
    lines.append("")
    lines.append("What if jobs took as long as the seed's (every job %.0fx its measured time, the backlog "
                 "threshold scaled to match: %s):" % (LONG_JOBS["job_scale"], ", ".join(
                     "%s %s" % kv for kv in LONG_JOB_PARAMS.items())))
    lines.append("")
    lines.append(report.table(long_summaries))
    lines.append("")
    for title, table in sweeps:
        lines.append("%s sweep (the `quire` policy, every other parameter at its default):" % title)
        lines.append("")
        lines.append(table)
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def split_doc():
    with open(DOC) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        raise SystemExit("%s has no simulation markers (%s ... %s)" % (DOC, BEGIN, END))
    head, rest = doc.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    return head, BEGIN + current + END, tail


def write_docs(text, chart):
    head, _, tail = split_doc()
    with open(DOC, "w") as f:
        f.write(head + text + tail)
    with open(SVG, "w") as f:
        f.write(chart)
    print("wrote %s and %s" % (os.path.relpath(DOC, ROOT), os.path.relpath(SVG, ROOT)), file=sys.stderr)


def check_docs(text, chart):
    """Exit status 1 when the docs' section or the chart is not what the code now produces."""
    _, current, _ = split_doc()
    stale = []
    if current != text:
        stale.append(os.path.relpath(DOC, ROOT))
    if not os.path.exists(SVG) or open(SVG).read() != chart:
        stale.append(os.path.relpath(SVG, ROOT))
    if stale:
        print("stale: %s (run autoscale/sim/run.py --write-docs)" % ", ".join(stale), file=sys.stderr)
        sys.exit(1)
    print("docs up to date", file=sys.stderr)


def chart(summaries, traces):
    panels = []
    for trace in traces:
        lines = [(s.policy.name, s.series) for s in summaries if s.trace is trace]
        panels.append(("%s: %s" % (trace.name, trace.title), WINDOWS.get(trace.name, (0, trace.horizon)), lines))
    return report.svg(panels)


def sweep_table(grid, traces, params, sets, seed, model):
    quire = by_name("quire")
    head = "| " + " | ".join(k for k, _ in grid) + " | " + " | ".join(
        "%s inst-min | %s p95 | %s max" % (t.name, t.name, t.name) for t in traces) + " | scale events |"
    lines = [head, "|" + "---:|" * (len(grid) + 3 * len(traces) + 1)]
    for combo in itertools.product(*[vals for _, vals in grid]):
        p = dict(params)
        p.update({k: v for (k, _), v in zip(grid, combo)})
        s = simulate([quire], traces, p, sets, seed, model)
        cells = ["%d | %s | %s" % (round(x.instance_minutes), report.mmss(x.wait_p95), report.mmss(x.wait_max))
                 for x in s]
        lines.append("| " + " | ".join(combo) + " | " + " | ".join(cells) + " | %d |" % sum(x.scale_events for x in s))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--check-docs", action="store_true")
    ap.add_argument("--param", action="append")
    ap.add_argument("--set", action="append")
    ap.add_argument("--policy", action="append")
    ap.add_argument("--trace", action="append")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sweep", action="append")
    a = ap.parse_args()
    model = JobModel.from_measurements(MEASUREMENTS)
    traces = [t for t in standard_traces(a.seed) if not a.trace or t.name in a.trace]
    policies = [by_name(n) for n in a.policy] if a.policy else POLICIES
    params, sets = pairs(a.param), settings(a.set)
    if a.sweep:
        grid = [(k, v.split(",")) for k, v in pairs(a.sweep).items()]
        print(sweep_table(grid, traces, params, sets, a.seed, model))
        return
    summaries = simulate(policies, traces, params, sets, a.seed, model)
    print(report.table(summaries))
    if a.write_docs or a.check_docs:
        if params or sets or a.policy or a.trace or a.seed != 1:
            raise SystemExit("--write-docs and --check-docs take the defaults only")
        long_summaries = simulate(policies, traces, LONG_JOB_PARAMS, LONG_JOBS, a.seed, model)
        sweeps = [(title, sweep_table(grid, traces, {}, {}, a.seed, model)) for title, grid in SWEEPS]
        text = section(summaries, long_summaries, sweeps, model, a.seed, sets)
        (write_docs if a.write_docs else check_docs)(text, chart(summaries, traces))


if __name__ == "__main__":
    main()
