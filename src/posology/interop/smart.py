"""SMART App Launch 2.0, EHR launch: the allow-list, discovery, the authorization request with
PKCE, and the exchange of the code for an access token (https://hl7.org/fhir/smart-app-launch/).

The EHR opens ``/smart/launch?iss=…&launch=…``. Posology answers only EHRs on its allow-list
(``POSOLOGY_SMART_EHRS``, keyed by the FHIR base URL the EHR sends as ``iss``): an ``iss`` is the
address Posology will send a clinician's browser to and then call with a token, so an unknown
one is never followed. Posology is a public client (no secret to keep on a server the EHR does
not run); PKCE S256 binds the code to the browser's launch, ``state`` binds the callback to it.

The token answer stays on the server: the access token is used for the reads of this one
launch and dropped; it is never sent to the browser or written anywhere (a :class:`Grant`
does not show it in its ``repr``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..errors import InputError, LaunchRefused
from ..frozen import field, record
from ..hosts import is_loopback
from .smart_http import call, checked_url

SETTING = "POSOLOGY_SMART_EHRS"
SCOPE = (
    "launch openid fhirUser patient/Patient.r patient/MedicationRequest.rs "
    "patient/MedicationAdministration.rs patient/Observation.rs patient/Condition.rs "
    "patient/Medication.r"
)
"""What Posology asks an EHR for, in SMART v2 scopes: the launch context, who the user is (for
the audit trail), and reads (``r``) and searches (``s``) of exactly the resources it reads,
for the launched patient only. Never create, update or delete: Posology writes nothing back."""
DEFAULT_TIMEOUT = 10.0
LONGEST_TIMEOUT = 60.0
SMALL_ANSWER = 64 * 1024
"""The largest SMART configuration or token answer read (real ones are a few kilobytes)."""
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_LAUNCH = re.compile(r"[\x21-\x7e]{1,1024}")


@record
class Ehr:
    """An allow-listed EHR: its FHIR base (``iss``), the client id it registered Posology
    under, the clinic whose staff use it, the identifier system whose values are Posology's
    record numbers (None: records are not matched), the scopes asked for, and how long each
    call to it may take."""

    iss: str
    client_id: str
    clinic: str
    name: str
    identifier_system: str | None = None
    scope: str = SCOPE
    timeout: float = DEFAULT_TIMEOUT


@record
class Endpoints:
    """Where the EHR authorizes and issues tokens (from its ``.well-known/smart-configuration``)."""

    authorize: str
    token: str


@record
class Grant:
    """A token answer: the access token (never shown), the patient in context, the scopes
    granted, how long the token lives, and the user as the EHR's id_token names them."""

    access_token: str = field(repr=False)
    patient: str
    scope: str
    expires_in: int | None
    fhir_user: str | None
    app_context: str | None = None
    """The ``appContext`` the EHR passed on from the CDS card the clinician opened (CDS Hooks
    2.0, links of type ``smart``; SMART App Launch 2 returns it in the token answer)."""


APP_CONTEXT_LONGEST = 4096
_DRAFT = re.compile(r"MedicationRequest/[A-Za-z0-9\-.]{1,64}")


def app_context_for(order_id: str | None) -> str | None:
    """The ``appContext`` of a CDS card's link that names the draft order it is about: JSON
    ``{"draftOrder": "MedicationRequest/<id>"}`` (None when the order has no usable id)."""
    if not isinstance(order_id, str) or not _FHIR_ID.fullmatch(order_id):
        return None
    return json.dumps({"draftOrder": f"MedicationRequest/{order_id}"}, separators=(",", ":"))


def draft_order_of(app_context: str | None) -> str | None:
    """The draft order an ``appContext`` names (``MedicationRequest/<id>``), or None when there
    is none or it is not one Posology wrote (an app context is the EHR's to pass on, and read
    here as data, never trusted beyond naming an order of the launched patient)."""
    if not app_context:
        return None
    try:
        data = json.loads(app_context)
    except ValueError:
        return None
    order = data.get("draftOrder") if isinstance(data, dict) else None
    return order if isinstance(order, str) and _DRAFT.fullmatch(order) else None


