"""CDS Hooks JWTs: only a signed, fresh, unreplayed token of an allow-listed issuer passes."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from casebuild import FIXTURES
from posology.errors import TokenRefused
from posology.interop.cds_auth import Issuer, Verifier

AUD = "https://cds.example.org/cds-services/baclofen-order-sign"
ISS = "https://ehr.example.com/"


@pytest.fixture(scope="module")
def key() -> Any:
    return ec.generate_private_key(ec.SECP384R1())


def jwks_of(private: Any, kid: str = "k1") -> dict[str, Any]:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    return {"keys": [{**public, "kid": kid, "alg": "ES384", "use": "sig"}]}


def token(private: Any, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISS,
        "aud": AUD,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    return "Bearer " + jwt.encode(body, private, algorithm="ES384", headers={"kid": "k1"})


@pytest.fixture
def verifier(key: Any) -> Verifier:
    return Verifier({ISS: Issuer(jwks_of(key))})


def test_a_good_token_passes_once(verifier: Verifier, key: Any) -> None:
    good = token(key)
    assert verifier.verify(good, AUD)["iss"] == ISS
    with pytest.raises(TokenRefused, match="replay"):
        verifier.verify(good, AUD)


@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"aud": "https://elsewhere.example/cds-services/x"}, "aud"),
        ({"iss": "https://unknown.example/"}, "not allow-listed"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "future"),
    ],
)
def test_bad_claims_are_refused(
    verifier: Verifier, key: Any, claims: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(TokenRefused, match=fragment):
        verifier.verify(token(key, **claims), AUD)


def test_unsigned_and_hmac_tokens_are_refused(verifier: Verifier) -> None:
    now = int(time.time())
    body = {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 300, "jti": "x"}
    unsigned = "Bearer " + jwt.encode(body, key=None, algorithm="none")
    with pytest.raises(TokenRefused, match="'none' refused"):
        verifier.verify(unsigned, AUD)
    hmac = "Bearer " + jwt.encode(body, "a-shared-secret-long-enough-for-hs256!", algorithm="HS256")
    with pytest.raises(TokenRefused, match="'HS256' refused"):
        verifier.verify(hmac, AUD)
    with pytest.raises(TokenRefused, match="Bearer"):
        verifier.verify(None, AUD)


def test_a_key_from_another_issuer_does_not_verify(key: Any) -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    verifier = Verifier({ISS: Issuer(jwks_of(other))})
    with pytest.raises(TokenRefused, match="Signature"):
        verifier.verify(token(key), AUD)


def test_the_specs_example_token_has_expired() -> None:
    folder = FIXTURES / "cds-hooks"
    header = (folder / "jwt-authorization-header.txt").read_text().strip()
    header = (
        header.split(":", 1)[1].strip() if header.lower().startswith("authorization:") else header
    )
    payload = json.loads((folder / "jwt-payload.json").read_text())
    jwks = json.loads((folder / "jwks-public.json").read_text())
    verifier = Verifier({payload["iss"]: Issuer(jwks, ("https://fhir-ehr.example.com/jwk_uri",))})
    with pytest.raises(TokenRefused, match=r"expired|Signature"):
        verifier.verify(header, payload["aud"])
