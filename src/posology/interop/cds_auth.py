"""CDS Hooks security: the JWT the EHR sends with every call, checked as the spec asks.

The signature is checked against the keys of an allow-listed issuer (a JWKS configured here, or
the ``jku`` of the token when that URL is on the issuer's allow-list and its keys are configured:
nothing is fetched at run time on a closed hospital network). Only ES384, RS384 and ES256 are
accepted (``none`` and HMAC never); ``aud`` must be this service's URL; ``exp`` and ``iat`` are
checked with a small skew; a ``jti`` seen before is refused.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import TokenRefused

ALGORITHMS = ("ES384", "RS384", "ES256")
SKEW_SECONDS = 60
MAX_LIFETIME_SECONDS = 300
"""The longest a hook call's token may live (exp - iat): the CDS Hooks specification asks for
short-lived tokens and recommends five minutes; a long-lived one is a stolen one's gift."""


@dataclass
class Issuer:
    """An allow-listed EHR: its JWKS, the ``jku`` URLs it may name, the name of the clinic
    whose staff use it (its feedback is that clinic's record; None: no clinic named), and the
    FHIR servers its calls may name as ``fhirServer`` (none: prefetch only)."""

    jwks: dict[str, Any]
    jku: tuple[str, ...] = ()
    clinic: str | None = None
    fhir: tuple[str, ...] = ()


def _urls(issuer: dict[str, Any]) -> tuple[str, ...]:
    """An issuer's ``fhir`` servers: a list of URLs, or one URL written alone."""
    fhir = issuer.get("fhir", ())
    return (fhir,) if isinstance(fhir, str) else tuple(str(url) for url in fhir)


@dataclass
class Verifier:
    """Checks tokens for one service; remembers the ``jti`` values it has accepted."""

    issuers: dict[str, Issuer]
    # records a token id with its expiry; False when seen before. Default: this process's memory.
    remember: Callable[[str, float], bool] | None = None
    seen: dict[str, float] = field(default_factory=dict)
    keys: dict[tuple[str, str | None, str], Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_json(cls, text: str) -> Verifier:
        """``{"ISS": {"jwks": {...}, "jku": ["https://…"], "clinic": "North", "fhir":
        ["https://ehr.example/fhir/r4"]}}`` (POSOLOGY_CDS_ISSUERS)."""
        data = json.loads(text) if text.strip() else {}
        return cls(
            {
                iss: Issuer(v["jwks"], tuple(v.get("jku", ())), v.get("clinic"), _urls(v))
                for iss, v in data.items()
            }
        )

    def verify(
        self, authorization: str | None, audience: str, now: float | None = None
    ) -> dict[str, Any]:
        import jwt

        if not authorization or not authorization.lower().startswith("bearer "):
            raise TokenRefused("a CDS Hooks call needs Authorization: Bearer JWT")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"malformed JWT: {exc}") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRefused(f"algorithm {alg!r} refused; use one of {', '.join(ALGORITHMS)}")
        issuer = self.issuers.get(str(claims.get("iss")))
        if issuer is None:
            raise TokenRefused(f"issuer {claims.get('iss')!r} is not allow-listed")
        if header.get("jku") and header["jku"] not in issuer.jku:
            raise TokenRefused("the jku is not on this issuer's allow-list")
        cache_key = (str(claims.get("iss")), header.get("kid"), str(alg))
        key = self.keys.get(cache_key)
        if key is None:  # parsing a JWK costs as much as checking a signature: once per key
            try:
                key = self.keys[cache_key] = self._key(issuer, header.get("kid"), alg)
            except TokenRefused:
                raise
            except Exception as exc:  # a key that does not fit the named algorithm
                raise TokenRefused(f"no usable key for algorithm {alg}: {exc}") from None
        moment = time.time() if now is None else now
        try:
            verified: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                leeway=SKEW_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("the JWT has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("the JWT was issued in the future") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused(f"the JWT's aud is not {audience}") from None
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"JWT refused: {exc}") from None
        if float(verified["iat"]) > moment + SKEW_SECONDS:
            raise TokenRefused("the JWT was issued in the future")
        if float(verified["exp"]) - float(verified["iat"]) > MAX_LIFETIME_SECONDS + SKEW_SECONDS:
            raise TokenRefused(
                f"the JWT lives longer than {MAX_LIFETIME_SECONDS} s; CDS Hooks tokens are "
                "short-lived"
            )
        expires = float(verified["exp"]) + SKEW_SECONDS
        if self.remember is not None:
            if not self.remember(str(verified["jti"]), expires):
                raise TokenRefused("the JWT's jti was used before (replay)")
            return verified
        with self.lock:
            self.seen = {j: t for j, t in self.seen.items() if t > moment}
            if verified["jti"] in self.seen:
                raise TokenRefused("the JWT's jti was used before (replay)")
            self.seen[str(verified["jti"])] = expires
        return verified

    @staticmethod
    def _key(issuer: Issuer, kid: str | None, alg: str) -> Any:
        from jwt import PyJWK

        for jwk in issuer.jwks.get("keys", []):
            if kid is None or jwk.get("kid") == kid:
                return PyJWK(jwk, algorithm=alg).key
        raise TokenRefused(f"no key {kid!r} for this issuer")
