"""The one exception of the readers."""

from __future__ import annotations


class SourceError(Exception):
    """The source cannot be read as a table. Carries rule/row/column for an Issue; no cell text."""

    def __init__(self, message: str, *, rule: str, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.row = row
        self.column = column
