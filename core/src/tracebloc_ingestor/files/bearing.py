"""The base of categories whose records refer to files (images, texts, masks, ...).

A manifest batch gets two host columns: ``_tb_member``, the file column's value as a
path inside the category's folder (as :meth:`FileBearingIngestor.member_of` resolves
it), and ``_tb_file``, the same path relative to the source root, for messages and
validators. The files themselves go to ``<storage_path>/<table>/`` through a
:class:`~tracebloc_ingestor.files.FileStore`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator

import pyarrow as pa

from ..ingestors import BaseIngestor
from .store import DEFAULT_WORKERS, FileStore

if TYPE_CHECKING:  # pragma: no cover
    from ..context import RunContext

MEMBER = "_tb_member"
FILE = "_tb_file"


class FileBearingIngestor(BaseIngestor):
    """Records that name files under one folder of the source; subclasses say which and how."""

    file_bearing = True
    #: the manifest column naming each record's file
    file_column: ClassVar[str] = "filename"
    #: manifest columns that describe files, not features
    file_columns: ClassVar[tuple[str, ...]] = ("filename",)
    #: rows per batch: bounds the per-batch work lists (checks, copy jobs, rows) whatever BATCH_SIZE says
    max_batch_rows: ClassVar[int] = 10_000

    def member_of(self, ctx: "RunContext", value: Any) -> str | None:
        """The file column's value as a path inside the folder (None when it names no file)."""
        if value is None or not str(value).strip():
            return None
        return str(value).strip()

    def manifest_prefix(self, ctx: "RunContext") -> str:
        """The referenced files' folder relative to the source root (for ``_tb_file``)."""
        raise NotImplementedError

    def store_workers(self, ctx: "RunContext") -> int:
        return DEFAULT_WORKERS

    def destination(self, ctx: "RunContext") -> Path:
        return Path(ctx.settings.storage_path) / ctx.table

    def make_store(self, ctx: "RunContext") -> FileStore:
        """The store of this run; override to change workers or how sources are opened."""
        return FileStore(self.destination(ctx), workers=self.store_workers(ctx))

    def discover(self, ctx: "RunContext") -> Iterator[pa.RecordBatch]:
        for batch in super().discover(ctx):
            for start in range(0, batch.num_rows, self.max_batch_rows):
                yield self.with_paths(ctx, batch.slice(start, self.max_batch_rows))

    def with_paths(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add ``_tb_member`` and ``_tb_file`` from the file column."""
        if self.file_column in batch.schema.names:
            members = [self.member_of(ctx, v) for v in batch.column(self.file_column).to_pylist()]
        else:
            members = [None] * batch.num_rows
        prefix = self.manifest_prefix(ctx)
        files = [None if m is None else f"{prefix}/{m}" for m in members]
        batch = batch.append_column(MEMBER, pa.array(members, pa.string()))
        return batch.append_column(FILE, pa.array(files, pa.string()))

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        return super().excluded_columns(ctx) | set(self.file_columns)
