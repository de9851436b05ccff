"""The patient handout: a sheet fit for the patient, read back from the PDF with pdftotext.

Who it is for (name, birth date, record number), who prescribed it and the print date; oral
doses in a morning / midday / evening / night grid at their clock times, not the moment of the
click; the warnings in the patient's words with their sources; no staff disclaimer; a
screening sheet that says nothing of a pump the patient does not have.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from posology.serialize import DISCLAIMER
from posology.web.handout import SLOTS, banner, slot

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext")


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's words in reading order, spaces and line ends as one space."""
    path = tmp_path / "handout.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", str(path), "-"]
    return " ".join(subprocess.run(args, check=True, capture_output=True, text=True).stdout.split())


SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def shoot(pdf: bytes, tmp_path: Path, name: str) -> None:
    """The handout's pages as pictures in screenshots/ (pdftoppm), to look at."""
    if shutil.which("pdftoppm") is None:
        return
    SHOTS.mkdir(exist_ok=True)
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "70", str(path), str(SHOTS / name)], check=True)


def pdf_lines(pdf: bytes, tmp_path: Path) -> list[str]:
    """The PDF's text as laid out, line by line (a table's row on one line)."""
    path = tmp_path / "laid-out.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", "-layout", str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.splitlines()


def csrf_of(client: TestClient) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/patients").text)
    assert found
    return found.group(1)


def new_patient(client: TestClient, patient: dict[str, Any], name: str, number: str) -> int:
    """A patient with the record's identity where the API takes it, else the label."""
    csrf = csrf_of(client)
    answer = client.post(
        "/api/v1/patients",
        headers={"X-CSRF-Token": csrf},
        json={
            "patient": patient,
            "name": name,
            "birth_date": "1976-03-04",
            "record_number": number,
        },
    )
    if answer.status_code != 201:  # an API without the record identity yet
        answer = client.post(
            "/api/v1/patients",
            headers={"X-CSRF-Token": csrf},
            json={"patient": {**patient, "birth_date": "1976-03-04"}, "label": name},
        )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def add_event(client: TestClient, pid: int, event: dict[str, Any]) -> None:
    answer = client.post(
        f"/api/v1/patients/{pid}/events",
        headers={"X-CSRF-Token": csrf_of(client)},
        json={"event": event, "override_reason": "recorded from the referral letter"},
    )
    assert answer.status_code == 201, answer.text


def test_clock_times_fall_in_the_grid_column_of_their_part_of_the_day() -> None:
    assert [name for name, _start in SLOTS] == ["morning", "midday", "evening", "night"]
    assert [slot(t) for t in ("05:00", "08:00", "10:59", "11:00", "13:00", "14:59")] == [
        "morning",
        "morning",
        "morning",
        "midday",
        "midday",
        "midday",
    ]
    assert [slot(t) for t in ("15:00", "18:00", "20:59", "21:00", "23:30", "02:00")] == [
        "evening",
        "evening",
        "evening",
        "night",
        "night",
        "night",
    ]


def test_the_banner_takes_the_records_identity_then_the_label_of_older_records() -> None:
    new = banner(
        {"name": "Ada Byron", "birth_date": "1976-03-04", "record_number": "N-7", "label": "A."},
        "doc@north.example",
        date(2026, 12, 1),
    )
    assert (new.name, new.birth_date, new.record_number) == ("Ada Byron", "4 March 1976", "N-7")
    assert (new.prescriber, new.printed) == ("doc@north.example", "1 December 2026")
    old = banner({"label": "K.L.", "patient": {"birth_date": "1950-11-30"}}, None, date(2026, 1, 2))
    assert (old.name, old.birth_date, old.record_number) == ("K.L.", "30 November 1950", None)


