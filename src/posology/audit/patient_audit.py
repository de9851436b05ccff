"""The one per-patient function both engines run: a patient's rows in, output rows out.

Given the patient's PATIENT row(s) and EVENT rows (with their source file and row), it maps and
reads every row, sorts the history by time, and judges each event as the proposal after that
patient's earlier events, exactly as ``posology check`` would. Rows it cannot map or read come out
as ``problem`` rows naming the file, the row and the column; nothing is dropped silently.

Output rows are tuples in :data:`OUTPUT_COLUMNS` order; ``record`` is ``event`` (one per event
judged, for the summary's denominators), ``finding`` or ``problem``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import InputError
from ..knowledge import Pack
from ..model import Event, Finding, Patient, parse_event, parse_patient
from ..model.documents import check_born, sort_history
from .adapters.base import Adapter, Mapped, Row, Unmappable
from .codes import Codes
from .problems import INVALID, UNMAPPED

OUTPUT_COLUMNS = (
    "record",
    "patient_id",
    "source_file",
    "source_row",
    "source_id",
    "event_seq",
    "finding_seq",
    "at",
    "kind",
    "rule",
    "severity",
    "message",
    "citation",
    "quote",
    "column",
    "status",
)
INT_COLUMNS = frozenset({"source_row", "event_seq", "finding_seq"})
DUPLICATE = "duplicate"  # the same event recorded twice: judged once, the copy reported

Output = tuple[Any, ...]


def judge_sorted_history(
    patient: Patient, history: Sequence[Event], pack: Pack
) -> Sequence[tuple[Event, tuple[Finding, ...]]]:
    """Each event of a sorted history with the findings of judging it after the ones before.

    THE ONE PLACE THE AUDIT JUDGES. It uses the incremental ``posology.rules.judge_history``
    (O(n) per patient) when the rules package has it, and until then ``check`` on each prefix
    (O(n²)); both give, by definition, what ``check(patient, history[:i], history[i], pack)``
    gives.
    """
    from .. import rules

    incremental = getattr(rules, "judge_history", None)
    if incremental is not None:
        return incremental(patient, tuple(history), pack)  # type: ignore[no-any-return]
    return [
        (event, rules.check(patient, history[:i], event, pack)) for i, event in enumerate(history)
    ]


def _row_number(row: Row) -> int | None:
    value = row.get("_row")
    return None if value is None else int(value)


def _problem(patient_id: str | None, row: Row, column: str, status: str, message: str) -> Output:
    return (
        "problem",
        patient_id,
        row.get("_file"),
        _row_number(row),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        message,
        None,
        None,
        column,
        status,
    )


def _top_column(field: str) -> str:
    """The CSV column of a reader's field path (``response.duration_h`` → ``response``)."""
    return field.split(".")[0].split("[")[0]


def orphan_rows(rows: Iterable[Row], strict: bool, what: str) -> list[Output]:
    """Rows without a patient ID (or whose line was not JSON): reported, never judged."""
    status = INVALID if strict else UNMAPPED
    out = []
    for row in rows:
        bad = row.get("_bad")
        message = str(bad) if bad else f"missing; every {what} row needs its patient_id"
        out.append(_problem(None, row, "" if bad else "patient_id", status, message))
    return out


