"""The ``my_category`` category: a CSV table of items with a class label.

Everything the category needs comes from ``BaseIngestor``: reading in batches, type
checks of every cell, schema inference, casting and aggregate statistics. This module
adds one rule of its own, ``CodeFormatValidator``, to show how a validator reports a
problem: by file, row, column and rule, with the offending cell only in ``Issue.value``
(which reaches nothing but the local rejects report).
"""

from __future__ import annotations

from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from tracebloc_ingestor import BaseIngestor, Issue, TableNameValidator, Validator


class CodeFormatValidator(Validator):
    """Every value of ``column`` must fully match ``pattern`` (RE2 syntax).

    ``description`` says in words what a valid value looks like; it goes into the
    message, which must never quote the value itself.
    """

    name = "code_format"

    def __init__(self, column: str, pattern: str, *, description: str) -> None:
        self.column = column
        self.pattern = f"^(?:{pattern})$"
        self.description = description
        # The ingestor copies its validators for every run, so this flag is per run.
        self._missing_reported = False

    def check_batch(self, ctx, batch: pa.RecordBatch) -> Iterable[Issue]:
        source = ctx.settings.label_file
        rel = ctx.relative(source) if source is not None else None
        if self.column not in batch.schema.names:
            if not self._missing_reported:
                self._missing_reported = True
                yield Issue(self.name, "the source has no such column", column=self.column, file=rel)
            return
        values = batch.column(self.column)
        if not pa.types.is_string(values.type):
            values = pc.cast(values, pa.string())
        # One regex pass over the whole batch; Python touches only the failing rows.
        bad = pc.invert(pc.fill_null(pc.match_substring_regex(values, self.pattern), False))
        if not pc.any(bad).as_py():
            return
        rows = pc.filter(batch.column("_tb_row"), bad).to_pylist()
        cells = pc.filter(values, bad).to_pylist()
        for row, cell in zip(rows, cells):
            yield Issue(self.name, f"expected {self.description}", row=row, column=self.column, file=rel, value=cell)


class MyCategory(BaseIngestor):
    """Items with a code, a few measurements and a class label in ``label``."""

    category = "my_category"
    data_format = "tabular"  # image, tabular or text
    label_kind = "classification"  # classification, regression or none
    summary = "Items with a code, measurements and a class label."
    source_format = "csv"  # read LABEL_FILE as CSV whatever its extension
    validators = (
        TableNameValidator(),
        CodeFormatValidator("item_code", r"[A-Z]{2}-[0-9]{4}", description="two capital letters, '-' and four digits"),
    )
