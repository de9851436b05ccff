"""Shared fixtures."""

from __future__ import annotations

import os
import tempfile

import pytest

# The validated-pack cache (posology.knowledge.cache) of a test run is its own: a run neither
# reads the user's entries nor leaves entries behind in the user's cache folder.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="posology-tests-cache-")

from posology.knowledge import Pack, load_pack


@pytest.fixture(scope="session")
def pack() -> Pack:
    return load_pack()
