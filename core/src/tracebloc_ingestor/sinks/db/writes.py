"""A batch checked against its table and split into parts, and what a dialect's write path does."""

from __future__ import annotations

import abc
import os
from contextlib import suppress
from typing import Any, Callable

import pyarrow as pa

from .errors import DatabaseError
from .sql_types import storable

__all__ = ["Part", "PreparedWrite", "Writer", "check_batch"]

_NOT_WRITABLE = frozenset({"id", "created_at", "updated_at", "status"})


def check_batch(table: str, batch: pa.RecordBatch, column_types: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """The table's column types, once the batch's columns are known to fit them."""
    names = list(batch.schema.names)
    problems = sorted(set(names) & _NOT_WRITABLE)
    if problems or "data_id" not in names or len(set(names)) != len(names):
        raise DatabaseError(
            f"writing a batch to table {table!r} failed: a batch needs a data_id column, "
            f"unique column names and none of {sorted(_NOT_WRITABLE)}"
        )
    types = column_types(table)
    unknown = [name for name in names if name not in types]
    if unknown:
        raise DatabaseError(f"writing a batch to table {table!r} failed: no such column(s) {unknown[:8]}")
    odd = [f"{field.name} ({field.type})" for field in batch.schema if not storable(field.type)]
    if odd:
        raise DatabaseError(f"writing a batch to table {table!r} failed: unstorable Arrow types: {odd[:8]}")
    return types


class Part:
    """One chunk of a prepared write: a LOAD DATA file, INSERT literals or driver rows."""

    def __init__(self, kind: str, batch: pa.RecordBatch | None, **extra: Any) -> None:
        self.kind = kind
        self.batch = batch
        self.rows: list = extra.get("rows", [])
        self.literals: list = extra.get("literals", [])  # [row buffer, row offsets] (bulk.text.literal_rows)
        self.path: str | None = extra.get("path")
        self.sent: list[str] = extra.get("sent", [])
        self.constant: dict[str, str] = extra.get("constant", {})
        self.data: memoryview | None = extra.get("data")  # a streamed part's LOAD DATA lines
        self.count: int = extra.get("count", 0)

    def discard(self) -> None:
        self.data = None
        if self.path is not None:
            with suppress(OSError):
                os.unlink(self.path)
            self.path = None


class PreparedWrite:
    """A batch checked and rendered by :meth:`Database.prepare_write`, waiting for :meth:`Database.send`."""

    def __init__(self, table: str, names: list[str]) -> None:
        self.table = table
        self.names = names
        self.parts: list[Part] = []

    def discard(self) -> None:
        """Delete the temporary files of parts not yet sent (idempotent)."""
        for part in self.parts:
            part.discard()


class Writer(abc.ABC):
    """How one dialect renders and sends batches; the streamed first load is optional."""

    # "sqlite", "insert", "load_data" or "load_data_stream"; None until MySQL's first write detects it
    write_path: str | None = None

    @abc.abstractmethod
    def prepare(self, prepared: PreparedWrite, batch: pa.RecordBatch, types: dict[str, str]) -> None:
        """Render a non-empty checked batch into ``prepared.parts`` (no database I/O but detection)."""

    @abc.abstractmethod
    def send(self, table: str, names: list[str], part: Part) -> None:
        """Write one part in its own transaction."""

    def begin_stream(self, table: str) -> bool:
        return False

    def finish_stream(self) -> None:
        """Commit a streamed load, if one is under way."""

    def abort_stream(self) -> None:
        """Roll back a streamed load, if one is under way."""

    def close(self) -> None:
        """Dispose of the writer's own engines."""
