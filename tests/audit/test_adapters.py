"""Each adapter's fixture has known findings (by rule) and known unmapped rows (by column)."""

from __future__ import annotations

from .conftest import FIXTURES, Audit


def _unmapped(result: Audit) -> set[tuple[str, str, str]]:
    return {
        (p["source_file"], p["source_row"], p["column"])
        for p in result.problems()
        if p["status"] == "unmapped"
    }


def test_omop_drug_exposures_of_baclofen_and_its_products(audit) -> None:  # type: ignore[no-untyped-def]
    result = audit(FIXTURES / "omop", "--from", "omop", "--format", "csv")
    assert result.status == 1, result.stderr
    findings = result.findings()
    # 4 tablets of Lioresal 10 mg (a baclofen product only concept_ancestor names) three times a
    # day: 120 mg/day, above the outpatient maximum
    po_max = [f for f in findings if f["rule"] == "PO-MAX"]
    assert [(f["patient_id"], f["source_id"], f["severity"]) for f in po_max] == [
        ("101", "5003", "error")
    ]
    judged = {f["source_id"] for f in findings}
    assert "5004" not in judged  # tizanidine is not baclofen: not judged, not reported
    # the intrathecal solution is read as a refill of 20 mL at 2 mg/mL
    assert any(f["source_id"] == "5005" and f["kind"] == "pump-refill" for f in findings)
    assert _unmapped(result) == {
        ("drug_exposure.csv", "6", "sig"),  # "as needed": no frequency, no quantity
        ("drug_exposure.csv", "7", "route_concept_id"),  # topical baclofen: unknown route
    }
    summary = result.summary()
    assert summary["events_judged"] == 6 and summary["problems"]["unmapped"] == 2
    assert summary["events_by_kind"] == {"oral-regimen": 5, "pump-refill": 1}


def test_omop_oral_dose_from_sig_or_from_quantity_per_day(audit) -> None:  # type: ignore[no-untyped-def]
    result = audit(FIXTURES / "omop", "--from", "omop", "--format", "csv")
    # row 1: "1 tablet TID" of 10 mg tablets is 30 mg/day, started at once: PO-START warns
    first = {f["rule"] for f in result.findings() if f["source_id"] == "5001"}
    assert "PO-START" in first
    # row 8 has no sig: 30 tablets for 30 days is 10 mg once a day, below the usual range
    row8 = {(f["rule"], f["severity"]) for f in result.findings() if f["source_id"] == "5008"}
    assert ("PO-DAILY-RANGE", "info") in row8


def test_mimic_prescriptions_and_inputevents(audit) -> None:  # type: ignore[no-untyped-def]
    result = audit(FIXTURES / "mimic", "--from", "mimic", "--format", "csv")
    assert result.status == 1, result.stderr
    rules = result.rules()
    # 40 mg three times a day: 120 mg/day
    assert ("10000032", "2180-05-11T08:00:00", "PO-MAX", "error") in rules
    # an intrathecal infusion charted with no screening before it
    assert ("10000117", "2174-03-01T10:00:00", "IT-SCREEN-REQUIRED", "error") in rules
    # 200 to 400 µg/day in a day is a step above the titration limit
    assert ("10000117", "2174-03-02T10:00:00", "IT-TITR-STEP", "error") in rules
    assert not any(f["source_id"] == "9100004" for f in result.findings())  # norepinephrine
    assert _unmapped(result) == {
        ("prescriptions.csv", "5", "dose_unit_rx"),  # a dose without a unit
        ("prescriptions.csv", "6", "route"),  # TD: not a baclofen route
        ("inputevents.csv", "3", "rate"),  # a bolus: no route in inputevents
    }


def test_fhir_bulk_export(audit) -> None:  # type: ignore[no-untyped-def]
    result = audit(FIXTURES / "fhir", "--from", "fhir", "--format", "csv")
    assert result.status == 1, result.stderr
    rules = result.rules()
    assert ("pat-1", "2026-01-11T08:00:00+00:00", "PO-MAX", "error") in rules
    assert ("pat-2", "2026-02-02T09:00:00+00:00", "IT-SCREEN-NONRESPONDER", "error") in rules
    assert not any(f["source_id"] == "medrx-4" for f in result.findings())  # tizanidine
    assert _unmapped(result) == {
        (
            "MedicationRequest.ndjson",
            "5",
            "MedicationRequest.dosageInstruction[0].doseAndRate[0].doseQuantity",
        ),
        ("MedicationRequest.ndjson", "6", "patient_id"),  # no subject reference
        ("MedicationAdministration.ndjson", "3", "MedicationAdministration.dosage.route"),
    }


def test_unmapped_rows_do_not_make_the_input_unusable(audit) -> None:  # type: ignore[no-untyped-def]
    """Another system's rows that cannot be mapped are counted and reported, and the audit of
    the rest stands: exit 1 (serious findings), not 2, and the output is complete."""
    for source in ("omop", "mimic", "fhir"):
        result = audit(FIXTURES / source, "--from", source)
        assert result.status == 1
        assert result.manifest()["status"] == "complete"
        assert result.summary()["problems"]["unmapped"] > 0
        assert not (result.out / "PARTIAL").exists()
        assert "rows unmapped" in result.stdout


def test_a_dataset_folder_without_its_tables_is_named(audit, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "drug_exposure.csv").write_text("person_id,drug_concept_id\n1,2\n")
    result = audit(tmp_path, "--from", "omop", out=tmp_path / "out")
    assert result.status == 2
    assert "no person table" in result.stderr or "header row, column" in result.stderr
