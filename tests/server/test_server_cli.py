"""The server's commands: accounts, tokens, migrations."""

from __future__ import annotations

import contextlib
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
        "--create-clinic",
        "--password-stdin",
        env=env,
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    # clinician is the old name of prescriber: accepted, stored as prescriber, with a note
    assert "nurse@east.example (prescriber)" in added.stdout
    assert "now called prescriber" in added.stderr
    nurse = run(
        "user", "add", "rn@east.example", "--clinic", "East", "--role", "nurse",
        "--password-stdin", env=env, stdin="another long password\n",
    )  # fmt: skip
    assert nurse.returncode == 0 and "(nurse)" in nurse.stdout, nurse.stderr
    again = run(
        "user", "add", "nurse@east.example", "--clinic", "East", "--role", "clinician",
        "--password-stdin", env=env, stdin="a long enough password\n",
    )  # fmt: skip
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


def test_accounts_are_made_with_a_password_and_disabled_or_revoked_at_once(
    tmp_path: Path,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    from posology.errors import Unauthorized
    from posology.services import accounts
    from posology.store.db import open_engine

    url = POSTGRES or f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    secret = "a long enough password\n"

    def add(
        email: str, *extra: str, stdin: str | None = secret
    ) -> subprocess.CompletedProcess[str]:
        flags = ("--password-stdin",) if stdin is not None else ()
        return run("user", "add", email, "--role", "nurse", *extra, *flags, env=env, stdin=stdin)

    # a misspelt clinic is not silently created
    first = add("a@west.example", "--clinic", "West")
    assert first.returncode == 2 and "--create-clinic" in first.stderr
    assert add("a@west.example", "--clinic", "West", "--create-clinic").returncode == 0
    misspelt = add("b@west.example", "--clinic", "Wset")
    assert (
        misspelt.returncode == 2
        and "West" in misspelt.stderr
        and "Traceback" not in misspelt.stderr
    )
    # no password and no terminal: refused with the fix, never an account that cannot log in
    silent = add("c@west.example", "--clinic", "West", stdin=None)
    assert silent.returncode == 2 and "--password-stdin" in silent.stderr
    listed = run("user", "list", env=env)
    assert "a@west.example\tWest\tnurse\tactive" in listed.stdout
    assert "c@west.example" not in listed.stdout
    changed = run(
        "user", "set-password", "a@west.example", "--password-stdin",
        env=env, stdin="a brand new password\n",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    live = open_engine(url)
    assert (
        accounts.login(live, "a@west.example", "a brand new password")[0].email == "a@west.example"
    )
    short = run("token", "create", "a@west.example", "--days", "1", env=env).stdout.strip()
    forever = run("token", "create", "a@west.example", env=env).stdout.strip()
    assert accounts.user_for_token(live, short).email == "a@west.example"
    tokens = run("token", "list", "--email", "a@west.example", env=env).stdout.splitlines()
    assert len(tokens) == 2 and "expires never" in tokens[1] and short not in "".join(tokens)
    revoked = run("token", "revoke", tokens[0].split("\t")[0], env=env)
    assert revoked.returncode == 0, revoked.stderr
    try:
        accounts.user_for_token(live, short)
        raise AssertionError("a revoked token still works")
    except Unauthorized:
        pass
    assert run("user", "disable", "a@west.example", env=env).returncode == 0
    checks = (
        lambda: accounts.user_for_token(live, forever),
        lambda: accounts.login(live, "a@west.example", "a brand new password"),
    )
    for check in checks:
        try:
            check()
            raise AssertionError("a disabled account still works")
        except Unauthorized:
            pass
    assert "a@west.example\tWest\tnurse\tdisabled" in run("user", "list", env=env).stdout
    live.dispose()


def _serve(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "posology.cli", "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert f"listening on http://127.0.0.1:{port}" in line, line
    return process, port


def _ready(port: int) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer")


def test_the_server_says_where_it_listens_logs_no_secrets_and_stops_on_sigterm(
    tmp_path: Path,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    import signal
    import time
    import urllib.request

    env = {**os.environ, "DATABASE_URL": POSTGRES or f"sqlite:///{tmp_path / 'serve.db'}"}
    process, port = _serve(env)
    _ready(port)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/patients?q=Ada+Lovelace",
        headers={"Authorization": "Bearer pos_secret_token_value"},
    )
    with contextlib.suppress(OSError):  # 401: the point is what the log says
        urllib.request.urlopen(request, timeout=5)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=15)
    assert time.monotonic() - started < 10
    assert "GET /api/v1/patients 401" in err
    assert "pos_secret_token_value" not in err and "Lovelace" not in err


def test_with_several_workers_no_other_process_can_share_the_port(
    tmp_path: Path,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    import signal
    import socket

    env = {**os.environ, "DATABASE_URL": POSTGRES or f"sqlite:///{tmp_path / 'serve.db'}"}
    process, port = _serve(env, "--workers", "2")
    try:
        _ready(port)
        intruder = socket.socket()
        intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            intruder.bind(("127.0.0.1", port))
            raise AssertionError("another process could bind the server's port")
        except OSError:
            pass
        finally:
            intruder.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
