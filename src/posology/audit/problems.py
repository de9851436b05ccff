"""What the audit reports instead of judging: rows it could not read or map.

A dataset row is never dropped silently. A row the adapter cannot map (no unit, an unknown
route) or that the document reader refuses becomes a :class:`Problem` naming its file, its row and
its column, written to ``problems.csv``. A dataset that cannot be read at all (a missing column, a
corrupt Parquet file) raises :class:`BadDataset` before anything is judged.
"""

from __future__ import annotations

from ..errors import InputError
from ..frozen import record

INVALID = "invalid"  # the row breaks the contract's documents: the input is unusable (exit 2)
UNMAPPED = "unmapped"  # another system's row the adapter could not map: counted and reported


class BadDataset(InputError):
    """A dataset file that cannot be used: the message names the file, the row and the column."""

    def __init__(self, file: str, message: str, row: int | None = None, column: str = "") -> None:
        """``row`` 0 is the header row; None when no row can be named."""
        where = file
        if row == 0:
            where += ": header row"
        elif row is not None:
            where += f": row {row}"
        if column:
            where += f", column {column}"
        super().__init__(column, f"{where}: {message}")
        self.file = file
        self.row = row
        self.column = column
        self.detail = message

    def __str__(self) -> str:
        return self.message


@record
class Problem:
    """One row that was not judged, and why."""

    source_file: str
    source_row: int | None
    patient_id: str | None
    column: str
    status: str  # INVALID or UNMAPPED
    message: str

    def where(self) -> str:
        row = "" if self.source_row is None else f": row {self.source_row}"
        column = f", column {self.column}" if self.column else ""
        return f"{self.source_file}{row}{column}"
