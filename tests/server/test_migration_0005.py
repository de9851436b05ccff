"""Migration 0005 carries a database made by the previous release (revision 0004) to the new
schema: nothing lost, clinicians become prescribers, records get their identity. Runs on SQLite
here and on PostgreSQL in scripts/test (the rows are written with plain, portable SQL)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

import posology.store.db as db
from posology.server.app import create_app

TOKEN = "pos_migration-test-token"
OLD_ROWS = [
    "INSERT INTO clinics (id, name, created_at, contact, time_zone) VALUES "
    "(1, 'North', '2026-01-05 08:00:00', '01234 567890', 'Europe/Berlin')",
    "INSERT INTO users (id, email, clinic_id, role, password_hash, active, created_at) VALUES "
    "(1, 'doc@north.example', 1, 'clinician', NULL, TRUE, '2026-01-05 08:00:00'), "
    "(2, 'pharm@north.example', 1, 'pharmacist', NULL, TRUE, '2026-01-05 08:00:00'), "
    "(3, 'admin@north.example', 1, 'admin', NULL, TRUE, '2026-01-05 08:00:00')",
    "INSERT INTO api_tokens (id, user_id, token_hash, created_at) VALUES "
    f"(1, 1, '{hashlib.sha256(TOKEN.encode()).hexdigest()}', '2026-01-05 08:00:00')",
    "INSERT INTO patients (id, clinic_id, label, document, version, created_at, updated_at) "
    'VALUES (1, 1, \'A.B.\', \'{"age_years": 45, "sex": "male", "diagnosis": '
    '"multiple-sclerosis", "spasticity_stable": true}\', 3, \'2026-01-06 08:00:00\', '
    "'2026-01-07 08:00:00'), "
    '(2, 1, \'C.D.\', \'{"birth_date": "1975-03-04", "sex": "female", "diagnosis": '
    '"multiple-sclerosis", "spasticity_stable": true}\', 1, \'2026-01-06 08:00:00\', '
    "'2026-01-06 08:00:00')",
    "INSERT INTO patient_revisions (id, patient_id, version, document, user_id, recorded_at) "
    'VALUES (1, 2, 1, \'{"birth_date": "1975-03-04", "sex": "female", "diagnosis": '
    '"multiple-sclerosis", "spasticity_stable": true}\', 1, \'2026-01-06 08:00:00\')',
    "INSERT INTO events (id, patient_id, seq, at, kind, document, supersedes, override_reason, "
    "findings, plan_step_id, user_id, recorded_at) VALUES "
    "(1, 1, 1, '2026-01-06T08:00:00Z', 'oral-regimen', '{\"at\": \"2026-01-06T08:00:00Z\", "
    '"kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}\', NULL, NULL, \'[]\', '
    "NULL, 1, '2026-01-06 08:05:00'), "
    "(2, 1, 2, '2026-01-06T08:00:00Z', 'oral-regimen', '{\"at\": \"2026-01-06T08:00:00Z\", "
    '"kind": "oral-regimen", "dose": "5 mg", "times_per_day": 2}\', 1, NULL, \'[]\', '
    "NULL, 1, '2026-01-06 08:10:00'), "
    "(3, 1, 3, '2026-01-09T08:00:00Z', 'oral-regimen', '{\"at\": \"2026-01-09T08:00:00Z\", "
    '"kind": "oral-regimen", "dose": "40 mg", "times_per_day": 3}\', NULL, '
    "'inpatient trial', '[]', NULL, 1, '2026-01-09 08:05:00')",
    "INSERT INTO audit (id, at, user_id, clinic_id, action, entity, entity_id, detail) VALUES "
    "(1, '2026-01-06 08:05:00', 1, 1, 'event.append', 'patient', 1, '{\"seq\": 1}')",
]


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    return cfg


def _at_0004(engine: Engine) -> None:
    """The schema exactly as the previous release made it, with its data."""
    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    with engine.begin() as conn:
        for statement in OLD_ROWS:
            conn.execute(text(statement))
        if conn.dialect.name == "postgresql":  # ids were given: move the sequences past them
            for table in ("clinics", "users", "api_tokens", "patients", "patient_revisions",
                          "events", "audit"):  # fmt: skip
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )


def test_a_0004_database_upgrades_with_nothing_lost_and_roles_mapped(engine: Engine) -> None:
    _at_0004(engine)
    db.upgrade(engine)
    with engine.connect() as conn:
        roles = conn.execute(text("SELECT email, role FROM users ORDER BY id")).all()
        patients = conn.execute(
            text(
                "SELECT id, label, name, birth_date, record_number, version FROM patients "
                "ORDER BY id"
            )
        ).all()
        kept = conn.execute(
            text(
                "SELECT id, seq, supersedes, override_reason, override_code FROM events ORDER BY id"
            )
        ).all()
        counts = {
            t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("clinics", "api_tokens", "patient_revisions", "audit")
        }
        zone = conn.execute(text("SELECT time_zone, contact FROM clinics")).one()
    assert [tuple(r) for r in roles] == [
        ("doc@north.example", "prescriber"),
        ("pharm@north.example", "pharmacist"),
        ("admin@north.example", "admin"),
    ]
    assert [tuple(r) for r in patients] == [
        (1, "A.B.", "A.B.", None, "legacy-1", 3),
        (2, "C.D.", "C.D.", "1975-03-04", "legacy-2", 1),
    ]
    assert [tuple(r) for r in kept] == [
        (1, 1, None, None, None),
        (2, 2, 1, None, None),
        (3, 3, None, "inpatient trial", "other"),
    ]
    assert counts == {"clinics": 1, "api_tokens": 1, "patient_revisions": 1, "audit": 1}
    assert tuple(zone) == ("Europe/Berlin", "01234 567890")

    # the old clinician's token works, as a prescriber, on the carried-over records
    app = create_app(engine)
    with TestClient(app, base_url="https://testserver") as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        listed = client.get("/api/v1/patients", headers=headers).json()
        assert [(p["name"], p["record_number"]) for p in listed] == [
            ("A.B.", "legacy-1"),
            ("C.D.", "legacy-2"),
        ]
        history = client.get("/api/v1/patients/1/events", headers=headers).json()
        assert [(e["superseded"], e["recorded_by"]) for e in history] == [
            (True, "doc@north.example"),
            (False, "doc@north.example"),
            (False, "doc@north.example"),
        ]
        assert history[1]["reason"] == {"kind": "correction", "text": None}
        assert history[2]["override"]["code"] == "other"
        assert history[2]["override"]["text"] == "inpatient trial"
        review = {"at": "2026-01-10T08:00:00Z", "kind": "review", "note": "after the upgrade"}
        added = client.post("/api/v1/patients/1/events", headers=headers, json={"event": review})
        assert added.status_code == 201 and added.json()["seq"] == 4
        made = client.post(
            "/api/v1/patients",
            headers=headers,
            json={"patient": {"sex": "male", "diagnosis": "multiple-sclerosis",
                              "spasticity_stable": True},
                  "name": "E F", "birth_date": "1960-01-01", "record_number": "N-9"},
        )  # fmt: skip
        assert made.status_code == 201 and made.json()["id"] == 3
