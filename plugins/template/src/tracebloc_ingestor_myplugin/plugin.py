"""The ``my_category`` category: a CSV table of items with a class label.

Everything the category needs comes from ``BaseIngestor``: reading in batches, type
checks of every cell, schema inference, casting and aggregate statistics. This module
adds what is its own:

* ``CODE_PATTERN``, an option declared once and offered in three forms (the flag
  ``--code-pattern``, the variable ``CODE_PATTERN`` and the ingest.yaml key
  ``spec.my_category.code_pattern``); its typed value reaches the run as
  ``ctx.options.code_pattern``;
* ``CodeFormatValidator``, a rule that reads it and reports a problem by file, row,
  column and rule, with the offending cell only in ``Issue.value`` (which reaches
  nothing but the local rejects report).
"""

from __future__ import annotations

from typing import Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from tracebloc_ingestor.api import ROW, BaseIngestor, Issue, Option, OptionError, OptionType, TableNameValidator, Validator


class RegexPattern(OptionType):
    """An option type: a regular expression in RE2 syntax (what ``pyarrow.compute`` matches with).

    A pattern RE2 cannot compile is refused at start (exit 2), before anything is read.
    """

    metavar = "REGEX"

    def parse(self, raw: Any) -> str:
        if not isinstance(raw, str) or not raw:
            raise OptionError("must be a regular expression")
        try:
            pc.match_substring_regex(pa.array([""], pa.string()), raw)
        except pa.ArrowInvalid:
            # the pattern itself stays out of the message: it is configuration
            raise OptionError("is not a valid regular expression (RE2 syntax)") from None
        return raw

    def json_schema(self) -> dict:
        return {"type": "string", "minLength": 1, "x-message": "must be a regular expression"}

    def describe(self) -> str:
        return "a regular expression (RE2 syntax)"


CODE_PATTERN = Option(
    "code_pattern",
    RegexPattern(),
    default=r"[A-Z]{2}-[0-9]{4}",
    help="Regular expression (RE2 syntax) every item_code must match in full",
    # env and flag spelled out for the example; left out, they are derived from the name
    env="CODE_PATTERN",
    flag="--code-pattern",
    # under spec.<category>: clear of the keys the core and other plugins use
    yaml="spec.my_category.code_pattern",
)


class CodeFormatValidator(Validator):
    """Every value of ``column`` must fully match the pattern held by the option ``option``."""

    name = "code_format"

    def __init__(self, column: str, option: str = CODE_PATTERN.name) -> None:
        self.column = column
        self.option = option
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
        pattern = f"^(?:{ctx.options[self.option]})$"
        # One regex pass over the whole batch; Python touches only the failing rows.
        bad = pc.invert(pc.fill_null(pc.match_substring_regex(values, pattern), False))
        if not pc.any(bad).as_py():
            return
        rows = pc.filter(batch.column(ROW), bad).to_pylist()
        cells = pc.filter(values, bad).to_pylist()
        for row, cell in zip(rows, cells):
            message = f"the code does not match the pattern of the option {self.option}"
            yield Issue(self.name, message, row=row, column=self.column, file=rel, value=cell)


class MyCategory(BaseIngestor):
    """Items with a code, a few measurements and a class label in ``label``."""

    category = "my_category"
    data_format = "tabular"  # image, tabular or text
    label_kind = "classification"  # classification, regression or none
    summary = "Items with a code, measurements and a class label."
    source_format = "csv"  # read LABEL_FILE as CSV whatever its extension
    options = (CODE_PATTERN,)
    validators = (TableNameValidator(), CodeFormatValidator("item_code"))
