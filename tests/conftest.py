"""Shared fixtures."""

from __future__ import annotations

import pytest

from posology.knowledge import Pack, load_pack


@pytest.fixture(scope="session")
def pack() -> Pack:
    return load_pack()
