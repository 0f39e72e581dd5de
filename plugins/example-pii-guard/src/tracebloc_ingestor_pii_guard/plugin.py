"""The ``pii_guard`` plugin: refuse direct identifiers before anything is written.

A behaviour-only plugin: it declares no category and runs next to whichever category
the run uses (``tb-ingest --plugin tabular_classification --plugin pii_guard``). In the
validation pass it reports, as errors,

* ``pii_column_name``: a source column whose name says it holds a direct identifier
  (an e-mail address, a phone number, a national id, an IBAN, a person's name ...);
* ``pii_email``: a cell that contains an e-mail address;
* ``pii_iban``: a cell that is an IBAN (shape, country length and check digits).

Messages name the file, row, column and rule; the cell goes only into ``Issue.value``,
which reaches nothing but the local rejects report. Columns listed in the option
``pii_guard_allow`` (``--pii-guard-allow``, ``PII_GUARD_ALLOW``, ``spec.pii_guard.allow``
in ingest.yaml) are not checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from tracebloc_ingestor.api import HOST_PREFIX, ROW, Issue, Names, Option, hookimpl

from .rules import VALUE_RULES, identifier_kind

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext

ALLOW_VARIABLE = "PII_GUARD_ALLOW"
ALLOW = Option(
    "pii_guard_allow",
    Names(),
    help="Columns the PII guard leaves alone (exact names, comma-separated as text): "
    "already pseudonymised, or only looking like identifiers",
    env=ALLOW_VARIABLE,
    flag="--pii-guard-allow",
    yaml="spec.pii_guard.allow",
)
# Rows listed one by one per column and rule; further matches are counted and named
# once at the end (a column full of addresses is one problem, not a million).
LISTED_PER_COLUMN = 10
HINT = f"drop or pseudonymise the column before ingesting, or list it in {ALLOW_VARIABLE} (option {ALLOW.name})"


class _RunState:
    def __init__(self, allow: frozenset[str]) -> None:
        self.allow = allow
        self.named: set[str] = set()  # columns already refused by name
        self.listed: dict[tuple[str, str], int] = {}  # (column, rule) -> rows listed
        self.unlisted: dict[tuple[str, str], int] = {}  # (column, rule) -> rows only counted


class PiiGuard:
    """Refuses columns that name or hold direct identifiers.

    The columns to leave alone are the option ``pii_guard_allow`` of the run plus, for
    inline use, ``allow``.
    """

    def __init__(self, allow: Iterable[str] | None = None) -> None:
        self._allow = frozenset(name.strip() for name in allow or () if name.strip())

    @hookimpl
    def tb_options(self) -> list[Option]:
        return [ALLOW]

    def _state(self, ctx: "RunContext") -> _RunState:
        return ctx.state("pii_guard", lambda: _RunState(self._allow | set(ctx.options.get(ALLOW.name) or ())))

    @staticmethod
    def _source(ctx: "RunContext") -> str | None:
        path = ctx.settings.label_file
        return ctx.relative(path) if path is not None else None

    @hookimpl
    def tb_validate(self, ctx: "RunContext", batch: pa.RecordBatch) -> list[Issue]:
        state = self._state(ctx)
        rel = self._source(ctx)
        issues: list[Issue] = []
        for name in batch.schema.names:
            if name.startswith(HOST_PREFIX) or name in state.allow:
                continue
            if name in state.named:
                continue  # refused already; its values add nothing
            kind = identifier_kind(name)
            if kind is not None:
                state.named.add(name)
                issues.append(Issue("pii_column_name", f"the column name suggests {kind}; {HINT}", column=name, file=rel))
                continue
            issues.extend(self._check_values(state, batch, name, rel))
        return issues

    def _check_values(self, state: _RunState, batch: pa.RecordBatch, name: str, rel: str | None) -> Iterable[Issue]:
        values = batch.column(name)
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            return  # numbers, booleans and dates cannot hold an address
        for rule, what, mask_of in VALUE_RULES:
            mask = mask_of(values)
            found = pc.sum(mask).as_py() or 0
            if not found:
                continue
            key = (name, rule)
            room = max(LISTED_PER_COLUMN - state.listed.get(key, 0), 0)
            shown = min(found, room)
            state.listed[key] = state.listed.get(key, 0) + shown
            state.unlisted[key] = state.unlisted.get(key, 0) + found - shown
            if not shown:
                continue
            rows = pc.filter(batch.column(ROW), mask).slice(0, shown).to_pylist()
            cells = pc.filter(values, mask).slice(0, shown).to_pylist()
            for row, cell in zip(rows, cells):
                yield Issue(rule, f"the cell looks like {what}; {HINT}", row=row, column=name, file=rel, value=cell)

    @hookimpl
    def tb_validate_end(self, ctx: "RunContext") -> list[Issue]:
        state = self._state(ctx)
        rel = self._source(ctx)
        issues = []
        for (name, rule), more in sorted(state.unlisted.items()):
            if more:
                issues.append(
                    Issue(
                        rule,
                        f"{more:,} more rows of this column match the rule "
                        f"(only the first {LISTED_PER_COLUMN} are listed); {HINT}",
                        column=name,
                        file=rel,
                    )
                )
        return issues
