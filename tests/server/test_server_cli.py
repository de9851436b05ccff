"""The server's commands: accounts, tokens, migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dbhelp import POSTGRES


def run(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posology.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_user_add_token_create_and_db_upgrade(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "DATABASE_URL": POSTGRES or f"sqlite:///{tmp_path / 'cli.db'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    added = run(
        "user",
        "add",
        "nurse@east.example",
        "--clinic",
        "East",
        "--role",
        "clinician",
        "--password-stdin",
        env=env,
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    # clinician is the old name of prescriber: accepted, stored as prescriber, with a note
    assert "nurse@east.example (prescriber)" in added.stdout
    assert "now called prescriber" in added.stderr
    nurse = run("user", "add", "rn@east.example", "--clinic", "East", "--role", "nurse", env=env)
    assert nurse.returncode == 0 and "(nurse)" in nurse.stdout, nurse.stderr
    again = run(
        "user", "add", "nurse@east.example", "--clinic", "East", "--role", "clinician", env=env
    )
    assert (
        again.returncode == 2
        and "exists already" in again.stderr
        and "Traceback" not in again.stderr
    )
    contact = run("clinic", "contact", "East", "East clinic, 0800 000 000", env=env)
    assert contact.returncode == 0, contact.stderr
    nowhere = run("clinic", "contact", "Nowhere", "0800", env=env)
    assert nowhere.returncode == 2 and "no clinic" in nowhere.stderr
    zone = run("clinic", "zone", "East", "Europe/Berlin", env=env)
    assert zone.returncode == 0 and "Europe/Berlin" in zone.stdout, zone.stderr
    policy = run("clinic", "policy", "East", "single-signer", env=env)
    assert policy.returncode == 0 and "single-signer" in policy.stdout, policy.stderr
    no_policy = run("clinic", "policy", "East", "anyone", env=env)
    assert no_policy.returncode == 2 and "invalid choice" in no_policy.stderr
    no_clinic = run("clinic", "policy", "Nowhere", "co-sign", env=env)
    assert no_clinic.returncode == 2 and "no clinic" in no_clinic.stderr
    misspelt = run("clinic", "zone", "East", "Europe/Berln", env=env)
    assert misspelt.returncode == 2 and "time_zone" in misspelt.stderr
    assert "Traceback" not in misspelt.stderr
    token = run("token", "create", "nurse@east.example", env=env)
    assert token.returncode == 0 and token.stdout.startswith("pos_")
    unknown = run("token", "create", "nobody@east.example", env=env)
    assert unknown.returncode == 2 and "no active account" in unknown.stderr
    bad_role = run(
        "user", "add", "x@east.example", "--clinic", "East", "--role", "surgeon", env=env
    )
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    short = run(
        "user",
        "add",
        "y@east.example",
        "--clinic",
        "East",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin="short\n",
    )
    assert short.returncode == 2 and "at least 10 characters" in short.stderr


def test_an_unsupported_database_url_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "mysql://root@localhost/x"}
    result = run("db", "upgrade", env=env)
    assert result.returncode == 2 and "unsupported DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
