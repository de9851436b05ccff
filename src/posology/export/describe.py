"""One line saying what an event does, for schedules, spreadsheets and calendars."""

from __future__ import annotations

from ..model.events import (
    Event,
    Injection,
    InjectionSession,
    ItInfusion,
    ItStable,
    ItStop,
    ItTestDose,
    OralRegimen,
    OralStop,
    PumpImplant,
    PumpRefill,
    Review,
)
from ..model.medicines import product_words


def describe(event: Event, *, each_muscle: bool = False) -> str:
    """The event in a few words, naming its own medicine (a plan of tizanidine says so).

    A session is summed up (product, Units, how many muscles); with ``each_muscle`` each
    muscle is named with its side, dose and sites, as a record's history needs (a plan's step
    lists them in its own instructions)."""
    if isinstance(event, OralRegimen):
        doses = len(event.doses)
        return (
            f"Oral {event.medicine} {event.daily_dose.text()} "
            f"({doses} dose{'s' if doses != 1 else ''} a day)"
        )
    if isinstance(event, OralStop):
        return f"Stop oral {event.medicine}"
    if isinstance(event, ItTestDose):
        return f"Intrathecal test dose {event.dose.to('ug').text()}"
    if isinstance(event, PumpImplant):
        return "Pump implantation"
    if isinstance(event, ItInfusion):
        flex = " (flex schedule)" if event.schedule else ""
        return f"Intrathecal infusion {event.daily_dose.text(places=1)}{flex}"
    if isinstance(event, PumpRefill):
        return f"Pump refill: {event.volume.text()} of {event.concentration.text()}"
    if isinstance(event, ItStable):
        return "Titration complete: maintenance from here"
    if isinstance(event, ItStop):
        return f"Stop intrathecal {event.medicine}"
    if isinstance(event, InjectionSession):
        # Units of one product are never added to another's: a dose written in another
        # product's Units is named apart, not counted in the session's total
        own = [i.dose for i in event.injections if i.units_of is None]
        foreign = sorted({i.units_of for i in event.injections if i.units_of is not None})
        muscles = len(event.injections)
        total = f"{sum(own[1:], own[0]).text()} in " if own else ""
        line = (
            f"Injection session: {product_words(event.product)}, {total}{muscles} "
            f"muscle{'s' if muscles != 1 else ''}"
        )
        for product in foreign:
            line += f", a dose written in {product_words(product)} Units"
        if not each_muscle:
            return line
        return f"{line} ({'; '.join(map(_injection_words, event.injections))})"
    if isinstance(event, Review):
        return f"Review: {event.note}"
    raise TypeError(f"not an event: {event!r}")


def _injection_words(injection: Injection) -> str:
    """One muscle of a session as a clinician writes it: "left biceps brachii 100 Units at 4
    sites" (the dose as written, in another product's Units when it was)."""
    side = f"{injection.side} " if injection.side else ""
    muscle = injection.muscle.replace("-", " ")
    dose = injection.dose.text()
    if injection.units_of:
        dose = f"{dose} of {product_words(injection.units_of)}"
    sites = f"{injection.sites} site{'s' if injection.sites != 1 else ''}"
    return f"{side}{muscle} {dose} at {sites}"
