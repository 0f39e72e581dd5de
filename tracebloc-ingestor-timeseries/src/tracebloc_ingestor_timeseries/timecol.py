"""What the time-series categories share: one time column that the plugin itself checks.

The time column is named by the ``time_column`` option (``--time-column``,
``TIME_COLUMN``, ``time_column`` in ingest.yaml). It is taken out of the core's generic
feature handling (it is in ``excluded_columns``), checked by the category's own rules,
and put back into the table as a typed feature column at the place the schema (or the
source) gives it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.compute as pc
from tracebloc_ingestor.api import (
    HOST_PREFIX,
    BaseIngestor,
    Column,
    Issue,
    SchemaError,
    SqlType,
    TableNameValidator,
    TableSchema,
    check_column_name,
    parse_sql_type,
)

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext

__all__ = ["TimeColumnIngestor", "cell_issues", "source_file", "value_text", "where_to_name"]


def source_file(ctx: "RunContext") -> str | None:
    """The source table relative to the source root, for issues."""
    path = ctx.settings.label_file
    return ctx.relative(path) if path is not None else None


def value_text(values: pa.Array, idx: int) -> str | None:
    """One cell as text, for ``Issue.value`` only (the local rejects report)."""
    value = values[idx].as_py()
    return None if value is None else str(value)


def cell_issues(rule: str, message: str, where: pa.Array, rows: pa.Array, values: pa.Array, column: str, file: str | None) -> list[Issue]:
    """One issue per true cell of the mask ``where``, naming its row; the cell goes only to ``Issue.value``."""
    return [
        Issue(rule, message, row=rows[idx].as_py(), column=column, file=file, value=value_text(values, idx))
        for idx in pc.indices_nonzero(pc.fill_null(where, False)).to_pylist()
    ]


def where_to_name(ctx: "RunContext", option: str) -> str:
    """Where a column option's name came from and how to set it, for a message (never its value)."""
    origin = ctx.options.origin(option)
    said = "the default name" if origin == "default" else f"the name from {origin}"
    # the forms an Option derives from its name (the column options keep them)
    return f"{said}; set {option} in ingest.yaml, {option.upper()} or --{option.replace('_', '-')}"


class _TimeState:
    """Per-run state of a time-series category (kept in ``ctx.state``)."""

    def __init__(self) -> None:
        self.header_checked = False
        self.time_present = False
        self.source_names: list[str] = []


class TimeColumnIngestor(BaseIngestor):
    """A table category with one time column checked by the subclass's ``check_time``.

    A subclass declares the ``time_column`` option with its own default and help.
    """

    data_format = "tabular"
    validators = (TableNameValidator(),)

    # -- the time column ---------------------------------------------------------------

    def time_column(self, ctx: "RunContext") -> str:
        return ctx.options.time_column

    def declared_time_type(self, ctx: "RunContext") -> SqlType | None:
        """The time column's type in the declared schema, or None when it is not declared."""
        schema = ctx.settings.schema
        text = schema.get(self.time_column(ctx)) if schema is not None else None
        if text is None:
            return None
        try:
            return parse_sql_type(text)
        except SchemaError:  # settings already refused it; never reached in a run
            return None

    def time_type_problem(self, sql_type: SqlType) -> str | None:
        """Why a declared type cannot hold this category's time column (None = it can)."""
        return None

    def time_sql_type(self, ctx: "RunContext") -> SqlType:
        """The type the time column is stored as."""
        raise NotImplementedError

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        return super().excluded_columns(ctx) | {self.time_column(ctx)}

    def leading_features(self, ctx: "RunContext") -> int:
        """How many features lead the table whatever the source order (a series column)."""
        return 0

    def shard_problem(self, settings) -> str | None:
        """Every shard must store the time column with one type: it must be declared."""
        problem = super().shard_problem(settings)
        if problem is None and settings.options.time_column not in (settings.schema or {}):
            problem = (f"a sharded run needs the time column's type in the schema ({settings.options.time_column}: ...): "
                       "each shard would infer its own from its share of the rows")
        return problem

    def ts_state(self, ctx: "RunContext") -> _TimeState:
        return ctx.state(f"timeseries:{self.category}", _TimeState)

    # -- validation --------------------------------------------------------------------

    def check_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        """The core's type and label checks, then the header rules (once) and the time rules."""
        issues = list(super().check_columns(ctx, batch))
        state = self.ts_state(ctx)
        rel = source_file(ctx)
        if not state.header_checked:
            state.header_checked = True
            state.source_names = [n for n in batch.schema.names if not n.startswith(HOST_PREFIX)]
            header = list(self.check_header(ctx, state.source_names, rel))
            state.time_present = self.time_column(ctx) in state.source_names and not any(
                i.rule == "time_column" and i.is_error for i in header
            )
            issues.extend(header)
        if state.time_present:
            issues.extend(self.check_time(ctx, batch, batch.column(self.time_column(ctx)), rel))
        return issues

    def check_header(self, ctx: "RunContext", names: list[str], rel: str | None) -> Iterable[Issue]:
        """Rules about the columns (not the cells); called once per run."""
        name = self.time_column(ctx)
        if self.label_kind != "none" and name == self.label_column(ctx):
            yield Issue("time_column", "the time column cannot also be the label column", column=name, file=rel)
            return
        if name not in names:
            yield Issue(
                "time_column",
                f"the time column is not in the source ({where_to_name(ctx, 'time_column')})",
                column=name,
                file=rel,
            )
            return
        why = check_column_name(name)
        if why:
            yield Issue("column_name", why, column=name, file=rel)
        declared = self.declared_time_type(ctx)
        if declared is not None:
            why = self.time_type_problem(declared)
            if why:
                yield Issue("time_column", why, column=name, file=rel)

    def check_time(self, ctx: "RunContext", batch: pa.RecordBatch, values: pa.Array, rel: str | None) -> Iterable[Issue]:
        """Rules about the time column's cells in one batch."""
        return ()

    # -- the table ---------------------------------------------------------------------

    def feature_schema(self, ctx: "RunContext") -> TableSchema:
        """The features other than the time column (the core's declared or inferred schema)."""
        return super().table_schema(ctx)

    def table_schema(self, ctx: "RunContext") -> TableSchema:
        base = self.feature_schema(ctx)
        features = list(base.features)
        name = self.time_column(ctx)
        schema = ctx.settings.schema
        order = list(schema) if schema is not None and name in schema else self.ts_state(ctx).source_names
        # Keep the time column where the schema (or the source) has it.
        position = 0
        if name in order:
            before = set(order[: order.index(name)])
            position = sum(1 for column in features if column.name in before)
        position = max(position, self.leading_features(ctx))
        features.insert(position, Column(name, self.time_sql_type(ctx)))
        # the host reports an inferred schema (so it can be pinned) by this flag
        return TableSchema(tuple(features), inferred=base.inferred)
