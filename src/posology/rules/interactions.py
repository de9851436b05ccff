"""Interactions across medicines: a dose of this pack's medicine while the patient takes another.

The other medicine is known two ways: as another loaded pack's medicine whose events are in the
history (``ctx.others``: the checker hands each pack the events of the other medicines), or as a
PATIENT ``medications`` code (what the patient takes that no loaded pack doses). Which medicines
interact, how severely and in what words is the pack's: a contraindication and a caution are
two rules of this kind with their own severities and quotes.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import PackError
from ..knowledge.schema import Pack, Rule
from ..model.events import Event, ItInfusion, ItStop, OralRegimen, OralStop
from ..model.finding import Finding
from ..model.patient import MEDICATIONS
from .context import DOSE_KINDS, Context
from .kinds import implements
from .per_pack import per_rule

_CHANNELS = ((OralRegimen, OralStop), (ItInfusion, ItStop))
"""A medicine is taken while, on either route, its last start or change is not a stop."""


@implements("co-medication", *DOSE_KINDS)
def co_medication(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A dose while the patient takes one of ``medicines`` (loaded medicines, by their events
    before the proposal) or ``medications`` (PATIENT codes): one finding ``present`` for each,
    the other named in the pack's words as ``{other}``."""
    medicines, medications = _partners(ctx.pack, rule)
    taking = [m for m in medications if m in ctx.patient.medications]
    if ctx.others:
        taking += [m for m in medicines if _taken(ctx.others, m)]
    for other in taking:
        yield ctx.say(rule, "present", other=other)


@per_rule
def _partners(pack: Pack, rule: Rule) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rule's ``medicines`` and ``medications``; a medication code the PATIENT reader does
    not know could never be matched, so it is a broken pack, named."""
    medicines = rule.code_list("medicines") if "medicines" in rule.codes else ()
    medications = rule.code_list("medications") if "medications" in rule.codes else ()
    known = (*MEDICATIONS, *pack.vocabulary.get("medications", ()))
    unknown = [m for m in medications if m not in known]
    if unknown:
        raise PackError(
            rule.file,
            rule.id,
            "codes.medications",
            f"{', '.join(unknown)}: not a PATIENT medications code (known: {', '.join(known)}; "
            "a pack adds its own under vocabulary.medications)",
        )
    if not medicines and not medications:
        raise PackError(rule.file, rule.id, "codes", "names no medicines and no medications")
    return medicines, medications


def _taken(others: tuple[Event, ...], medicine: str) -> bool:
    """True when ``medicine``'s last start or stop, on either route, is a start."""
    for start, stop in _CHANNELS:
        for event in reversed(others):
            if event.medicine == medicine and isinstance(event, (start, stop)):
                if isinstance(event, start):
                    return True
                break
    return False
