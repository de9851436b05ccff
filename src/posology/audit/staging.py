"""Stage a dataset's files as Parquet with text columns, their file name and row number.

Both engines (DuckDB and Spark) then read the same staged tables, so they see the same values:
every column as text exactly as the source wrote it (a Parquet number or timestamp as its ISO
text), ``_file`` the source file's name and ``_row`` its 1-based row (CSV: the record after the
header; NDJSON: the line; Parquet: the row). Staging streams record batches, so memory stays
bounded whatever the size of the file.

An NDJSON line is kept whole (``_doc``) so the contract's strict JSON reading (exact decimals, a
key given twice) still applies; the adapter names the key columns taken from each line for
grouping.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..frozen import record
from .problems import BadDataset

# Rows per staged record batch: large enough for vectorised conversion, small enough that a
# batch of wide rows stays in a few tens of megabytes.
BATCH_ROWS = 65_536
# Bytes pyarrow's CSV reader parses at once.
CSV_BLOCK = 16 << 20
TEXT_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
JSON_SUFFIXES = (".ndjson", ".jsonl", ".json")

KeyExtractor = Callable[[Any], dict[str, str | None]]


@record
class StagedTable:
    """A staged table: its Parquet file, the source files it came from and its row count."""

    name: str
    path: Path
    sources: tuple[Path, ...]
    rows: int
    columns: tuple[str, ...]


def file_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``ndjson`` from the file name."""
    name = path.name.lower()
    for suffix in JSON_SUFFIXES:
        if name.endswith(suffix) or name.endswith(suffix + ".gz"):
            return "ndjson"
    for suffix, kind in TEXT_SUFFIXES.items():
        if name.endswith(suffix) or name.endswith(suffix + ".gz"):
            return kind
    raise BadDataset(path.name, "unknown file type; give a .csv, .parquet or .ndjson file")


def _text_column(array: Any) -> Any:
    """One Arrow column as text: numbers and booleans as written, instants in ISO 8601 with a
    ``T``, nested values (lists, structs) as JSON."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array.cast(pa.string())
    if pa.types.is_dictionary(kind):
        return _text_column(array.cast(kind.value_type))
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            utc = pc.cast(array, pa.timestamp(kind.unit, "UTC"))
            return pc.strftime(utc, format="%Y-%m-%dT%H:%M:%S+00:00")
        return pc.strftime(array, format="%Y-%m-%dT%H:%M:%S")
    if pa.types.is_date(kind):
        return pc.strftime(array, format="%Y-%m-%d")
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "true", "false")
    if pa.types.is_nested(kind):
        return pa.array(
            [None if v is None else json.dumps(v, default=str) for v in array.to_pylist()],
            pa.string(),
        )
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return array.cast(pa.string())
    return array.cast(pa.string())


def _with_place(batch: Any, file: str, first_row: int) -> Any:
    import pyarrow as pa

    n = batch.num_rows
    columns = [_text_column(batch.column(i)) for i in range(batch.num_columns)]
    names = list(batch.schema.names)
    columns += _place_columns(file, first_row, n)
    return pa.RecordBatch.from_arrays(columns, names=[*names, "_file", "_row"])


def _place_columns(file: str, first_row: int, n: int) -> list[Any]:
    """``_file`` (the name, dictionary-encoded: ``n`` zero indices into a one-name dictionary)
    and ``_row`` (first_row, first_row + 1, ...) for a batch of ``n`` rows.

    Built from Arrow buffers, not from Python or NumPy values: pyarrow's first conversion of
    one of those imports pandas (a third of a second and tens of megabytes, before any row is
    read), and staging a CSV or Parquet file needs no other.
    """
    import sys

    import pyarrow as pa

    name = file.encode("utf-8")
    offsets = (0).to_bytes(4, sys.byteorder) + len(name).to_bytes(4, sys.byteorder)
    names = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(name)])
    zeros = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(bytes(4 * n))])
    return [pa.DictionaryArray.from_arrays(zeros, names), pa.arange(first_row, first_row + n)]


def _csv_header(path: Path) -> list[str]:
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            delimiter = "\t" if ".tsv" in path.name.lower() else ","
            header = next(csv.reader(handle, delimiter=delimiter), None)
    except UnicodeDecodeError:
        raise BadDataset(path.name, "not UTF-8 text; save the file as UTF-8", 0) from None
    except OSError as exc:
        raise BadDataset(path.name, f"cannot be read ({exc.strerror or exc})") from None
    if not header:
        raise BadDataset(path.name, "empty; a header row naming the columns is due", 0)
    names = [h.strip() for h in header]
    for i, name in enumerate(names):
        if not name:
            raise BadDataset(path.name, f"header column {i + 1} has no name", 0)
        if name in names[:i]:
            raise BadDataset(path.name, "named twice in the header; keep one", 0, name)
    return names


def _csv_batches(path: Path) -> Iterator[Any]:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    names = _csv_header(path)
    delimiter = "\t" if ".tsv" in path.name.lower() else ","
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, block_size=CSV_BLOCK, use_threads=True
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        text = str(exc).split("\n")[0]
        raise BadDataset(
            path.name,
            f"not readable CSV ({text[:200]}); every row needs one value per header column",
            _uneven_row(path, len(names), delimiter),
        ) from None


def _uneven_row(path: Path, width: int, delimiter: str) -> int | None:
    """The first record (1 = after the header) whose number of values is not the header's;
    read again only when the fast reader failed, to name the row."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            next(reader, None)
            for number, record in enumerate(reader, start=1):
                if len(record) != width:
                    return number
    except (UnicodeDecodeError, csv.Error, OSError):
        return None
    return None


