"""A clinic chooses the jurisdiction profile its doses are judged by (``posology clinic
profile``), the server has a default (``POSOLOGY_PROFILE``), and every answer that judges names
the rules it used: a profile changes numbers, so a reader must see which one judged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from tests.server.test_cds_hooks import KEY, call, oral, order
from tests.server.test_migration_0005 import _config

from casebuild import EXAMPLES
from dbhelp import bearer
from posology.errors import InputError, NotFound
from posology.interop.cds_auth import Issuer, Verifier
from posology.knowledge import load_pack
from posology.server.app import create_app
from posology.services import clinic as clinic_settings
from posology.store import tables as T
from posology.store.db import upgrade

BASE = "https://testserver"
US_TITLE = load_pack("baclofen", "us").title
DEFAULT_TITLE = load_pack("baclofen").title


def _oral_case(daily_mg: int) -> dict[str, Any]:
    """An adult on 60 mg a day asking for ``daily_mg`` a day in four doses, weeks later."""
    return {
        "patient": {"age_years": 45, "diagnosis": "multiple-sclerosis"},
        "history": [
            {"at": "2026-10-01T08:00", "kind": "oral-regimen", "dose": "15 mg", "times_per_day": 4}
        ],
        "proposal": {
            "at": "2026-11-20T08:00",
            "kind": "oral-regimen",
            "dose": f"{daily_mg / 4:g} mg",
            "times_per_day": 4,
        },
    }


def _rules(answer: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in answer["findings"]}


def _two_clinics(engine: Engine) -> tuple[dict[str, str], dict[str, str]]:
    """North judged by the US profile, South by the server's default."""
    north = bearer(engine, "doc@north.example", "North", "prescriber")
    south = bearer(engine, "doc@south.example", "South", "prescriber")
    clinic_settings.set_clinic_profile(engine, "North", "us")
    return north, south


def test_a_us_clinic_gets_the_us_oral_maximum_at_90_mg_a_day_where_a_default_clinic_does_not(
    client: TestClient, engine: Engine
) -> None:
    north, south = _two_clinics(engine)
    us = client.post("/api/v1/check", headers=north, json=_oral_case(90))
    default = client.post("/api/v1/check", headers=south, json=_oral_case(90))
    assert us.status_code == default.status_code == 200, (us.text, default.text)
    assert "PO-MAX" in _rules(us.json()), us.json()
    assert "PO-MAX" not in _rules(default.json()), default.json()
    assert us.json()["pack"] == {"medicine": "baclofen", "profile": "us", "title": US_TITLE}
    assert default.json()["pack"]["profile"] == "default"
    # the same clinic's rules are the US numbers too
    rule = client.get("/api/v1/rules/PO-MAX", headers=north).json()
    assert (
        rule["numbers"]["max_daily_outpatient"]
        != client.get("/api/v1/rules/PO-MAX", headers=south).json()["numbers"][
            "max_daily_outpatient"
        ]
    )


