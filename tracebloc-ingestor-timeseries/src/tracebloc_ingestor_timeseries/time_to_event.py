"""``time_to_event_prediction``: a duration column and an event indicator as the label.

The time column (``time`` unless the ``time_column`` option says otherwise) is a
non-negative number and stays an ordinary feature column; an empty time is a warning.
The label is the event indicator. Sources write it as ``1``/``0``, ``true``/``false``
(any case) or ``1.0``/``0.0`` (a float column, as lifelines accepts); every form is
stored in ``label`` as ``1`` (event) or ``0`` (censored) and sent with its counts in
that form, never bucketed, because a trainer needs the event flag itself. Any other
value is refused (``event_indicator``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.compute as pc
from tracebloc_ingestor.api import (
    LABEL,
    ROW,
    WARNING,
    Issue,
    Option,
    Tally,
    Text,
    TypeInference,
    cast_column,
    parse_sql_type,
    rule_message,
    set_column,
)

from .timecol import TimeColumnIngestor, cell_issues, source_file, value_text

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext, SqlType

DOUBLE = parse_sql_type("DOUBLE")
EVENT, CENSORED = "1", "0"
# after trimming and lower-casing; 1.0/0.0 with any number of zeros after the point
_EVENT = r"^(?:1(?:\.0*)?|true)$"
_CENSORED = r"^(?:0(?:\.0*)?|false)$"


def canonical_events(values: pa.Array) -> pa.Array:
    """Each event indicator as ``1`` or ``0``; NULL where it is empty or not an indicator."""
    text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
    text = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    none = pa.scalar(None, pa.string())
    censored = pc.if_else(pc.match_substring_regex(text, _CENSORED), CENSORED, none)
    return pc.if_else(pc.match_substring_regex(text, _EVENT), EVENT, censored)


class _Events:
    """How many rows of each canonical indicator the validation pass saw."""

    def __init__(self) -> None:
        self.counts = {EVENT: 0, CENSORED: 0}


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
        negative = pc.less(pc.cast(times, pa.float64()), 0.0)
        yield from cell_issues("non_negative", "a time to event cannot be negative", negative, rows, values, name, rel)
        missing = pc.and_(pc.is_null(times), pc.invert(pc.is_in(rows, value_set=pc.take(rows, result.failed))))
        for row in pc.filter(rows, missing).to_pylist():
            yield Issue("time_missing", "no time value; the record is stored with an empty time", row=row, column=name, file=rel, severity=WARNING)

    def _events(self, ctx: "RunContext") -> _Events:
        return ctx.state(f"timeseries:{self.category}:events", _Events)

    def check_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        issues = list(super().check_columns(ctx, batch))
        label = self.label_column(ctx)
        if label in batch.schema.names:
            issues.extend(self._check_events(ctx, batch, batch.column(label)))
        return issues

    def _check_events(self, ctx: "RunContext", batch: pa.RecordBatch, values: pa.Array) -> Iterable[Issue]:
        events = canonical_events(values)
        counts = self._events(ctx).counts
        counts[EVENT] += pc.sum(pc.equal(events, EVENT)).as_py() or 0
        counts[CENSORED] += pc.sum(pc.equal(events, CENSORED)).as_py() or 0
        text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
        # Empty labels are the core's "required" rule; only present, unknown values are ours.
        bad = pc.and_(pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(text), ""), False), pc.is_null(events))
        why = "an event indicator is 1 (event) or 0 (censored); true/false and 1.0/0.0 are accepted and stored as 1/0"
        return cell_issues("event_indicator", why, bad, batch.column(ROW), values, self.label_column(ctx), source_file(ctx))

    def shard_facts(self, ctx: "RunContext") -> dict:
        """The shard's indicator counts, for the rule over both values (check_labels_end)."""
        return {**super().shard_facts(ctx), "event_indicators": Tally(self._events(ctx).counts)}

    def validate_shards(self, ctx: "RunContext", facts) -> Iterable[Issue]:
        counts = self._events(ctx).counts
        merged = facts["event_indicators"].counts if "event_indicators" in facts else {}
        for key in counts:
            counts[key] = merged.get(key, 0)
        return super().validate_shards(ctx, facts)

    def check_labels_end(self, ctx: "RunContext") -> Iterable[Issue]:
        """Two distinct indicators, counted after normalising (true and 1 are one class)."""
        if self.label_column(ctx) not in self.ts_state(ctx).source_names:
            return  # the header check has said so already
        counts = self._events(ctx).counts
        distinct = sum(1 for n in counts.values() if n)
        if distinct < 2:
            yield Issue(
                "label_diversity",
                "the event indicator needs both values, 1 (event) and 0 (censored);"
                f" the input has {distinct} after normalising true/false and 1.0/0.0",
                column=self.label_column(ctx),
            )

    def cast_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        """The core's cast, with the event indicator in ``label`` as ``1`` or ``0``."""
        out = super().cast_batch(ctx, batch)
        if LABEL in out.schema.names:
            out = set_column(out, LABEL, canonical_events(out.column(LABEL)))
        return out
