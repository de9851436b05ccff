"""The audit's HTML report: one self-contained file (inline CSS and SVG, no script, no external
file), so it opens offline and can be archived with the findings.

Two plots drawn here as SVG: findings over time (per 1,000 events judged each month, by
severity) and the share of events with a finding of each rule. Every bar carries its numbers
(``data-*`` attributes and a ``<title>`` tooltip), so what the plot shows can be read back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from ..serialize import DISCLAIMER

SEVERITIES = ("critical", "error", "warning", "info")
COLOURS = {"critical": "#7f0000", "error": "#d7301f", "warning": "#fdae61", "info": "#74add1"}
RULES_SHOWN = 25  # the plot by rule shows the rules with the most events
PER = 1000  # monthly rates are per this many events judged


def _svg_by_rule(summary: Mapping[str, Any]) -> str:
    judged = summary["events_judged"] or 1
    rows: dict[str, dict[str, Any]] = {}
    for item in summary["by_rule"]:
        entry = rows.setdefault(item["rule"], {"events": 0, "severity": item["severity"]})
        entry["events"] += item["events"]
        if SEVERITIES.index(item["severity"]) < SEVERITIES.index(entry["severity"]):
            entry["severity"] = item["severity"]
    ranked = sorted(rows.items(), key=lambda kv: (-kv[1]["events"], kv[0]))[:RULES_SHOWN]
    if not ranked:
        return "<p>No findings.</p>"
    top = max(v["events"] for _, v in ranked) / judged
    bar_h, label_w, plot_w = 20, 200, 460
    height = bar_h * len(ranked) + 30
    parts = [
        f'<svg id="by-rule" role="img" aria-labelledby="by-rule-title" '
        f'viewBox="0 0 {label_w + plot_w + 90} {height}" width="{label_w + plot_w + 90}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        '<title id="by-rule-title">Share of events judged with a finding of each rule</title>',
    ]
    for i, (rule, v) in enumerate(ranked):
        rate = v["events"] / judged
        y = 10 + i * bar_h
        width = max(plot_w * rate / top, 1)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
            f"{escape(rule)}</text>"
            f'<rect class="bar" data-rule="{escape(rule)}" data-events="{v["events"]}" '
            f'data-judged="{judged}" data-rate="{rate:.6f}" data-severity="{v["severity"]}" '
            f'x="{label_w}" y="{y + 2}" width="{width:.1f}" height="{bar_h - 5}" '
            f'fill="{COLOURS[v["severity"]]}"><title>{escape(rule)}: {v["events"]:,} of '
            f"{judged:,} events ({rate:.2%})</title></rect>"
            f'<text x="{label_w + width + 4:.1f}" y="{y + 14}" font-size="11">{rate:.2%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_over_time(summary: Mapping[str, Any]) -> str:
    months = [m for m in summary["by_month"] if m["events"]]
    if not months:
        return "<p>No events judged.</p>"
    rates = [
        {s: PER * m["by_severity"].get(s, 0) / m["events"] for s in SEVERITIES} for m in months
    ]
    top = max((sum(r.values()) for r in rates), default=0) or 1
    left, plot_h, bottom = 50, 220, 50
    step = max(min(600 // len(months), 40), 6)
    width = left + step * len(months) + 20
    height = plot_h + bottom + 10
    parts = [
        f'<svg id="over-time" role="img" aria-labelledby="over-time-title" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="over-time-title">Findings per {PER:,} events judged, by month and '
        "severity</title>",
        f'<line x1="{left}" y1="{plot_h + 10}" x2="{width - 10}" y2="{plot_h + 10}" '
        'stroke="#444"/>',
        f'<text x="4" y="18" font-size="11">{top:,.0f}</text>'
        f'<text x="4" y="{plot_h + 10}" font-size="11">0</text>',
    ]
    for i, (m, r) in enumerate(zip(months, rates, strict=True)):
        x = left + i * step
        y = plot_h + 10
        parts.append(
            f'<rect class="month" data-month="{m["month"]}" data-events="{m["events"]}" '
            f'data-findings="{m["findings"]}" x="{x}" y="10" width="{step}" height="{plot_h}" '
            f'fill="transparent"><title>{m["month"]}: {m["findings"]:,} findings in '
            f"{m['events']:,} events</title></rect>"
        )
        for s in reversed(SEVERITIES):
            h = plot_h * r[s] / top
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect class="bar" data-month="{m["month"]}" data-severity="{s}" '
                f'data-findings="{m["by_severity"].get(s, 0)}" data-events="{m["events"]}" '
                f'data-rate="{r[s] / PER:.6f}" x="{x + 1}" y="{y:.1f}" width="{step - 2}" '
                f'height="{h:.1f}" fill="{COLOURS[s]}"><title>{m["month"]}: '
                f"{m['by_severity'].get(s, 0):,} {s} findings in {m['events']:,} events"
                "</title></rect>"
            )
        if i % max(1, len(months) // 12) == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{plot_h + 24}" font-size="10" '
                f'text-anchor="end" transform="rotate(-45 {x + step / 2:.1f} {plot_h + 24})">'
                f"{m['month']}</text>"
            )
    parts.append("</svg>")
    legend = " ".join(
        f'<span class="key"><span style="background:{COLOURS[s]}"></span>{s}</span>'
        for s in SEVERITIES
    )
    return "".join(parts) + f'<p class="legend">{legend}</p>'


def _table(rows: Sequence[Sequence[Any]], head: Sequence[str]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem}
.partial{background:#fde0dc;border:2px solid #b71c1c;padding:.75rem 1rem;font-weight:600}
table{border-collapse:collapse;font-size:.9rem} td,th{border:1px solid #ccc;padding:.2rem .5rem}
th{background:#f3f3f3;text-align:left} .legend .key{margin-right:1rem}
.legend .key span{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem}
.note{color:#555;font-size:.9rem}
"""