@needs_pdftotext
def test_oral_handout_names_the_patient_shows_the_dose_grid_and_no_staff_disclaimer(
    logged_in: TestClient, tmp_path: Path
) -> None:
    pid = new_patient(
        logged_in, {"diagnosis": "stroke", "sex": "male", "weight_kg": 80}, "Ada Byron", "N-1"
    )
    add_event(
        logged_in,
        pid,
        {"at": "2026-11-01T08:00", "kind": "oral-regimen", "dose": "20 mg", "times_per_day": 3},
    )
    # the taper starts at 16:47, the moment of a click: the sheet gives the doses' own times
    answer = logged_in.get(
        f"/patients/{pid}/plan.pdf", params={"goal": "oral-taper", "start": "2026-12-01T16:47"}
    )
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF"), answer.text
    assert answer.headers["cache-control"] == "no-store"
    text = pdf_text(answer.content, tmp_path)
    shoot(answer.content, tmp_path, "35-handout-oral-taper")
    assert "Ada Byron" in text and "4 March 1976" in text
    assert "doc@north.example" in text and "Printed on" in text
    assert f"{date.today().day} {date.today():%B %Y}" in text  # the print date (clinic in UTC)
    assert "Morning Midday Evening Night" in text
    assert "From Tuesday 1 December 2026 (45 mg/day)" in text  # the first step, by its day
    # the grid, row by row as laid out: the day, then each dose in its column
    grid = pdf_lines(answer.content, tmp_path)
    assert any(re.search(r"Morning +Midday +Evening +Night", x) for x in grid)
    first = next(i for i, line in enumerate(grid) if "Tuesday 1 December 2026" in line)
    doses = next(x for x in grid[first + 1 :] if x.strip())
    assert re.search(r"15 mg at 08:00 +15 mg at 13:00 +15 mg at 18:00 +—", doses)
    assert "one 10 mg tablet and one 5 mg" in " ".join(grid[first : first + 6])
    assert any(re.search(r"10 mg at 08:00 +10 mg at 13:00 +10 mg at 18:00 +—", x) for x in grid)
    assert any(re.search(r"5 mg at 08:00 +5 mg at 13:00 +5 mg at 18:00 +—", x) for x in grid)
    assert "Only if withdrawal symptoms appear, go back to the previous dose" in text
    assert "Only if the reductions were tolerated." in text  # once, not "Only only"
    assert "16:47" not in text  # never the moment of the click
    assert "Never stop taking baclofen suddenly" in text  # in the patient's words
    assert "RxReasoner: Baclofen, indication" in text  # with its source, by name
    assert "000_b1a87da4a9cdf50a.txt" not in text
    assert "Call your clinic if you are running out of baclofen" in text
    assert "made for you by your clinic" in text  # a line for the patient
    assert " ".join(DISCLAIMER.split()) not in text and "clinical judgement" not in text
    assert "Your pump" not in text  # no pump on an oral sheet
    assert text.startswith("Your baclofen plan")  # the plan's medicine, from its pack
    # whose rules worked the plan out, in words (the profile's code is never shown)
    assert "rules of Baclofen for spasticity" in text
    assert "as on the source page (UK labels)." in text and "default" not in text


@needs_pdftotext
def test_screening_handout_does_not_describe_a_pump_the_patient_does_not_have(
    logged_in: TestClient, tmp_path: Path
) -> None:
    pid = new_patient(
        logged_in, {"diagnosis": "multiple-sclerosis", "sex": "female"}, "Bea Test", "N-2"
    )
    answer = logged_in.get(
        f"/patients/{pid}/plan.pdf", params={"goal": "it-screening", "start": "2026-12-01T09:30"}
    )
    assert answer.status_code == 200, answer.text
    text = pdf_text(answer.content, tmp_path)
    shoot(answer.content, tmp_path, "36-handout-screening")
    assert "Bea Test" in text and "4 March 1976" in text
    assert "Test dose in hospital: 50 µg into the spine." in text
    assert "Tuesday 1 December 2026" in text and "09:30" not in text
    assert "pump" not in text.casefold()  # neither a pump section nor its refills
    assert "Never stop taking baclofen suddenly" not in text  # not taking it every day yet
    assert "clinical judgement" not in text


@needs_pdftotext
def test_pump_handout_says_what_withdrawal_feels_like_and_when_to_call(
    logged_in: TestClient, tmp_path: Path
) -> None:
    pump = {"programmable": True, "reservoir_ml": 20, "model": "SynchroMed II 20 mL"}
    pid = new_patient(
        logged_in,
        {"diagnosis": "multiple-sclerosis", "sex": "female", "weight_kg": 70, "pump": pump},
        "Cy Pump",
        "N-3",
    )
    for event in (
        {
            "at": "2026-10-01T09:00",
            "kind": "it-test-dose",
            "dose": "50 ug",
            "response": {"effect": True, "duration_h": 6},
        },
        {"at": "2026-10-20T09:00", "kind": "pump-implant"},
        {
            "at": "2026-10-21T09:00",
            "kind": "pump-refill",
            "concentration": "500 ug/mL",
            "volume_ml": 20,
        },
        {"at": "2026-10-21T09:00", "kind": "it-infusion", "daily_dose": "250 ug/d"},
        {"at": "2026-10-21T10:00", "kind": "it-stable"},
    ):
        add_event(logged_in, pid, event)
    answer = logged_in.get(
        f"/patients/{pid}/plan.pdf", params={"goal": "it-refill", "start": "2026-11-20T10:00"}
    )
    assert answer.status_code == 200, answer.text
    text = pdf_text(answer.content, tmp_path)
    shoot(answer.content, tmp_path, "37-handout-pump-refill")
    assert "Cy Pump" in text
    assert "your stiffness or spasms coming back, itching" in text  # the label's signs, plainly
    assert "a high fever" in text and "very stiff muscles" in text
    assert "call your clinic at once" in text and "emergency services" in text
    assert "Lioresal Intrathecal and Gablofen labels" in text  # the source by its name
    assert "Never stop taking baclofen suddenly" in text
    assert "pruritus" not in text and "paraesthesias" not in text  # not the staff's terms
    assert "clinical judgement" not in text
