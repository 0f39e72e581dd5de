"""``time_to_event_prediction``: a duration column and an event indicator as the label.

The time column (``time`` unless the ``time_column`` option says otherwise) is a
non-negative number and stays an ordinary feature column; an empty time is a warning.
The label is the event indicator, 1/0 (or true/false): it is sent with its counts as it
is, never bucketed, because a trainer needs the event flag itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.compute as pc
from tracebloc_ingestor.api import (
    ROW,
    WARNING,
    Issue,
    Option,
    Text,
    TypeInference,
    cast_column,
    parse_sql_type,
    rule_message,
)

from .timecol import TimeColumnIngestor, source_file, value_text

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext, SqlType

DOUBLE = parse_sql_type("DOUBLE")
EVENT_VALUES = pa.array(["0", "1", "true", "false"])


class TimeToEventPrediction(TimeColumnIngestor):
    """Rows with a non-negative duration and a 0/1 event indicator as the label."""

    category = "time_to_event_prediction"
    label_kind = "classification"
    summary = "A table of features, a non-negative time and a 0/1 event indicator."
    options = (
        Option(
            "time_column", Text(), default="time", help="The duration column: non-negative numbers, stored as a numeric feature"
        ),
    )

    def time_type_problem(self, sql_type: "SqlType") -> str | None:
        if sql_type.is_numeric:
            return None
        return f"the time column must be numeric; it is declared {sql_type}"

    def _time_cast_type(self, ctx: "RunContext") -> "SqlType":
        declared = self.declared_time_type(ctx)
        return declared if declared is not None and declared.is_numeric else DOUBLE

    def _inference(self, ctx: "RunContext") -> TypeInference:
        return ctx.state(f"timeseries:{self.category}:time_type", TypeInference)

    def time_sql_type(self, ctx: "RunContext") -> "SqlType":
        declared = self.declared_time_type(ctx)
        if declared is not None:
            return declared
        inferred = self._inference(ctx).result()
        # An all-empty column infers as text; a duration column is numeric whatever it holds.
        return inferred if inferred.is_numeric else DOUBLE

    def check_time(self, ctx: "RunContext", batch: pa.RecordBatch, values: pa.Array, rel: str | None) -> Iterable[Issue]:
        name = self.time_column(ctx)
        rows = batch.column(ROW)
        sql_type = self._time_cast_type(ctx)
        if self.declared_time_type(ctx) is None:
            self._inference(ctx).update(values)
        result = cast_column(values, sql_type)
        for idx, rule in zip(result.failed.to_pylist(), result.rules.to_pylist()):
            yield Issue(rule, rule_message(rule, sql_type), row=rows[idx].as_py(), column=name, file=rel, value=value_text(values, idx))
        times = result.array
        negative = pc.fill_null(pc.less(pc.cast(times, pa.float64()), 0.0), False)
        for idx in pc.indices_nonzero(negative).to_pylist():
            yield Issue(
                "non_negative",
                "a time to event cannot be negative",
                row=rows[idx].as_py(),
                column=name,
                file=rel,
                value=value_text(values, idx),
            )
        missing = pc.and_(pc.is_null(times), pc.invert(pc.is_in(rows, value_set=pc.take(rows, result.failed))))
        for row in pc.filter(rows, missing).to_pylist():
            yield Issue("time_missing", "no time value; the record is stored with an empty time", row=row, column=name, file=rel, severity=WARNING)

    def check_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        issues = list(super().check_columns(ctx, batch))
        label = self.label_column(ctx)
        if label in batch.schema.names:
            issues.extend(self._check_events(ctx, batch, batch.column(label)))
        return issues

    def _check_events(self, ctx: "RunContext", batch: pa.RecordBatch, values: pa.Array) -> Iterable[Issue]:
        text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
        text = pc.utf8_lower(pc.utf8_trim_whitespace(text))
        # Empty labels are the core's "required" rule; only present, unknown values are ours.
        bad = pc.and_(pc.not_equal(text, ""), pc.invert(pc.is_in(text, value_set=EVENT_VALUES)))
        rows = batch.column(ROW)
        rel = source_file(ctx)
        for idx in pc.indices_nonzero(pc.fill_null(bad, False)).to_pylist():
            yield Issue(
                "event_indicator",
                "an event indicator is 1 (event) or 0 (censored); true and false are accepted too",
                row=rows[idx].as_py(),
                column=self.label_column(ctx),
                file=rel,
                value=value_text(values, idx),
            )
