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


# how many first rows of an id column are held to name them in "repeats the value of row N"
FIRST_ROWS_HELD = 250_000


class RecordIdentity:
    """Gives every record its ``data_id`` (see :mod:`tracebloc_ingestor.identity`).

    ``validate`` hashes each batch and counts repeated content in stream order; in one
    pass ``transform`` reuses that batch's digests and counts. A second pass over the
    same input (after :meth:`restart`) takes the digests from a temporary file and counts
    again from the start, which gives the same ids.
    """

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        self.tracker = identity.RepeatTracker()
        self.cache = identity.DigestCache()  # the validation pass's digests, for a second pass
        self._replay: identity.RepeatTracker | None = None
        self._last: tuple[int, int, list[bytes], list[int]] | None = None  # the batch validated last
        self._missing_column_reported = False
        self._first_rows: dict[bytes, int | None] = {}  # id column: the first row of each value (bounded)
        self._seen = 0
        self._noted: list[Issue] | None = None  # this shard's id verdicts, found with every shard's records
        #: whether another pass may read the input again (then digests are kept for it)
        self.second_pass = True

    def close(self) -> None:
        self.cache.close()
        self.tracker.discard()
        if self._replay is not None:
            self._replay.discard()

    def restart(self) -> None:
        """Start the write-side ids over, for another pass over the same input."""
        if self._replay is not None:
            self._replay.discard()
        self._replay = identity.RepeatTracker()
        self.cache.rewind()
        self._last = None
        self._seen = 0

    def _first_row(self, batch: pa.RecordBatch, count: bool) -> int:
        if ROW_COLUMN in batch.schema.names and batch.num_rows:
            return int(batch.column(ROW_COLUMN)[0].as_py())
        first = self._seen
        if count:
            self._seen += batch.num_rows
        return -1 - first  # plugins without record numbers: position in the stream

    def digests(self, ctx: RunContext, batch: pa.RecordBatch) -> list[bytes]:
        """The content digest of each record (with ``data_id: column``, of its id value)."""
        from .sharding import DIGEST

        if DIGEST in batch.schema.names:  # computed already, to choose the record's shard
            return batch.column(DIGEST).to_pylist()
        return self._digests(ctx, batch)

    def observe_all_shards(self, ctx: RunContext, batch: pa.RecordBatch, mine) -> None:
        """A sharded run whose records are not sharded by their id: count every shard's id values
        (in stream order), so a repeat in another shard is found; this shard's verdicts wait for
        :meth:`validate` of its part of the batch."""
        if ctx.settings.data_id_strategy != "column" or ctx.settings.data_id_column not in batch.schema.names:
            return
        digests = self._digests(ctx, batch)
        occurrences = self.tracker.observe(digests)
        issues = self._repeated_ids(ctx, batch, digests, occurrences)
        rows = batch.column(ROW_COLUMN).to_pylist() if ROW_COLUMN in batch.schema.names else []
        own = {row for row, keep in zip(rows, mine.tolist()) if keep}
        self._noted = [issue for issue in issues if issue.row in own]

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
        if self._noted is not None:  # observed with every shard's records (observe_all_shards)
            issues.extend(self._noted)
            self._noted = None
            return issues
        digests = self.digests(ctx, batch)
        occurrences = self.tracker.observe(digests)
        if settings.data_id_strategy == "column":
            issues.extend(self._repeated_ids(ctx, batch, digests, occurrences))
        if settings.data_id_strategy == "content_hash":  # the only strategy whose ids reuse them
            first = self._first_row(batch, True)
            if self.second_pass:
                self.cache.put(first, digests)
            self._last = (first, batch.num_rows, digests, occurrences)
        return issues

    def _repeated_ids(self, ctx: RunContext, batch: pa.RecordBatch, digests: list[bytes], occurrences) -> list[Issue]:
        """An id column must be unique: each repeat named by its row and the first row with its value."""
        rows = batch.column(ROW_COLUMN).to_pylist() if ROW_COLUMN in batch.schema.names else [None] * batch.num_rows
        column = ctx.settings.data_id_column
        rel = ctx.relative(ctx.settings.label_file) if ctx.settings.label_file else None
        issues = []
        for digest, seen, row in zip(digests, occurrences.tolist(), rows):
            first = self._first_rows.get(digest[:8])
            if seen == 0:
                if len(self._first_rows) < FIRST_ROWS_HELD:
                    self._first_rows[digest[:8]] = row
                continue
            earlier = f"row {first:,}" if first is not None else "an earlier record"
            issues.append(Issue("unique", f"repeats the data_id value of {earlier}; data_id values must be unique",
                                row=row, column=column, file=rel))
        return issues

    def validate_end(self, ctx: RunContext) -> list[Issue] | None:
        if ctx.settings.data_id_strategy == "uuid":
            return None
        self._seen = 0
        self._first_rows.clear()
        return None

    def _content_ids(self, ctx: RunContext, batch: pa.RecordBatch) -> pa.Array:
        if self._replay is None and self._last is not None:
            # one pass: the batch validated just now
            first, rows, digests, occurrences = self._last
            self._last = None
            if rows == batch.num_rows and (first < 0 or first == self._first_row(batch, False)):
                return identity.ids_from_digests(digests, occurrences)
            raise RuntimeError("record identity: a batch was transformed without being validated first")
        first = self._first_row(batch, False)
        if first < 0:
            first = -1 - self._seen
            self._seen += batch.num_rows
        digests = self.cache.get(first, batch.num_rows)
        if digests is None:
            digests = self.digests(ctx, batch)
        if self._replay is None:
            self._replay = identity.RepeatTracker()
        return identity.ids_from_digests(digests, self._replay.observe(digests))

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
            return set_column(batch, DATA_ID, self._content_ids(ctx, batch))
        return set_column(batch, DATA_ID, pa.array(ids, pa.string()))


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

    def drain(self) -> None:
        """Wait for every write sent so far; raise the first error (a streamed load stays open)."""
        if self.writer is not None:
            self.writer.flush()

    def commit(self) -> None:
        """Commit a streamed load (rows become visible); on failure nothing of it is kept."""
        finish = getattr(self.database, "finish_stream", None)
        if finish is not None:
            finish()

    def flush(self) -> None:
        """Wait for every write (and commit a streamed load); raise the first error."""
        self.drain()
        self.commit()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        abort = getattr(self.database, "abort_stream", None)
        if abort is not None:
            abort()
