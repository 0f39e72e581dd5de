"""Read CSV, JSON (array or lines) and Parquet files as a stream of record batches.

CSV cells are read as text, exactly as written, so that validation decides what a value
means (and can name the row of a bad one); JSON scalars become text too, Parquet keeps
its own types (in plain Arrow types: see :mod:`.parquet_source`). Every batch gets a
``_tb_row`` column with the 1-based record number. Memory is bounded by the batch size,
not by the file.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pyarrow as pa

from .csv_source import csv_batches, csv_columns
from .errors import SourceError
from .formats import detect_format
from .json_source import json_batches, json_columns
from .parquet_source import parquet_batches, parquet_columns, parquet_problems

ROW_COLUMN = "_tb_row"

__all__ = ["ROW_COLUMN", "SourceError", "lean_memory_pool", "read_table_batches", "sniff_format", "source_columns"]


def sniff_format(path: Path, declared: str | None = None) -> str:
    """The reader ``path`` gets: Parquet by its magic bytes, else ``declared``, else by extension."""
    try:
        return detect_format(path, forced=declared).format
    except SourceError:
        return "parquet"  # named or declared Parquet: its reader says what is wrong


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

    ``fmt`` forces the reader (a Parquet file is still read as Parquet); ``options``
    are the CSV options; ``nested`` is the JSON policy for objects and lists. A row that
    cannot be read (wrong number of fields) is skipped and passed to ``on_problem``;
    without a callback it raises. A file that cannot be read at all always raises
    :class:`SourceError`.
    """
    fmt = sniff_format(path, fmt)
    options = dict(options or {})
    if fmt == "csv":
        source = csv_batches(path, options, on_problem, batch_size)
    elif fmt == "json":
        source = json_batches(path, batch_size, nested)
    elif fmt == "parquet":
        source = parquet_batches(path, batch_size, nested)
    else:
        raise SourceError(f"unknown source format {fmt!r}", rule="format")
    return _numbered(source, batch_size)


def source_columns(path: Path, fmt: str, *, options: Mapping[str, Any] | None = None, nested: str = "refuse") -> tuple[list[str], list[SourceError]]:
    """The table's column names and the columns refused by type, without reading its rows.

    CSV: the header (or ``column_1`` ... without one); Parquet: its schema; JSON: the
    keys of the first record (later records may add more).
    """
    if fmt == "parquet":
        return parquet_columns(path), parquet_problems(path, nested)
    if fmt == "json":
        return json_columns(path, nested), []
    return csv_columns(path, dict(options or {})), []


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
