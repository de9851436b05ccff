"""Pump rules: concentrations, bridge bolus, refill interval, reservoir and alarm."""

from __future__ import annotations

from datetime import datetime

from casebuild import adult, event, fired, infusion, it_patient, it_started, run
from posology.model import parse_event
from posology.rules.limits import reservoir_at


def refill(at: str, conc: str = "500 ug/mL", volume: float = 20, **extra: object) -> dict:  # type: ignore[type-arg]
    return event(at, "pump-refill", concentration=conc, volume_ml=volume, **extra)


def test_sup_it_conc_unknown_concentration_is_a_dilution_warning() -> None:
    for conc, expected in (
        ("500 ug/mL", []),
        ("1 mg/mL", []),
        ("2000 ug/mL", []),
        ("50 ug/mL", ["warning"]),  # the screening strength in a pump (not_pump)
        ("750 ug/mL", ["warning"]),
    ):
        assert (
            fired(run(it_patient(), it_started(), refill("2026-12-01T09:00", conc)), "SUP-IT-CONC")
            == expected
        )


def test_sup_it_bridge_on_concentration_change() -> None:
    assert fired(
        run(it_patient(), it_started(), refill("2026-12-01T09:00", "2000 ug/mL")), "SUP-IT-BRIDGE"
    ) == ["warning"]
    assert (
        fired(
            run(it_patient(), it_started(), refill("2026-12-01T09:00", "0.5 mg/mL")),
            "SUP-IT-BRIDGE",
        )
        == []
    )


def test_sup_it_max_interval_180_days() -> None:
    history = it_started()  # refilled 2026-11-05T10:00
    assert (
        fired(run(it_patient(), history, refill("2027-05-04T10:00")), "SUP-IT-MAX-INTERVAL") == []
    )
    assert fired(run(it_patient(), history, refill("2027-05-04T10:01")), "SUP-IT-MAX-INTERVAL") == [
        "warning"
    ]


def test_sup_it_refill_overfill_and_unknown_reservoir() -> None:
    assert (
        fired(
            run(it_patient(), it_started(), refill("2026-12-01T09:00", volume=20)), "SUP-IT-REFILL"
        )
        == []
    )
    assert fired(
        run(it_patient(), it_started(), refill("2026-12-01T09:00", volume=21)), "SUP-IT-REFILL"
    ) == ["warning"]
    no_size = adult(pump={"programmable": True})
    assert fired(run(no_size, it_started(), refill("2026-12-01T09:00")), "SUP-IT-REFILL") == [
        "info"
    ]


def test_a_20_ml_reservoir_at_half_a_ml_a_day_reaches_the_2_ml_alarm_after_36_days() -> None:
    # 250 µg/day of 500 µg/mL = 0.5 mL/day; 20 mL last 40 days, the alarm sounds at 2 mL (day 36)
    history = [
        *it_started("250 ug/d")[:2],
        refill("2026-11-05T12:00"),
        infusion("2026-11-05T12:00", "250 ug/d"),
        event("2026-11-10T09:00", "it-stable"),
    ]
    day_35 = run(it_patient(), history, infusion("2026-12-10T12:00", "260 ug/d"))
    day_36 = run(it_patient(), history, infusion("2026-12-11T12:00", "260 ug/d"))
    assert fired(day_35, "SUP-IT-REFILL") == []
    assert fired(day_36, "SUP-IT-REFILL") == ["warning"]
    raised = [*history[:2], refill("2026-11-05T12:00", alarm_ml=4), *history[3:]]
    assert fired(
        run(it_patient(), raised, infusion("2026-12-07T12:00", "260 ug/d")), "SUP-IT-REFILL"
    ) == ["warning"]


def test_reservoir_follows_every_dose_change() -> None:
    fill = parse_event(refill("2026-01-01T00:00", volume=20), "r")
    changes = [
        parse_event(infusion("2025-12-01T00:00", "500 ug/d"), "a"),
        parse_event(infusion("2026-01-11T00:00", "1000 ug/d"), "b"),
        parse_event(event("2026-01-16T00:00", "it-stop"), "c"),
    ]
    # 10 days at 1 mL/day, 5 days at 2 mL/day, then stopped
    assert reservoir_at(fill, changes, datetime(2026, 1, 11)).in_("mL") == 10  # type: ignore[arg-type]
    assert reservoir_at(fill, changes, datetime(2026, 1, 20)).in_("mL") == 0  # type: ignore[arg-type]
    assert reservoir_at(fill, changes[:2], datetime(2026, 1, 13)).in_("mL") == 6  # type: ignore[arg-type]


def test_sup_it_residual_names_over_and_under_delivery_beyond_the_tolerance() -> None:
    """20 mL filled at 100 µg/day of 500 µg/mL (0.2 mL/day): 20 days later 16 mL are expected,
    4 mL delivered; 14.5 % of that is 0.58 mL, below the 1 mL reading limit, so the limit rules."""
    history = [
        infusion("2026-11-01T09:00", "100 ug/d"),
        refill("2026-11-01T09:00"),
    ]

    def said(residual: float) -> list[str]:
        found = run(it_patient(), history, refill("2026-11-21T09:00", residual_ml=residual))
        return [f.message for f in found if f.rule == "SUP-IT-RESIDUAL"]

    assert said(15.5) == said(16.5) == []
    less = said(14.5)
    assert len(less) == 1 and "14.5 mL withdrawn, 16 mL expected" in less[0]
    assert "5.5 mL instead of 4 mL" in less[0] and "over-infusion" in less[0]
    more = said(17.5)
    assert len(more) == 1 and "17.5 mL withdrawn, 16 mL expected" in more[0]
    assert fired(
        run(it_patient(), history, refill("2026-11-21T09:00", residual_ml=17.5)), "SUP-IT-RESIDUAL"
    ) == ["warning"]
