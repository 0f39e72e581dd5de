"""Validation findings: what broke, where, and by which rule, never with the offending value."""

from __future__ import annotations

from typing import Iterable, Iterator

import attrs

ERROR = "error"
WARNING = "warning"


@attrs.frozen
class Issue:
    """One finding of a validator.

    ``row`` is the 1-based record number in the source (the header is not a record);
    ``file`` is a path relative to the source root. ``value`` is the offending cell as
    text; it is only ever written to the local rejects report, never to a log, an error
    message or the backend, which is why it is left out of ``repr`` and ``str``.
    """

    rule: str
    message: str
    row: int | None = None
    column: str | None = None
    file: str | None = None
    severity: str = ERROR
    value: str | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row:,}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        prefix = f"{where}: " if where else ""
        return f"{prefix}[{self.rule}] {self.message}"

    def to_json(self, *, with_value: bool = False) -> dict:
        out = {
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
            "file": self.file,
            "row": self.row,
            "column": self.column,
        }
        if with_value:
            out["value"] = self.value
        return out


class IssueLog:
    """Collects issues from every validator, keeping counts of all and the first ``keep``.

    Memory stays bounded however bad the input is; the counts are exact.
    """

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self.kept: list[Issue] = []
        self.errors = 0
        self.warnings = 0
        self.by_rule: dict[tuple[str, str | None], int] = {}
        self._sinks: list = []

    def add_sink(self, sink) -> None:
        """``sink(issue)`` sees every issue, kept or not (the local rejects report)."""
        self._sinks.append(sink)

    def extend(self, issues: Iterable[Issue] | None) -> None:
        for issue in issues or ():
            self.add(issue)

    def add(self, issue: Issue) -> None:
        if issue.is_error:
            self.errors += 1
        else:
            self.warnings += 1
        key = (issue.rule, issue.column)
        self.by_rule[key] = self.by_rule.get(key, 0) + 1
        if len(self.kept) < self.keep:
            self.kept.append(issue)
        for sink in self._sinks:
            sink(issue)

    @property
    def total(self) -> int:
        return self.errors + self.warnings

    @property
    def omitted(self) -> int:
        return self.total - len(self.kept)

    def __iter__(self) -> Iterator[Issue]:
        return iter(self.kept)

    def __bool__(self) -> bool:
        return self.total > 0
