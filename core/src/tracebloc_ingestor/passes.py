"""What happens to a batch once it has passed validation, when validating and writing share a pass.

The pipeline validates every batch. While no error has been found, a *consumer* takes
each batch right after its validation: :class:`OnePassLoad` transforms, stores and
writes it into one transaction that is committed only at the end; :class:`IdCheck`
transforms it and compares its ids with a table that holds the dataset already. At the
first error the consumer stops (a load is rolled back, staged files are removed) and the
pass goes on validating only, so that every problem is still reported.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import attrs
import pyarrow as pa

from .issues import Issue
from .schema import TableSchema

if TYPE_CHECKING:  # pragma: no cover
    from .context import RunContext
    from .pipeline import Pipeline
    from .summary import Counters

log = logging.getLogger("tracebloc_ingestor")

__all__ = ["Consumer", "IdCheck", "OnePassLoad"]


class Consumer:
    """Takes validated batches; the write context is made at the first (``table_schema`` is asked then)."""

    def __init__(self, pipeline: "Pipeline", ctx: "RunContext") -> None:
        self.pipeline = pipeline
        self.ctx = ctx
        self.wctx: "RunContext | None" = None
        self.schema: TableSchema | None = None
        self.processed = 0
        self.stats: dict = {}

    def write_context(self) -> "RunContext":
        if self.wctx is None:
            self.schema = self.pipeline.impl.table_schema(self.ctx) or TableSchema()
            self.wctx = attrs.evolve(self.ctx, table_schema=self.schema, issue_sink=None, phase="write")
        return self.wctx

    def take(self, batch: pa.RecordBatch) -> None:
        raise NotImplementedError

    def stop(self, *, drop: bool = True) -> None:
        """No more batches: let go of what was started (idempotent)."""


class OnePassLoad(Consumer):
    """Writes each validated batch at once, into a load that becomes visible only at :meth:`finish`.

    At the first batch the table schema is asked for and the table prepared, and the rows
    go into one transaction (the database's stream); files are staged by the checks that
    read them. If the database cannot stream after all, the consumer falls back: nothing
    is written in this pass and a second pass writes (``fell_back``).
    """

    def __init__(self, pipeline: "Pipeline", ctx: "RunContext", salt: bytes) -> None:
        super().__init__(pipeline, ctx)
        self.salt = salt
        self.fell_back = False
        self.committed = False
        self._stopped = False

    def take(self, batch: pa.RecordBatch) -> None:
        if self.fell_back or self._stopped:
            return
        p = self.pipeline
        wctx = self.wctx
        if wctx is None:
            wctx = self.write_context()
            limits = p.schema_problem(self.schema)
            if limits:  # refused before anything is written; the pass goes on validating
                p.issues.add(Issue("table_limits", limits))
                self._stopped = True
                return
            p.prepare_table(wctx, self.schema, self.salt)
            if not p.db_writer.begin(wctx.table):
                log.info("run %s: the database cannot take the rows in one transaction; a second pass writes", p.run_id)
                self.fell_back = True
                if wctx.files is not None:
                    wctx.files.discard()
                return
        out = p.transform(wctx, batch)
        p.load(wctx, out)
        p.describe(wctx, out, self.stats)
        self.processed += out.num_rows

    def finish(self, counters: "Counters") -> tuple["Counters", dict]:
        """Wait for the rows, publish the files, commit the rows; nothing was visible before."""
        p = self.pipeline
        wctx = self.write_context()
        table = wctx.table
        p.db_writer.drain()
        if wctx.files is not None:
            wctx.files.publish()  # before the commit: rows appear only once their files are in place
        p.db_writer.commit()
        self.committed = True
        new_rows = p.database.count_rows(table, run_id=p.run_id)
        p.database.finish_run(p.run_id, "loaded", record_count=self.processed)
        counters = attrs.evolve(
            counters,
            processed=self.processed,
            inserted=self.processed,
            new_rows=new_rows,
            already_present=self.processed - new_rows,
            skipped=wctx.stats.skipped,
        )
        return counters, self.stats

    def stop(self, *, drop: bool = True) -> None:
        if self._stopped or self.committed:
            return
        self._stopped = True
        self.pipeline.abandon_writes(drop=drop)


class IdCheck(Consumer):
    """Transforms each validated batch and compares its ids with the table's (nothing is written).

    ``fingerprint``: fold the ids into (count, sum of their first 64 bits), to compare with
    the table's own; otherwise look every id up (one batch while the next is read).
    """

    def __init__(self, pipeline: "Pipeline", ctx: "RunContext", *, fingerprint: bool) -> None:
        super().__init__(pipeline, ctx)
        self.fingerprint = fingerprint
        self.count = 0
        self.total = 0
        self.missing = 0
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def take(self, batch: pa.RecordBatch) -> None:
        p = self.pipeline
        wctx = self.write_context()
        out = p.transform(wctx, batch)
        if self.fingerprint:
            from .identity import id_fingerprint

            count, total = id_fingerprint(out.column("data_id"))
            self.count, self.total = self.count + count, self.total + total
        else:
            ids = out.column("data_id").to_pylist()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tb-verify")
            self._collect()
            self._pending = self._pool.submit(lambda: len(ids) - p.database.count_existing(wctx.table, ids))
        p.describe(wctx, out, self.stats)
        self.processed += out.num_rows

    def _collect(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.missing += pending.result()

    def result(self) -> Any:
        """The fingerprint (count, sum) or the number of ids the table does not hold."""
        self._collect()
        self.stop()
        return (self.count, self.total) if self.fingerprint else self.missing

    def stop(self, *, drop: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