def test_plans_history_checks_and_pump_answers_name_the_clinics_profile(
    client: TestClient, engine: Engine
) -> None:
    north, _south = _two_clinics(engine)
    request = json.loads((EXAMPLES / "plan" / "oral-titration.json").read_text())
    made = client.post("/api/v1/plan", headers=north, json=request)
    assert made.json().get("pack", {}).get("profile") == "us", made.text
    patient = client.post(
        "/api/v1/patients",
        headers=north,
        json={"patient": {"age_years": 45, "diagnosis": "multiple-sclerosis"}, "label": "A.N."},
    )
    assert patient.status_code == 201, patient.text
    pid = patient.json()["id"]
    checked = client.post(
        f"/api/v1/patients/{pid}/check",
        headers=north,
        json={"proposal": _oral_case(90)["proposal"] | {"dose": "22.5 mg"}},
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["pack"]["profile"] == "us" and "PO-MAX" in _rules(checked.json())
    status = client.get(f"/api/v1/patients/{pid}/pump-status", headers=north)
    assert status.status_code == 200 and status.json()["pack"]["profile"] == "us", status.text
    worklist = client.get("/api/v1/worklist", headers=north).json()
    assert worklist["pack"]["title"] == US_TITLE


def test_a_saved_plan_keeps_the_pack_that_made_it(client: TestClient, engine: Engine) -> None:
    north, _south = _two_clinics(engine)
    pid = client.post(
        "/api/v1/patients",
        headers=north,
        json={"patient": {"age_years": 46, "diagnosis": "multiple-sclerosis"}, "label": "B.N."},
    ).json()["id"]
    saved = client.post(
        f"/api/v1/patients/{pid}/plans",
        headers=north,
        json={"goal": {"kind": "oral-titration"}, "start": "2026-12-01T08:00"},
    )
    assert saved.status_code == 201, saved.text
    clinic_settings.set_clinic_profile(engine, "North", "default")
    again = client.get(f"/api/v1/patients/{pid}/plans/{saved.json()['id']}", headers=north)
    assert again.json()["pack"]["profile"] == "us"  # made under the US profile, whatever now


def test_the_servers_default_profile_judges_clinics_that_chose_none(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSOLOGY_PROFILE", "us")
    upgrade(engine)
    north = bearer(engine, "doc@north.example", "North", "prescriber")
    south = bearer(engine, "doc@south.example", "South", "prescriber")
    clinic_settings.set_clinic_profile(engine, "South", "default")
    with TestClient(create_app(engine), base_url=BASE) as client:
        server_default = client.post("/api/v1/check", headers=north, json=_oral_case(90)).json()
        chosen = client.post("/api/v1/check", headers=south, json=_oral_case(90)).json()
    assert "PO-MAX" in _rules(server_default) and server_default["pack"]["profile"] == "us"
    assert "PO-MAX" not in _rules(chosen) and chosen["pack"]["profile"] == "default"


def test_an_unknown_server_profile_stops_the_start_naming_the_shipped_ones(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSOLOGY_PROFILE", "atlantis")
    with pytest.raises(InputError) as refused:
        create_app(engine)
    assert refused.value.field == "POSOLOGY_PROFILE"
    assert "atlantis" in str(refused.value) and "default, us" in str(refused.value)


def test_posology_serve_with_an_unknown_profile_says_so_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "POSOLOGY_PROFILE": "atlantis",
    }
    started = subprocess.run(
        [sys.executable, "-m", "posology.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2, started.stderr
    assert "Traceback" not in started.stderr
    said = started.stderr.strip().splitlines()
    assert len(said) == 1 and "POSOLOGY_PROFILE" in said[0] and "us" in said[0], said


def test_an_unknown_profile_or_clinic_is_refused_and_the_setting_is_audited(
    engine: Engine,
) -> None:
    upgrade(engine)
    bearer(engine, "doc@north.example", "North", "prescriber")
    with pytest.raises(InputError) as unknown:
        clinic_settings.set_clinic_profile(engine, "North", "atlantis")
    assert unknown.value.field == "profile" and "baclofen: default, us" in str(unknown.value)
    with pytest.raises(NotFound):
        clinic_settings.set_clinic_profile(engine, "Nowhere", "us")
    clinic_settings.set_clinic_profile(engine, "North", "us")
    with engine.connect() as conn:
        stored = conn.execute(select(T.clinics.c.profile).where(T.clinics.c.name == "North"))
        assert stored.scalar() == "us"
        actions = conn.execute(select(T.audit.c.action, T.audit.c.detail)).all()
    assert ("clinic.profile", {"clinic": "North", "profile": "us"}) in [(a, d) for a, d in actions]


def test_posology_clinic_profile_sets_it_and_refuses_what_is_not_shipped(engine: Engine) -> None:
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "posology.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    upgrade(engine)
    bearer(engine, "a@east.example", "East", "admin")
    done = run("clinic", "profile", "East", "us")
    assert done.returncode == 0 and "us" in done.stdout, done.stderr
    unknown = run("clinic", "profile", "East", "atlantis")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "atlantis" in unknown.stderr and "default, us" in unknown.stderr
    nowhere = run("clinic", "profile", "Nowhere", "us")
    assert nowhere.returncode == 2 and "no clinic" in nowhere.stderr
    with engine.connect() as conn:
        stored = conn.execute(select(T.clinics.c.profile).where(T.clinics.c.name == "East"))
        assert stored.scalar() == "us"


def _cds_token(iss: str, path: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": iss, "aud": BASE + path, "iat": now, "exp": now + 300,
              "jti": str(uuid.uuid4())}  # fmt: skip
    return {"Authorization": "Bearer " + jwt.encode(claims, KEY, "ES384", headers={"kid": "k1"})}


def test_a_cds_call_is_judged_by_the_profile_of_the_issuers_clinic(engine: Engine) -> None:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    keys = {"keys": [{**public, "kid": "k1"}]}
    north_ehr, other_ehr = "https://ehr.north.example/", "https://ehr.other.example/"
    verifier = Verifier({north_ehr: Issuer(keys, clinic="North"), other_ehr: Issuer(keys)})
    upgrade(engine)
    _two_clinics(engine)
    path = "/cds-services/baclofen-order-sign"
    drafts = [order("d1", **oral(30))]  # 90 mg a day: above the US maximum only

    def cards(iss: str) -> list[dict[str, Any]]:
        with TestClient(create_app(engine, cds_verifier=verifier), base_url=BASE) as client:
            answer = client.post(
                path, headers=_cds_token(iss, path), json=call("order-sign", drafts)
            )
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["cards"]
        return found

    north, other = cards(north_ehr), cards(other_ehr)
    assert "Posology PO-MAX" in {c["source"]["label"] for c in north}
    assert "Posology PO-MAX" not in {c["source"]["label"] for c in other}
    # each finding's card says, in words, whose rules judged it
    judged = [c for c in north if c["source"]["label"].startswith("Posology PO-")]
    assert judged and all("United States (US labels)." in c["detail"] for c in judged)
    judged = [c for c in other if c["source"]["label"].startswith("Posology PO-")]
    assert judged and all("as on the source page (UK labels)." in c["detail"] for c in judged)


def test_migration_0008_keeps_the_clinics_and_leaves_them_on_the_servers_profile(
    engine: Engine,
) -> None:
    from alembic import command

    from posology.store import db

    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clinics (name, created_at, time_zone) "
                "VALUES ('Old', '2026-01-01 00:00:00', 'Europe/Berlin')"
            )
        )
    db.upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(select(T.clinics.c.name, T.clinics.c.time_zone, T.clinics.c.profile))
        assert row.all() == [("Old", "Europe/Berlin", None)]
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
