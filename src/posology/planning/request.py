"""The REQUEST document of ``posology plan``: patient, history, goal and start, read strictly."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

from ..errors import HistoryTooLong, InputError
from ..frozen import record
from ..model import fields as F
from ..model.documents import (
    MAX_HISTORY,
    check_born,
    load_json,
    parse_event,
    parse_patient,
    sort_history,
)
from ..model.events import DEFAULT_MEDICINE, Event
from ..model.injections import MAX_INJECTIONS, SIDES, read_product
from ..model.medicines import product_medicine, read_medicine
from ..model.patient import Patient
from ..model.vocabulary import vocabulary
from ..units import CONCENTRATION, MASS, MASS_RATE, Quantity, per_day

# Plausibility bound for a typed alarm volume (a typing slip), not a clinical limit.
MAX_ALARM_ML = Fraction(10)

GOALS = (
    "oral-titration",
    "oral-taper",
    "it-screening",
    "it-titration",
    "it-refill",
    "it-flex",
    "it-tolerance-holiday",
    "it-taper",
    "injection-session",
)
_GOAL_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "oral-titration": (
        (),
        ("target_daily_dose", "night_only", "times_per_day", "pre_task_times", "form"),
    ),
    "oral-taper": ((), ("form",)),
    "it-screening": ((), ()),
    "it-titration": ((), ("target_daily_dose",)),
    "it-refill": ((), ("concentration", "alarm_ml")),
    "it-flex": (("night_onset",), ("night_end",)),
    "it-tolerance-holiday": ((), ()),
    "it-taper": ((), ()),
    "injection-session": (("product", "muscles"), ()),
}


def _route_of(goal: str) -> str:
    """The route a goal plans for, to refuse a goal the medicine's pack has no rules for."""
    if goal == "injection-session":
        return "intramuscular"
    return "oral" if goal.startswith("oral-") else "intrathecal"


@record
class Goal:
    """What the plan is for, with the options the request gave (None: the engine decides)."""

    kind: str
    target_daily_dose: Quantity | None = None
    night_only: bool = False
    times_per_day: int | None = None
    pre_task_times: tuple[str, ...] = ()
    form: str | None = None
    concentration: Quantity | None = None
    alarm_ml: Quantity | None = None
    night_onset: str | None = None
    night_end: str | None = None
    medicine: str = DEFAULT_MEDICINE
    """The medicine planned for (a loaded pack's; its pack makes the plan)."""
    product: str | None = None
    """An injection session's product (a code of the medicine's pack)."""
    muscles: tuple[tuple[str, str | None], ...] = ()
    """An injection session's muscles, each with its side (None: not said)."""


@record
class PlanRequest:
    patient: Patient
    history: tuple[Event, ...]
    goal: Goal
    start: datetime


def _goal(data: object) -> Goal:
    if not isinstance(data, dict):
        raise InputError("goal", 'must be a JSON object, e.g. {"kind": "oral-titration"}')
    kind = F.code(data.get("kind"), "goal.kind", GOALS)
    required, optional = _GOAL_FIELDS[kind]
    obj: Mapping[str, Any] = F.json_object(
        data, "goal", ("kind", *required), (*optional, "medicine")
    )
    if kind == "injection-session":
        return _session_goal(obj)
    medicine = (
        DEFAULT_MEDICINE
        if "medicine" not in obj
        else read_medicine(obj["medicine"], "goal.medicine", kind, _route_of(kind))
    )
    target = None
    if obj.get("target_daily_dose") is not None:
        raw = F.quantity(obj["target_daily_dose"], "goal.target_daily_dose", MASS, MASS_RATE)
        target = per_day(raw)  # "60 mg" as a daily target means 60 mg/day
    times_per_day = None
    if obj.get("times_per_day") is not None:
        times_per_day = F.whole(obj["times_per_day"], "goal.times_per_day", 1, 6)
    tasks: tuple[str, ...] = ()
    if obj.get("pre_task_times") is not None:
        raw_tasks = obj["pre_task_times"]
        if not isinstance(raw_tasks, list) or not raw_tasks or len(raw_tasks) > 6:
            raise InputError(
                "goal.pre_task_times", 'must be a list of 1 to 6 times, e.g. ["09:00"]'
            )
        tasks = tuple(F.clock(t, f"goal.pre_task_times[{i}]") for i, t in enumerate(raw_tasks))
        if len(set(tasks)) != len(tasks):
            raise InputError("goal.pre_task_times", "has the same time twice")
    night_only = (
        False if obj.get("night_only") is None else F.boolean(obj["night_only"], "goal.night_only")
    )
    if night_only and (tasks or times_per_day not in (None, 1)):
        raise InputError(
            "goal.night_only",
            "a night-only plan has one dose: drop times_per_day and pre_task_times",
        )
    if tasks and times_per_day is not None:
        raise InputError(
            "goal.times_per_day", "pre_task_times already sets the doses a day; give one of them"
        )
    form = (
        None
        if obj.get("form") is None
        else F.code(obj["form"], "goal.form", ("tablet", "solution"))
    )
    concentration = None
    if obj.get("concentration") is not None:
        concentration = F.quantity(obj["concentration"], "goal.concentration", CONCENTRATION)
    alarm = F.amount(obj, "alarm_ml", "goal", MAX_ALARM_ML, "mL", "alarm volume in mL, e.g. 2 or 4")
    return Goal(
        kind=kind,
        medicine=medicine,
        target_daily_dose=target,
        night_only=night_only,
        times_per_day=times_per_day,
        pre_task_times=tasks,
        form=form,
        concentration=concentration,
        alarm_ml=alarm,
        night_onset=None
        if obj.get("night_onset") is None
        else F.clock(obj["night_onset"], "goal.night_onset"),
        night_end=None
        if obj.get("night_end") is None
        else F.clock(obj["night_end"], "goal.night_end"),
    )


