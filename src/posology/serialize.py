"""Model values to the contract's JSON documents (answers of check, rules, explain).

Quantities are written as UCUM code strings (``"50 ug"``), exact: a value that does not end as
a decimal is written to six places, which is below any dose that matters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from .knowledge.schema import Citation, Range, Rule, Value
from .model.finding import Finding, verdict
from .units import Quantity, format_number, terminates

JSON_PLACES = 6


def quantity_json(q: Quantity) -> str:
    return q.code(places=None if terminates(q.magnitude) else JSON_PLACES)


def value_json(value: Value) -> Any:
    """A pack value as JSON: quantities as strings, ranges as {min, max}, tables as objects."""
    if isinstance(value, Quantity):
        return quantity_json(value)
    if isinstance(value, Fraction):
        return format_number(value, None if terminates(value) else JSON_PLACES)
    if isinstance(value, Range):
        out: dict[str, Any] = {"min": value_json(value.low), "max": value_json(value.high)}
        if value.low_open:
            out["min_exclusive"] = True
        if value.high_open:
            out["max_exclusive"] = True
        return out
    if isinstance(value, tuple):
        return [value_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: value_json(v) for k, v in value.items()}
    raise TypeError(f"not a pack value: {value!r}")


def citation_json(citation: Citation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source": citation.source,
        "quote": citation.quote,
        "evidence": citation.evidence,
    }
    if citation.url:
        out["url"] = citation.url
    return out


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "citation": citation_json(finding.citation),
    }


def check_answer(findings: Iterable[Finding]) -> dict[str, Any]:
    """The answer of ``check``: the verdict (highest severity, or ``ok``) and the findings."""
    items = list(findings)
    return {"verdict": verdict(items), "findings": [finding_json(f) for f in items]}


def rule_json(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rule.id,
        "title": rule.title,
        "route": rule.route,
        "engine": sorted(rule.engine),
        "statement": rule.statement,
        "source": rule.citation.source,
        "quote": rule.citation.quote,
        "evidence": rule.evidence,
        "url": rule.citation.url,
        "numbers": {k: value_json(v) for k, v in rule.numbers.items()},
        "codes": {
            k: (list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, Mapping) else v)
            for k, v in rule.codes.items()
        },
        "severity": {k: v.value for k, v in rule.severities.items()},
    }
    if rule.texts:
        out["texts"] = dict(rule.texts)
    if rule.interpretation:
        out["interpretation"] = rule.interpretation
    return out
