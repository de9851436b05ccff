"""The kind of rule that limits how many doses of an oral medicine a day may hold.

Some labels set the number of doses in 24 hours apart from the daily amount (tizanidine: "up to a
maximum of 3 doses in 24 hours"): a regimen within the daily maximum may still be given too
often. The limit is the pack's; the planner reads the same number (the role ``oral.frequent``)
for the most doses it may spread a day's amount over.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..knowledge.schema import Rule
from ..model.events import OralRegimen
from ..model.finding import Finding
from .context import Context
from .kinds import implements


@implements("administrations-limit", OralRegimen)
def administrations_limit(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An oral regimen of more doses a day than ``max_administrations_per_day`` (``above``)."""
    regimen = ctx.proposal
    if not isinstance(regimen, OralRegimen):
        return
    most = rule.count("max_administrations_per_day")
    if regimen.times_per_day > most:
        yield ctx.say(rule, "above", count=regimen.times_per_day, most=most)
