"""The host's own steps of every run, called by the pipeline around the category's stages.

Record identity opens the write-side chain (``data_id`` from the source columns) and
the run stamp closes it (intent, run id, host columns dropped); the database writer
writes the rows after every other loader; the label counter counts labels.
"""

from __future__ import annotations

import pyarrow as pa

from . import identity
from .context import RunContext
from .issues import Issue
from .labels import label_tally
from .batches import DATA_ID, HOST_PREFIX, set_column
from .reading import ROW_COLUMN


def source_columns(batch: pa.RecordBatch) -> list[str]:
    return sorted(n for n in batch.schema.names if not n.startswith(HOST_PREFIX))


class RecordIdentity:
    """Gives every record its ``data_id`` (see :mod:`tracebloc_ingestor.identity`)."""

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        self.tracker = identity.RepeatTracker()
        self.cache = identity.DigestCache()  # the validation pass's digests, reused by the write pass
        self._missing_column_reported = False
        self._seen = 0

    def close(self) -> None:
        self.cache.close()
        self.tracker.discard()

    def restart(self) -> None:
        """Start the write-side ids over, for another pass over the same input."""
        self.tracker.seen.clear()
        self.cache.rewind()
        self._seen = 0

    def _first_row(self, batch: pa.RecordBatch, count: bool) -> int:
        if ROW_COLUMN in batch.schema.names and batch.num_rows:
            return int(batch.column(ROW_COLUMN)[0].as_py())
        first = self._seen
        if count:
            self._seen += batch.num_rows
        return -1 - first  # plugins without record numbers: position in the stream

    def _digests(self, ctx: RunContext, batch: pa.RecordBatch) -> list[bytes]:
        settings = ctx.settings
        if settings.data_id_strategy == "column":
            cols = [settings.data_id_column]
            rows = identity.canonical_rows(batch, cols)
            rows = [r.strip() for r in rows]
            return identity.content_digests(self.salt, cols, rows)
        cols = source_columns(batch)
        return identity.content_digests(self.salt, cols, identity.canonical_rows(batch, cols))

    @property
    def repeats(self) -> int:
        return self.tracker.repeats

    def validate(self, ctx: RunContext, batch: pa.RecordBatch) -> list[Issue] | None:
        settings = ctx.settings
        if settings.data_id_strategy == "uuid":
            return None
        # an id column must be unique: its repeats are reported with their rows at the end
        self.tracker.with_rows = settings.data_id_strategy == "column"
        issues = []
        if settings.data_id_strategy == "column":
            name = settings.data_id_column
            if name not in batch.schema.names:
                if not self._missing_column_reported:
                    self._missing_column_reported = True
                    issues.append(Issue("data_id_column", "the data_id column is not in the source", column=name))
                return issues
            import pyarrow.compute as pc

            values = batch.column(name)
            if pa.types.is_string(values.type):
                blank = pc.or_kleene(pc.is_null(values), pc.equal(pc.utf8_trim_whitespace(values), ""))
            else:
                blank = pc.is_null(values)
            rows = batch.column(ROW_COLUMN)
            for row in pc.filter(rows, pc.fill_null(blank, True)).to_pylist():
                issues.append(Issue("required", "a data_id value is required", row=row, column=name))
        digests = self._digests(ctx, batch)
        first = self._first_row(batch, True)
        self.tracker.observe(digests, _rows(batch, first) if self.tracker.with_rows else None)
        if settings.data_id_strategy == "content_hash":  # the only strategy whose ids reuse them
            self.cache.put(first, digests)
        return issues

    def validate_end(self, ctx: RunContext) -> list[Issue] | None:
        if ctx.settings.data_id_strategy == "uuid":
            return None
        self.tracker.close()
        self._seen = 0
        if ctx.settings.data_id_strategy == "column" and self.tracker.repeats:
            column = ctx.settings.data_id_column
            rel = ctx.relative(ctx.settings.label_file) if ctx.settings.label_file else None
            issues = [
                Issue("unique", f"repeats the data_id value of row {first:,}; data_id values must be unique",
                      row=row, column=column, file=rel)
                for row, first in sorted(self.tracker.duplicates)
            ]
            untold = self.tracker.repeats - len(issues)
            if untold > 0:
                issues.append(Issue("unique", f"{untold:,} more records repeat a data_id value of an earlier record",
                                    column=column, file=rel))
            return issues
        return None

    def transform(self, ctx: RunContext, batch: pa.RecordBatch) -> pa.RecordBatch:
        strategy = ctx.settings.data_id_strategy
        if strategy == "uuid":
            ids = identity.random_ids(batch.num_rows)
        elif strategy == "column":
            import pyarrow.compute as pc

            values = batch.column(ctx.settings.data_id_column)
            if not pa.types.is_string(values.type):
                values = pc.cast(values, pa.string())
            ids = pc.utf8_trim_whitespace(values)
            return set_column(batch, DATA_ID, ids)
        else:
            first = self._first_row(batch, False)
            if first < 0:
                first = -1 - self._seen
                self._seen += batch.num_rows
            digests = self.cache.get(first, batch.num_rows)
            if digests is None:
                digests = self._digests(ctx, batch)
            ids = identity.ids_from_digests(digests, self.tracker.occurrences(digests))
            return set_column(batch, DATA_ID, ids)
        return set_column(batch, DATA_ID, pa.array(ids, pa.string()))


