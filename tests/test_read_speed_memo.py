"""The reader's shape memo: a shape's key is the key of the event object without its ``at``, so
an event of a shape read before is that shape's event at its own instant."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.model import documents
from strategies import KINDS, event_body


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(KINDS), st.data())
def test_the_shape_key_is_the_key_of_the_object_without_its_at(kind: str, data: Any) -> None:
    doc = {"at": "2025-03-01T08:00", "kind": kind, **event_body(kind, data.draw)}
    key = documents._content_key(doc)
    without = {k: v for k, v in doc.items() if k != "at"}
    assert documents._shape_key(key) == documents._content_key(without)
