"""The one per-patient function both engines run: a patient's rows in, output rows out.

Given the patient's PATIENT row(s) and EVENT rows (with their source file and row), it maps and
reads every row, sorts the history by time, and judges each event as the proposal after that
patient's earlier events, exactly as ``posology check`` would. Rows it cannot map or read come out
as ``problem`` rows naming the file, the row and the column; nothing is dropped silently.

Output rows are tuples in :data:`OUTPUT_COLUMNS` order; ``record`` is ``finding``, ``problem``,
``patient`` (one per patient with an event judged, ``events`` the number judged) or ``events``
(how many events of a kind were judged in a month: the summary's denominators, counted in a
:class:`Tally` rather than written a row an event).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from operator import lt
from typing import Any

from ..errors import InputError
from ..knowledge import Pack
from ..model import Event, Finding, Patient, parse_event, parse_patient
from ..model import fields as F
from ..model.documents import check_born, history_order
from ..model.events import with_instant
from .adapters.base import Adapter, Mapped, Row, Unmappable
from .codes import Codes
from .columns import Columns
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
    "events",
)
INT_COLUMNS = frozenset({"source_row", "event_seq", "finding_seq", "events"})
DUPLICATE = "duplicate"  # the same event recorded twice: judged once, the copy reported

Output = tuple[Any, ...]


def judge_sorted_history(
    patient: Patient, history: Sequence[Event], pack: Pack
) -> Sequence[tuple[Event, tuple[Finding, ...]]]:
    """Each event of a sorted history with the findings of judging it after the ones before.

    THE ONE PLACE THE AUDIT JUDGES: the incremental ``posology.rules.judge_history`` (O(n) per
    patient), which gives, by definition, what ``check(patient, history[:i], history[i], pack)``
    gives.
    """
    from ..rules import judge_history

    return judge_history(patient, history, pack)


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
        None,
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
    event_rows: Columns | Sequence[Row],
    tally: Tally | None = None,
) -> list[Output]:
    """Every output row of one patient (see the module docstring). ``event_rows`` are row
    dicts or a slice of a batch held as columns (what the engines give). The events judged
    are counted in ``tally`` (an engine's, which writes its rows once, at the end); without
    one, the patient's own counts come out among its rows."""
    events = event_rows if isinstance(event_rows, Columns) else Columns.from_rows(list(event_rows))
    status = INVALID if adapter.strict else UNMAPPED
    out: list[Output] = []
    if not len(events):
        return out
    files = events.column("_file") or [None] * (events.stop)
    numbers = events.column("_row") or [None] * (events.stop)
    order = _file_order(events, files, numbers)
    patient_rows = sorted(patient_rows, key=lambda r: (str(r.get("_file")), _row_number(r) or 0))
    patient, reason = _read_patient(adapter, context, codes, patient_id, patient_rows, out, status)
    if patient is None:
        for i in order:
            out.append(_problem(patient_id, events.row(i), "patient_id", status, reason))
        return out

    reader = _Reader(adapter, context, codes, patient, patient_id, status, events, out)
    reader.read(order)
    read = reader.read_events
    kept = _sorted_history(read, patient_id, status, out, events)
    if len(kept) < len(read):
        _report_copies(read, kept, patient_id, events, out)
    rows = [read[k] for k in kept]
    judged = judge_sorted_history(patient, [event for _, _, event in rows], pack)
    own = Tally() if tally is None else tally
    _write_judged(patient_id, files, numbers, rows, judged, own, out)
    if judged:
        out.append(("patient", patient_id) + (None,) * 14 + (len(judged),))
    if tally is None:
        out += own.rows()
    return out


class Tally:
    """The events judged, counted by kind and month: what the summary reads of them (its
    total, ``events_by_kind`` and ``by_month``).

    A row an event judged, its instant written out as text, cost more to build, write and
    merge than the rest of reading that event; an engine keeps one tally for its share of
    the patients instead and writes its counts at the end, one row a kind and month.
    """

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int, int], int] = {}

    def rows(self) -> list[Output]:
        """One ``events`` row a kind and month: the month as ``at`` (``2026-03``: the first
        seven characters of an instant's ISO text, as the findings' months are read), the
        count as ``events``."""
        return [
            ("events",) + (None,) * 6 + (f"{year:04d}-{month:02d}", kind) + (None,) * 7 + (n,)
            for (kind, year, month), n in self.counts.items()
        ]


