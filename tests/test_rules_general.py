"""General rules: scope, population, origin, start when stable, stop gradually, whole patient."""

from __future__ import annotations

from casebuild import adult, event, fired, infusion, it_patient, it_started, oral, run, tdose


def test_ind_scope_other_diagnosis_is_info() -> None:
    f = run(adult(diagnosis="other"), [], oral("2026-12-01T08:00", "5 mg"))
    assert fired(f, "IND-SCOPE") == ["info"]


def test_ind_scope_child_with_a_spinal_disorder_on_oral_is_outside_scope() -> None:
    child = adult(age_years=12, diagnosis="multiple-sclerosis", weight_kg=40)
    assert fired(run(child, [], oral("2026-12-01T08:00", "3 mg", 4)), "IND-SCOPE") == ["warning"]
    palsy = adult(age_years=12, diagnosis="cerebral-palsy", weight_kg=40)
    assert fired(run(palsy, [], oral("2026-12-01T08:00", "3 mg", 4)), "IND-SCOPE") == []
    grown = adult(age_years=18, diagnosis="multiple-sclerosis")
    assert fired(run(grown, [], oral("2026-12-01T08:00", "5 mg")), "IND-SCOPE") == []


def test_ind_population_child_oral_is_info_and_child_screening_is_a_gap_warning() -> None:
    child = adult(age_years=17, diagnosis="cerebral-palsy", weight_kg=50)
    assert fired(run(child, [], oral("2026-12-01T08:00", "3 mg", 4)), "IND-POPULATION") == ["info"]
    test = run(child, [], tdose("2026-12-01T09:00", "25 ug"))
    assert fired(test, "IND-POPULATION") == ["warning"]
    assert (
        fired(run(adult(age_years=18), [], oral("2026-12-01T08:00", "5 mg")), "IND-POPULATION")
        == []
    )


def test_ind_population_birth_date_is_judged_at_the_proposal_time() -> None:
    patient = adult(birth_date="2008-12-02", diagnosis="cerebral-palsy", weight_kg=50)
    patient.pop("age_years")
    day_before = run(patient, [], oral("2026-12-01T08:00", "3 mg", 4))
    birthday = run(patient, [], oral("2026-12-02T08:00", "5 mg"))
    assert fired(day_before, "IND-POPULATION") == ["info"]
    assert fired(birthday, "IND-POPULATION") == []


def test_ind_origin_unknown_gives_a_warning_and_the_stricter_step() -> None:
    patient = it_patient(diagnosis="other")
    history = it_started("100 ug/d")
    # +20 %: inside spinal's 30 %, outside cerebral's 15 %: the stricter limit applies.
    f = run(patient, history, infusion("2026-11-07T12:00", "120 ug/d"))
    assert fired(f, "IND-ORIGIN") == ["warning"]
    assert fired(f, "IT-TITR-STEP") == ["error"]
    spinal = run(
        it_patient(diagnosis="other", origin="spinal"),
        history,
        infusion("2026-11-07T12:00", "120 ug/d"),
    )
    assert fired(spinal, "IND-ORIGIN") == [] and fired(spinal, "IT-TITR-STEP") == []


def test_ind_origin_is_derived_from_the_diagnosis(pack) -> None:  # type: ignore[no-untyped-def]
    from posology.model import parse_patient
    from posology.model.patient import origin_of

    assert origin_of(parse_patient({"age_years": 40, "diagnosis": "stroke"}), pack) == "cerebral"
    assert (
        origin_of(parse_patient({"age_years": 40, "diagnosis": "syringomyelia"}), pack) == "spinal"
    )
    assert origin_of(parse_patient({"age_years": 40, "diagnosis": "other"}), pack) is None
    stated = parse_patient({"age_years": 40, "diagnosis": "stroke", "origin": "spinal"})
    assert origin_of(stated, pack) == "spinal"


def test_sel_stable_start_while_not_stable_warns_and_unknown_informs() -> None:
    start = oral("2026-12-01T08:00", "5 mg")
    assert fired(run(adult(spasticity_stable=False), [], start), "SEL-STABLE") == ["warning"]
    unknown = adult()
    unknown.pop("spasticity_stable")
    assert fired(run(unknown, [], start), "SEL-STABLE") == ["info"]
    assert fired(run(adult(), [], start), "SEL-STABLE") == []
    # Only a start is judged: a change of an existing regimen is not.
    later = run(adult(spasticity_stable=False), [start], oral("2026-12-04T08:00", "10 mg"))
    assert fired(later, "SEL-STABLE") == []


