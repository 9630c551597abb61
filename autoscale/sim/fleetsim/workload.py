"""Jobs: how long a book takes and how much CPU it uses, from measured quire runs,
and the traces the policies are compared on.

The job model comes from autoscale/sim/data/quire-process.json (written by
autoscale/sim/measure.sh): for each measured book, the fastest of its runs (the
one least disturbed by other work on the shared machine) is its wall time on an
instance like the one measured, and the median CPU seconds (user + system) over
wall time and CPU count is the share of the instance it keeps busy. Between
measured sizes both are interpolated linearly; above the largest book the wall
time grows with the last measured slope; below the smallest it shrinks
proportionally to size. Each job's time varies by a seeded log-normal factor
(sigma 0.05, about the spread of the repeated runs).
"""
import bisect
import json
import math
import random
import statistics


class JobModel:
    def __init__(self, points, cpus, source=""):
        self.points = sorted(points)  # (mb, wall_s, cpu_frac)
        self.cpus = cpus
        self.source = source

    @classmethod
    def from_measurements(cls, path):
        with open(path) as f:
            doc = json.load(f)
        books = {}
        for r in doc["runs"]:
            books.setdefault(r["book"], []).append(r)
        cpus = doc["machine"]["cpus"]
        points = []
        for runs in books.values():
            wall = min(r["wall_s"] for r in runs)
            cpu = statistics.median(r["user_s"] + r["sys_s"] for r in runs)
            points.append((runs[0]["bytes"] / 1e6, wall, min(1.0, cpu / (wall * cpus))))
        return cls(points, cpus, "%s (%s, %s)" % (path, doc.get("quire", "?"), doc.get("when", "?")))

    def wall(self, mb):
        xs = [p[0] for p in self.points]
        if mb <= xs[0]:
            return self.points[0][1] * mb / xs[0]
        if mb >= xs[-1]:
            (x0, y0, _), (x1, y1, _) = self.points[-2], self.points[-1]
            return y1 + (mb - x1) * (y1 - y0) / (x1 - x0)
        i = bisect.bisect_right(xs, mb)
        (x0, y0, _), (x1, y1, _) = self.points[i - 1], self.points[i]
        return y0 + (mb - x0) * (y1 - y0) / (x1 - x0)

    def cpu(self, mb):
        xs = [p[0] for p in self.points]
        if mb <= xs[0]:
            return self.points[0][2]
        if mb >= xs[-1]:
            return self.points[-1][2]
        i = bisect.bisect_right(xs, mb)
        (x0, _, c0), (x1, _, c1) = self.points[i - 1], self.points[i]
        return c0 + (mb - x0) * (c1 - c0) / (x1 - x0)


class Job:
    __slots__ = ("id", "arrival", "mb", "work", "cpu", "started", "finished", "attempts", "lost", "burst",
                 "remaining", "instance")

    def __init__(self, id_, arrival, mb, work, cpu, burst=False):
        self.id, self.arrival, self.mb, self.work, self.cpu, self.burst = id_, arrival, mb, work, cpu, burst
        self.started = self.finished = None
        self.attempts = 0
        self.lost = False
        self.remaining = work
        self.instance = None


class Trace:
    """Arrivals (seconds, book MB), a horizon, and the burst whose drain time is reported."""

    def __init__(self, name, title, arrivals, horizon, burst=None):
        self.name, self.title, self.arrivals, self.horizon, self.burst = name, title, arrivals, horizon, burst

    def jobs(self, model, rng, jitter=0.05):
        out = []
        for i, (t, mb) in enumerate(self.arrivals):
            factor = math.exp(rng.gauss(0.0, jitter)) if jitter else 1.0
            in_burst = self.burst is not None and self.burst[0] <= t <= self.burst[1]
            out.append(Job(i, t, mb, model.wall(mb) * factor, model.cpu(mb), in_burst))
        return out


def book_sizes(rng, n, median_mb=15.0, sigma=1.2, low=0.2, high=1000.0):
    """Publisher books: log-normal sizes (median 15 MB; one in a hundred over about 240 MB)."""
    return [min(high, max(low, median_mb * math.exp(rng.gauss(0.0, sigma)))) for _ in range(n)]


def poisson(rng, start, end, per_hour):
    t, out = start, []
    while True:
        t += rng.expovariate(per_hour / 3600.0)
        if t >= end:
            return out
        out.append(t)


HOUR = 3600.0


def standard_traces(seed=1):
    """The three traces of docs/operations/autoscale.md, from a seeded RNG."""
    rng = random.Random(seed)
    batch_at = 1 * HOUR
    batch = [(batch_at, mb) for mb in book_sizes(rng, 200)]
    trickle_times = poisson(rng, 0.0, 24 * HOUR, 6)
    trickle = list(zip(trickle_times, book_sizes(rng, len(trickle_times))))
    burst_start = 60 * HOUR
    burst_times = poisson(rng, burst_start, burst_start + HOUR, 300)
    after = poisson(rng, burst_start + HOUR, burst_start + 7 * HOUR, 6)
    weekend = list(zip(burst_times, book_sizes(rng, len(burst_times)))) + list(zip(after, book_sizes(rng, len(after))))
    return [
        Trace("batch", "a publisher's batch of 200 books at once", batch, 5 * HOUR, (batch_at, batch_at)),
        Trace("trickle", "a steady trickle, 6 books an hour for 24 h", trickle, 25 * HOUR),
        Trace("weekend", "an idle weekend (60 h), then 300 books in an hour, then 6 an hour",
              weekend, 72 * HOUR, (burst_start, burst_start + HOUR)),
    ]