def _session_goal(obj: Mapping[str, Any]) -> Goal:
    """An injection session's goal: the product and the muscles chosen (the medicine is the
    product's pack's, as for a session event)."""
    products = vocabulary("products")
    product = read_product(obj["product"], "goal.product", products)
    medicine = product_medicine(product, obj.get("medicine"), "goal.medicine")
    chosen = obj["muscles"]
    if not isinstance(chosen, list) or not chosen or len(chosen) > MAX_INJECTIONS:
        raise InputError(
            "goal.muscles",
            f'must be a list of 1 to {MAX_INJECTIONS} muscles, e.g. [{{"muscle": '
            '"biceps-brachii", "side": "left"}]',
        )
    muscles = vocabulary("muscles")
    out: list[tuple[str, str | None]] = []
    for i, item in enumerate(chosen):
        path = f"goal.muscles[{i}]"
        entry = F.json_object(item, path, ("muscle",), ("side",))
        muscle = F.code(entry["muscle"], F.join(path, "muscle"), muscles)
        side = (
            None
            if entry.get("side") is None
            else F.code(entry["side"], F.join(path, "side"), SIDES)
        )
        if (muscle, side) in out:
            raise InputError(F.join(path, "muscle"), f"{muscle} is chosen twice; give it once")
        out.append((muscle, side))
    return Goal(kind="injection-session", medicine=medicine, product=product, muscles=tuple(out))


def parse_request(data: object) -> PlanRequest:
    """A REQUEST document into a :class:`PlanRequest` (history sorted, checked as for a case)."""
    obj = F.json_object(data, "", ("patient", "goal", "start"), ("history",))
    patient = parse_patient(obj["patient"], "patient")
    raw_history = [] if obj.get("history") is None else obj["history"]
    if not isinstance(raw_history, list):
        raise InputError("history", "must be a list of events")
    if len(raw_history) > MAX_HISTORY:
        raise HistoryTooLong(
            "history",
            f"holds {len(raw_history)} events; one request may carry at most {MAX_HISTORY} "
            "(store the patient and check against the stored history instead)",
        )
    events = [(f"history[{i}]", parse_event(e, f"history[{i}]")) for i, e in enumerate(raw_history)]
    history = sort_history(events)
    start = F.instant(obj["start"], "start")
    if history and (start.tzinfo is None) != (history[0].at.tzinfo is None):
        raise InputError(
            "start", "give it a time zone exactly when the history's instants have one"
        )
    if history and start < history[-1].at:
        raise InputError(
            "start",
            f"is before the last history event ({history[-1].at.isoformat()}); "
            "a plan starts after the history",
        )
    check_born(patient, events, start, "start")
    return PlanRequest(patient, history, _goal(obj["goal"]), start)


def read_request(text: str | bytes) -> PlanRequest:
    return parse_request(load_json(text))