def _report_copies(
    read: list[tuple[int, Mapped, Event]],
    kept: list[int],
    patient_id: str,
    events: Columns,
    out: list[Output],
) -> None:
    """A ``duplicate`` problem for each row read but left out of the history (the same event as
    an earlier row)."""
    taken = set(kept)
    for k, (i, _, _) in enumerate(read):
        if k not in taken:
            message = "the same event as an earlier row; judged once"
            out.append(_problem(patient_id, events.row(i), "", DUPLICATE, message))


def _write_judged(
    patient_id: str,
    files: list[Any],
    numbers: list[Any],
    rows: list[tuple[int, Mapped, Event]],
    judged: Sequence[tuple[Event, tuple[Finding, ...]]],
    tally: Tally,
    out: list[Output],
) -> None:
    """Each event judged counted in ``tally``, and a ``finding`` row for each of its findings
    (``event_seq`` the event's place in the sorted history). One loop: it runs once per event
    of the dataset, and most events have no finding."""
    counts = tally.counts
    for seq, ((i, item, _), (event, findings)) in enumerate(zip(rows, judged, strict=True)):
        instant, kind = event.at, event.kind
        key = (kind, instant.year, instant.month)
        counts[key] = counts.get(key, 0) + 1
        if not findings:
            continue
        at = instant.isoformat()
        file, number, source_id = files[i], _number(numbers[i]), item.source_id
        for n, finding in enumerate(findings):
            citation = finding.citation
            out.append(
                (
                    "finding",
                    patient_id,
                    file,
                    number,
                    source_id,
                    seq,
                    n,
                    at,
                    kind,
                    finding.rule,
                    finding.severity.value,
                    finding.message,
                    citation.source,
                    citation.quote,
                    None,
                    None,
                    None,
                )
            )


class _Reader:
    """Reads a patient's event rows into events, each kept with its row's position.

    Rows go through the adapter and the document reader one by one, unless the adapter
    declares its rows' shape (``event_shape``): a row whose other columns hold exactly the
    values of a row already read (the same kind, dose and frequency) is that row's event at its
    own instant, the instant read as the reader reads it. A row the reader refused, or whose
    instant is refused, takes the full path again, so its problem is reported in the same words.
    """

    def __init__(
        self,
        adapter: Adapter,
        context: Any,
        codes: Codes,
        patient: Patient,
        patient_id: str,
        status: str,
        events: Columns,
        out: list[Output],
    ) -> None:
        self.adapter, self.context, self.codes = adapter, context, codes
        self.patient, self.patient_id, self.status = patient, patient_id, status
        self.events, self.out = events, out
        self.read_events: list[tuple[int, Mapped, Event]] = []
        self.ats: list[Any] | None = None
        self.keys: list[tuple[Any, ...]] = []
        self.memo: dict[tuple[Any, ...], Any] = {}
        shape = getattr(adapter, "event_shape", None)
        declared = None if shape is None else shape(events.names)
        if declared is not None:
            at_column, key_columns = declared
            self.ats = events.column(at_column)
            self.keys = events.keys(key_columns)
            self.memo = _shapes(adapter.name, codes.medicine, key_columns)

    def read(self, order: Iterable[int]) -> None:
        """Read the rows at these positions, in this order."""
        ats, keys, memo = self.ats, self.keys, self.memo
        if ats is None:
            for i in order:
                self._read_row(i)
            return
        born = self.patient.birth_date
        kept = self.read_events
        quick, clone = F.quick_instant, with_instant
        for i in order:
            at_text = ats[i]
            found = memo.get(keys[i]) if type(at_text) is str else None
            if found is None:
                self._read_row(i)
                continue
            if found is _OTHER_MEDICINE:
                continue
            at = quick(at_text)
            if at is None:
                self._read_row(i)  # refused, or for the careful reading: the full path
                continue
            item, template = found
            event = clone(template, at)
            if born is None or at.date() >= born:
                kept.append((i, item, event))
            else:
                self._keep(i, item, event)  # reported: before the patient's birth date

    def _read_row(self, i: int) -> None:
        row = self.events.row(i)
        patient_id, status, out = self.patient_id, self.status, self.out
        try:
            mapped = self.adapter.map_event(row, self.context, self.codes)
        except Unmappable as exc:
            out.append(_problem(patient_id, row, exc.column, status, exc.message))
            return
        events: list[tuple[Mapped, Event]] = []
        for item in mapped:
            try:
                event = parse_event(dict(item.doc), "")
            except InputError as exc:
                column = item.columns.get(_top_column(exc.field), _top_column(exc.field))
                out.append(_problem(patient_id, row, column, status, str(exc)))
                continue
            events.append((item, event))
            self._keep(i, item, event)
        if self.ats is not None and type(self.ats[i]) is str and len(events) == len(mapped):
            if not mapped:
                self._remember(i, _OTHER_MEDICINE)
            elif len(events) == 1 and events[0][0].doc.get("at") == self.ats[i]:
                self._remember(i, events[0])

    def _remember(self, i: int, found: Any) -> None:
        if len(self.memo) >= _SHAPES_KEPT:
            self.memo.clear()
        self.memo[self.keys[i]] = found

    def _keep(self, i: int, item: Mapped, event: Event) -> None:
        patient = self.patient
        if patient.birth_date is not None and event.at.date() < patient.birth_date:
            try:
                check_born(patient, [], event.at, "at")
            except InputError as exc:
                self.out.append(
                    _problem(
                        self.patient_id,
                        self.events.row(i),
                        item.columns.get("at", "at"),
                        self.status,
                        f"{exc.message} (the patient's birth_date)",
                    )
                )
                return
        self.read_events.append((i, item, event))


