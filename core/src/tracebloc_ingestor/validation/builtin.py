"""Validators every category can use."""

from __future__ import annotations

from pathlib import PurePath
from typing import Iterable, Sequence

import pyarrow as pa

from ..issues import Issue
from .base import Validator

FILE_COLUMN = "_tb_file"


class TableNameValidator(Validator):
    """The destination table name must be a safe, non-reserved SQL identifier."""

    name = "table_name"

    def check_source(self, ctx):
        from ..settings import table_name_problem

        why = table_name_problem(ctx.settings.table or "")
        if why:
            yield Issue("table_name", f"TABLE_NAME is not usable: {why}")


class FileTypeValidator(Validator):
    """Every file the run reads must have one of the ``allowed`` extensions.

    That is the source table itself (``LABEL_FILE``) and, for categories that store
    files, every file the manifest refers to.
    """

    name = "file_type"

    def __init__(self, allowed: Sequence[str]) -> None:
        if not allowed:
            raise ValueError("FileTypeValidator needs at least one allowed extension")
        self.allowed = tuple(self._norm(ext) for ext in allowed)

    @staticmethod
    def _norm(ext: str) -> str:
        ext = ext.strip().lower()
        return ext if ext.startswith(".") else f".{ext}"

    def _bad(self, name: str) -> bool:
        return PurePath(name).suffix.lower() not in self.allowed

    def check_source(self, ctx) -> Iterable[Issue]:
        path = ctx.settings.label_file
        if path is not None and self._bad(path.name):
            yield Issue(
                "file_type",
                f"the source file's extension is not one of {', '.join(self.allowed)}",
                file=ctx.relative(path),
            )

    def check_batch(self, ctx, batch: pa.RecordBatch) -> Iterable[Issue]:
        if FILE_COLUMN not in batch.schema.names:
            return
        rows = batch.column("_tb_row").to_pylist()
        for row, name in zip(rows, batch.column(FILE_COLUMN).to_pylist()):
            if name is not None and self._bad(name):
                yield Issue(
                    "file_type", f"extension is not one of {', '.join(self.allowed)}", row=row, file=name
                )
