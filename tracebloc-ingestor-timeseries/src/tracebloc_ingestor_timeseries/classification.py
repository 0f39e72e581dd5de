"""``time_series_classification``: labelled sequences, one row per time step.

Every row names its sequence (the ``sequence_column`` option, ``sequence_id`` by
default) and its place in it (the ``time_column`` option, ``timestamp`` by default:
date-times, or numeric steps). Within a sequence the time must not decrease and the
label must stay the same; rows of one sequence may be spread over the whole input, so
each sequence's first label and last time are carried from batch to batch. The rows
of a batch are compared with pyarrow; Python loops only over the distinct sequences of
a batch. A run with any problem stores nothing, so a sequence is stored whole or not
at all. The registration counts sequences, in total and per label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.compute as pc
from tracebloc_ingestor.api import (
    ROW,
    BarChart,
    Column,
    Histogram,
    Issue,
    Option,
    ReportSection,
    TableSchema,
    Tally,
    Text,
    Total,
    TypeInference,
    cast_column,
    parse_sql_type,
    rule_message,
)

from .groups import GroupColumn
from .series_state import SeriesTracker, order_breaks
from .timecol import TimeColumnIngestor, source_file, value_text

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext, RunReport, SqlType

DATETIME = parse_sql_type("DATETIME")
DOUBLE = parse_sql_type("DOUBLE")
SEQUENCE = GroupColumn("sequence_column", "sequence")


class _Sequences:
    """Per run: each sequence's first label and row, last time and row, and the time type."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[str, int]] = {}
        self.last = SeriesTracker()
        self.lengths: dict[str, int] = {}  # rows per sequence, for the local data report
        self.time_type: "SqlType | None" = None
        self.inference = TypeInference()
        self.described = False
        self.header_ok = True


