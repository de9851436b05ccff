"""Findings a planner gives in its own name: why a plan cannot be made, or what it assumed."""

from __future__ import annotations

from typing import NoReturn

from ..errors import MissingRoleError
from ..knowledge.schema import Pack, Severity
from ..model.finding import Finding
from .model import PlanRefused


def cite(pack: Pack, *roles: str) -> tuple[str, ...]:
    """The IDs of the rules that fill these roles, as a step or a finding cites them: the
    planner names what a rule does (``oral.start``), the pack says which of its rules does it."""
    return tuple(pack.role(role).id for role in roles)


def note(pack: Pack, rule_id: str, severity: Severity, message: str) -> Finding:
    """A finding of ``rule_id`` with its citation; study-backed notes stay at warning or below."""
    rule = pack.rule(rule_id)
    if rule.evidence == "study" and severity > Severity.WARNING:
        severity = Severity.WARNING
    return Finding(rule_id, severity, message, rule.citation)


def refuse(pack: Pack, rule_id: str, message: str, severity: Severity = Severity.ERROR) -> NoReturn:
    """Stop planning: no plan can be given, for the reason this rule states."""
    raise PlanRefused((note(pack, rule_id, severity, message),))


def lacking(pack: Pack, role: str, cited: str) -> NoReturn:
    """Stop planning: the plan asked for needs a role the medicine's pack does not fill (a
    child's titration of a medicine whose pack has no children's rule). The refusal cites
    ``cited``, the rule of the pack the plan rests on, and names the missing role."""
    message = str(MissingRoleError(pack.medicine, role))
    refuse(pack, pack.role(cited).id, message[:1].upper() + message[1:] + ".", Severity.WARNING)
