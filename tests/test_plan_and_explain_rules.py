"""Rules the planner follows and the clinician is shown: their numbers and arithmetic.

Each test makes a plan (or reads the engine's output) and asserts what a clinician would see:
the numbers are spelt out, so a changed pack number or a changed reading fails here.
"""

from __future__ import annotations

from fractions import Fraction

from casebuild import adult, event, infusion, oral, tdose
from planbuild import make_plan
from posology.cli import run as cli_run
from posology.knowledge import Pack
from posology.knowledge.derived import ddd_ratio
from posology.model import ItInfusion, OralRegimen
from posology.planning import Plan
from posology.units import Quantity


def q(text: str) -> Quantity:
    from posology.units import parse_quantity

    return parse_quantity(text)


PUMP = {"programmable": True, "reservoir_ml": 20}
RUNNING = [
    infusion("2026-03-01T09:00", "250 ug/d"),
    event("2026-04-01T09:00", "it-stable"),
    event("2026-11-10T09:00", "pump-refill", concentration="500 ug/mL", volume_ml=20),
]


def regimens(p: Plan) -> list[tuple[tuple[str, ...] | None, list[str]]]:
    return [
        (s.event.times, [d.text() for d in s.event.doses])
        for s in p.steps
        if isinstance(s.event, OralRegimen)
    ]


def test_po_night_gives_the_ladders_single_doses_at_night(pack: Pack) -> None:
    """PO-NIGHT and PO-TITRATION: a night-only plan climbs the label's ladder of single doses
    (5, 10, 15, 20 mg) at the night time, with the night instruction."""
    p = make_plan(adult(), {"kind": "oral-titration", "night_only": True})
    assert regimens(p) == [
        (("21:00",), ["5 mg"]),
        (("21:00",), ["10 mg"]),
        (("21:00",), ["15 mg"]),
        (("21:00",), ["20 mg"]),
    ]
    assert all("At night, with a little liquid." in s.instructions for s in p.steps[:4])


def test_po_meals_times_the_three_daily_doses_with_meals() -> None:
    p = make_plan(adult(), {"kind": "oral-titration"})
    assert {times for times, _ in regimens(p)} == {("08:00", "13:00", "18:00")}
    assert "Take during a meal with a little liquid." in p.steps[0].instructions


def test_po_pretask_dose_comes_one_hour_before_the_task() -> None:
    p = make_plan(
        adult(),
        {"kind": "oral-titration", "pre_task_times": ["10:00"], "target_daily_dose": "15 mg"},
    )
    assert regimens(p) == [(("09:00",), ["15 mg"])]
    assert "PO-PRETASK" in p.steps[0].rules


def test_it_screening_draws_1_1_5_and_2_ml_slowly_for_50_75_100_ug() -> None:
    p = make_plan(adult(), {"kind": "it-screening"})
    doses = [s for s in p.steps if s.event.kind == "it-test-dose"]
    assert [s.event.dose.text() for s in doses] == ["50 µg", "75 µg", "100 µg"]
    for step, volume, ampoules in zip(doses, ("1 mL", "1.5 mL", "2 mL"), (1, 2, 2), strict=True):
        assert f"draw {volume} of the 50 µg/mL screening solution" in step.instructions
        assert f"open {ampoules} ampoule(s) of 1 mL" in step.instructions
        assert "Inject slowly, over at least 1 min." in step.instructions
        assert "a response of about 4 h to 8 h is sought" in step.instructions


def test_it_refill_counts_the_ampoules_of_the_chosen_strength() -> None:
    strong = make_plan(
        adult(pump=PUMP), {"kind": "it-refill", "concentration": "2000 ug/mL"}, RUNNING
    )
    weak = make_plan(adult(pump=PUMP), {"kind": "it-refill", "concentration": "500 ug/mL"}, RUNNING)
    fill = next(s for s in strong.steps if s.event.kind == "pump-refill")
    assert "fill 20 mL of 2000 µg/mL (4 ampoules of 5 mL)" in fill.instructions
    assert "empty after 160 days, low-reservoir alarm (2 mL) after 144 days" in fill.instructions
    fill = next(s for s in weak.steps if s.event.kind == "pump-refill")
    assert "fill 20 mL of 500 µg/mL (1 ampoule of 20 mL)" in fill.instructions