def audit_patient(
    adapter: Adapter,
    context: Any,
    codes: Codes,
    pack: Pack,
    patient_id: str,
    patient_rows: Sequence[Row],
    event_rows: Sequence[Row],
) -> list[Output]:
    """Every output row of one patient (see the module docstring)."""
    status = INVALID if adapter.strict else UNMAPPED
    out: list[Output] = []
    events = sorted(event_rows, key=lambda r: (str(r.get("_file")), _row_number(r) or 0))
    if not events:
        return out
    patient_rows = sorted(patient_rows, key=lambda r: (str(r.get("_file")), _row_number(r) or 0))
    patient, reason = _read_patient(adapter, context, codes, patient_id, patient_rows, out, status)
    if patient is None:
        for row in events:
            out.append(_problem(patient_id, row, "patient_id", status, reason))
        return out

    read: list[tuple[Row, Mapped, Event]] = []
    for row in events:
        try:
            mapped = adapter.map_event(row, context, codes)
        except Unmappable as exc:
            out.append(_problem(patient_id, row, exc.column, status, exc.message))
            continue
        for item in mapped:
            try:
                event = parse_event(dict(item.doc), "")
            except InputError as exc:
                column = item.columns.get(_top_column(exc.field), _top_column(exc.field))
                out.append(_problem(patient_id, row, column, status, str(exc)))
                continue
            if patient.birth_date is not None and event.at.date() < patient.birth_date:
                try:
                    check_born(patient, [], event.at, "at")
                except InputError as exc:
                    out.append(
                        _problem(
                            patient_id,
                            row,
                            item.columns.get("at", "at"),
                            status,
                            f"{exc.message} (the patient's birth_date)",
                        )
                    )
                    continue
            read.append((row, item, event))

    history = _sorted_history(read, patient_id, status, out)
    first: dict[Event, tuple[Row, Mapped]] = {}
    for row, item, event in read:
        if event in first:
            out.append(
                _problem(
                    patient_id, row, "", DUPLICATE, "the same event as an earlier row; judged once"
                )
            )
        else:
            first[event] = (row, item)
    for seq, (event, findings) in enumerate(judge_sorted_history(patient, history, pack)):
        row, item = first[event]
        at = event.at.isoformat()
        place = (row.get("_file"), _row_number(row), item.source_id)
        out.append(
            (
                "event",
                patient_id,
                *place,
                seq,
                None,
                at,
                event.kind,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            )
        )
        for n, finding in enumerate(findings):
            out.append(
                (
                    "finding",
                    patient_id,
                    *place,
                    seq,
                    n,
                    at,
                    event.kind,
                    finding.rule,
                    finding.severity.value,
                    finding.message,
                    finding.citation.source,
                    finding.citation.quote,
                    None,
                    None,
                )
            )
    return out


def _read_patient(
    adapter: Adapter,
    context: Any,
    codes: Codes,
    patient_id: str,
    rows: Sequence[Row],
    out: list[Output],
    status: str,
) -> tuple[Patient | None, str]:
    companions = [r for r in rows if r.get("_companion")]
    rows = [r for r in rows if not r.get("_companion")]
    if not rows:
        return None, f"no patient record for patient_id {patient_id!r}; add one to the patients"
    for extra in rows[1:]:
        out.append(
            _problem(
                patient_id,
                extra,
                "patient_id",
                status,
                "the same patient_id as an earlier patient row; the first is used",
            )
        )
    row = rows[0]
    where = f"{row.get('_file')} row {_row_number(row)}"
    try:
        return parse_patient(adapter.map_patient(row, context, codes, companions), ""), ""
    except Unmappable as exc:
        out.append(_problem(patient_id, row, exc.column, status, exc.message))
    except InputError as exc:
        out.append(_problem(patient_id, row, _top_column(exc.field), status, str(exc)))
    return None, f"not judged: the patient's record ({where}) is unusable"


def _sorted_history(
    read: list[tuple[Row, Mapped, Event]], patient_id: str, status: str, out: list[Output]
) -> tuple[Event, ...]:
    """The history in time order; a row contradicting an earlier one at the same instant (or
    an instant without a time zone among zoned ones) is reported and left out."""
    while True:
        try:
            return sort_history([(str(i), event) for i, (_, _, event) in enumerate(read)])
        except InputError as exc:
            index = int(exc.field.split(".")[0])

            def place(match: re.Match[str]) -> str:
                other = read[int(match.group(1))][0]
                return f"contradicts {other.get('_file')} row {_row_number(other)}"

            message = _OTHER.sub(place, exc.message)
            row, item, _ = read.pop(index)
            column = item.columns.get("at", "at")
            out.append(_problem(patient_id, row, column, status, message))


_OTHER = re.compile(r"contradicts (\d+)")
