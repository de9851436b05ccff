"""What every adapter provides: the tables to stage, the SQL that flattens them into one row per
source record (the same text runs on DuckDB and on Spark SQL), and the mapping of one flat row
into the contract's PATIENT or EVENT documents.

The SQL uses only what both engines read alike: ``SELECT``, ``JOIN``, ``WHERE``, ``CASE``,
``COALESCE``, ``LOWER``, ``LIKE``, ``IN`` and string literals. Every column is text (staging
made it so), so both engines hand the mapping the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ...frozen import field, record
from ..codes import Codes

Row = Mapping[str, Any]  # column name → text (or None), plus ``_file`` and ``_row``
Columns = Mapping[str, Sequence[str]]  # staged table name → its columns


def column(available: Columns, table: str, alias: str, name: str, as_: str | None = None) -> str:
    """``alias.name AS as_`` when the table has the column, else a text NULL under that name
    (optional columns of another system's tables may be absent)."""
    label = as_ or name
    if name in available.get(table, ()):
        return f"{alias}.{name} AS {label}"
    return f"CAST(NULL AS STRING) AS {label}"


class Unmappable(Exception):
    """A source row the adapter cannot turn into a document: the column at fault and why."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@record
class TableSource:
    """One logical input table: its files, the columns it must have, and for NDJSON the key
    columns taken from each line."""

    name: str
    files: tuple[Path, ...]
    required: tuple[str, ...] = ()
    keys: Callable[[Any], dict[str, str | None]] | None = None
    key_names: tuple[str, ...] = ()


@record
class Mapped:
    """One EVENT document mapped from a source row, its source ID and, for each contract
    field, the source column it came from (to name the column when the reader refuses it)."""

    doc: Mapping[str, Any]
    source_id: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)


def sql_text(value: str) -> str:
    """A string literal for the adapters' SQL (our own data file's words, quoted)."""
    return "'" + value.replace("'", "''") + "'"


def find_table(folder: Path, name: str) -> Path | None:
    """The file of a table in a dataset folder: ``NAME.csv``, ``NAME.parquet``, ``NAME.ndjson``
    (optionally gzipped), or ``NAME/`` holding Parquet parts; None when absent."""
    for suffix in (".parquet", ".csv", ".csv.gz", ".ndjson", ".ndjson.gz", ".jsonl", ".tsv"):
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def find_parts(folder: Path, name: str) -> tuple[Path, ...]:
    """A table given as one file or as a folder of Parquet parts (Spark and DuckDB write these)."""
    single = find_table(folder, name)
    if single is not None:
        return (single,)
    parts = folder / name
    if parts.is_dir():
        return tuple(sorted(parts.glob("*.parquet")))
    return ()


class Adapter(Protocol):
    """A source format (``contract``, ``omop``, ``mimic``, ``fhir``)."""

    name: str
    strict: bool  # True: a row that cannot be read makes the input unusable (exit 2)

    def tables(self, events: Path, patients: Path | None) -> Sequence[TableSource]: ...

    def events_sql(self, available: Columns, codes: Codes) -> str: ...

    def patients_sql(self, available: Columns, codes: Codes) -> str: ...

    def context(
        self, read: Callable[[str], list[dict[str, Any]]], available: Columns, codes: Codes
    ) -> Any: ...

    def map_patient(
        self, row: Row, context: Any, codes: Codes, others: Sequence[Row] = ()
    ) -> dict[str, Any]:
        """The PATIENT document of a patient row; ``others`` are the patient's companion rows
        (marked ``_companion`` by the patients SQL, e.g. FHIR Observations of weight)."""
        ...

    def map_event(self, row: Row, context: Any, codes: Codes) -> list[Mapped]: ...

    # An adapter may also offer ``event_shape(names) -> (at_column, key_columns) | None``: a
    # promise that ``map_event`` gives rows equal in ``key_columns`` the same documents but
    # for ``at``, which is the text of ``at_column`` as written. The audit then reads each
    # shape once (``patient_audit``); without it every row is mapped on its own.
