"""Page fixtures: the app on a fresh SQLite database, a logged-in clinician."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dbhelp import fresh_engine
from posology.api.app import create_app
from posology.store import records

PASSWORD = "correct horse battery staple"


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[TestClient]:
    engine = fresh_engine(tmp_path)
    app = create_app(engine)
    records.add_user(engine, "doc@north.example", "North", "clinician", PASSWORD)
    with TestClient(app, base_url="https://testserver") as client:
        yield client
    engine.dispose()


@pytest.fixture
def logged_in(pages: TestClient) -> TestClient:
    answer = pages.post(
        "/login", data={"email": "doc@north.example", "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303
    return pages
