"""Charts of a plan as inline SVG: the daily dose as a staircase, a pump's 24-hour rate profile,
and the reservoir falling to its alarm volume. Plain SVG drawn here: no plotting library to load
per request, nothing fetched by the browser, readable in print and in the PDF handout.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from ..model.events import ItInfusion, OralRegimen, OralStop, PumpRefill
from ..planning.model import Plan
from ..units import Quantity

W, H, PAD = 640, 220, 48


def _frame(title: str, body: str, x_label: str, y_label: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {W} {H}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 10}" y2="{H - PAD}" class="axis"/>'
        f'<line x1="{PAD}" y1="10" x2="{PAD}" y2="{H - PAD}" class="axis"/>'
        f'<text x="{W // 2}" y="{H - 8}" class="label" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{H // 2}" class="label" transform="rotate(-90 12 {H // 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>{body}</svg>'
    )


def daily_dose_staircase(plan: Plan) -> str | None:
    """Daily dose over time, one line per route, as steps. None when the plan changes no dose."""
    points: list[tuple[datetime, float, str]] = []
    for step in plan.steps:
        e = step.event
        if isinstance(e, OralRegimen):
            points.append((e.at, float(e.daily_dose.in_("mg/d")), "mg/day"))
        elif isinstance(e, OralStop):
            points.append((e.at, 0.0, "mg/day"))
        elif isinstance(e, ItInfusion):
            points.append((e.at, float(e.daily_dose.in_("ug/d")), "µg/day"))
    if not points:
        return None
    unit = points[0][2]
    points = [p for p in points if p[2] == unit]
    t0, t1 = points[0][0], points[-1][0]
    span = max((t1 - t0).total_seconds(), 86400.0) * 1.15
    top = max(v for _, v, _ in points) * 1.15 or 1.0
    xs = [PAD + (p[0] - t0).total_seconds() / span * (W - PAD - 20) for p in points]
    ys = [H - PAD - v / top * (H - PAD - 20) for _, v, _ in points]
    path = f"M{xs[0]:.1f},{ys[0]:.1f}"
    for i in range(1, len(points)):
        path += f" H{xs[i]:.1f} V{ys[i]:.1f}"
    path += f" H{W - 10}"
    marks = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"/><text x="{x + 4:.1f}" y="{y - 6:.1f}" '
        f'class="value">{v:g}</text>'
        for x, y, (_, v, _) in zip(xs, ys, points, strict=True)
    )
    title = f"Daily dose ({unit}) from {t0:%d %b %Y}"
    return _frame(title, f'<path d="{path}" class="line"/>{marks}', "days", unit)


def rate_profile(plan: Plan, running: ItInfusion | None = None) -> str | None:
    """The 24-hour hourly-rate profile of the plan's last infusion step, else of the infusion
    running when the plan starts."""
    infusions = [s.event for s in plan.steps if isinstance(s.event, ItInfusion)]
    last = infusions[-1] if infusions else running
    if last is None:
        return None
    segments = last.schedule or ()
    if not segments:
        rates = [(0, last.daily_dose)]
    else:
        rates = [(int(s.start[:2]) * 60 + int(s.start[3:]), s.daily_rate) for s in segments]
    rates.sort(key=lambda r: r[0])
    per_hour = [float(q.in_("ug/h")) for _, q in rates]
    top = max(per_hour) * 1.25
    path = ""
    # the rate in force at midnight is the last segment's
    level = per_hour[-1]
    x0 = PAD
    y = H - PAD - level / top * (H - PAD - 20)
    path = f"M{x0},{y:.1f}"
    for (minute, _q), rate in zip(rates, per_hour, strict=True):
        x = PAD + minute / 1440 * (W - PAD - 20)
        y = H - PAD - rate / top * (H - PAD - 20)
        path += f" H{x:.1f} V{y:.1f}"
    path += f" H{W - 20}"
    ticks = "".join(
        f'<text x="{PAD + h / 24 * (W - PAD - 20):.1f}" y="{H - PAD + 16}" class="tick" '
        f'text-anchor="middle">{h:02d}:00</text>'
        for h in range(0, 25, 6)
    )
    labels = "".join(
        f'<text x="{PAD + m / 1440 * (W - PAD - 20) + 4:.1f}" '
        f'y="{H - PAD - r / top * (H - PAD - 20) - 6:.1f}" class="value">{r:.1f} µg/h</text>'
        for (m, _q), r in zip(rates, per_hour, strict=True)
    )
    return _frame(
        "Hourly rate over 24 hours",
        f'<path d="{path}" class="line"/>{ticks}{labels}',
        "time of day",
        "µg/h",
    )


def reservoir_curve(plan: Plan, daily: Quantity | None) -> str | None:
    """The reservoir volume from the first refill of the plan down to its alarm volume."""
    refills = [s.event for s in plan.steps if isinstance(s.event, PumpRefill)]
    if not refills or daily is None:
        return None
    fill = refills[0]
    per_day = float((daily / fill.concentration).in_("mL/d"))
    volume = float(fill.volume.in_("mL"))
    alarm = float(fill.alarm.in_("mL")) if fill.alarm else 0.0
    days_to_empty = volume / per_day if per_day else 1.0
    top = volume * 1.1
    x_end = PAD + (W - PAD - 20)
    y_start = H - PAD - volume / top * (H - PAD - 20)
    y_alarm = H - PAD - alarm / top * (H - PAD - 20)
    alarm_day = (volume - alarm) / per_day if per_day else 0.0
    x_alarm = PAD + alarm_day / days_to_empty * (W - PAD - 20)
    body = (
        f'<line x1="{PAD}" y1="{y_start:.1f}" x2="{x_end:.1f}" y2="{H - PAD}" class="line"/>'
        f'<line x1="{PAD}" y1="{y_alarm:.1f}" x2="{W - 10}" y2="{y_alarm:.1f}" class="alarm"/>'
        f'<circle cx="{x_alarm:.1f}" cy="{y_alarm:.1f}" r="4"/>'
        f'<text x="{x_alarm - 6:.1f}" y="{y_alarm - 8:.1f}" class="value" text-anchor="end">'
        f"alarm ({alarm:g} mL) "
        f"after {alarm_day:.1f} days</text>"
        f'<text x="{PAD + 6}" y="{y_start - 6:.1f}" class="value">{volume:g} mL</text>'
    )
    return _frame(f"Reservoir from {fill.at:%d %b %Y}", body, "days", "mL")
