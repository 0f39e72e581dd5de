"""``time_series_forecasting``: a table of numeric features in time order, with a numeric target.

Every timestamp must parse, the timestamps must not decrease over the whole input (the
last one of a batch is carried into the next), and all must lie before the moment the
run started (UTC; values without an offset count as UTC). Every other feature is
numeric. The target leaves the cluster only as bucket ids.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.compute as pc
from tracebloc_ingestor.api import (
    HOST_PREFIX,
    ROW,
    BarChart,
    Column,
    Issue,
    Option,
    ReportSection,
    TableSchema,
    Text,
    cast_column,
    check_column_name,
    parse_sql_type,
    rule_message,
)

from .timecol import TimeColumnIngestor, source_file, value_text

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext, SqlType

DATETIME = parse_sql_type("DATETIME")
MAX_GAPS = 64


def _duration(us: int) -> str:
    """Microseconds in the largest whole unit: 1 day, 6 h, 15 min, 30 s, 250 ms."""
    for size, unit in ((86_400_000_000, "day"), (3_600_000_000, "h"), (60_000_000, "min"), (1_000_000, "s"), (1_000, "ms")):
        if us and us % size == 0:
            count = us // size
            return f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}"
    return f"{us / 1_000_000:g} s"
DOUBLE = parse_sql_type("DOUBLE")
_EPOCH = dt.datetime(1970, 1, 1)
_TIME_TYPES = ("DATETIME", "DATE")


class _Order:
    """The last valid timestamp seen (microseconds since the epoch, UTC) and its row."""

    def __init__(self) -> None:
        self.started_us = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - _EPOCH) // dt.timedelta(
            microseconds=1
        )
        self.last_us: int | None = None
        self.last_row: int | None = None
        # for the local data report: the series' span, its steps and the time between them
        self.first_us: int | None = None
        self.steps = 0
        self.gaps: dict[int, int] = {}  # microseconds between steps -> how often (at most MAX_GAPS kinds)


class TimeSeriesForecasting(TimeColumnIngestor):
    """Rows in time order: a ``timestamp`` column, numeric features and a numeric target."""

    category = "time_series_forecasting"
    label_kind = "regression"
    summary = "A time-ordered table of numeric features and a numeric target."
    options = (
        Option(
            "time_column",
            Text(),
            default="timestamp",
            help="The column of date-times the rows are ordered by; stored as a DATETIME feature",
        ),
    )

    def time_sql_type(self, ctx: "RunContext") -> "SqlType":
        return DATETIME

    def time_type_problem(self, sql_type: "SqlType") -> str | None:
        if sql_type.name in _TIME_TYPES:
            return None
        return f"the time column is stored as DATETIME; declare it DATETIME (or TIMESTAMP), not {sql_type}"

    def _order(self, ctx: "RunContext") -> _Order:
        return ctx.state(f"timeseries:{self.category}:order", _Order)

    def check_header(self, ctx: "RunContext", names: list[str], rel: str | None) -> Iterable[Issue]:
        yield from super().check_header(ctx, names, rel)
        for name, text in (self.declared_features(ctx) or {}).items():
            sql_type = parse_sql_type(text)
            if not sql_type.is_numeric:
                yield Issue(
                    "numeric_feature",
                    f"forecasting features must be numeric; this one is declared {sql_type}",
                    column=name,
                    file=rel,
                )

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        self._order(ctx)  # the run's start time is taken before the first cell is read
        return super().start(ctx)

    def check_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        issues = list(super().check_columns(ctx, batch))
        if self.declared_features(ctx) is None:
            issues.extend(self._inferred_numeric(ctx, batch))
        return issues

    def _inferred_numeric(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        rel = source_file(ctx)
        rows = batch.column(ROW)
        excluded = self.excluded_columns(ctx)
        for name in batch.schema.names:
            if name.startswith(HOST_PREFIX) or name in excluded or check_column_name(name):
                continue
            raw = batch.column(name)
            result = cast_column(raw, DOUBLE)
            for idx in result.failed.to_pylist():
                yield Issue(
                    "numeric_feature",
                    "forecasting features must be finite numbers",
                    row=rows[idx].as_py(),
                    column=name,
                    file=rel,
                    value=value_text(raw, idx),
                )

    def check_time(self, ctx: "RunContext", batch: pa.RecordBatch, values: pa.Array, rel: str | None) -> Iterable[Issue]:
        name = self.time_column(ctx)
        rows = batch.column(ROW)
        result = cast_column(values, DATETIME)
        for idx, rule in zip(result.failed.to_pylist(), result.rules.to_pylist()):
            yield Issue(rule, rule_message(rule, DATETIME), row=rows[idx].as_py(), column=name, file=rel, value=value_text(values, idx))
        stamps = result.array
        # A cell that failed to parse is NULL in the cast column too; only the others are missing.
        missing = pc.and_(pc.is_null(stamps), pc.invert(pc.is_in(rows, value_set=pc.take(rows, result.failed))))
        for row in pc.filter(rows, missing).to_pylist():
            yield Issue("required", "a timestamp is required", row=row, column=name, file=rel)

        valid = pc.is_valid(stamps)
        micros = pc.filter(stamps, valid).cast(pa.int64())
        vrows = pc.filter(rows, valid)
        if len(micros) == 0:
            return
        order = self._order(ctx)
        future = pc.greater_equal(micros, order.started_us)
        raw = pc.filter(values, valid)
        for idx in pc.indices_nonzero(future).to_pylist():
            yield Issue(
                "future_time",
                "not before the moment this run started (compared in UTC; a value without an offset counts as UTC)",
                row=vrows[idx].as_py(),
                column=name,
                file=rel,
                value=value_text(raw, idx),
            )
        # Each valid timestamp against the valid one before it, across batch boundaries.
        head_us = [] if order.last_us is None else [order.last_us]
        head_row = [] if order.last_row is None else [order.last_row]
        previous = pa.concat_arrays([pa.array(head_us, pa.int64()), micros.slice(0, len(micros) - 1)])
        previous_rows = pa.concat_arrays([pa.array(head_row, pa.int64()), vrows.slice(0, len(vrows) - 1)])
        offset = 0 if order.last_us is None else 1
        current = micros.slice(1 - offset)
        for idx in pc.indices_nonzero(pc.less(current, previous)).to_pylist():
            here = idx + 1 - offset
            yield Issue(
                "time_order",
                f"earlier than the timestamp of row {previous_rows[idx].as_py():,}; timestamps must not decrease",
                row=vrows[here].as_py(),
                column=name,
                file=rel,
                value=value_text(raw, here),
            )
        order.last_us = micros[-1].as_py()
        order.last_row = vrows[-1].as_py()
        if order.first_us is None:
            order.first_us = micros[0].as_py()
        order.steps += len(micros)
        found = pc.value_counts(pc.subtract(current, previous))
        for gap, n in zip(found.field("values").to_pylist(), found.field("counts").to_pylist()):
            if gap in order.gaps or len(order.gaps) < MAX_GAPS:
                order.gaps[gap] = order.gaps.get(gap, 0) + n

    def report_sections(self, ctx: "RunContext", statistics) -> list[ReportSection]:
        """The series: how many time steps, from when to when, and the time between steps (local report only)."""
        order = self._order(ctx)
        if not order.steps or order.first_us is None:
            return []
        first, last = (_EPOCH + dt.timedelta(microseconds=us) for us in (order.first_us, order.last_us))
        text = f"One series of {order.steps:,} time steps from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}."
        gaps = {_duration(us): n for us, n in sorted(order.gaps.items())}
        items = (BarChart(gaps, title="Time between steps", xlabel="steps"),) if gaps else ()
        return [ReportSection("Series", text, items)]

    def feature_schema(self, ctx: "RunContext") -> TableSchema:
        schema = super().feature_schema(ctx)
        if self.declared_features(ctx) is not None:
            return schema
        # Validation proved every inferred feature numeric; a column the inference left
        # textual (all empty, or integers with leading zeros) is stored as DOUBLE.
        features = tuple(c if c.type.is_numeric else Column(c.name, DOUBLE) for c in schema.features)
        return TableSchema(features, inferred=schema.inferred)
