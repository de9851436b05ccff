"""A plan as iCalendar (RFC 5545): an event per dose change, test dose, refill and alarm date,
each with a reminder, so the clinic's and the patient's calendars carry the schedule."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from ..model.events import OralRegimen, OralStop
from ..planning.model import Plan
from ..serialize import DISCLAIMER
from .describe import describe

# How long before a step its reminder fires: the evening before for appointments (refills,
# reviews, test doses), an hour before for a change the patient makes at home.
APPOINTMENT_NOTICE = timedelta(days=1)
HOME_NOTICE = timedelta(hours=1)
EVENT_LENGTH = timedelta(minutes=30)


def render_ics(plan: Plan, stamp: datetime) -> bytes:
    """The calendar; ``stamp`` is when it was made (DTSTAMP), passed in to keep this pure."""
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Posology//dosing plan//EN")
    cal.add("version", "2.0")
    medicines = sorted({step.event.medicine for step in plan.steps})
    named = " and ".join(medicines).capitalize() if medicines else "Dosing"
    cal.add("x-wr-calname", f"{named} plan: {plan.goal}")
    for i, step in enumerate(plan.steps):
        item = Event()
        key = f"{plan.goal}|{i}|{step.event.kind}|{step.event.at.isoformat()}"
        item.add("uid", hashlib.sha256(key.encode()).hexdigest()[:32] + "@posology")
        item.add("dtstamp", stamp)
        item.add("dtstart", step.event.at)
        item.add("dtend", step.event.at + EVENT_LENGTH)
        item.add("summary", f"{step.event.medicine.capitalize()}: {describe(step.event)}")
        details = [step.instructions]
        if step.condition:
            details.append(f"Condition: {step.condition}.")
        details += [f"Rules: {', '.join(step.rules)}", DISCLAIMER]
        item.add("description", "\n\n".join(details))
        item.add("categories", [step.event.kind])
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{step.event.medicine.capitalize()}: {describe(step.event)}")
        at_home = isinstance(step.event, (OralRegimen, OralStop))
        alarm.add("trigger", -(HOME_NOTICE if at_home else APPOINTMENT_NOTICE))
        item.add_component(alarm)
        cal.add_component(item)
    return bytes(cal.to_ical())
