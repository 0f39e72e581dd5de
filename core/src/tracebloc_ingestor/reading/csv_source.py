"""CSV read as batches of text columns with pyarrow's streaming reader.

Cells stay text, exactly as written, so that validation decides what a value means.
Things the fast reader cannot say are found by a slow second look at the failing file
only: the row and column of a byte that is not valid in the encoding, the rows of
records with a wrong field count when values may span lines, the row and column of a
field over ``max_field_bytes``. A row longer than the reader's block (512 KiB) restarts
the read with a larger block, skipping the rows already delivered.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from .errors import SourceError

__all__ = ["DEFAULT_MAX_FIELD_BYTES", "CsvDialect", "csv_batches", "csv_columns"]

DEFAULT_MAX_FIELD_BYTES = 16 * 1024 * 1024
_CSV_BLOCK = 1 << 19
_STRADDLE = "straddl"  # pyarrow: "straddling object straddles two block boundaries"
_HEADER_LINES = 10_000  # a header spanning more lines than this is not a header


def _ascii_compatible(encoding: str) -> bool:
    probe = 'az09,;\t|"\'\n\r'
    try:
        return probe.encode(encoding) == probe.encode("ascii")
    except (LookupError, UnicodeError):
        return False


@attrs.frozen
class CsvDialect:
    """The ``spec.csv_options`` of a run, with defaults filled in."""

    delimiter: str = ","
    quote_char: str = '"'
    escape_char: str | None = None
    encoding: str = "utf-8"
    header: bool = True
    skip_rows: int = 0
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES

    @classmethod
    def of(cls, path: Path, options: Mapping[str, Any]) -> "CsvDialect":
        return cls(
            delimiter=options.get("delimiter") or ("\t" if path.suffix.lower() == ".tsv" else ","),
            quote_char=options.get("quote_char") or '"',
            escape_char=options.get("escape_char") or None,
            encoding=options.get("encoding") or "utf-8",
            header=options.get("header", True) is not False,
            skip_rows=int(options.get("skip_rows") or 0),
            max_field_bytes=int(options.get("max_field_bytes") or DEFAULT_MAX_FIELD_BYTES),
        )

    @property
    def utf8(self) -> bool:
        return self.encoding.lower().replace("_", "-") in ("utf-8", "utf8")

    @property
    def first_line_encoding(self) -> str:
        # a UTF-8 file may begin with a byte order mark, which is not part of the first name
        return "utf-8-sig" if self.utf8 else self.encoding

    def reader(self, lines) -> Any:
        return csv.reader(lines, delimiter=self.delimiter, quotechar=self.quote_char, escapechar=self.escape_char, strict=True)


@contextlib.contextmanager
def _field_limit(chars: int) -> Iterator[None]:
    """Let the csv module read fields of up to ``chars`` characters (its default is 128 KiB)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, chars))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


# -- the first record ------------------------------------------------------------------


def _first_record(path: Path, d: CsvDialect, skip: int) -> list[str] | None:
    """The first CSV record after ``skip`` records, decoding only the lines it spans."""
    if not _ascii_compatible(d.encoding):
        with open(path, newline="", encoding=d.first_line_encoding, errors="strict") as fh:
            try:
                reader = d.reader(fh)
                for _ in range(skip):
                    next(reader)
                return next(reader)
            except StopIteration:
                return None
            except UnicodeDecodeError:
                raise SourceError(f"the first rows are not valid {d.encoding}", rule="encoding") from None
    text = ""
    with open(path, "rb") as fh, _field_limit(d.max_field_bytes):
        for number in range(1, _HEADER_LINES + 1):
            raw = fh.readline(d.max_field_bytes + 1)
            if not raw:
                break
            try:
                text += raw.decode(d.first_line_encoding if number == 1 else d.encoding)
            except UnicodeDecodeError:
                where = "the header row" if number == 1 and d.header and not skip else f"line {number:,}"
                raise SourceError(f"{where} is not valid {d.encoding}", rule="encoding") from None
            try:
                records = list(d.reader(io.StringIO(text)))
            except csv.Error:
                continue  # a quoted value goes on on the next line
            if len(records) > skip:
                return records[skip]
        if not text:
            return None
    raise SourceError("the first record does not end (an unclosed quote?)", rule="csv_syntax", row=None)


def csv_columns(path: Path, options: Mapping[str, Any]) -> list[str]:
    """The column names: the header's, or ``column_1`` ... when ``header`` is false."""
    d = CsvDialect.of(path, options)
    first = _first_record(path, d, 0 if d.header else d.skip_rows)
    if first is None:
        if d.header:
            raise SourceError("the file is empty: no header row", rule="empty")
        return []
    if not d.header:
        return [f"column_{i}" for i in range(1, len(first) + 1)]
    names = [name.strip() for name in first]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SourceError("the header names this column twice", rule="duplicate_column", column=name)
        seen.add(name)
    if any(not name for name in names):
        raise SourceError("the header has an empty column name", rule="empty_column_name")
    return names


