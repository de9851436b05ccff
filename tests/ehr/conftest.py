"""EHR fixtures: a real FHIR server with a SMART authorization server (Medplum's FHIR router
behind ``tools/fhir-server/server.mjs``, one Node process for the session, emptied before each
test), and Posology configured to trust it as an EHR."""

from __future__ import annotations

import json
import os
import select
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dbhelp import fresh_engine
from posology.server.app import create_app
from posology.services import accounts

from .launch import (
    CLIENT_ID,
    MRN_SYSTEM,
    NODE,
    PASSWORD,
    PUBLIC,
    ROOT,
    ROUTER,
    SERVER,
    FhirServer,
)

if os.environ.get("CI") and not (NODE and ROUTER.exists()):
    pytest.fail("CI is set and node or node_modules/@medplum/fhir-router is missing", pytrace=False)


@pytest.fixture(scope="session")
def fhir_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    if not (NODE and ROUTER.exists()):
        pytest.skip("needs node and node_modules/@medplum/fhir-router (npm ci)")
    log = tmp_path_factory.mktemp("fhir-server") / "stderr.txt"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [NODE, str(SERVER), "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline() if ready and process.stdout else ""
        if not line:
            pytest.fail(f"the FHIR server did not start: {log.read_text()[-2000:]}")
        yield FhirServer(json.loads(line)["origin"])
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def fhir(fhir_process: FhirServer) -> FhirServer:
    """The FHIR server, empty, with Posology registered as a client."""
    fhir_process.reset()
    fhir_process.register()
    return fhir_process


App = Callable[..., TestClient]


@pytest.fixture
def posology(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fhir: FhirServer) -> Iterator[App]:
    """Makes Posology with the FHIR server on its EHR allow-list (``entry`` overrides fields of
    its entry: ``clinic``, ``timeout``…), the North clinic and a prescriber in it; ``public`` is
    POSOLOGY_PUBLIC_URL."""
    clients: list[TestClient] = []

    def make(public: str = PUBLIC, **entry: Any) -> TestClient:
        allowed = {
            fhir.base: {
                "client_id": CLIENT_ID,
                "clinic": "North",
                "name": "North EHR",
                "identifier_system": MRN_SYSTEM,
                **entry,
            }
        }
        monkeypatch.setenv("POSOLOGY_SMART_EHRS", json.dumps(allowed))
        monkeypatch.setenv("POSOLOGY_PUBLIC_URL", public)
        folder = tmp_path / f"app{len(clients)}"
        folder.mkdir()
        engine = fresh_engine(folder)
        app = create_app(engine)
        accounts.add_user(engine, "doc@north.example", "North", "prescriber", PASSWORD)
        client = TestClient(app, base_url=PUBLIC)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
        client.app.state.engine.dispose()
