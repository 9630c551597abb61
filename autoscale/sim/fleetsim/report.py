"""Summaries of simulation results: the markdown table and a plain SVG chart."""
from xml.sax.saxutils import escape


def percentile(sorted_values, q):
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


class Summary:
    def __init__(self, trace, policy, res):
        self.trace, self.policy = trace, policy
        done = [j for j in res.jobs if j.finished is not None]
        self.jobs = len(res.jobs)
        self.done = len(done)
        self.lost = sum(1 for j in res.jobs if j.lost)
        self.unfinished = self.jobs - self.done - self.lost
        waits = sorted(j.started - j.arrival for j in done)
        self.wait_p50 = percentile(waits, 50)
        self.wait_p95 = percentile(waits, 95)
        self.wait_max = waits[-1] if waits else None
        self.requeued = sum(j.attempts - 1 for j in res.jobs)
        self.instance_minutes = sum(
            ((min(i.terminated_at, res.horizon) if i.terminated_at is not None else res.horizon) - i.launched)
            for i in res.instances) / 60.0
        self.drain = None
        if trace.burst is not None:
            burst = [j for j in res.jobs if j.burst]
            if burst and all(j.finished is not None for j in burst):
                self.drain = max(j.finished for j in burst) - trace.burst[0]
        self.busy_terminated = res.busy_terminated
        self.busy_picked = res.busy_picked
        self.scale_events = res.scale_events
        self.launches = res.launches
        self.series = res.series


def mmss(seconds):
    if seconds is None:
        return "-"
    s = int(round(seconds))
    if s >= 3600:
        return "%dh%02d" % (s // 3600, (s % 3600) // 60)
    return "%d:%02d" % (s // 60, s % 60)


def table(summaries):
    head = ("| trace | policy | instance-min | wait p50 | wait p95 | wait max | burst drained in | "
            "busy terminated | jobs lost / rerun | scale events (launches) |")
    lines = [head, "|" + "---|" * 2 + "---:|" * 8]
    for s in summaries:
        lines.append("| %s | %s | %d | %s | %s | %s | %s | %d | %d / %d | %d (%d) |" % (
            s.trace.name, s.policy.name, round(s.instance_minutes), mmss(s.wait_p50), mmss(s.wait_p95),
            mmss(s.wait_max), mmss(s.drain) if s.trace.burst else "n/a", s.busy_terminated, s.lost, s.requeued,
            s.scale_events, s.launches))
    return "\n".join(lines)


COLORS = {"seed": "#f4a582", "cpu": "#b2182b", "quire-unprotected": "#92c5de", "quire": "#053061"}


def svg(panels, width=960, panel_h=230):
    """panels: [(title, window (t0, t1), [(policy name, series)])]; two charts per panel:
    instances in the group (Pending + InService) and jobs queued, against hours."""
    left, right, gap = 60, 150, 40
    chart_w = (width - left - right - gap) / 2.0
    height = len(panels) * (panel_h + 40) + 30
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="11">' % (width, height, width, height),
           '<rect width="100%" height="100%" fill="white"/>']
    y0 = 20
    for title, (t0, t1), lines in panels:
        out.append('<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>' % (left, y0 + 4, escape(title)))
        for c, (label, idx) in enumerate((("instances", 1), ("jobs queued", 4))):
            x0 = left + c * (chart_w + gap)
            top, h = y0 + 20, panel_h - 40
            ymax, step = _axis(max([1] + [p[idx] for _, series in lines for p in series if t0 <= p[0] <= t1]))
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>'
                       % (x0, top, chart_w, h))
            for k in range(int(ymax // step) + 1):
                v = k * step
                y = top + h - h * v / ymax
                out.append('<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%d</text>' % (x0 - 4, y + 4, v))
                if 0 < v < ymax:
                    out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>' % (x0, y, x0 + chart_w, y))
            for k in range(6):
                tt = t0 + (t1 - t0) * k / 5.0
                x = x0 + chart_w * k / 5.0
                out.append('<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%.1f h</text>'
                           % (x, top + h + 14, tt / 3600.0))
            out.append('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>' % (x0 + chart_w / 2, top - 4, label))
            for name, series in lines:
                pts, prev, last_x = [], None, None
                for p in series:
                    if p[0] < t0 or p[0] > t1:
                        continue
                    x = x0 + chart_w * (p[0] - t0) / (t1 - t0)
                    y = top + h - h * min(p[idx], ymax) / ymax
                    last_x = x
                    if y == prev:
                        continue  # a step line: only where the value changes
                    if prev is not None:
                        pts.append("%.1f,%.1f" % (x, prev))
                    pts.append("%.1f,%.1f" % (x, y))
                    prev = y
                if prev is not None:
                    pts.append("%.1f,%.1f" % (last_x, prev))
                if pts:
                    width, dash = STYLES.get(name, (1.5, ""))
                    out.append('<path fill="none" stroke="%s" stroke-width="%.1f"%s d="M%s"/>'
                               % (COLORS.get(name, "#333"), width,
                                  ' stroke-dasharray="%s"' % dash if dash else "", " L".join(pts)))
        y0 += panel_h + 40
    lx = width - right + 12
    for k, name in enumerate(COLORS):
        y = 50 + k * 18
        width, dash = STYLES[name]
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%.1f"%s/>'
                   % (lx, y, lx + 24, y, COLORS[name], width, ' stroke-dasharray="%s"' % dash if dash else ""))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 26, y + 4, escape(name)))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# Policies that often coincide are told apart by width and dashes: the wide ones are drawn first.
STYLES = {"seed": (5.0, ""), "cpu": (2.0, "6 4"), "quire-unprotected": (5.0, ""), "quire": (1.6, "")}


def _axis(v):
    """An axis top at or above v, and a whole tick step giving at most five ticks."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        top = -(-v // step) * step
        if top / step <= 5:
            return top, step
    return v, v
