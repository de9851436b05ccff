"""Rules the planner follows and the clinician is shown: their numbers and arithmetic.

The planner (its own issue) builds on these; here each number is pinned to the page, so a
changed pack number fails a test before it reaches a plan.
"""

from __future__ import annotations

from fractions import Fraction

from posology.cli import run as cli_run
from posology.knowledge import Pack
from posology.knowledge.derived import ddd_ratio
from posology.units import Quantity


def q(text: str) -> Quantity:
    from posology.units import parse_quantity

    return parse_quantity(text)


def test_po_frequent_keeps_the_usual_three_as_the_baseline(pack: Pack) -> None:
    assert pack.rule("PO-FREQUENT").count("usual_administrations_per_day") == 3
    assert "plan" in pack.rule("PO-FREQUENT").engine


def test_po_night_and_po_meals_give_clock_times(pack: Pack) -> None:
    assert pack.rule("PO-NIGHT").code("night_time") == "21:00"
    assert pack.rule("PO-MEALS").code_list("meal_times") == ("08:00", "13:00", "18:00")
    assert "little liquid" in pack.rule("PO-MEALS").text("instruction")


def test_po_pretask_dose_is_one_hour_before_the_task(pack: Pack) -> None:
    assert pack.rule("PO-PRETASK").quantity("lead_time") == q("60 min")


def test_it_screen_conc_volumes_are_1_1_5_and_2_ml_for_50_75_100_ug(pack: Pack) -> None:
    conc = pack.rule("IT-SCREEN-CONC").quantity("concentration")
    assert [(q(d) / conc).in_("mL") for d in ("50 ug", "75 ug", "100 ug")] == [1, Fraction(3, 2), 2]


def test_it_screen_slow_is_at_least_one_minute(pack: Pack) -> None:
    assert pack.rule("IT-SCREEN-SLOW").quantity("min_injection_time") == q("1 min")
    assert "one minute" in pack.rule("IT-SCREEN-SLOW").text("instruction")


def test_it_delivery_conc_ampoules(pack: Pack) -> None:
    ampoules = pack.rule("IT-DELIVERY-CONC").table("ampoules")
    assert [(a["concentration"], a["volume"]) for a in ampoules] == [
        (q("500 ug/mL"), q("20 mL")),
        (q("2 mg/mL"), q("5 mL")),
    ]


def test_it_mode_continuous_and_complex_numbers(pack: Pack) -> None:
    assert pack.rule("IT-MODE-CONTINUOUS").engine == {"plan"}
    complex_mode = pack.rule("IT-MODE-COMPLEX")
    assert complex_mode.number("night_increase") == Fraction(1, 5)
    assert complex_mode.quantity("lead_time") == q("2 h")
    assert complex_mode.code("default_night_end") == "07:00"


def test_sup_po_elderly_slow_ladder_and_age(pack: Pack) -> None:
    rule = pack.rule("SUP-PO-ELDERLY")
    assert rule.quantity("elderly_age") == q("65 a")
    assert rule.quantity("slow_step_days") > pack.rule("PO-TITRATION").quantity("step_days")


def test_sup_po_taper_and_review_spans(pack: Pack) -> None:
    span = pack.rule("SUP-PO-TAPER").range("span")
    assert (span.low, span.high) == (q("1 wk"), q("2 wk"))
    assert pack.rule("SUP-PO-REVIEW").quantity("after") == q("42 d")
    assert pack.rule("IT-TOLERANCE").range("taper_span").low == q("14 d")


def test_sup_it_rate_is_daily_dose_over_24_hours(pack: Pack) -> None:
    rule = pack.rule("SUP-IT-RATE")
    daily, hourly = rule.range("example_daily"), rule.range("example_hourly")
    places = rule.count("rate_unit_places")
    assert daily.low.to("ug/h").code(places) == hourly.low.code()
    assert daily.high.to("ug/h").code(places) == hourly.high.code()


def test_sup_it_screen_low_and_oral_wean_numbers(pack: Pack) -> None:
    assert pack.rule("SUP-IT-SCREEN-LOW").quantity("first_dose") == q("25 ug")
    wean = pack.rule("SUP-IT-ORAL-WEAN").fraction_range("step")
    assert (wean.low, wean.high) == (Fraction(1, 4), Fraction(1, 2))


def test_sup_it_withdrawal_signs_are_listed(pack: Pack) -> None:
    rule = pack.rule("SUP-IT-WITHDRAWAL")
    assert "pruritus" in rule.code_list("early_signs")
    assert "high fever" in rule.code_list("advanced_signs")
    assert "low reservoir" in rule.code_list("causes")


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
