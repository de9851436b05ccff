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


def describe(event: Event) -> str:
    """The event in a few words, naming its own medicine (a plan of tizanidine says so)."""
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
        total = event.injections[0].dose
        for injection in event.injections[1:]:
            total = total + injection.dose
        muscles = len(event.injections)
        each = "; ".join(_injection_words(injection) for injection in event.injections)
        return (
            f"Injection session: {product_words(event.product)}, {total.text()} in {muscles} "
            f"muscle{'s' if muscles != 1 else ''} ({each})"
        )
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