def test_stop_gradual_oral_needs_two_reductions_over_seven_days() -> None:
    history = [
        oral("2026-11-01T08:00", "20 mg"),
        oral("2026-12-01T08:00", "15 mg"),
        oral("2026-12-04T08:00", "10 mg"),
    ]
    stop_day_7 = event("2026-12-08T08:00", "oral-stop")
    stop_day_6 = event("2026-12-07T08:00", "oral-stop")
    assert fired(run(adult(), history, stop_day_7), "STOP-GRADUAL") == []
    assert fired(run(adult(), history, stop_day_6), "STOP-GRADUAL") == ["error"]
    one_cut = history[:2]
    assert fired(run(adult(), one_cut, event("2026-12-20T08:00", "oral-stop")), "STOP-GRADUAL") == [
        "error"
    ]
    up_again = [*history, oral("2026-12-06T08:00", "15 mg")]
    assert fired(
        run(adult(), up_again, event("2026-12-20T08:00", "oral-stop")), "STOP-GRADUAL"
    ) == ["error"]


def test_stop_gradual_intrathecal_abrupt_is_critical_and_needs_fourteen_days() -> None:
    history = [
        *it_started("300 ug/d"),
        infusion("2026-12-01T12:00", "240 ug/d"),
        infusion("2026-12-08T12:00", "180 ug/d"),
    ]
    patient = it_patient()
    assert fired(run(patient, history, event("2026-12-15T12:00", "it-stop")), "STOP-GRADUAL") == []
    assert fired(run(patient, history, event("2026-12-15T11:00", "it-stop")), "STOP-GRADUAL") == [
        "critical"
    ]
    abrupt = run(patient, it_started("300 ug/d"), event("2026-12-15T12:00", "it-stop"))
    assert fired(abrupt, "STOP-GRADUAL") == ["critical"]
    assert "pruritus" in next(f.message for f in abrupt if f.rule == "STOP-GRADUAL")


def test_stop_gradual_ignores_a_stop_of_nothing() -> None:
    assert fired(run(adult(), [], event("2026-12-01T08:00", "oral-stop")), "STOP-GRADUAL") == []


def test_sup_caution_warns_once_per_present_condition() -> None:
    patient = adult(conditions=["epilepsy", "diabetes", "systemic-infection"])
    f = run(patient, [], oral("2026-12-01T08:00", "5 mg"))
    assert fired(f, "SUP-CAUTION") == ["warning", "warning"]
    messages = " ".join(x.message for x in f if x.rule == "SUP-CAUTION")
    assert "seizure" in messages and "glucose" in messages


def test_sup_caution_cerebrovascular_only_for_the_elderly() -> None:
    young = adult(age_years=64, conditions=["cerebrovascular-disease"])
    old = adult(age_years=65, conditions=["cerebrovascular-disease"])
    dose = oral("2026-12-01T08:00", "5 mg")
    assert fired(run(young, [], dose), "SUP-CAUTION") == []
    assert fired(run(old, [], dose), "SUP-CAUTION") == ["warning"]


def test_sup_pregnancy_warns_when_pregnant_and_asks_when_unknown() -> None:
    dose = oral("2026-12-01T08:00", "5 mg")
    assert fired(run(adult(sex="female", pregnant=True), [], dose), "SUP-PREGNANCY") == ["warning"]
    assert fired(run(adult(sex="female"), [], dose), "SUP-PREGNANCY") == ["info"]
    assert fired(run(adult(sex="female", pregnant=False), [], dose), "SUP-PREGNANCY") == []
    assert fired(run(adult(sex="female", age_years=56), [], dose), "SUP-PREGNANCY") == []
    assert fired(run(adult(sex="female", age_years=55), [], dose), "SUP-PREGNANCY") == ["info"]
    assert fired(run(adult(sex="male"), [], dose), "SUP-PREGNANCY") == []
    it = run(it_patient(sex="female", pregnant=True), [], tdose("2026-12-01T09:00", "50 ug"))
    assert "foetus" in next(f.message for f in it if f.rule == "SUP-PREGNANCY")


def test_sup_lactation_is_info_not_a_warning() -> None:
    f = run(
        adult(sex="female", pregnant=False, breastfeeding=True),
        [],
        oral("2026-12-01T08:00", "5 mg"),
    )
    assert fired(f, "SUP-LACTATION") == ["info"]
