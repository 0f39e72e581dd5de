"""``time_series_forecasting``: a table of numeric features in time order, with a numeric target.

Every time value must parse (an ISO date-time, or with ``time_format: period`` a
calendar period such as ``1975Q3``, stored as its first moment) and lie before the
moment the run started (UTC; values without an offset count as UTC). The time values
must not decrease: over the whole input, or with ``series_column`` within each series
of a panel (several series in one file, each in time order, in any interleaving). The
last time of the input, or of each series, is carried from batch to batch. Every other
feature is numeric. The target leaves the cluster only as bucket ids; about the series
only counts leave (how many, and how long in power-of-two buckets).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.compute as pc
from tracebloc_ingestor.api import (
    HOST_PREFIX,
    ROW,
    Choice,
    BarChart,
    Column,
    Issue,
    Numeric,
    Option,
    ReportSection,
    TableSchema,
    Tally,
    Text,
    Total,
    cast_column,
    check_column_name,
    parse_sql_type,
    rule_message,
    set_column,
)

from .groups import GroupColumn
from .periods import FORMS, PERIOD_MESSAGE, pandas_period_frequency, pandas_periods, parse_periods
from .series_state import MEMORY_LIMIT, SeriesTracker, length_bucket, order_breaks
from .timecol import TimeColumnIngestor, cell_issues, source_file, value_text

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext, RunReport, SqlType

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
SERIES = GroupColumn("series_column", "series")


class _Order:
    """The run's start, the last valid time (microseconds since the epoch, UTC) and its row,
    each series' last time when the input is a panel, and the periods' frequency."""

    def __init__(self, series_in_memory: int) -> None:
        self.started_us = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - _EPOCH) // dt.timedelta(
            microseconds=1
        )
        self.last_us: int | None = None
        self.last_row: int | None = None
        self.series = SeriesTracker(series_in_memory)
        self.series_ok = True
        self.frequency: str | None = None
        self.frequency_row: int | None = None
        self.periods = 0
        self.pandas_refused = False
        self.described = False
        # for the local data report: the series' span, its steps and the time between them
        self.first_us: int | None = None
        self.steps = 0
        self.gaps: dict[int, int] = {}  # microseconds between steps -> how often (at most MAX_GAPS kinds)


class TimeSeriesForecasting(TimeColumnIngestor):
    """Rows in time order: a ``timestamp`` column, numeric features and a numeric target.

    With ``series_column`` the table is a panel: many series, each in time order.
    ``series_in_memory`` bounds how many series' last times are kept in memory before
    they move to a temporary SQLite file (see :mod:`.series_state`).
    """

    category = "time_series_forecasting"
    label_kind = "regression"
    summary = "A time-ordered table (or a panel of series) of numeric features and a numeric target."
    series_in_memory = MEMORY_LIMIT
    options = (
        Option(
            "time_column",
            Text(),
            default="timestamp",
            help="The column of date-times (or periods) the rows are ordered by; stored as a DATETIME feature",
        ),
        Option(
            "series_column",
            Text(),
            help="The column naming each row's series when one file holds many (a panel in the long layout);"
            " time order is then checked per series. Unset: the file is one series",
        ),
        Option(
            "time_format",
            Choice("datetime", "period"),
            default="datetime",
            help="How the time column is written: datetime (YYYY-MM-DD[ HH:MM[:SS]]) or period"
            " (1975, 1975Q3, 1949-01, 1975-W07), stored as the period's first moment",
        ),
    )

    def time_sql_type(self, ctx: "RunContext") -> "SqlType":
        return DATETIME

    def shard_problem(self, settings) -> str | None:
        return ("time_series_forecasting checks time order and the period frequency across the whole input (or a whole "
                "series); a shard sees only its share of the rows, so run it in one process")

    def time_type_problem(self, sql_type: "SqlType") -> str | None:
        if sql_type.name in _TIME_TYPES:
            return None
        return f"the time column is stored as DATETIME; declare it DATETIME (or TIMESTAMP), not {sql_type}"

    def _order(self, ctx: "RunContext") -> _Order:
        return ctx.state(f"timeseries:{self.category}:order", lambda: _Order(self.series_in_memory))

    @staticmethod
    def _panel(ctx: "RunContext") -> bool:
        return ctx.options.series_column is not None

    def leading_features(self, ctx: "RunContext") -> int:
        return 1 if self._panel(ctx) else 0

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        excluded = super().excluded_columns(ctx)
        return excluded | {SERIES.name(ctx)} if self._panel(ctx) else excluded

    def check_header(self, ctx: "RunContext", names: list[str], rel: str | None) -> Iterable[Issue]:
        issues = list(super().check_header(ctx, names, rel))
        if self._panel(ctx):
            problems = SERIES.check_header(ctx, names, rel, taken=(self.label_column(ctx), self.time_column(ctx)))
            self._order(ctx).series_ok = not any(i.is_error for i in problems)
            issues.extend(problems)
        for name, text in (self.declared_features(ctx) or {}).items():
            sql_type = parse_sql_type(text)
            if not sql_type.is_numeric:
                issues.append(
                    Issue(
                        "numeric_feature",
                        f"forecasting features must be numeric; this one is declared {sql_type}",
                        column=name,
                        file=rel,
                    )
                )
        return issues

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        self._order(ctx)  # the run's start time is taken before the first cell is read
        return super().start(ctx)

    def check_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        issues = list(super().check_columns(ctx, batch))
        if self.declared_features(ctx) is None:
            issues.extend(self._inferred_numeric(ctx, batch))
        if self._panel(ctx) and self._order(ctx).series_ok and not self.ts_state(ctx).time_present:
            issues.extend(SERIES.ids(ctx, batch, source_file(ctx))[1])  # no time to order by; the ids still count
        return issues

    def _inferred_numeric(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        rel = source_file(ctx)
        rows = batch.column(ROW)
        excluded = self.excluded_columns(ctx)
        for name in batch.schema.names:
            if name.startswith(HOST_PREFIX) or name in excluded or check_column_name(name):
                continue
            raw = batch.column(name)
            failed = cast_column(raw, DOUBLE).failed
            broken = pc.is_in(rows, value_set=pc.take(rows, failed))  # record numbers are unique
            yield from cell_issues("numeric_feature", "forecasting features must be finite numbers", broken, rows, raw, name, rel)

    # -- the time column ---------------------------------------------------------------

    def check_time(self, ctx: "RunContext", batch: pa.RecordBatch, values: pa.Array, rel: str | None) -> Iterable[Issue]:
        name = self.time_column(ctx)
        rows = batch.column(ROW)
        order = self._order(ctx)
        issues: list[Issue] = []
        stamps = self._times(ctx, batch, rel, issues)
        valid = pc.is_valid(stamps)
        future = pc.greater_equal(stamps.cast(pa.int64()), order.started_us)
        issues += cell_issues(
            "future_time",
            "not before the moment this run started (compared in UTC; a value without an offset counts as UTC)",
            future, rows, values, name, rel,
        )
        if self._panel(ctx):
            if order.series_ok:
                keys, problems = SERIES.ids(ctx, batch, rel)
                issues.extend(problems)
                issues.extend(self._series_order(ctx, keys, stamps, values, rows, rel))
        else:
            issues.extend(self._input_order(ctx, pc.filter(stamps, valid), pc.filter(values, valid), pc.filter(rows, valid), rel))
        return issues

    def _times(self, ctx: "RunContext", batch: pa.RecordBatch, rel, issues: list[Issue]) -> pa.Array:
        """The batch's times as timestamp[us] (NULL where missing or broken); adds the issues."""
        name = self.time_column(ctx)
        values = batch.column(name)
        rows = batch.column(ROW)
        frequency = pandas_period_frequency(batch.schema.field(name))
        if frequency is not None:
            return self._pandas_periods(ctx, frequency, values, rows, rel, issues)
        result = cast_column(values, DATETIME)
        broken = pc.is_in(rows, value_set=pc.take(rows, result.failed))  # record numbers are unique
        # a cell the cast calls NULL without failing is missing (empty, or a null token)
        missing = pc.and_(pc.is_null(result.array), pc.invert(broken))
        self._required(ctx, rows, missing, rel, issues)
        if ctx.options.time_format == "period":
            return self._one_frequency(ctx, parse_periods(values, pc.invert(missing)), values, rows, rel, issues)
        periods = parse_periods(values, broken) if len(result.failed) else None
        for idx, rule in zip(result.failed.to_pylist(), result.rules.to_pylist()):
            message = rule_message(rule, DATETIME)
            if periods is not None and periods.moments[idx].is_valid:
                message += "; it reads as a calendar period: set time_format to period (TIME_FORMAT=period, --time-format period)"
            issues.append(Issue(rule, message, row=rows[idx].as_py(), column=name, file=rel, value=value_text(values, idx)))
        return result.array

    def _required(self, ctx: "RunContext", rows: pa.Array, missing: pa.Array, rel, issues: list[Issue]) -> None:
        for row in pc.filter(rows, missing).to_pylist():
            issues.append(Issue("required", "a timestamp is required", row=row, column=self.time_column(ctx), file=rel))

    def _pandas_periods(self, ctx: "RunContext", frequency: str, values, rows, rel, issues: list[Issue]) -> pa.Array:
        """A column of pandas periods (Parquet written by pandas): read whatever time_format says."""
        periods = pandas_periods(values, frequency)
        if periods is None:
            order = self._order(ctx)
            if not order.pandas_refused:
                order.pandas_refused = True
                why = (
                    f"a column of pandas periods of frequency {frequency}; yearly (Y-DEC), quarterly (Q-DEC),"
                    " monthly (M), weekly (W-SUN) and daily (D) periods are read; write others as text"
                )
                issues.append(Issue("period", why, column=self.time_column(ctx), file=rel))
            return pa.nulls(len(values), pa.timestamp("us"))
        self._required(ctx, rows, pc.is_null(values), rel, issues)
        return self._one_frequency(ctx, periods, values, rows, rel, issues)

    def _one_frequency(self, ctx: "RunContext", periods, values, rows, rel, issues: list[Issue]) -> pa.Array:
        """The periods' first moments; every period must parse and have the first one's frequency."""
        name = self.time_column(ctx)
        order = self._order(ctx)
        issues += cell_issues("period", PERIOD_MESSAGE, periods.failed_mask, rows, values, name, rel)
        parsed = pc.indices_nonzero(pc.is_valid(periods.frequency))
        if order.frequency is None and len(parsed):
            order.frequency = periods.frequency[parsed[0].as_py()].as_py()
            order.frequency_row = rows[parsed[0].as_py()].as_py()
        if order.frequency is None:
            return periods.moments
        other = pc.fill_null(pc.not_equal(periods.frequency, order.frequency), False)
        why = (
            f"every period has the frequency of the first one (row {order.frequency_row:,}:"
            f" a {order.frequency}, {FORMS[order.frequency]})"
        )
        issues += cell_issues("period_frequency", why, other, rows, values, name, rel)
        order.periods += len(parsed) - (pc.sum(other).as_py() or 0)
        return pc.if_else(other, pa.scalar(None, periods.moments.type), periods.moments)

    def _input_order(self, ctx: "RunContext", micros: pa.Array, raw: pa.Array, vrows: pa.Array, rel) -> Iterable[Issue]:
        """Each valid time against the valid one before it, across batch boundaries."""
        if len(micros) == 0:
            return
        micros = micros.cast(pa.int64())
        order = self._order(ctx)
        name = self.time_column(ctx)
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
        if ctx.options.get("series_column"):
            count = sum(n for _length, n in order.series.lengths())
            text = f"{count:,} series, {order.steps:,} time steps in all."
        else:
            text = f"One series of {order.steps:,} time steps from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}."
        gaps = {_duration(us): n for us, n in sorted(order.gaps.items())}
        items = (BarChart(gaps, title="Time between steps", xlabel="steps"),) if gaps else ()
        return [ReportSection("Series", text, items)]

    def _series_order(self, ctx: "RunContext", keys, stamps, values, rows, rel) -> Iterable[Issue]:
        """Each valid time against the one before it in the same series, across batches."""
        keep = pc.and_(pc.is_valid(keys), pc.is_valid(stamps))
        breaks = order_breaks(
            self._order(ctx).series, pc.filter(keys, keep), pc.filter(stamps, keep).cast(pa.int64()), pc.filter(rows, keep)
        )
        breaks.sort()
        at = pc.index_in(pa.array([row for row, _ in breaks], pa.int64()), value_set=rows).to_pylist()
        for (row, earlier), idx in zip(breaks, at):
            yield Issue(
                "time_order",
                f"earlier than the timestamp of row {earlier:,} of the same series; timestamps must not decrease within a series",
                row=row,
                column=self.time_column(ctx),
                file=rel,
                value=value_text(values, idx),
            )

    # -- the table and what leaves ---------------------------------------------------------

    def feature_schema(self, ctx: "RunContext") -> TableSchema:
        schema = super().feature_schema(ctx)
        features = schema.features
        if self.declared_features(ctx) is None:
            # Validation proved every inferred feature numeric; a column the inference left
            # textual (all empty, or integers with leading zeros) is stored as DOUBLE.
            features = tuple(c if c.type.is_numeric else Column(c.name, DOUBLE) for c in features)
        if self._panel(ctx):
            features = (SERIES.column(ctx), *features)
        return TableSchema(features, inferred=schema.inferred)

    def cast_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        """The core's cast, with periods (text, or pandas ordinals) as their first moments."""
        out = super().cast_batch(ctx, batch)
        name = self.time_column(ctx)
        if name not in batch.schema.names:
            return out
        values = batch.column(name)
        frequency = pandas_period_frequency(batch.schema.field(name))
        # validation proved every time a period of one frequency (or a date-time)
        if frequency is not None:
            return set_column(out, name, pandas_periods(values, frequency).moments)
        if ctx.options.time_format == "period":
            return set_column(out, name, parse_periods(values, pc.is_valid(values)).moments)
        return out

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        out = super().describe(ctx, batch)
        order = self._order(ctx)
        if order.described:
            return out
        # counted in the validation pass; sent once (statistics are summed over batches)
        order.described = True
        if self._panel(ctx):
            lengths = list(order.series.lengths())
            buckets: dict[str, int] = {}
            for length, n in lengths:
                buckets[length_bucket(length)] = buckets.get(length_bucket(length), 0) + n
            out["series"] = Total(sum(n for _, n in lengths))
            out["series_length"] = Numeric(
                count=sum(n for _, n in lengths),
                minimum=min((length for length, _ in lengths), default=None),
                maximum=max((length for length, _ in lengths), default=None),
                total=float(sum(length * n for length, n in lengths)),
                total_sq=float(sum(length * length * n for length, n in lengths)),
            )
            out["series_length_buckets"] = Tally(buckets)
            order.series.close()
        if order.frequency is not None:
            out["time_periods"] = Tally({order.frequency: order.periods})
        return out

    def finish(self, ctx: "RunContext", report: "RunReport") -> None:
        self._order(ctx).series.close()
        super().finish(ctx, report)