# -- the fast read ---------------------------------------------------------------------


def _quotes_after_header(path: Path, d: CsvDialect, chunk: int = 1 << 22) -> bool:
    """Whether the quote character occurs after the first line (or the first line is odd)."""
    if not _ascii_compatible(d.encoding):
        return True  # multi-byte encodings may hide the quote's bytes inside other characters
    quote = d.quote_char.encode(d.encoding)
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


class _Reading:
    """One pass over a CSV file, restarted with a larger block when a row does not fit."""

    def __init__(self, path: Path, d: CsvDialect, names: list[str], on_problem, batch_size: int) -> None:
        self.path, self.d, self.names = path, d, names
        self.on_problem = on_problem
        self.batch_size = batch_size
        self.bad_rows: list[SourceError] = []
        self.unplaced = False
        self.reported_lines: set[int] = set()
        self.newlines = _quotes_after_header(path, d)
        # the block must hold the longest row; beyond a few fields at the limit something else is wrong
        self.max_block = max(_CSV_BLOCK, 4 * d.max_field_bytes + (1 << 20))

    def on_invalid(self, row) -> str:
        # The row's text stays out of every message: only its position and shape are kept.
        line = row.number
        where = f"line {line:,}: " if line else ""
        problem = SourceError(
            f"{where}expected {row.expected_columns} fields, found {row.actual_columns}; the row was not read",
            rule="field_count",
            row=(line - int(self.d.header) - self.d.skip_rows) if line else None,
        )
        if self.on_problem is None:
            self.bad_rows.append(problem)
            return "error"
        if line is None:
            self.unplaced = True  # placed by a second look at the file, at the end
        elif line not in self.reported_lines:  # a restarted read meets the same rows again
            self.reported_lines.add(line)
            self.on_problem(problem)
        return "skip"

    def open(self, block: int):
        import pyarrow.csv as pacsv

        d = self.d
        read = pacsv.ReadOptions(
            column_names=self.names,
            skip_rows=int(d.header) + d.skip_rows,
            encoding=d.encoding,
            # the streaming reader holds many blocks in flight: small blocks keep memory low,
            # and the small batches they give are joined again
            block_size=block,
            use_threads=True,
        )
        parse = pacsv.ParseOptions(
            delimiter=d.delimiter,
            quote_char=d.quote_char,
            escape_char=d.escape_char or False,
            # quote-aware block splitting is about 2x slower; only a quoted value can hold a newline
            newlines_in_values=self.newlines,
            invalid_row_handler=self.on_invalid,
        )
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in self.names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )
        return pacsv.open_csv(self.path, read_options=read, parse_options=parse, convert_options=convert)

    def batches(self) -> Iterator[pa.RecordBatch]:
        delivered = 0
        block = _CSV_BLOCK
        while True:
            skip = delivered
            try:
                for batch in _joined(self.open(block), self.batch_size):
                    if skip:
                        if batch.num_rows <= skip:
                            skip -= batch.num_rows
                            continue
                        batch, skip = batch.slice(skip), 0
                    self.check_field_sizes(batch, delivered)
                    delivered += batch.num_rows
                    yield batch
                break
            except pa.ArrowInvalid as exc:
                text = str(exc)
                if _STRADDLE in text and block < self.max_block:
                    block = min(block * 8, self.max_block)
                    continue
                raise self.explain(text) from None
        if self.unplaced and self.on_problem is not None:
            _place_bad_rows(self.path, self.d, len(self.names), self.on_problem)

    def check_field_sizes(self, batch: pa.RecordBatch, before: int) -> None:
        limit = self.d.max_field_bytes
        if batch.num_rows == 0:
            return
        for name, column in zip(batch.schema.names, batch.columns):
            too_big = pc.greater(pc.binary_length(column), limit)
            if pc.any(too_big).as_py():
                index = pc.index(too_big, True).as_py()
                raise _field_too_big(limit, before + index + 1, name)

    def explain(self, text: str) -> SourceError:
        if self.bad_rows:
            return self.bad_rows[0]
        if _STRADDLE in text:
            return _oversized(self.path, self.d, self.names, self.max_block)
        if "UTF8" in text or "UTF-8" in text or "decode" in text.lower():
            return _bad_bytes(self.path, self.d, self.names)
        return SourceError("the file cannot be parsed as CSV", rule="csv_syntax")


def _field_too_big(limit: int, row: int | None, column: str | None) -> SourceError:
    return SourceError(
        f"a field is longer than {limit:,} bytes (spec.csv_options.max_field_bytes)",
        rule="max_field_bytes",
        row=row,
        column=column,
    )


def csv_batches(path: Path, options: Mapping[str, Any], on_problem: Callable[[SourceError], None] | None, batch_size: int) -> Iterator[pa.RecordBatch]:
    d = CsvDialect.of(path, options)
    names = csv_columns(path, options)
    if names:
        yield from _Reading(path, d, names, on_problem, batch_size).batches()


# -- the slow second looks (only at a file that failed) ------------------------------------