def render_report(
    summary: Mapping[str, Any],
    pack: Mapping[str, Any],
    options: Mapping[str, Any],
    invalid: Sequence[Mapping[str, str]],
) -> str:
    """The report as HTML text."""
    partial = summary["status"] == "partial"
    banner = ""
    if partial:
        first = invalid[0] if invalid else {}
        where = ", ".join(
            x
            for x in (
                first.get("source_file"),
                first.get("source_row") and f"row {first['source_row']}",
                first.get("column") and f"column {first['column']}",
            )
            if x
        )
        banner = (
            '<p class="partial" id="status">PARTIAL: '
            f"{summary['problems']['invalid']:,} input row(s) could not be read and were not "
            f"judged (first: {escape(where)}: {escape(first.get('message', ''))}). "
            "See problems.csv.</p>"
        )
    totals = [
        ("Patients", f"{summary['patients']:,}"),
        ("Events judged", f"{summary['events_judged']:,}"),
        ("Findings", f"{summary['findings']:,}"),
        ("Error or critical findings", f"{summary['serious_findings']:,}"),
        ("Rows not mapped", f"{summary['problems']['unmapped']:,}"),
        ("Rows refused", f"{summary['problems']['invalid']:,}"),
        ("Duplicate rows (judged once)", f"{summary['problems']['duplicate']:,}"),
    ]
    severity_rows = [(s, f"{summary['by_severity'].get(s, 0):,}") for s in SEVERITIES]
    rule_rows = [
        (r["rule"], r["severity"], f"{r['findings']:,}", f"{r['events']:,}")
        for r in summary["by_rule"]
    ]
    source = (
        f"{escape(str(options.get('from')))} data from {escape(str(options.get('events')))}; "
        f"engine {escape(str(options.get('engine')))}; pack {escape(str(pack.get('medicine')))} "
        f"({escape(str(pack.get('profile')))}), SHA-256 {escape(str(pack.get('sha256'))[:16])}…"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Posology audit{" (partial)" if partial else ""}</title><style>{STYLE}</style></head>
<body><main>
<h1>Baclofen dose audit{" — partial" if partial else ""}</h1>
{banner}
<p class="note">{escape(source)}. {escape(DISCLAIMER)}</p>
<h2>Totals</h2>{_table(totals, ("", "count"))}
<h2>Findings over time</h2>{_svg_over_time(summary)}
<h2>Findings by rule</h2>
<p class="note">Share of the events judged that have at least one finding of the rule.</p>
{_svg_by_rule(summary)}
<h2>By severity</h2>{_table(severity_rows, ("severity", "findings"))}
<h2>By rule</h2>{_table(rule_rows, ("rule", "severity", "findings", "events"))}
</main></body></html>
"""


def write_report(
    out: Path,
    summary: Mapping[str, Any],
    pack: Mapping[str, Any],
    options: Mapping[str, Any],
    invalid: Sequence[Mapping[str, str]],
) -> Path:
    path = out / "report.html"
    path.write_text(render_report(summary, pack, options, invalid), "utf-8")
    return path
