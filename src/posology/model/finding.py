"""A finding: one rule's verdict on a proposal, with the source sentence behind it."""

from __future__ import annotations

from ..frozen import record
from ..knowledge.schema import Citation, Severity


@record
class Finding:
    rule: str
    severity: Severity
    message: str
    citation: Citation


def verdict(findings: tuple[Finding, ...] | list[Finding]) -> str:
    """The highest severity among the findings, or ``ok`` when there are none."""
    if not findings:
        return "ok"
    return max(f.severity for f in findings).value
