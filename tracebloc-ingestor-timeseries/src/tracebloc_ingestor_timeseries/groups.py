"""A column that names the series (or sequence) each row belongs to.

Forecasting panels name it with ``series_column``, sequence classification with
``sequence_column``. Both check it the same way: it is in the source, is neither the
label nor the time column, has a usable name, is declared (if at all) as text or whole
numbers, and every row holds a non-empty id that fits the type. It is stored as the
first feature column. Its ids are cell values: they are compared and counted inside
the cluster and never leave it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import attrs
import pyarrow as pa
import pyarrow.compute as pc
from tracebloc_ingestor.api import ROW, Column, Issue, cast_column, check_column_name, parse_sql_type, rule_message

from .timecol import value_text, where_to_name

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext, SqlType

__all__ = ["GroupColumn"]

ID_TYPE = parse_sql_type("VARCHAR(255)")


@attrs.frozen
class GroupColumn:
    """The group column named by option ``option``; ``noun`` (series, sequence) is for messages."""

    option: str
    noun: str

    def name(self, ctx: "RunContext") -> str | None:
        return getattr(ctx.options, self.option)

    def declared_type(self, ctx: "RunContext") -> "SqlType | None":
        schema = ctx.settings.schema
        text = schema.get(self.name(ctx)) if schema is not None else None
        return parse_sql_type(text) if text is not None else None

    def sql_type(self, ctx: "RunContext") -> "SqlType":
        return self.declared_type(ctx) or ID_TYPE

    def column(self, ctx: "RunContext") -> Column:
        return Column(self.name(ctx), self.sql_type(ctx))

    def check_header(self, ctx: "RunContext", names: list[str], rel: str | None, taken: Iterable[str]) -> list[Issue]:
        """Rules about the column itself; ``taken`` are the label and time columns."""
        name = self.name(ctx)
        issues = []
        if name in set(taken):
            why = f"the {self.noun} column cannot also be the label or the time column"
            issues.append(Issue(self.option, why, column=name, file=rel))
        elif name not in names:
            why = f"the {self.noun} column is not in the source ({where_to_name(ctx, self.option)})"
            issues.append(Issue(self.option, why, column=name, file=rel))
        elif why := check_column_name(name):
            issues.append(Issue("column_name", why, column=name, file=rel))
        declared = self.declared_type(ctx)
        if declared is not None and not (declared.is_text or declared.is_integer):
            why = f"{self.noun} ids are text or whole numbers; declare VARCHAR(n) or an integer type, not {declared}"
            issues.append(Issue(self.option, why, column=name, file=rel))
        return issues

    def ids(self, ctx: "RunContext", batch: pa.RecordBatch, rel: str | None) -> tuple[pa.Array, list[Issue]]:
        """Each row's id as text (NULL where it is missing or breaks its type) and the issues."""
        name = self.name(ctx)
        raw = batch.column(name)
        rows = batch.column(ROW)
        sql_type = self.sql_type(ctx)
        cast = cast_column(raw, sql_type)
        issues = [
            Issue(rule, rule_message(rule, sql_type), row=rows[idx].as_py(), column=name, file=rel, value=value_text(raw, idx))
            for idx, rule in zip(cast.failed.to_pylist(), cast.rules.to_pylist())
        ]
        broken = pc.is_in(rows, value_set=pc.take(rows, cast.failed))  # record numbers are unique
        if sql_type.is_integer:
            # whole-number ids compare by value ("007" is 7)
            keys = pc.cast(cast.array, pa.string())
            missing = pc.and_(pc.is_null(cast.array), pc.invert(broken))
        else:
            keys = pc.utf8_trim_whitespace(raw if pa.types.is_string(raw.type) else pc.cast(raw, pa.string()))
            missing = pc.fill_null(pc.equal(keys, ""), True)
        issues.extend(
            Issue("required", f"a {self.noun} id is required", row=row, column=name, file=rel)
            for row in pc.filter(rows, missing).to_pylist()
        )
        return pc.if_else(pc.or_(missing, broken), pa.scalar(None, pa.string()), keys), issues
