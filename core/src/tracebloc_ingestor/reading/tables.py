"""Read CSV, JSON (array or lines) and Parquet files as a stream of record batches.

CSV cells are read as text, exactly as written, so that validation decides what a value
means (and can name the row of a bad one); JSON scalars become text too, Parquet keeps
its own types. Every batch gets a ``_tb_row`` column with the 1-based record number.
Memory is bounded by the batch size, not by the file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pyarrow as pa

ROW_COLUMN = "_tb_row"
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
_CSV_BLOCK = 1 << 19


class SourceError(Exception):
    """The source cannot be read as a table. Carries rule/row/file for an Issue; no cell text."""

    def __init__(self, message: str, *, rule: str, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.row = row
        self.column = column


def sniff_format(path: Path, declared: str | None = None) -> str:
    if declared:
        return declared
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        return "json"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return "csv"


def read_table_batches(
    path: Path,
    *,
    fmt: str | None = None,
    batch_size: int = 50_000,
    options: Mapping[str, Any] | None = None,
    on_problem: Callable[[SourceError], None] | None = None,
    nested: str = "refuse",
) -> Iterator[pa.RecordBatch]:
    """Yield batches of at most ``batch_size`` rows from ``path``.

    A row that cannot be read (wrong number of fields) is skipped and passed to
    ``on_problem``; without a callback it raises. A file that cannot be read at all
    always raises :class:`SourceError`. ``nested`` says what a list or object inside a
    JSON record becomes: ``"refuse"`` (a SourceError naming the row and column) or
    ``"json"`` (its compact JSON text, for a category that parses it).
    """
    fmt = sniff_format(path, fmt)
    options = dict(options or {})
    if fmt == "csv":
        source = _csv_batches(path, options, on_problem, batch_size)
    elif fmt == "json":
        source = _json_batches(path, batch_size, options, nested)
    elif fmt == "parquet":
        source = _parquet_batches(path, batch_size)
    else:
        raise SourceError(f"unknown source format {fmt!r}", rule="format")
    return _numbered(source, batch_size)


def _numbered(batches: Iterator[pa.RecordBatch], batch_size: int) -> Iterator[pa.RecordBatch]:
    seen = 0
    for batch in batches:
        for start in range(0, batch.num_rows, batch_size):
            part = batch.slice(start, batch_size)
            if part.num_rows == 0:
                continue
            # From a raw buffer: pa.array(ndarray) would import pandas (seconds at start-up).
            numbers = np.arange(seen + 1, seen + 1 + part.num_rows, dtype=np.int64)
            rows = pa.Array.from_buffers(pa.int64(), part.num_rows, [None, pa.py_buffer(numbers)])
            seen += part.num_rows
            yield part.append_column(ROW_COLUMN, rows)


# -- CSV -------------------------------------------------------------------------------


def _csv_header(path: Path, delimiter: str, quote_char: str, encoding: str) -> list[str]:
    with open(path, newline="", encoding=encoding, errors="strict") as fh:
        try:
            header = next(csv.reader(fh, delimiter=delimiter, quotechar=quote_char))
        except StopIteration:
            raise SourceError("the file is empty: no header row", rule="empty") from None
        except UnicodeDecodeError:
            raise SourceError(f"the header row is not valid {encoding}", rule="encoding", row=0) from None
    names = [name.strip() for name in header]
    if header and header[0].startswith("\ufeff"):
        names[0] = names[0].lstrip("\ufeff").strip()
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SourceError(f"the header names column {name!r} twice", rule="duplicate_column", column=name)
        seen.add(name)
    if any(not name for name in names):
        raise SourceError("the header has an empty column name", rule="empty_column_name")
    return names


def _quotes_after_header(path: Path, quote_char: str, encoding: str, chunk: int = 1 << 22) -> bool:
    """Whether the quote character occurs after the first line (or the first line is odd)."""
    try:
        quote = quote_char.encode(encoding)
    except (LookupError, UnicodeError):
        return True
    if encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig", "ascii", "latin1", "iso88591", "cp1252"):
        return True  # multi-byte encodings may hide the quote's bytes inside other characters
    with open(path, "rb") as fh:
        first = fh.readline()
        if first.count(quote) % 2:
            return True
        while True:
            block = fh.read(chunk)
            if not block:
                return False
            if quote in block:
                return True


@contextlib.contextmanager
def lean_memory_pool() -> Iterator[None]:
    """Within the block, Arrow allocates from jemalloc with immediate purging, when available.

    A streaming run allocates and frees many batch-sized buffers on several threads; the
    default allocator (mimalloc) keeps much of that resident, which measured about a
    fifth more peak RSS on a 1M-row load. The previous default pool is restored afterwards
    (arrays keep a reference to the pool they came from).
    """
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, AttributeError, pa.ArrowException):
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _joined(batches: Iterator[pa.RecordBatch], batch_size: int) -> Iterator[pa.RecordBatch]:
    """Join the reader's small batches into batches of about ``batch_size`` rows."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= batch_size:
            yield _concat(pending)
            pending, rows = [], 0
    if pending:
        yield _concat(pending)


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    if hasattr(pa, "concat_batches"):  # pyarrow >= 19
        return pa.concat_batches(batches)
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _csv_batches(path: Path, options: dict, on_problem, batch_size: int = 50_000) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pacsv

    delimiter = options.get("delimiter") or ("\t" if path.suffix.lower() == ".tsv" else ",")
    quote_char = options.get("quote_char") or '"'
    escape_char = options.get("escape_char") or False
    encoding = options.get("encoding") or "utf-8"
    names = _csv_header(path, delimiter, quote_char, "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    bad_rows: list[SourceError] = []
    unplaced: list[SourceError] = []

    def on_invalid(row) -> str:
        # The row's text stays out of every message: only its position and shape are kept.
        line = row.number
        where = f"line {line:,}: " if line else ""
        problem = SourceError(
            f"{where}expected {row.expected_columns} fields, found {row.actual_columns}; the row was not read",
            rule="field_count",
            row=(line - 1) if line else None,
        )
        if on_problem is None:
            bad_rows.append(problem)
            return "error"
        if line is None:
            unplaced.append(problem)  # placed by a second look at the file, below
        else:
            on_problem(problem)
        return "skip"

    read = pacsv.ReadOptions(
        column_names=names,
        skip_rows=1 + int(options.get("skip_rows") or 0),
        encoding=encoding,
        # the streaming reader holds many blocks in flight: small blocks keep memory low,
        # and the small batches they give are joined again below
        block_size=_CSV_BLOCK,
        use_threads=True,
    )
    parse = pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char=quote_char,
        escape_char=escape_char,
        # quote-aware block splitting is about 2x slower; only a quoted value can hold a newline
        newlines_in_values=_quotes_after_header(path, quote_char, encoding),
        invalid_row_handler=on_invalid,
    )
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    try:
        reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        yield from _joined(reader, batch_size)
        if unplaced:
            _place_bad_rows(path, len(names), delimiter, quote_char, encoding, on_problem)
    except pa.ArrowInvalid as exc:
        if bad_rows:
            raise bad_rows[0] from None
        text = str(exc)
        if "UTF8" in text or "UTF-8" in text or "decode" in text.lower():
            raise SourceError(f"the file is not valid {encoding}", rule="encoding") from None
        raise SourceError("the file cannot be parsed as CSV", rule="csv_syntax") from None



