"""Text for people: findings as a readable table, rules with their numbers and quotes.

Plain text wrapped to the terminal, no colour library: the CLI must start fast, and the output
must read the same in a terminal, a log file and a printed page.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterable, Mapping

from .knowledge.derived import treatment_fields
from .knowledge.schema import Pack, Rule
from .model.finding import Finding, verdict
from .serialize import DISCLAIMER, value_json

_SEV_WIDTH = 9
_RULE_WIDTH = 24


def _width() -> int:
    """The width text is laid out at: the terminal's, kept between 60 and 120 columns."""
    return max(60, min(terminal_columns(100), 120))


def terminal_columns(fallback: int) -> int:
    """The terminal's width as ``shutil.get_terminal_size`` reads it (``COLUMNS`` first, then the
    terminal of standard output, else ``fallback``), without importing ``shutil`` and the
    compression modules it brings: milliseconds of every ``posology check``."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or fallback  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return fallback


def render_check(findings: Iterable[Finding], pack: Pack | None = None) -> str:
    """A verdict line, the rules used (``pack``), then one block per finding: severity, rule,
    message, quote."""
    items = list(findings)
    width = _width()
    counts: dict[str, int] = {}
    for f in items:
        counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
    summary = ", ".join(f"{n} {sev}" for sev, n in counts.items()) or "no findings"
    lines = [f"Verdict: {verdict(items).upper()} ({summary})"]
    if pack is not None:
        lines.append(pack_line(pack))
    lines.append("")
    if items:
        lines.append(f"{'SEVERITY':<{_SEV_WIDTH}} {'RULE':<{_RULE_WIDTH}} MESSAGE")
        indent = " " * (_SEV_WIDTH + _RULE_WIDTH + 2)
        body = max(30, width - len(indent))
        for f in items:
            message = textwrap.wrap(f.message, body) or [""]
            head = f"{f.severity.value:<{_SEV_WIDTH}} {f.rule:<{_RULE_WIDTH}} "
            lines.append(head + message[0])
            lines.extend(indent + m for m in message[1:])
            quote = f"“{f.citation.quote}” ({f.citation.source}, {f.citation.evidence})"
            lines.extend(indent + q for q in textwrap.wrap(quote, body))
            lines.append("")
    else:
        lines.append("No rule found anything to report for this proposal.")
        lines.append("")
    lines.extend(textwrap.wrap(DISCLAIMER, width))
    return "\n".join(lines)


def pack_line(pack: Pack) -> str:
    """The rules an answer was worked out with, for people: the pack's title and profile (a
    profile changes numbers, so every answer names it)."""
    return f"Rules: {pack.title}; jurisdiction profile: {pack.profile_words}"


def _fmt_value(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_fmt_value(v) for v in value)
    if isinstance(value, dict):
        if "min" in value and "max" in value:
            lo = (">" if value.get("min_exclusive") else "") + str(value["min"])
            hi = ("<" if value.get("max_exclusive") else "") + str(value["max"])
            return f"{lo} to {hi}"
        return "; ".join(f"{k}: {_fmt_value(v)}" for k, v in value.items())
    return str(value)


def render_rule(rule: Rule, pack: Pack) -> str:
    """Everything about one rule: what it says, its numbers, how the engine uses it, its quote."""
    width = _width()
    out = [
        f"{rule.id}: {rule.title}",
        pack_line(pack),
        f"route: {rule.route}; engine: {', '.join(sorted(rule.engine))}",
        "",
    ]
    out.extend(textwrap.wrap(rule.statement, width))
    if rule.numbers:
        out += ["", "Numbers:"]
        for name, value in rule.numbers.items():
            out.append(f"  {name}: {_fmt_value(value_json(value))}")
    if rule.codes:
        out += ["", "Codes:"]
        for name, codes in rule.codes.items():
            shown = (
                "; ".join(f"{k} → {v}" for k, v in codes.items())
                if isinstance(codes, Mapping)
                else ", ".join(codes)
                if isinstance(codes, tuple)
                else codes
            )
            out.extend(textwrap.wrap(f"  {name}: {shown}", width, subsequent_indent="    "))
    if rule.severities:
        out += [
            "",
            "Findings: " + ", ".join(f"{k} → {v.value}" for k, v in rule.severities.items()),
        ]
    derived = _derived_lines(rule, pack)
    if derived:
        out += ["", *derived]
    if rule.interpretation:
        out += ["", "Reading chosen:"]
        out.extend(
            textwrap.wrap(rule.interpretation, width, initial_indent="  ", subsequent_indent="  ")
        )
    out += ["", f"Source: {rule.citation.source} (evidence: {rule.evidence})"]
    if rule.citation.url:
        out.append(f"  {rule.citation.url}")
    out.extend(
        textwrap.wrap(
            f"“{rule.citation.quote}”", width, initial_indent="  ", subsequent_indent="  "
        )
    )
    return "\n".join(out)


def _derived_lines(rule: Rule, pack: Pack) -> list[str]:
    route = next(
        (
            r
            for r in ("oral", "intrathecal")
            if pack.has_role(f"{r}.daily-range") and pack.role(f"{r}.daily-range").id == rule.id
        ),
        None,
    )
    if route is None:
        return []
    fields = treatment_fields(pack, route)
    lines = [
        "Derived fields:",
        f"  route: {fields.route}",
        f"  dose range and defined daily dose: {fields.daily_range.text()}",
        f"  dosage regimen: {fields.regimen_text()}",
    ]
    if fields.starting_dose is not None:
        lines.append(f"  starting dose: {fields.starting_dose.text()}")
    return lines


def render_rules(rules: Iterable[Rule], pack: Pack | None = None) -> str:
    """The pack's line (``pack``), then one line per rule: ID, route, engine uses and title."""
    lines = [pack_line(pack), ""] if pack is not None else []
    lines.append(f"{'RULE':<{_RULE_WIDTH}} {'ROUTE':<13} {'ENGINE':<22} TITLE")
    for r in rules:
        lines.append(
            f"{r.id:<{_RULE_WIDTH}} {r.route:<13} {','.join(sorted(r.engine)):<22} {r.title}"
        )
    return "\n".join(lines)