_OTHER_MEDICINE = object()  # a row of another medicine's event: not this audit's to judge
_SHAPE_MEMOS: dict[tuple[Any, ...], dict[tuple[Any, ...], Any]] = {}
_SHAPES_KEPT = 20_000
"""Row shapes kept per table (a dataset's distinct regimens, refills and stops are far fewer)."""


def _shapes(adapter: str, medicine: str, columns: tuple[str, ...]) -> dict[tuple[Any, ...], Any]:
    """The memo of row shapes already read for one adapter, medicine and set of columns."""
    key = (adapter, medicine, columns)
    memo = _SHAPE_MEMOS.get(key)
    if memo is None:
        if len(_SHAPE_MEMOS) >= 64:
            _SHAPE_MEMOS.clear()
        memo = _SHAPE_MEMOS[key] = {}
    return memo


def _number(value: Any) -> int | None:
    return None if value is None else int(value)


def _file_order(events: Columns, files: list[Any], numbers: list[Any]) -> list[int]:
    """The patient's rows in the order of the files: by file name, then row number (a row
    without a number first)."""
    start, stop = events.start, events.stop
    if len(set(files[start:stop])) == 1 and all(type(n) is int for n in numbers[start:stop]):
        return sorted(range(start, stop), key=numbers.__getitem__)  # one file: by row
    return sorted(range(start, stop), key=lambda i: (str(files[i]), _number(numbers[i]) or 0))


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
    read: list[tuple[int, Mapped, Event]],
    patient_id: str,
    status: str,
    out: list[Output],
    events: Columns,
) -> list[int]:
    """The positions in ``read`` of the history in time order (copies of an earlier event left
    out); a row contradicting an earlier one at the same instant (or an instant without a time
    zone among zoned ones) is reported and taken out of ``read``."""
    if _strictly_in_order(read):
        return list(range(len(read)))  # what history_order gives, without its paths
    while True:
        try:
            return history_order(
                [(str(k), event) for k, (_, _, event) in enumerate(read)], remember=False
            )
        except InputError as exc:
            index = int(exc.field.split(".")[0])

            def place(match: re.Match[str]) -> str:
                other = events.row(read[int(match.group(1))][0])
                return f"contradicts {other.get('_file')} row {_row_number(other)}"

            message = _OTHER.sub(place, exc.message)
            i, item, _ = read.pop(index)
            column = item.columns.get("at", "at")
            out.append(_problem(patient_id, events.row(i), column, status, message))


def _strictly_in_order(read: list[tuple[int, Mapped, Event]]) -> bool:
    """True when each event read is strictly later than the one before (the rows of most
    patients come so): nothing to sort, fold or refuse, as ``history_order`` would find (its
    own first test), found without building the path of each event."""
    ats = [event.at for _, _, event in read]
    try:
        return all(map(lt, ats, ats[1:]))
    except TypeError:
        return False  # a zoned instant beside an unzoned one: refused by the full path


_OTHER = re.compile(r"contradicts (\d+)")