def _rows(batch: pa.RecordBatch, first: int):
    """Record numbers of the batch (1-based; from ``_tb_row`` when the category numbers its rows)."""
    import numpy as np

    if ROW_COLUMN in batch.schema.names:
        return batch.column(ROW_COLUMN).to_numpy(zero_copy_only=False).astype(np.int64)
    start = -first if first < 0 else first  # position in the stream, counted from 1
    return np.arange(start, start + batch.num_rows, dtype=np.int64)


class RunStamp:
    """Closes the transform chain: intent and run id on every row, host columns dropped."""

    def transform(self, ctx: RunContext, batch: pa.RecordBatch) -> pa.RecordBatch:
        n = batch.num_rows
        batch = set_column(batch, "data_intent", pa.array([ctx.settings.intent] * n, pa.string()))
        batch = set_column(batch, "ingestor_id", pa.array([ctx.run_id] * n, pa.string()))
        keep = [i for i, name in enumerate(batch.schema.names) if not name.startswith(HOST_PREFIX)]
        return batch.select(keep)


class LabelCounter:
    """Label counts for the registration; regression targets leave only as bucket ids."""

    def describe(self, ctx: RunContext, batch: pa.RecordBatch):
        if ctx.category.label_kind == "none" or "label" not in batch.schema.names:
            return None
        policy = ctx.settings.label_policy or ctx.category.default_label_policy
        return {"labels": label_tally(batch.column("label"), policy)}


class DatabaseWriter:
    """Writes each batch's rows last, after every file a row refers to is in place.

    With ``background=True`` each batch is rendered here (text, LOAD DATA file) and sent by a
    writer thread (bounded queue), so the database works while the next batch is read and
    rendered; :meth:`flush` waits for the writes and raises the first write error.
    """

    def __init__(self, database, *, background: bool = False) -> None:
        from .sinks.writer import BackgroundWriter

        self.database = database
        self.writer = None
        if background and hasattr(database, "prepare_write"):
            self.writer = BackgroundWriter(database.send, discard=lambda prepared: prepared.discard())

    def load(self, ctx: RunContext, batch: pa.RecordBatch) -> None:
        if self.writer is not None:
            # rendered here, sent by the writer thread while the next batch is prepared
            self.writer.submit(self.database.prepare_write(ctx.table, batch))
        else:
            self.database.write(ctx.table, batch)

    def begin(self, table: str) -> bool:
        """Ask the database to take this run's rows as one streamed bulk load, where it can."""
        begin = getattr(self.database, "begin_stream", None)
        return bool(self.writer is not None and begin is not None and begin(table))

    def flush(self) -> None:
        """Wait for every write (and commit a streamed load); raise the first error."""
        if self.writer is not None:
            self.writer.flush()
        finish = getattr(self.database, "finish_stream", None)
        if finish is not None:
            finish()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        abort = getattr(self.database, "abort_stream", None)
        if abort is not None:
            abort()