def _parquet_batches(path: Path) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
        yield from file.iter_batches(batch_size=BATCH_ROWS)
    except (pa.ArrowException, OSError) as exc:
        raise BadDataset(
            path.name, f"not a readable Parquet file ({str(exc).splitlines()[0]})"
        ) from None


def _ndjson_batches(path: Path, keys: KeyExtractor, key_names: Sequence[str]) -> Iterator[Any]:
    """Lines as ``_doc`` with the key columns, plus ``_bad`` naming why a line is no JSON
    object (the line is kept, so its number is reported)."""
    import gzip

    import pyarrow as pa

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    names = [*key_names, "_doc", "_bad"]
    buffer: dict[str, list[str | None]] = {n: [] for n in names}

    def flush() -> Any:
        batch = pa.RecordBatch.from_arrays(
            [pa.array(buffer[n], pa.string()) for n in names], names=names
        )
        for values in buffer.values():
            values.clear()
        return batch

    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
                extracted: dict[str, str | None] = {}
                bad = None
                if not text:
                    bad = "empty line"
                else:
                    try:
                        extracted = keys(json.loads(text))
                    except ValueError as exc:
                        bad = f"not valid JSON ({exc})"
                for n in key_names:
                    buffer[n].append(extracted.get(n))
                buffer["_doc"].append(text or None)
                buffer["_bad"].append(bad)
                if len(buffer["_doc"]) >= BATCH_ROWS:
                    yield flush()
    except UnicodeDecodeError:
        raise BadDataset(path.name, "not UTF-8 text; save the file as UTF-8", number) from None
    except OSError as exc:
        raise BadDataset(path.name, f"cannot be read ({exc.strerror or exc})") from None
    if buffer["_doc"]:
        yield flush()


def stage_table(
    name: str,
    files: Sequence[Path],
    workdir: Path,
    required: Sequence[str] = (),
    keys: KeyExtractor | None = None,
    key_names: Sequence[str] = (),
) -> StagedTable:
    """Stage one logical table (one or more files of one format) into ``workdir/NAME.parquet``.

    ``required`` columns must be present (CSV and Parquet); NDJSON files are staged as whole
    lines with ``key_names`` taken from each line by ``keys``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = workdir / f"{name}.parquet"
    writer: Any = None
    schema: Any = None
    rows = 0
    columns: tuple[str, ...] = ()
    try:
        for path in files:
            if not path.is_file():
                raise BadDataset(path.name, "no such file")
            kind = file_format(path)
            if kind == "ndjson":
                if keys is None:
                    raise BadDataset(path.name, f"NDJSON is not read for the {name} table")
                batches: Iterator[Any] = _ndjson_batches(path, keys, key_names)
            elif kind == "csv":
                batches = _csv_batches(path)
            else:
                batches = _parquet_batches(path)
            first = 1
            checked = False
            for batch in batches:
                if not checked:
                    missing = [c for c in required if c not in batch.schema.names]
                    if kind != "ndjson" and missing:
                        raise BadDataset(
                            path.name,
                            f"missing; the {name} table needs the columns {', '.join(required)}",
                            0,
                            missing[0],
                        )
                    checked = True
                staged = _with_place(batch, path.name, first)
                first += batch.num_rows
                if schema is None:
                    schema = staged.schema
                    columns = tuple(schema.names)
                    writer = pq.ParquetWriter(out, schema)
                elif staged.schema.names != list(columns):
                    staged = _conform(staged, schema, path.name)
                writer.write_batch(staged.cast(schema) if staged.schema != schema else staged)
                rows += batch.num_rows
            if not checked and kind != "ndjson":
                _empty_checked(path, kind, required, name)
    finally:
        if writer is not None:
            writer.close()
    if schema is None:  # every file empty: an empty table with the required columns
        names = [*required, *key_names, "_file", "_row"]
        types = [pa.string()] * (len(names) - 1) + [pa.int64()]
        schema = pa.schema(list(zip(names, types, strict=True)))
        pq.write_table(schema.empty_table(), out)
        columns = tuple(names)
    return StagedTable(name, out, tuple(files), rows, columns)


def _empty_checked(path: Path, kind: str, required: Sequence[str], name: str) -> None:
    """A file with a header but no rows still has to name the required columns."""
    if kind == "csv":
        header = _csv_header(path)
    else:
        import pyarrow.parquet as pq

        header = list(pq.ParquetFile(path).schema_arrow.names)
    missing = [c for c in required if c not in header]
    if missing:
        raise BadDataset(
            path.name,
            f"missing; the {name} table needs the columns {', '.join(required)}",
            0,
            missing[0],
        )


def _conform(batch: Any, schema: Any, file: str) -> Any:
    """A later file of one table with its columns in another order or some absent."""
    import pyarrow as pa

    extra = [n for n in batch.schema.names if n not in schema.names]
    if extra:
        raise BadDataset(
            file, "not in the table's first file; give every file the same columns", 0, extra[0]
        )
    arrays = [
        batch.column(batch.schema.get_field_index(n))
        if n in batch.schema.names
        else pa.nulls(batch.num_rows, field.type)
        for n, field in zip(schema.names, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