class TimeSeriesClassification(TimeColumnIngestor):
    """Rows grouped into sequences by the sequence column (``sequence_id``); one label per sequence."""

    category = "time_series_classification"
    label_kind = "classification"
    summary = "Labelled sequences: one row per time step, grouped by sequence_id."
    options = (
        Option(
            "time_column",
            Text(),
            default="timestamp",
            help="The column of each row's place in its sequence: date-times or numeric steps",
        ),
        Option("sequence_column", Text(), default="sequence_id", help="The column naming each row's sequence (text)"),
    )

    def _seq(self, ctx: "RunContext") -> _Sequences:
        return ctx.state(f"timeseries:{self.category}:sequences", _Sequences)

    def sequence_column(self, ctx: "RunContext") -> str:
        return SEQUENCE.name(ctx)

    def leading_features(self, ctx: "RunContext") -> int:
        return 1

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        return super().excluded_columns(ctx) | {self.sequence_column(ctx)}

    def shard_key(self, ctx: "RunContext", batch: pa.RecordBatch) -> list[str | None] | None:
        """A sequence's rows stay together: the sequence id decides the shard of a scaled-out run."""
        name = self.sequence_column(ctx)
        if name not in batch.schema.names:
            return None
        return [None if v is None else str(v) for v in batch.column(name).to_pylist()]

    # -- column types --------------------------------------------------------------------

    def time_type_problem(self, sql_type: "SqlType") -> str | None:
        if sql_type.is_numeric or sql_type.name in ("DATETIME", "DATE"):
            return None
        return f"the time column holds date-times or numeric steps; it is declared {sql_type}"

    def _time_type(self, ctx: "RunContext", values: pa.Array) -> "SqlType":
        """The declared type, else the first batch's: date-times when they all parse, else numbers."""
        seq = self._seq(ctx)
        if seq.time_type is None:
            declared = self.declared_time_type(ctx)
            if declared is not None:
                seq.time_type = DATETIME if declared.name == "DATE" else declared
            elif pc.all(pc.is_null(values)).as_py():
                return DOUBLE  # nothing to decide by yet
            else:
                seq.time_type = DATETIME if cast_column(values, DATETIME).ok else DOUBLE
        return seq.time_type

    def time_sql_type(self, ctx: "RunContext") -> "SqlType":
        declared = self.declared_time_type(ctx)
        if declared is not None:
            return DATETIME if declared.name == "DATE" else declared
        seq = self._seq(ctx)
        if seq.time_type is not None and seq.time_type.name == "DATETIME":
            return DATETIME
        inferred = seq.inference.result()
        return inferred if inferred.is_numeric else DOUBLE

    def feature_schema(self, ctx: "RunContext") -> TableSchema:
        base = super().feature_schema(ctx)
        return TableSchema((SEQUENCE.column(ctx), *base.features), inferred=base.inferred)

    # -- validation ----------------------------------------------------------------------

    def check_header(self, ctx: "RunContext", names: list[str], rel: str | None) -> Iterable[Issue]:
        issues = list(super().check_header(ctx, names, rel))
        issues.extend(SEQUENCE.check_header(ctx, names, rel, taken=(self.label_column(ctx), self.time_column(ctx))))
        if self.label_column(ctx) not in names or any(i.is_error for i in issues):
            self._seq(ctx).header_ok = False  # the per-sequence rules need all three columns
        return issues

    def check_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        issues = list(super().check_columns(ctx, batch))
        if self._seq(ctx).header_ok:
            issues.extend(self._check_sequences(ctx, batch))
        return issues

    def check_time(self, ctx: "RunContext", batch: pa.RecordBatch, values: pa.Array, rel: str | None) -> Iterable[Issue]:
        sql_type = self._time_type(ctx, values)
        if sql_type.name != "DATETIME" and self.declared_time_type(ctx) is None:
            self._seq(ctx).inference.update(values)
        result = cast_column(values, sql_type)
        rows = batch.column(ROW)
        name = self.time_column(ctx)
        for idx, rule in zip(result.failed.to_pylist(), result.rules.to_pylist()):
            yield Issue(rule, rule_message(rule, sql_type), row=rows[idx].as_py(), column=name, file=rel, value=value_text(values, idx))
        missing = pc.and_(pc.is_null(result.array), pc.invert(pc.is_in(rows, value_set=pc.take(rows, result.failed))))
        for row in pc.filter(rows, missing).to_pylist():
            yield Issue("required", "a time step is required", row=row, column=name, file=rel)

    def _check_sequences(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        state = self._seq(ctx)
        rel = source_file(ctx)
        rows = batch.column(ROW)
        ids, problems = SEQUENCE.ids(ctx, batch, rel)
        yield from problems
        blank = pc.is_null(ids)

        labels = batch.column(self.label_column(ctx))
        labels = pc.utf8_trim_whitespace(labels if pa.types.is_string(labels.type) else pc.cast(labels, pa.string()))
        times = cast_column(batch.column(self.time_column(ctx)), self._time_type(ctx, batch.column(self.time_column(ctx)))).array
        times = times.cast(pa.int64()) if pa.types.is_timestamp(times.type) else pc.cast(times, pa.float64())
        keep = pc.and_(pc.invert(blank), pc.fill_null(pc.not_equal(labels, ""), False))
        table = pa.table({"id": ids, "label": labels, "time": times, "row": rows})
        table = table.filter(keep)
        if table.num_rows == 0:
            return
        counts = pc.value_counts(table.column("id").combine_chunks())
        for key, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
            state.lengths[key] = state.lengths.get(key, 0) + n
        yield from self._labels(state, table, rel, self.label_column(ctx))
        yield from self._order(state, table.filter(pc.is_valid(table.column("time"))), rel, self.time_column(ctx))

    def _labels(self, state: _Sequences, table: pa.Table, rel, column: str) -> Iterable[Issue]:
        """Every row's label against the first label of its sequence."""
        ids = table.column("id").combine_chunks()
        unique = pc.unique(ids)
        group = pc.index_in(ids, value_set=unique)
        firsts = table.append_column("g", group).group_by("g").aggregate([("row", "min")]).sort_by("g")
        first_rows = firsts.column("row_min").combine_chunks()
        by_row = pc.index_in(first_rows, value_set=table.column("row").combine_chunks())
        batch_first = pc.take(table.column("label").combine_chunks(), by_row).to_pylist()
        expected_label, expected_row = [], []
        for key, label, row in zip(unique.to_pylist(), batch_first, first_rows.to_pylist()):
            known = state.first.setdefault(key, (label, row))
            expected_label.append(known[0])
            expected_row.append(known[1])
        want = pc.take(pa.array(expected_label, pa.string()), group)
        want_row = pc.take(pa.array(expected_row, pa.int64()), group)
        differs = pc.not_equal(table.column("label").combine_chunks(), want)
        for idx in pc.indices_nonzero(differs).to_pylist():
            yield Issue(
                "label_constant",
                f"the label differs from the label of the sequence's first row (row {want_row[idx].as_py():,});"
                " a sequence has one label",
                row=table.column("row")[idx].as_py(),
                column=column,
                file=rel,
                value=table.column("label")[idx].as_py(),
            )

    def _order(self, state: _Sequences, table: pa.Table, rel, column: str) -> Iterable[Issue]:
        """Within each sequence, every time against the one before it (carried across batches)."""
        breaks = order_breaks(
            state.last, table.column("id").combine_chunks(), table.column("time").combine_chunks(), table.column("row").combine_chunks()
        )
        for row, earlier in sorted(breaks):
            yield Issue(
                "sequence_order",
                f"earlier than row {earlier:,} of the same sequence; time must not decrease within a sequence",
                row=row,
                column=column,
                file=rel,
            )

    def report_sections(self, ctx: "RunContext", statistics) -> list[ReportSection]:
        """How many sequences, how long, and how many per label (local report only)."""
        state = self._seq(ctx)
        if not state.lengths:
            return []
        lengths = list(state.lengths.values())
        per_label: dict[str, int] = {}
        for label, _ in state.first.values():
            per_label[label] = per_label.get(label, 0) + 1
        text = (
            f"{len(lengths):,} sequences of {min(lengths):,} to {max(lengths):,} time steps "
            f"(mean {sum(lengths) / len(lengths):,.1f})."
        )
        items = [Histogram.of(lengths, title="Time steps per sequence", xlabel="time steps")]
        if per_label:
            items.append(BarChart(per_label, title="Sequences per label"))
        return [ReportSection("Sequences", text, items)]

    # -- what leaves -----------------------------------------------------------------------

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        out = super().describe(ctx, batch)
        state = self._seq(ctx)
        if not state.described:
            # Counted in the validation pass; sent once (statistics are summed over batches).
            state.described = True
            per_label: dict[str, int] = {}
            for label, _ in state.first.values():
                per_label[label] = per_label.get(label, 0) + 1
            out["sequences"] = Total(len(state.first))
            out["sequences_per_label"] = Tally(per_label)
        return out

    def finish(self, ctx: "RunContext", report: "RunReport") -> None:
        self._seq(ctx).last.close()
        super().finish(ctx, report)
