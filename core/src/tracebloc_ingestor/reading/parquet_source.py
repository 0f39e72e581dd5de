"""Parquet as pandas (2 and 3), polars and pyarrow write it, read batch by batch.

Every column either arrives in a type the rest of the run knows, or is refused by name
before any row is read (from the file's schema):

* ``large_string``, ``string_view`` and dictionary-encoded columns are read as their
  plain values (text stays text, exactly);
* ``binary`` and ``large_binary`` are read as UTF-8 text; bytes that are not UTF-8 are
  refused naming the row (tables have no binary type);
* numbers, booleans, ``date32``/``date64``, times, ``decimal128`` (and ``decimal256`` up
  to 38 digits) and timestamps keep their types; a timestamp with a time zone is the
  same instant in UTC, which is how DATETIME columns store every offset;
* nested columns (struct, list, map) are refused naming the column, or, when the run's
  nested policy is ``json_text``, stored as each cell's JSON text (like nested JSON);
* unions, durations, intervals and decimals of more than 38 digits are refused, naming
  the column.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.types as pt

from .errors import SourceError

__all__ = ["parquet_batches", "parquet_columns", "parquet_problems"]

MAX_DECIMAL_DIGITS = 38


def _open(path: Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError):
        raise SourceError("the file is not a readable Parquet file", rule="parquet") from None


def _value_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pt.is_dictionary(t) else t


def _is_nested(t: pa.DataType) -> bool:
    t = _value_type(t)
    return pt.is_struct(t) or pt.is_map(t) or pt.is_list(t) or pt.is_large_list(t) or pt.is_fixed_size_list(t) or getattr(
        pt, "is_list_view", lambda _: False)(t) or getattr(pt, "is_large_list_view", lambda _: False)(t)


def _refusal(t: pa.DataType, nested: str = "refuse") -> str | None:
    """Why a column of type ``t`` cannot be stored (None when it can)."""
    t = _value_type(t)
    if nested == "json_text" and _is_nested(t):
        return None
    if pt.is_struct(t):
        return "a nested (struct) column cannot be stored; flatten it into columns or write it as JSON text first"
    if pt.is_map(t) or pt.is_list(t) or pt.is_large_list(t) or pt.is_fixed_size_list(t) or getattr(pt, "is_list_view", lambda _: False)(t) or getattr(pt, "is_large_list_view", lambda _: False)(t):
        return "a nested (list or map) column cannot be stored; write it as JSON text or as separate columns first"
    if pt.is_union(t):
        return "a union column cannot be stored; write it as one type per column first"
    if pt.is_duration(t) or pt.is_interval(t):
        return "a duration or interval column has no SQL type here; write it as a number (of seconds, say) first"
    if pt.is_decimal(t) and t.precision > MAX_DECIMAL_DIGITS:
        return f"a decimal of more than {MAX_DECIMAL_DIGITS} digits cannot be stored exactly (DECIMAL holds at most {MAX_DECIMAL_DIGITS} here)"
    if pt.is_nested(t):
        return "a nested column cannot be stored"
    return None


def parquet_problems(path: Path, nested: str = "refuse") -> list[SourceError]:
    """One SourceError per column of the file that cannot be stored (read from the schema only)."""
    schema = _open(path).schema_arrow
    out = []
    for field in schema:
        why = _refusal(field.type, nested)
        if why:
            out.append(SourceError(why, rule="column_type", column=field.name))
    return out


def parquet_columns(path: Path) -> list[str]:
    """The column names of the file, from its schema."""
    return list(_open(path).schema_arrow.names)


def _json_cell(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError


def _plain(name: str, values: pa.Array, first_row: int) -> pa.Array:
    t = values.type
    if _is_nested(t):  # only reached under the json_text policy: one JSON text per cell
        if pt.is_map(_value_type(t)):
            cells = [None if v is None else dict(v) for v in values.to_pylist()]
        else:
            cells = values.to_pylist()
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=_json_cell)
                         for v in cells], pa.string())
    if pt.is_dictionary(t):
        values = values.dictionary_decode()
        t = values.type
    if pt.is_large_string(t) or pt.is_string_view(t):
        return values.cast(pa.string())
    if pt.is_binary(t) or pt.is_large_binary(t) or pt.is_binary_view(t) or pt.is_fixed_size_binary(t):
        try:
            return values.cast(pa.string())
        except pa.ArrowInvalid:
            raise SourceError(
                "holds bytes that are not UTF-8 text; a table column cannot store binary data",
                rule="encoding",
                row=first_row + _first_bad_text(values),
                column=name,
            ) from None
    if pt.is_float16(t):
        return values.cast(pa.float32())
    if pt.is_decimal256(t):
        return values.cast(pa.decimal128(t.precision, t.scale))
    return values


def _first_bad_text(values: pa.Array) -> int:
    # only after the vectorised cast failed: find the first cell that is not UTF-8
    for i, value in enumerate(values.to_pylist()):
        if value is not None:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return 0


def parquet_batches(path: Path, batch_size: int, nested: str = "refuse") -> Iterator[pa.RecordBatch]:
    """The file's rows in batches, every column in a plain type (see the module's policy)."""
    parquet = _open(path)
    problems = parquet_problems(path, nested)
    if problems:
        raise problems[0]
    first = 1
    for batch in parquet.iter_batches(batch_size=batch_size):
        arrays = [_plain(name, batch.column(i), first) for i, name in enumerate(batch.schema.names)]
        yield pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
        first += batch.num_rows