def normal_iss(iss: str) -> str:
    """An ``iss`` as the allow-list keys it: without a trailing slash."""
    return iss.strip().rstrip("/")


def allow_list(text: str) -> dict[str, Ehr]:
    """The EHRs of ``POSOLOGY_SMART_EHRS``: ``{"https://ehr/fhir": {"client_id": "posology",
    "clinic": "North", "name": "…", "identifier_system": "…", "scope": "…", "timeout": 10}}``
    (``client_id`` and ``clinic`` required). A setting that cannot be read is an
    :class:`~posology.errors.InputError` naming the entry and the field."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(SETTING, f"is not JSON ({exc.args[0]})") from None
    if not isinstance(data, dict):
        raise InputError(SETTING, 'must be a JSON object {"https://ehr/fhir": {...}}')
    out: dict[str, Ehr] = {}
    for iss, entry in data.items():
        where = f"{SETTING}[{iss!r}]"
        key = normal_iss(iss)
        parts = urlsplit(key)
        local_http = parts.scheme == "http" and is_loopback(parts.hostname or "")
        if not (parts.scheme == "https" or local_http) or not parts.hostname:
            raise InputError(where, "must be the EHR's https FHIR base URL")
        if not isinstance(entry, dict):
            raise InputError(where, 'must be an object {"client_id": "…", "clinic": "…"}')
        texts: dict[str, str | None] = {}
        for name in ("client_id", "clinic", "name", "identifier_system", "scope"):
            value = entry.get(name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InputError(f"{where}.{name}", "must be a non-empty string")
            texts[name] = value.strip() if isinstance(value, str) else None
        for name in ("client_id", "clinic"):
            if texts[name] is None:
                raise InputError(f"{where}.{name}", "missing; required for every EHR")
        timeout = entry.get("timeout", DEFAULT_TIMEOUT)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout <= LONGEST_TIMEOUT
        ):
            raise InputError(
                f"{where}.timeout", f"must be seconds, above 0 and at most {LONGEST_TIMEOUT:g}"
            )
        scope = texts["scope"] or SCOPE
        if "launch" not in scope.split():
            raise InputError(f"{where}.scope", "must hold the launch scope (an EHR launch)")
        out[key] = Ehr(
            iss=key,
            client_id=str(texts["client_id"]),
            clinic=str(texts["clinic"]),
            name=texts["name"] or str(parts.hostname),
            identifier_system=texts["identifier_system"],
            scope=scope,
            timeout=float(timeout),
        )
    return out


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise LaunchRefused(502, f"{what} answered something that is not JSON") from None
    if not isinstance(data, dict):
        raise LaunchRefused(502, f"{what} answered JSON that is not an object")
    return data


def discover(ehr: Ehr) -> Endpoints:
    """The EHR's authorization and token endpoints, from its SMART configuration; an EHR that
    does not offer PKCE S256 (which SMART App Launch 2 requires) is refused."""
    what = "The EHR's SMART configuration"
    answer = call(
        f"{ehr.iss}/.well-known/smart-configuration",
        what,
        timeout=ehr.timeout,
        limit=SMALL_ANSWER,
        headers={"Accept": "application/json"},
    )
    if answer.status != 200:
        raise LaunchRefused(502, f"{what} could not be read (HTTP {answer.status})")
    config = _json_object(answer.body, what)
    endpoints = []
    for key in ("authorization_endpoint", "token_endpoint"):
        value = config.get(key)
        if not isinstance(value, str) or not value:
            raise LaunchRefused(502, f"{what} has no {key}")
        endpoints.append(checked_url(value, f"{what}'s {key}"))
    methods = config.get("code_challenge_methods_supported")
    if not isinstance(methods, list) or "S256" not in methods:
        raise LaunchRefused(
            502,
            f"{what} does not offer PKCE with S256 (code_challenge_methods_supported), which "
            "SMART App Launch 2 requires; ask the EHR's administrators to enable it",
        )
    return Endpoints(*endpoints)


def new_pkce() -> tuple[str, str]:
    """A PKCE code verifier (43 characters of 32 random bytes) and its S256 challenge."""
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def checked_launch(launch: str | None) -> str:
    """The ``launch`` parameter as the EHR sent it: opaque, but printable and of sane length."""
    if not launch or not _LAUNCH.fullmatch(launch):
        raise LaunchRefused(
            400,
            "the link has no usable launch parameter; open Posology from the patient's chart "
            "in the EHR",
        )
    return launch


def authorize_url(
    ehr: Ehr, endpoints: Endpoints, redirect_uri: str, launch: str, state: str, challenge: str
) -> str:
    """The address the browser is sent to: the EHR's authorization endpoint with the request."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": ehr.client_id,
            "redirect_uri": redirect_uri,
            "launch": launch,
            "scope": ehr.scope,
            "state": state,
            "aud": ehr.iss,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return endpoints.authorize + ("&" if "?" in endpoints.authorize else "?") + query


