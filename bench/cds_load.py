"""Load benchmark for CDS Hooks: order-sign with three draft orders and full prefetch.

Starts `posology serve` with an allow-listed test issuer, then 20 concurrent keep-alive clients
send order-sign calls, each with a freshly signed JWT (ES384), for a fixed time; prints p50/p95.

    .venv/bin/python bench/cds_load.py [--seconds 15] [--clients 20] [--workers 1]

Traffic goes only to 127.0.0.1; every loop is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import free_port, read_response, report, start_server

ISS = "https://ehr.bench.example/"
SERVICE = "baclofen-order-sign"
BACLOFEN = {
    "coding": [{"system": "http://www.whocc.no/atc", "code": "M03BX01", "display": "baclofen"}]
}
ORAL = {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]}


def draft(oid: str, mg: float, day: int) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "MedicationRequest",
            "id": oid,
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": BACLOFEN,
            "dosageInstruction": [
                {
                    "route": ORAL,
                    "timing": {
                        "repeat": {
                            "boundsPeriod": {"start": f"2026-12-{day:02d}T08:00:00+00:00"},
                            "frequency": 3,
                            "period": 1,
                            "periodUnit": "d",
                        }
                    },
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": mg,
                                "unit": "mg",
                                "system": "http://unitsofmeasure.org",
                                "code": "mg",
                            }
                        }
                    ],
                }
            ],
        }
    }


def hook_body() -> bytes:
    history = [
        draft(f"h{i}", 5 + 5 * (i % 4), 1 + i)["resource"] | {"status": "active"} for i in range(6)
    ]
    body = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": {
                "resourceType": "Bundle",
                "entry": [draft("d1", 20, 10), draft("d2", 25, 13), draft("d3", 40, 16)],
            },
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "p1",
                "gender": "female",
                "birthDate": "1970-01-01",
            },
            "medications": {"resourceType": "Bundle", "entry": [{"resource": h} for h in history]},
            "administrations": {"resourceType": "Bundle", "entry": []},
            "weight": {
                "resourceType": "Bundle",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "Observation",
                            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                            "effectiveDateTime": "2026-11-01",
                            "valueQuantity": {"value": 70, "unit": "kg", "code": "kg"},
                        }
                    }
                ],
            },
            "clearance": {"resourceType": "Bundle", "entry": []},
            "conditions": {
                "resourceType": "Bundle",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "Condition",
                            "code": {
                                "coding": [{"system": "http://snomed.info/sct", "code": "24700007"}]
                            },
                        }
                    }
                ],
            },
        },
    }
    return json.dumps(body).encode()


def sign_tokens(key: Any, port: int, count: int) -> list[str]:
    """Tokens signed before the clock starts: an EHR signs on its own machine, so the driver's
    signing must not eat the server's CPU during the measurement."""
    aud = f"http://127.0.0.1:{port}/cds-services/{SERVICE}"
    now = int(time.time())
    return [
        jwt.encode(
            {"iss": ISS, "aud": aud, "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())},
            key,
            algorithm="ES384",
            headers={"kid": "bench"},
        )
        for _ in range(count)
    ]


async def client(
    port: int,
    tokens: list[str],
    body: bytes,
    until: float,
    latencies: list[float],
    statuses: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until and tokens:
            token = tokens.pop()
            head = (
                f"POST /cds-services/{SERVICE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            start = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            statuses.append(await read_response(reader))
            latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


async def drive(
    port: int, tokens: list[str], clients: int, seconds: float
) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    statuses: list[int] = []
    body = hook_body()
    start = time.perf_counter()
    await asyncio.gather(
        *(client(port, tokens, body, start + seconds, latencies, statuses) for _ in range(clients))
    )
    return latencies, statuses, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    key = ec.generate_private_key(ec.SECP384R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    issuers = {ISS: {"jwks": {"keys": [{**public, "kid": "bench"}]}}}
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tempfile.mkdtemp()}/cds.db",
        "POSOLOGY_CDS_ISSUERS": json.dumps(issuers),
        "POSOLOGY_PUBLIC_URL": f"http://127.0.0.1:{port}",  # the tokens' audience
    }
    server, port = start_server(env, args.workers, port)
    try:
        tokens = sign_tokens(key, port, int(args.seconds * 2000) + 4000)
        asyncio.run(drive(port, tokens, args.clients, 2))  # warm-up
        report(
            f"POST /cds-services/{SERVICE} (3 drafts, full prefetch)",
            *asyncio.run(drive(port, tokens, args.clients, args.seconds)),
        )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
