"""What the EHR tests share: the FHIR server's addresses and set-up calls, Posology's settings
for it, and the browser's way through a launch (Posology, the EHR's sign-in, back)."""

from __future__ import annotations

import html
import json
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tools" / "fhir-server" / "server.mjs"
ROUTER = ROOT / "node_modules" / "@medplum" / "fhir-router" / "package.json"
NODE = shutil.which("node")
PUBLIC = "https://testserver"
CALLBACK = f"{PUBLIC}/smart/callback"
CLIENT_ID = "posology"
MRN_SYSTEM = "https://north.example/record-number"
PASSWORD = "correct horse battery staple"


class FhirServer:
    """The Node process's addresses and what a test sets up in it (its ``/_test/`` calls)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.base = f"{origin}/fhir"

    def _post(self, what: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.origin}/_test/{what}",
            data=json.dumps(body if body is not None else {}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def reset(self) -> None:
        self._post("reset")

    def load(self, resources: list[dict[str, Any]] | dict[str, Any]) -> list[str]:
        """Stores FHIR resources (a list, a Bundle or one resource) through the FHIR router."""
        return list(self._post("load", resources)["loaded"])

    def register(self, client_id: str = CLIENT_ID, redirect_uri: str = CALLBACK) -> None:
        self._post("client", {"client_id": client_id, "redirect_uri": redirect_uri})

    def launch(self, patient: str, user: str = "dr-north", app_context: str | None = None) -> str:
        """A launch parameter, as the EHR puts in the link when a clinician opens the app
        (``app_context``: the appContext of the CDS card's link it was opened from)."""
        body: dict[str, Any] = {"patient": patient, "user": user}
        if app_context is not None:
            body["appContext"] = app_context
        return str(self._post("launch", body)["launch"])

    def token(self, patient: str, scope: str = "patient/*.rs") -> dict[str, Any]:
        """A bearer token for one patient, as an EHR sends in a hook's ``fhirAuthorization``."""
        return dict(self._post("token", {"patient": patient, "scope": scope}))

    def behave(self, **how: Any) -> None:
        """``token`` (ok, refuse, server-error, not-json, no-patient), ``fhir_delay_ms``,
        ``smart_configuration`` (ok, missing, no-pkce)."""
        self._post("behaviour", how)

    def seen(self) -> list[dict[str, Any]]:
        """The authorize, token and FHIR requests the server received, in order."""
        return list(self._post("seen"))


def open_from_ehr(
    client: TestClient,
    fhir: FhirServer,
    patient: str,
    iss: str | None = None,
    app_context: str | None = None,
) -> httpx.Response:
    """A clinician opens Posology from the patient's chart: the EHR's launch link to Posology,
    Posology's redirect to the EHR's sign-in (a real HTTP request to the FHIR server's
    authorization endpoint), its redirect back to Posology's callback; the callback's answer."""
    launch = fhir.launch(patient, app_context=app_context)
    start = client.get(
        "/smart/launch", params={"iss": iss or fhir.base, "launch": launch}, follow_redirects=False
    )
    assert start.status_code == 303, start.text
    at_ehr = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_ehr.status_code == 302, at_ehr.text
    back = at_ehr.headers["location"]
    assert back.startswith(CALLBACK + "?"), back
    return client.get(back.removeprefix(PUBLIC), follow_redirects=False)


def words(page: str) -> str:
    """A page's text as a reader sees it: no tags, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
