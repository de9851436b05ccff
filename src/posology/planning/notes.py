"""Findings a planner gives in its own name: why a plan cannot be made, or what it assumed."""

from __future__ import annotations

from typing import NoReturn

from ..knowledge.schema import Pack, Severity
from ..model.finding import Finding
from .model import PlanRefused


def note(pack: Pack, rule_id: str, severity: Severity, message: str) -> Finding:
    """A finding of ``rule_id`` with its citation; study-backed notes stay at warning or below."""
    rule = pack.rule(rule_id)
    if rule.evidence == "study" and severity > Severity.WARNING:
        severity = Severity.WARNING
    return Finding(rule_id, severity, message, rule.citation)


def refuse(pack: Pack, rule_id: str, message: str, severity: Severity = Severity.ERROR) -> NoReturn:
    """Stop planning: no plan can be given, for the reason this rule states."""
    raise PlanRefused((note(pack, rule_id, severity, message),))
