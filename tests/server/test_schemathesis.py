"""Property-based API testing against the served OpenAPI description (schemathesis).

At least 200 generated cases per operation; no answer may be a 500, use a status code the
description does not list, or break the schema it declares.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dbhelp import bearer, fresh_engine
from posology.server.app import create_app

CASES_PER_OPERATION = 200


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    engine = fresh_engine(Path(tmp_path_factory.mktemp("schemathesis")))
    app = create_app(engine)
    headers = bearer(engine, "doc@north.example", "North", "clinician", "correct horse battery")
    with TestClient(app) as client:  # a record to find, so generated ids sometimes hit one
        client.post(
            "/api/v1/patients",
            headers=headers,
            json={"patient": {"age_years": 50, "diagnosis": "stroke"}},
        )
    yield schemathesis.openapi.from_asgi("/openapi.json", app), headers
    engine.dispose()


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def exercise(operation: Any, headers: dict[str, str]) -> list[int]:
    """Run the generated cases of one operation; the status codes seen."""
    calls: list[int] = []

    @given(operation.as_strategy())
    @settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        calls.append(response.status_code)
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        )

    run()
    return calls


def test_every_operation_holds_for_generated_cases(api: tuple[Any, dict[str, str]]) -> None:
    schema, headers = api
    ops = operations(schema)
    assert len(ops) >= 15
    seen = {operation.label: exercise(operation, headers) for operation in ops}
    short = {label: len(calls) for label, calls in seen.items() if len(calls) < CASES_PER_OPERATION}
    assert not short, f"fewer than {CASES_PER_OPERATION} cases: {short}"