def test_it_flex_raises_the_night_rate_20_percent_from_2_h_before_the_onset() -> None:
    p = make_plan(adult(pump=PUMP), {"kind": "it-flex", "night_onset": "22:00"}, RUNNING)
    (step,) = p.steps
    assert isinstance(step.event, ItInfusion) and step.event.schedule is not None
    assert [(s.start, s.daily_rate.text()) for s in step.event.schedule] == [
        ("07:00", "250 µg/day"),
        ("20:00", "300 µg/day"),
    ]
    # 300 µg/day for the 11 hours from 20:00 to 07:00: 250 + 50 × 11/24 µg/day
    assert step.event.daily_dose == q("250 ug/d") + q("50 ug/d") * Fraction(11, 24)


def test_sup_po_elderly_holds_each_rung_a_week() -> None:
    p = make_plan(adult(age_years=70), {"kind": "oral-titration"})
    starts = [s.event.at.day for s in p.steps if isinstance(s.event, OralRegimen)]
    assert starts == [1, 8, 15, 22]
    young = make_plan(adult(age_years=64), {"kind": "oral-titration"})
    assert [s.event.at.day for s in young.steps if isinstance(s.event, OralRegimen)] == [
        1,
        4,
        7,
        10,
    ]


def test_sup_it_rate_shows_the_hourly_rate_of_each_planned_dose() -> None:
    p = make_plan(
        adult(pump=PUMP), {"kind": "it-titration"}, [tdose("2026-11-21T09:00", "50 ug", True, 6)]
    )
    start = next(s for s in p.steps if isinstance(s.event, ItInfusion))
    assert "Start continuous infusion at 100 µg/day (4.2 µg/h)" in start.instructions


def test_sup_it_screen_low_starts_at_25_ug_for_a_patient_relying_on_tone() -> None:
    p = make_plan(adult(tone_supports_function=True), {"kind": "it-screening"})
    doses = [s.event.dose.text() for s in p.steps if s.event.kind == "it-test-dose"]
    assert doses == ["25 µg", "50 µg", "75 µg", "100 µg"]


def test_sup_it_oral_wean_cuts_oral_baclofen_by_a_quarter_every_three_days() -> None:
    p = make_plan(
        adult(pump=PUMP),
        {"kind": "it-titration"},
        [oral("2026-06-01T08:00", "20 mg", 4), tdose("2026-11-21T09:00", "50 ug", True, 6)],
    )
    weaned = [
        (s.event.at.day, s.event.daily_dose.text())
        for s in p.steps
        if isinstance(s.event, OralRegimen)
    ]
    assert weaned == [(2, "60 mg/day"), (5, "40 mg/day"), (8, "20 mg/day")]
    assert [s.event.at.day for s in p.steps if s.event.kind == "oral-stop"] == [11]


def test_sup_it_withdrawal_signs_go_on_every_pump_plan() -> None:
    p = make_plan(adult(pump=PUMP), {"kind": "it-taper"}, RUNNING)
    (note_,) = [f for f in p.findings if f.rule == "SUP-IT-WITHDRAWAL"]
    for sign in ("pruritus", "high fever", "low reservoir"):
        assert sign in note_.message


def test_sup_ddd_ratio_is_a_measure_not_a_dose(pack: Pack) -> None:
    assert ddd_ratio(pack, q("60 mg/d"), "oral") == Fraction(6, 5)
    assert ddd_ratio(pack, q("550 ug/d"), "intrathecal") == 1
    assert pack.rule("SUP-DDD").code("atc") == "M03BX01"
    assert "check" not in pack.rule("SUP-DDD").engine


def test_explain_only_rules_are_shown_with_their_quotes(capsys) -> None:  # type: ignore[no-untyped-def]
    for rule_id, fragment in (
        ("SEL-BENEFIT", "handicap to activities"),
        ("IT-MONITOR-IMPLANT", "immediately following pump implantation"),
        ("IT-MAINT-GOAL", "lowest dose producing an adequate response"),
        ("IT-SCREEN-RESPONDER", "significant decrease in muscle tone"),
    ):
        assert cli_run(["explain", rule_id]) == 0
        out = capsys.readouterr().out
        assert rule_id in out and fragment in " ".join(out.split())