def _place_bad_rows(path: Path, expected: int, delimiter: str, quote_char: str, encoding: str, on_problem) -> None:
    """Find the record numbers of rows with a wrong field count (only after one was seen).

    The fast parser cannot number rows when values may span lines, so the rare failing
    file is read once more, slowly, just to say where its bad rows are.
    """
    with open(path, newline="", encoding=encoding, errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quotechar=quote_char)
        next(reader, None)
        for number, fields in enumerate(reader, start=1):
            if len(fields) != expected and fields:
                on_problem(
                    SourceError(
                        f"line {reader.line_num:,}: expected {expected} fields, found {len(fields)}; the row was not read",
                        rule="field_count",
                        row=number,
                    )
                )


# -- JSON ------------------------------------------------------------------------------


def _json_text(value: Any, nested: str = "refuse") -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal, str)):
        return str(value)
    if nested == "json" and isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_number)
    raise TypeError


def _json_number(value: Any) -> int | float:
    # A number inside a nested value: whole numbers stay exact, fractions become doubles.
    if isinstance(value, Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError


def _json_records(path: Path) -> Iterator[Any]:
    import ijson

    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip()
        fh.seek(0)
        if head.startswith(b"["):
            yield from ijson.items(fh, "item")
            return
        if head.startswith(b"{") and path.suffix.lower() == ".json":
            # A single object or JSON lines: lines are tried first, a whole document second.
            pass
        for number, line in enumerate(io.TextIOWrapper(fh, encoding="utf-8"), start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError:
                raise SourceError(f"line {number:,} is not valid JSON", rule="json_syntax", row=number) from None


def _json_batches(path: Path, batch_size: int, options: dict, nested: str = "refuse") -> Iterator[pa.RecordBatch]:
    columns: list[str] = []
    chunk: list[dict] = []
    row = 0

    def flush():
        data = {name: [rec.get(name) for rec in chunk] for name in columns}
        return pa.RecordBatch.from_pydict(data, schema=pa.schema([(n, pa.string()) for n in columns]))

    try:
        for record in _json_records(path):
            row += 1
            if not isinstance(record, dict):
                raise SourceError("the record is not a JSON object", rule="json_object", row=row)
            clean = {}
            for key, value in record.items():
                name = str(key).strip()
                if name not in clean and name not in columns:
                    columns.append(name)
                try:
                    clean[name] = _json_text(value, nested)
                except TypeError:
                    raise SourceError(
                        "nested objects and lists are not supported as cell values", rule="json_scalar", row=row, column=name
                    ) from None
            chunk.append(clean)
            if len(chunk) >= batch_size:
                yield flush()
                chunk = []
    except ValueError as exc:  # ijson's parse errors derive from ValueError
        if isinstance(exc, SourceError):
            raise
        raise SourceError("the file is not valid JSON", rule="json_syntax") from None
    if chunk:
        yield flush()


# -- Parquet ---------------------------------------------------------------------------


def _parquet_batches(path: Path, batch_size: int) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError):
        raise SourceError("the file is not a readable Parquet file", rule="parquet") from None
    yield from parquet.iter_batches(batch_size=batch_size)