def _said(value: object, longest: int = 200) -> str:
    """A text a foreign server sent, made safe to show: printable, and not too long."""
    text = "".join(c for c in str(value) if c.isprintable())
    return text[:longest]


def exchange(ehr: Ehr, endpoints: Endpoints, code: str, redirect_uri: str, verifier: str) -> Grant:
    """The code for an access token at the EHR's token endpoint, with the PKCE verifier. The
    answer must be a bearer token with a patient in context."""
    what = "The EHR's token service"
    form = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": ehr.client_id,
            "code_verifier": verifier,
        }
    ).encode("ascii")
    answer = call(
        endpoints.token,
        what,
        timeout=ehr.timeout,
        limit=SMALL_ANSWER,
        form=form,
        headers={"Accept": "application/json"},
    )
    if answer.status != 200:
        reason = ""
        if "json" in answer.media_type:
            try:
                error = json.loads(answer.body)
            except ValueError:
                error = None
            if isinstance(error, dict) and error.get("error"):
                reason = f": {_said(error['error'], 60)}"
                if error.get("error_description"):
                    reason += f" ({_said(error['error_description'])})"
        raise LaunchRefused(502, f"{what} refused the sign-in (HTTP {answer.status}){reason}")
    data = _json_object(answer.body, what)
    token = data.get("access_token")
    if not isinstance(token, str) or not token or len(token) > 16384:
        raise LaunchRefused(502, f"{what} gave no access token")
    if str(data.get("token_type", "")).lower() != "bearer":
        raise LaunchRefused(502, f"{what} gave a token that is not a bearer token")
    patient = data.get("patient")
    if not isinstance(patient, str) or not _FHIR_ID.fullmatch(patient):
        raise LaunchRefused(
            502,
            f"{what} gave no patient context: open Posology from a patient's chart in the EHR",
        )
    expires = data.get("expires_in")
    context = data.get("appContext")
    if not isinstance(context, str) or len(context) > APP_CONTEXT_LONGEST:
        context = None
    return Grant(
        access_token=token,
        patient=patient,
        scope=_said(data.get("scope") or "", 2000),
        expires_in=expires if isinstance(expires, int) and not isinstance(expires, bool) else None,
        fhir_user=_fhir_user(data.get("id_token"), ehr.client_id),
        app_context=context,
    )


def _fhir_user(id_token: object, client_id: str) -> str | None:
    """The ``fhirUser`` claim of the id_token, for the audit trail only (never for access).

    The signature is not checked: the id_token came straight from the token endpoint over the
    connection Posology opened, which OpenID Connect Core (3.1.3.7) accepts in place of the
    signature; its ``aud`` must still be Posology's client id."""
    if not isinstance(id_token, str):
        return None
    import jwt

    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    audience = claims.get("aud")
    if audience != client_id and not (isinstance(audience, list) and client_id in audience):
        return None
    user = claims.get("fhirUser")
    return _said(user) if isinstance(user, str) else None
