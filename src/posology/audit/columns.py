"""A batch of rows held as columns, as the engines hand them over, and read without a dict a row.

An engine gives the audit Arrow record batches. Turning each row into a dict (name → value)
costs more than judging it, and most rows never need one: the contract's rows of one shape (the
same kind, dose and frequency, at another time) are read once and copied at their own instant
(``patient_audit``). So a batch becomes one Python list per column, a patient's rows a slice of
it, and a row is made a dict only when it has to be mapped one by one or reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any


class Columns:
    """Rows ``start`` to ``stop`` of a batch held as one list per column.

    Slices share the lists (and the keys worked out from them), so cutting a batch into its
    patients copies nothing.
    """

    __slots__ = ("_keys", "_where", "names", "start", "stop", "values")

    def __init__(
        self,
        names: Sequence[str],
        values: Sequence[list[Any]],
        start: int = 0,
        stop: int | None = None,
        _keys: dict[tuple[str, ...], list[tuple[Any, ...]]] | None = None,
    ) -> None:
        self.names = tuple(names)
        self.values = tuple(values)
        self._where = {name: i for i, name in enumerate(self.names)}
        self.start = start
        self.stop = len(self.values[0]) if stop is None and self.values else (stop or 0)
        self._keys = {} if _keys is None else _keys

    @classmethod
    def from_arrow(cls, batch: Any) -> Columns:
        """An Arrow record batch or table, converted column by column."""
        names = batch.schema.names
        return cls(names, [batch.column(i).to_pylist() for i in range(len(names))])

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> Columns:
        """Row dicts (the columns are the union of their keys, in order of first use)."""
        names: dict[str, None] = {}
        for row in rows:
            names.update(dict.fromkeys(row))
        return cls(list(names), [[row.get(n) for row in rows] for n in names], 0, len(rows))

    def __len__(self) -> int:
        return self.stop - self.start

    def column(self, name: str) -> list[Any] | None:
        """A whole column of the batch (index it from ``start`` to ``stop``); None if absent."""
        at = self._where.get(name)
        return None if at is None else self.values[at]

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` of the batch (an index from ``start`` to ``stop``) as a dict."""
        return {name: values[i] for name, values in zip(self.names, self.values, strict=True)}

    def rows(self) -> list[dict[str, Any]]:
        return [self.row(i) for i in range(self.start, self.stop)]

    def indices(self) -> range:
        return range(self.start, self.stop)

    def slice(self, start: int, stop: int) -> Columns:
        """Rows ``start`` to ``stop`` of the batch (indices of the batch, not of this slice)."""
        return Columns(self.names, self.values, start, stop, self._keys)

    def keys(self, names: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """The values of ``names`` of every row of the batch as one tuple a row, worked out
        once for the batch (absent columns read as None)."""
        found = self._keys.get(names)
        if found is None:
            size = len(self.values[0]) if self.values else 0
            none = [None] * size
            lists = [self.column(n) for n in names]
            found = list(zip(*(none if c is None else c for c in lists), strict=True))
            if not names:
                found = [()] * size
            self._keys[names] = found
        return found

    def runs(self, name: str) -> Iterator[tuple[Any, int, int]]:
        """Each run of rows with one value of column ``name``: the value, its first row and the
        row after its last (the rows come sorted by it)."""
        values = self.column(name)
        assert values is not None
        first = self.start
        for i in range(self.start + 1, self.stop):
            if values[i] != values[i - 1]:
                yield values[first], first, i
                first = i
        if first < self.stop:
            yield values[first], first, self.stop


def concat(parts: Iterable[Columns]) -> Columns:
    """The rows of several slices with the same columns, as one batch."""
    parts = list(parts)
    names = parts[0].names
    values: list[list[Any]] = [[] for _ in names]
    for part in parts:
        assert part.names == names
        for target, source in zip(values, part.values, strict=True):
            target.extend(source[part.start : part.stop])
    return Columns(names, values)
