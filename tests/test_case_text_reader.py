"""The CASE reader by event texts (``posology.model.case_text``, the server's reader) gives
exactly what ``read_case`` gives: the same Case for a text it reads, the same error (message and
path) for one it refuses, over the whole accepted input space and texts spoilt on purpose (a key
given twice at any level, an unknown field, an event that cannot be read, no history, a
byte-order mark, UTF-16)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.errors import InputError
from posology.model import read_case
from posology.model.case_text import _quick_case, read_case_text
from strategies import KINDS, event_body, histories, patients

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def _outcome(read: Any, text: str | bytes) -> tuple[str, object]:
    try:
        return ("read", read(text))
    except InputError as exc:
        return ("refused", (exc.field, exc.message))


def _spoil(text: str, how: str, draw: Any) -> str:
    """The CASE text with one thing wrong or unusual, as a client might send it."""
    if how == "repeat a key at the top":
        return text[:-1] + ', "patient": {"age_years": 40, "diagnosis": "stroke"}}'
    if how == "repeat a key in an event" and '"kind": ' in text:
        return text.replace('"kind": ', '"kind": "review", "kind": ', 1)
    if how == "repeat a key in the patient":
        return text.replace('"diagnosis": ', '"diagnosis": "stroke", "diagnosis": ', 1)
    if how == "unknown field":
        return text[:-1] + ', "histroy": []}'
    if how == "bad event" and '"at": "' in text:
        return text.replace('"at": "', '"at": "not a time ', 1)
    if how == "no history":
        data = json.loads(text)
        data.pop("history")
        return json.dumps(data)
    if how == "null history":
        data = json.loads(text)
        data["history"] = None
        return json.dumps(data)
    if how == "byte-order mark":
        return "\ufeff" + text
    if how == "odd spacing":
        return text.replace(", ", ",\n  ").replace(": ", " :")
    if how == "escapes":
        return text.replace('"kind"', '"\\u006bind"', 1)
    return text


@st.composite
def case_texts(draw: Any) -> str:
    history = draw(histories(max_stories=4))
    kind = draw(st.sampled_from(KINDS))
    at = history[-1]["at"] if history and draw(st.booleans()) else "2027-01-04T08:00"
    proposal = {"at": at, "kind": kind, **event_body(kind, draw)}
    case = {"patient": draw(patients()), "history": history, "proposal": proposal}
    text = json.dumps(case)
    how = draw(
        st.sampled_from(
            [
                "as sent",
                "as sent",
                "repeat a key at the top",
                "repeat a key in an event",
                "repeat a key in the patient",
                "unknown field",
                "bad event",
                "no history",
                "null history",
                "byte-order mark",
                "odd spacing",
                "escapes",
            ]
        )
    )
    return _spoil(text, how, draw)


@SETTINGS
@given(case_texts())
def test_the_text_reader_reads_what_read_case_reads_and_refuses_what_it_refuses(
    text: str,
) -> None:
    expected = _outcome(read_case, text)
    for _ in range(2):  # the second time from the memo of texts read
        quick = _quick_case(text)
        if quick is not None:
            assert expected == ("read", quick)
        assert _outcome(read_case_text, text) == expected
        assert _outcome(read_case_text, text.encode("utf-8")) == expected


@SETTINGS
@given(case_texts())
def test_utf16_bytes_are_read_as_read_case_reads_them(text: str) -> None:
    data = text.encode("utf-16")
    assert _outcome(read_case_text, data) == _outcome(read_case, data)


CASE = {
    "patient": {"age_years": 50, "diagnosis": "multiple-sclerosis"},
    "history": [
        {"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "10 mg", "times_per_day": 3}
    ],
    "proposal": {
        "at": "2026-12-08T08:00",
        "kind": "oral-regimen",
        "dose": "15 mg",
        "times_per_day": 3,
    },
}


def test_a_case_read_twice_is_read_from_the_texts_the_second_time() -> None:
    text = json.dumps(CASE)
    first = read_case_text(text)
    assert _quick_case(text) == first == read_case(text)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(CASE)[:-1] + ', "proposal": ' + json.dumps(CASE["proposal"]) + "}",
        json.dumps(CASE).replace('"dose": "10 mg"', '"dose": "10 mg", "dose": "100 mg"'),
        json.dumps(CASE).replace('"age_years": 50', '"age_years": 50, "age_years": 5'),
    ],
    ids=["proposal twice", "dose twice in an event", "age twice"],
)
def test_a_key_given_twice_is_refused_by_name_even_when_every_part_was_read_before(
    text: str,
) -> None:
    read_case_text(json.dumps(CASE))  # every part of the valid text is in the memo now
    read_case_text(json.dumps(CASE))
    assert _quick_case(text) is None
    with pytest.raises(InputError, match="given twice"):
        read_case_text(text)
