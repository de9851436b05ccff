"""The kind of rule that asks for caution below a creatinine clearance.

A label may name a clearance below which the medicine is used with caution rather than a dose
cut by bands (tizanidine: "creatinine clearance < 25 mL/min"). The threshold, the words and the
severity are the pack's; a patient recorded with kidney impairment but no clearance gets the
rule's reminder to record one, since the caution cannot be judged without it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..knowledge.schema import Rule
from ..model.finding import Finding
from .context import DOSE_KINDS, Context
from .kinds import implements


@implements("clearance-caution", *DOSE_KINDS)
def clearance_caution(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A patient whose creatinine clearance is below ``below`` (``present``); with the
    ``renal`` condition and no clearance recorded, ``clearance_unknown``."""
    clearance = ctx.patient.creatinine_clearance
    if clearance is None:
        if rule.code("renal") in ctx.patient.conditions:
            yield ctx.say(rule, "clearance_unknown")
        return
    below = rule.quantity("below")
    if clearance < below:
        yield ctx.say(rule, "present", clearance=clearance.text(), below=below.text())