class _Lines:
    """The file's lines decoded one by one, with their byte offsets; bad bytes escaped, not fatal."""

    def __init__(self, path: Path, d: CsvDialect) -> None:
        self.path, self.d = path, d
        self.bad_line: int | None = None
        self.end = 0  # byte offset after the last line handed out

    def __iter__(self) -> Iterator[str]:
        with open(self.path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                encoding = self.d.first_line_encoding if number == 1 else self.d.encoding
                self.end += len(raw)
                try:
                    yield raw.decode(encoding)
                except UnicodeDecodeError:
                    if self.bad_line is None:
                        self.bad_line = number
                    yield raw.decode(encoding, "surrogateescape")


class _Unreadable(Exception):
    """The csv module gave up on the record ``row`` that starts at byte ``start``."""

    def __init__(self, row: int, start: int) -> None:
        super().__init__(row, start)
        self.row, self.start = row, start


def _records(path: Path, d: CsvDialect) -> Iterator[tuple[int, list[str], _Lines]]:
    """(row number, fields, lines) of every record; the header is row 0, the first record row 1."""
    lines = _Lines(path, d)
    reader = d.reader(lines)
    number = 1 - d.skip_rows - int(d.header)
    start = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise _Unreadable(number, start) from None
        yield number, fields, lines
        start = lines.end
        number += 1


def _column_name(names: list[str], index: int) -> str | None:
    return names[index] if 0 <= index < len(names) else None


def _bad_bytes(path: Path, d: CsvDialect, names: list[str]) -> SourceError:
    message = f"not valid {d.encoding} (set spec.csv_options.encoding if the file uses another encoding)"
    if not _ascii_compatible(d.encoding):
        return SourceError(f"the file is {message}", rule="encoding")
    try:
        with _field_limit(1 << 30):
            for number, fields, lines in _records(path, d):
                if lines.bad_line is None:
                    continue
                column = next((i for i, f in enumerate(fields) if any("\udc80" <= c <= "\udcff" for c in f)), -1)
                return SourceError(f"a field is {message}", rule="encoding", row=number if number > 0 else None,
                                   column=_column_name(names, column))
    except _Unreadable:
        pass
    return SourceError(f"the file is {message}", rule="encoding")


def _oversized(path: Path, d: CsvDialect, names: list[str], max_block: int) -> SourceError:
    """The first field over the limit (or row over the reader's largest block), by row and column."""
    limit = d.max_field_bytes
    try:
        with _field_limit(limit):
            for number, fields, _lines in _records(path, d):
                size = 0
                for index, field in enumerate(fields):
                    length = len(field) if len(field) * 4 <= limit else len(field.encode(d.encoding, "surrogateescape"))
                    if length > limit:
                        return _field_too_big(limit, number, _column_name(names, index))
                    size += length
                if size > max_block // 2:
                    return SourceError(f"the row is longer than {max_block // 2:,} bytes, more than the reader takes",
                                       rule="max_field_bytes", row=number)
    except _Unreadable as stopped:
        # the csv module stopped inside a field over the limit: find which one from the record's start
        row = stopped.row if stopped.row > 0 else None
        return _field_too_big(limit, row, _column_name(names, _field_over(path, d, stopped.start, limit)))
    return _field_too_big(limit, None, None)


def _field_over(path: Path, d: CsvDialect, offset: int, limit: int) -> int:
    """Index of the first field over ``limit`` bytes in the record starting at byte ``offset``."""
    quote = d.quote_char.encode(d.encoding)
    stop = re.compile(re.escape(d.delimiter.encode(d.encoding)) + b"|" + re.escape(quote) + b"|\n")
    index = size = 0
    quoted = False
    with open(path, "rb") as fh:
        fh.seek(offset)
        while chunk := fh.read(1 << 20):
            i = 0
            while i < len(chunk):
                if quoted:
                    j = chunk.find(quote, i)
                    end = len(chunk) if j < 0 else j
                    size += end - i
                    quoted = j < 0
                    i = end + 1
                else:
                    m = stop.search(chunk, i)
                    end = len(chunk) if m is None else m.start()
                    size += end - i
                    i = end + 1
                    if m is not None:
                        token = m.group()
                        if token == quote:
                            quoted = True
                        elif size > limit or token == b"\n":
                            return index
                        else:
                            index, size = index + 1, 0
                if size > limit:
                    return index
    return index


def _place_bad_rows(path: Path, d: CsvDialect, expected: int, on_problem) -> None:
    """Find the record numbers of rows with a wrong field count (only after one was seen).

    The fast parser cannot number rows when values may span lines, so the rare failing
    file is read once more, slowly, just to say where its bad rows are.
    """
    with open(path, newline="", encoding=d.encoding, errors="replace") as fh, _field_limit(1 << 30):
        reader = csv.reader(fh, delimiter=d.delimiter, quotechar=d.quote_char, escapechar=d.escape_char)
        for _ in range(d.skip_rows + int(d.header)):
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
