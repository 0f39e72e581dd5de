"""The run: validation and writing, in one pass where the write path allows it, then registration.

Nothing becomes visible unless the whole input has been validated without an error.
Where the rows go into one transaction (SQLite; a first load into an empty MariaDB
table) and the category can transform a batch right after validating it, each batch is
validated and then written in the same pass, files are staged, and the run commits (or
rolls back) at the end: one read of the input. Elsewhere a validation pass comes first
and a write pass reads the input again. Batches stream through the transform chain into
the loaders and statistics are folded as they go, so memory does not grow with the input.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator

import attrs
import pyarrow as pa

from .builtins import DatabaseWriter, LabelCounter, RecordIdentity, RunStamp
from .categories import CategorySpec
from .context import RunContext
from .failures import describe_failure
from .preflight import preflight
from .issues import Issue, IssueLog
from .loader import check_hooks
from .passes import Consumer, IdCheck, OnePassLoad
from .schema import TableSchema
from .sharding import Shard, ShardFilter, shard_suffix
from .stats import merge_stats
from .summary import EXIT_FAILED, EXIT_OK, EXIT_TERMINATED, Counters, FilesNote, RunReport

log = logging.getLogger("tracebloc_ingestor")

__all__ = ["Pipeline", "RunReport", "Terminated"]


class Terminated(Exception):
    """The run was asked to stop (SIGTERM) and stopped between batches."""


class _PassLost(Exception):
    """The database lost the streamed load; the run starts again from the first record."""


# How long a run keeps restarting a lost load (DB_RETRY_DEADLINE when the settings have it).
DEFAULT_RETRY_DEADLINE = 120.0
MAX_RESTARTS = 5


class RunFailed(Exception):
    """The run cannot finish; ``reason`` is the slug reported to the backend."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class RejectsFile:
    """Every issue with its offending value, as JSON lines, in a local file only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = None
        self._mode = "w"  # then "a": an issue found after validation (table_limits) keeps the others

    def discard_stale(self) -> None:
        """Remove the report an earlier run of the same table left."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def __call__(self, issue: Issue) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, self._mode, encoding="utf-8")
            self._mode = "a"
        self._fh.write(json.dumps(issue.to_json(with_value=True), ensure_ascii=False) + "\n")

    def close(self) -> str | None:
        if self._fh is None:
            return None
        self._fh.close()
        return str(self.path)


def transform_chain(pm, ctx: RunContext, batch: pa.RecordBatch) -> pa.RecordBatch:
    """Apply every ``tb_transform`` in pluggy's call order, each on the previous output."""
    impls = [impl for impl in pm.hook.tb_transform.get_hookimpls() if not (impl.hookwrapper or impl.wrapper)]
    args = {"ctx": ctx, "batch": batch}
    for impl in reversed(impls):  # pluggy calls the end of this list first
        args["batch"] = batch
        out = impl.function(*[args[name] for name in impl.argnames])
        if out is not None:
            batch = out
    return batch


def _flatten(results: Iterable[Iterable[Issue] | None]) -> Iterator[Issue]:
    for result in results:
        yield from result or ()


def dataset_identity(salt: bytes) -> str:
    """The fingerprint of a table's dataset, derived one-way from its salt (the salt cannot be recovered)."""
    return hashlib.sha256(b"tracebloc-file-store\x00" + salt).hexdigest()[:32]


# How long a run waits for another run on the same table to finish before it gives up.
LOCK_WAIT_SECONDS = 60.0


class Pipeline:
    """One ingestion run of one category over a configured plugin manager."""

    def __init__(
        self,
        pm,
        settings,
        category: CategorySpec,
        *,
        database,
        metadata_sink,
        stop: threading.Event | None = None,
        lock_wait: float | None = None,
        monitor=None,
    ) -> None:
        self.pm = pm
        self.lock_wait = LOCK_WAIT_SECONDS if lock_wait is None else lock_wait
        self.settings = settings
        self.category = category
        self.impl = category.implementation
        self.database = database
        self.sink = metadata_sink
        self.stop = stop or threading.Event()
        # INGESTOR_ID (or the Job's uid): one id for every shard and every retried pod of a run
        self.run_id = getattr(settings, "ingestor_id", None) or str(uuid.uuid4())
        self.issues = IssueLog()
        self.started = time.monotonic()
        self.restarts = 0  # passes started again after the database lost a streamed load
        self._ctx: RunContext | None = None
        self._created_table = False
        self._passes = 0
        self._stats = None  # the run's RunStats, once the context exists
        # progress display and local data report (tracebloc_ingestor.monitor); None shows nothing
        self.monitor = monitor
        self.plan: str | None = None
        # -- a scaled-out run (sharding.py, scaleout.py): this process's shard and its coordination
        given = getattr(settings, "shard", None)
        self.shard = Shard(*given) if given else None
        self.sharded = None
        if self.shard is not None and not settings.validate_only:
            from .scaleout import ShardedRun

            self.sharded = ShardedRun(self, self.shard, wait=getattr(settings, "shard_wait", 3600.0))
        self._filter: ShardFilter | None = None

    # -- helpers ---------------------------------------------------------------------

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise Terminated()

    def _discover(self, ctx: RunContext) -> Iterator[pa.RecordBatch]:
        if self._filter is not None and self._filter.replayable:
            batches = self._filter.replay()  # this shard's records as the validation pass kept them
        else:
            batches = self.impl.discover(ctx)
            if batches is None:
                raise RunFailed(f"category {self.category.name!r} discovered no input (discover returned None)", "no_discoverer")
            if self._filter is not None:
                batches = self._filter(ctx, batches)  # this shard's records only, from here on
        if self.monitor is not None:
            batches = self.monitor.watch(ctx, batches)  # progress per pass; the first pass feeds the data report
        for batch in batches:
            self._check_stop()
            yield batch

    def _report(self, exit_code: int, status: str, message: str, counters: Counters, **extra: Any) -> RunReport:
        return RunReport(
            run_id=self.run_id,
            exit_code=exit_code,
            status=status,
            message=message,
            table=self.settings.table,
            category=self.category.name,
            counters=counters,
            issues=tuple(self.issues.kept),
            issue_count=self.issues.total,
            error_count=self.issues.errors,
            warning_count=self.issues.warnings,
            duration_seconds=round(time.monotonic() - self.started, 3),
            write_path=getattr(self.database, "write_path", None),
            passes=self._passes,
            files=self._files_note(),
            # what the category noted while reading (reading/, ingestors.py): reader and NULL counts
            reader=self._stats.reader if self._stats else None,
            null_counts=dict(self._stats.nulls) if self._stats else {},
            shard=self.sharded.note() if self.sharded is not None else (str(self.shard) if self.shard else None),
            **extra,
        )

    def _files_note(self) -> "FilesNote | None":
        ctx = self._ctx
        if ctx is None or ctx.files is None:
            return None
        pvc = ctx.settings.client_pvc if ctx.settings.in_cluster else None
        return FilesNote(str(ctx.destination), ctx.stats.stored_files, ctx.stats.stored_bytes, pvc)

    def schema_problem(self, schema: TableSchema) -> str | None:
        """Why the table of ``schema`` cannot be created in this database (too many or too wide columns)."""
        return getattr(self.database, "schema_problem", lambda schema: None)(schema)

    # the category's stage first, then the behaviour plugins' hooks

    def _start(self, ctx: RunContext) -> None:
        self.issues.extend(self.impl.start(ctx) or ())
        self.issues.extend(_flatten(self.pm.hook.tb_start(ctx=ctx)))
        if ctx.files is not None:
            problem = ctx.files.destination_problem(ctx.dataset_identity)
            if problem:
                self.issues.add(Issue("destination", f"{ctx.destination}: {problem}"))

    def _validate(self, ctx: RunContext, batch: pa.RecordBatch) -> None:
        self.issues.extend(self._identity.validate(ctx, batch) or ())
        self.issues.extend(self.impl.validate(ctx, batch) or ())
        self.issues.extend(_flatten(self.pm.hook.tb_validate(ctx=ctx, batch=batch)))

    def _validate_end(self, ctx: RunContext) -> None:
        self.issues.extend(self._identity.validate_end(ctx) or ())
        self.issues.extend(self.impl.validate_end(ctx) or ())
        self.issues.extend(_flatten(self.pm.hook.tb_validate_end(ctx=ctx)))

    def _transform(self, ctx: RunContext, batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = self._identity.transform(ctx, batch)  # from the source's cells, before anything changes them
        batch = self.impl.transform_batch(ctx, batch)
        batch = transform_chain(self.pm, ctx, batch)
        return self._stamp.transform(ctx, batch)

    def _describe(self, ctx: RunContext, batch: pa.RecordBatch, stats: dict) -> None:
        merge_stats(stats, self.impl.describe(ctx, batch))
        for part in self.pm.hook.tb_describe(ctx=ctx, batch=batch):
            merge_stats(stats, part)
        merge_stats(stats, self._labels.describe(ctx, batch))

    def _finish(self, ctx: RunContext, report: RunReport) -> None:
        # the run's outcome stands: a failing clean-up is logged, and the others still run
        for who, call in (("the category", lambda: self.impl.finish(ctx, report)),
                          ("a tb_finish hook", lambda: self.pm.hook.tb_finish(ctx=ctx, report=report))):
            try:
                call()
            except Exception as exc:
                log.warning("run %s: %s failed while finishing: %s (set LOG_LEVEL=DEBUG for the traceback)",
                            self.run_id, who, type(exc).__name__)
                log.debug("finish failed", exc_info=True)

    # -- what the passes' consumers call (passes.py)

    @property
    def db_writer(self) -> DatabaseWriter:
        return self._db_writer

    def transform(self, ctx: RunContext, batch: pa.RecordBatch) -> pa.RecordBatch:
        return self._transform(ctx, batch)

    def load(self, ctx: RunContext, out: pa.RecordBatch) -> None:
        """The category's load, the tb_load hooks, then the rows (files first: rows refer to them)."""
        self.impl.load(ctx, out)
        self.pm.hook.tb_load(ctx=ctx, batch=out)
        self._db_writer.load(ctx, out)

    def describe(self, ctx: RunContext, batch: pa.RecordBatch, stats: dict) -> None:
        self._describe(ctx, batch, stats)

    def prepare_table(self, ctx: RunContext, schema: TableSchema, salt: bytes) -> None:
        """Create what is missing and record the run (remembering whether this run made the table)."""
        if not self.database.table_exists(ctx.table):
            self._created_table = True
        if self.sharded is not None:
            self.sharded.before_write()
            self.database.prepare(ctx.table, schema, run_id=self.run_id, category=self.category.name, salt=salt, sharded=True)
            return
        self.database.prepare(ctx.table, schema, run_id=self.run_id, category=self.category.name, salt=salt)

    def abandon_writes(self, *, drop: bool = True) -> None:
        """Roll back what this run has not committed: the rows under way, the staged files,
        and (``drop``) the table it created if no row is in it (idempotent)."""
        from .sinks.database import DatabaseError

        self._db_writer.close()
        if self._ctx is not None and self._ctx.files is not None:
            self._ctx.files.discard()
        discard = getattr(self.database, "discard_table", None)
        if drop and self._created_table and discard is not None and self.shard is None:  # other shards write into it
            self._created_table = False
            try:
                discard(self.settings.table)
            except DatabaseError:
                log.debug("could not drop the empty table of run %s", self.run_id, exc_info=True)

    # -- the run ---------------------------------------------------------------------

    def run(self) -> RunReport:
        from .reading.tables import lean_memory_pool
        from .sinks.database import DatabaseError, TableBusyError

        lock = None
        hold = getattr(self.database, "lock_table", None)
        if self.sharded is not None:
            from .scaleout import ShardStop

            try:
                # the shards of one run work together; another run of the table waits, as a second run does
                self.sharded.join(self.lock_wait)
            except DatabaseError as exc:
                self.sharded.release()
                self._fail("table_busy" if isinstance(exc, TableBusyError) else "database_error")
                return self._report(EXIT_FAILED, "failed", f"database: {exc}", Counters())
            except ShardStop as stop:
                self.sharded.release()
                return self._report(EXIT_OK if stop.exit_ok else EXIT_FAILED, "success" if stop.exit_ok else "failed",
                                    str(stop), Counters())
            lock = self.sharded
        elif hold is not None and not self.settings.validate_only:
            try:
                # one run per table: a run clears unfinished runs' rows, which must not be a live run's
                lock = hold(self.settings.table, wait=self.lock_wait)
            except DatabaseError as exc:
                self._fail("table_busy" if isinstance(exc, TableBusyError) else "database_error")
                return self._report(EXIT_FAILED, "failed", f"database: {exc}", Counters())
        try:
            with lean_memory_pool():
                return self._run()
        finally:
            if lock is not None:
                lock.release()

    def _retry_deadline(self) -> float:
        deadline = getattr(self.settings, "db_retry_deadline", None)
        return float(deadline) if deadline is not None else DEFAULT_RETRY_DEADLINE

    def _run(self) -> RunReport:
        """Run; when the database loses a streamed load, start again from the first record."""
        first_loss: float | None = None
        restarts = 0
        while True:
            try:
                return self._run_once()
            except _PassLost as lost:
                now = time.monotonic()
                first_loss = now if first_loss is None else first_loss
                deadline = self._retry_deadline()
                if now - first_loss >= deadline or restarts >= MAX_RESTARTS:
                    self._fail("database_error")
                    return self._report(
                        EXIT_FAILED, "failed",
                        f"database: {lost} (the load was restarted {restarts} times within the retry deadline of "
                        f"{deadline:g} s; nothing of this run was kept)",
                        Counters(),
                    )
                restarts += 1
                log.warning(
                    "run %s: %s; nothing of it was kept. Restarting the pass from the first record "
                    "(restart %d, %.0f s left of the %g s retry deadline)",
                    self.run_id, lost, restarts, deadline - (now - first_loss), deadline,
                )
                self.issues = IssueLog()
                self.restarts = restarts
                if self.monitor is not None:
                    self.monitor.restart()

    def _plan(self, ctx: RunContext, owner: str | None, loaded: tuple[str, int | None] | None) -> str:
        """How this run goes: validate | verify | resume | one_pass | two_passes."""
        settings = self.settings
        if settings.validate_only:
            return "validate"
        if owner:
            return "verify"
        if self.shard is not None:
            # shards write in chunks after every shard has validated; the rows of an earlier run that
            # loaded but did not register are cleared and written again (a whole-table comparison
            # would need every shard's records)
            return "two_passes"
        if loaded is not None and settings.data_id_strategy != "uuid":
            return "resume"
        atomic = getattr(self.database, "atomic_write_possible", None)
        if self._single_pass(ctx) and atomic is not None and atomic(settings.table):
            return "one_pass"
        return "two_passes"

    def _single_pass(self, ctx: RunContext) -> bool:
        ask = getattr(self.impl, "single_pass", None)
        return bool(ask(ctx)) if ask is not None else False

    def _consumer(self, plan: str, ctx: RunContext, salt: bytes) -> Consumer | None:
        if plan == "one_pass":
            return OnePassLoad(self, ctx, salt)
        if plan in ("verify", "resume") and self._single_pass(ctx):
            return IdCheck(self, ctx, fingerprint=self._fingerprint(ctx) is not None)
        return None

    def _fingerprint(self, ctx: RunContext) -> tuple[int, int] | None:
        """The table's id fingerprint where it is comparable with the input's (content-hash ids on MySQL)."""
        if not hasattr(self, "_table_print"):
            self._table_print = None
            # a shard holds only its share of the input: its ids are looked up instead
            if ctx.settings.data_id_strategy == "content_hash" and hasattr(self.database, "id_fingerprint") and self.shard is None:
                self._table_print = self.database.id_fingerprint(ctx.table)
        return self._table_print

    def _validation_pass(self, ctx: RunContext, consumer: Consumer | None) -> int:
        """Validate every batch; hand each to ``consumer`` while no error has been found."""
        total = 0
        for batch in self._discover(ctx):
            total += batch.num_rows
            self._validate(ctx, batch)
            if consumer is None:
                continue
            if self.issues.errors:
                consumer.stop()  # nothing more is written; the rest is only validated
                consumer = None
            else:
                consumer.take(batch)
        self._validate_end(ctx)
        return total

    def _run_once(self) -> RunReport:
        from .scaleout import ShardStop
        from .sinks.database import DatabaseError, StreamLost

        settings = self.settings
        table = settings.table
        try:
            stored_salt = self.database.read_salt(table)
            owner = self.database.registered_owner(table)
            loaded = None
            if not owner and not settings.validate_only and hasattr(self.database, "loaded_run"):
                loaded = self.database.loaded_run(table)
        except DatabaseError as exc:
            self._fail("database_error")
            return self._report(EXIT_FAILED, "failed", f"database: {exc}", Counters())
        if self.sharded is not None:
            stored_salt = self.sharded.salt  # the table's salt, agreed when the shards joined
        salt = stored_salt or os.urandom(32)
        self._identity = RecordIdentity(salt)
        if self.shard is not None:
            self._filter = ShardFilter(self.shard, self.impl, self._identity)
        self._stamp = RunStamp()
        self._labels = LabelCounter()
        self._created_table = False
        self._passes = 1
        # rows are written on a writer thread while the next batch is read, cast and hashed
        self._db_writer = DatabaseWriter(self.database, background=True)
        rejects = RejectsFile(settings.rejects_path or settings.output_dir / f"{table}{shard_suffix(self.shard)}.rejects.jsonl")
        if self.restarts == 0:
            rejects.discard_stale()  # an earlier run's report must not sit beside this run's outcome
        self.issues.add_sink(rejects)
        if self.monitor is not None:
            self.issues.add_sink(self.monitor.issue)  # the data report groups issues by rule and column
        ctx = RunContext(
            settings=settings,
            run_id=self.run_id,
            category=self.category,
            source_root=settings.src_path,
            dataset_identity=dataset_identity(salt),
            issue_sink=self.issues.add,
            log=log,
            shard=self.shard,
        )
        self._stats = ctx.stats
        if self.category.file_bearing:
            ctx = attrs.evolve(ctx, files=self.impl.make_store(ctx))
            if self.shard is not None and hasattr(ctx.files, "share"):
                ctx.files.share(self.run_id, self.shard.index)  # the run's other shards write into the folder too
        self._ctx = ctx
        counters = Counters()
        rejects_path = None
        report: RunReport | None = None
        consumer: Consumer | None = None
        try:
            check_hooks(self.pm)
            log.info("run %s: validating %s input for table %s", self.run_id, self.category.name, table)
            self.issues.extend(preflight(ctx, self.database, self.sink))
            if not self.issues.errors:
                self._start(ctx)
            total = 0
            started = not self.issues.errors
            # a run that cannot start (a missing folder, options that contradict each other)
            # is not read: every record would only repeat the same problem
            plan = self._plan(ctx, owner, loaded) if started else "validate"
            self.plan = plan
            if started:
                consumer = self._consumer(plan, ctx, salt)
                if isinstance(consumer, OnePassLoad) and ctx.files is not None:
                    # staged while checked; visible only when published at the end
                    ctx.files.open(ctx.dataset_identity, table=table, deferred=True)
                elif self.sharded is not None and plan == "two_passes" and ctx.files is not None:
                    # a shard stages its files while it checks them too (each read once), and
                    # publishes them batch by batch once every shard has validated
                    ctx.files.open(ctx.dataset_identity, table=table, deferred=True)
                self._identity.second_pass = consumer is None or isinstance(consumer, IdCheck)
                total = self._validation_pass(ctx, consumer)
            if started and total == 0 and not self.issues.errors and self.shard is None:
                self.issues.add(Issue("empty", "the source has no records"))
            if self.sharded is not None:
                # every shard's validation first, then the rules over the whole input (scaleout.py)
                self.issues.extend(self.sharded.validated(ctx, total))
            counters = attrs.evolve(counters, total=total, repeats=self._identity.repeats)
            rejects_path = rejects.close()
            if self.issues.errors:
                if consumer is not None:
                    consumer.stop()
                found = "validation found" if started else "the run cannot start:"
                report = self._report(
                    EXIT_FAILED,
                    "invalid",
                    f"{found} {self.issues.errors:,} errors; nothing was written",
                    counters,
                    rejects_path=rejects_path,
                )
                return report
            schema = consumer.schema if consumer is not None and consumer.schema is not None else None
            if schema is None:
                schema = self.impl.table_schema(ctx) or TableSchema()
                # too many or too wide columns for this database: refused before anything is written
                limits = self.schema_problem(schema)
                if limits:
                    self.issues.add(Issue("table_limits", limits))
                    report = self._report(EXIT_FAILED, "invalid", "the table has too many or too wide columns for the "
                                          "database; nothing was written", counters, rejects_path=rejects.close())
                    return report
            ctx = attrs.evolve(ctx, table_schema=schema, issue_sink=None, phase="write")
            extra = {
                "schema": schema.to_mapping(),
                "schema_inferred": schema.inferred,
                "rejects_path": rejects_path,
            }
            if settings.validate_only:
                report = self._report(EXIT_OK, "validated", f"{total:,} records are valid; nothing was written (--validate-only)", counters, **extra)
                return report
            log.info("run %s: validation passed (%d records)", self.run_id, total)
            mark = self.run_id  # the run whose state becomes "registered"
            payload_owner = self.run_id
            if plan == "verify":
                self._check_same_columns(ctx, schema)  # a registered table keeps its columns
                counters, stats = self._verify_registered(ctx, owner, counters, consumer)
                payload_owner, mark = owner, None
            elif plan == "resume" and (done := self._resume(ctx, loaded, counters, consumer)) is not None:
                counters, stats = done
                payload_owner = mark = loaded[0]
                log.info("run %s: the rows of run %s are exactly this input's; registering them", self.run_id, mark)
            elif isinstance(consumer, OnePassLoad) and not consumer.fell_back:
                counters, stats = self._finish_load(consumer, counters)
            else:
                self._passes = 2
                counters, stats = self._write(ctx, schema, counters, salt)
            if self.sharded is not None:
                # -- a scaled-out run: the one shard that finishes last registers the whole run
                done = self.sharded.finish(ctx, counters, stats)
                if done is None:
                    report = self._report(EXIT_OK, "loaded", f"{self.shard}: every record of this shard landed; the "
                                          "shard that finishes last registers the run", counters, **extra)
                    return report
                counters, stats = done
            if self.monitor is not None:
                self.monitor.statistics(stats)  # before registration takes the label counts out
            counters, registration = self._register(ctx, stats, counters, payload_owner, mark)
            if self.sharded is not None:
                self.sharded.registered(verified=plan == "verify")
            report = self._report(EXIT_OK, "success", "every record landed and the dataset is registered", counters, registration=registration, **extra)
            return report
        except ShardStop as stop:
            self.abandon_writes()
            if stop.reason is not None:
                self._fail(stop.reason)
            report = self._report(EXIT_FAILED, "failed", str(stop), counters, rejects_path=rejects_path)
            return report
        except StreamLost as exc:
            self.abandon_writes(drop=False)
            raise _PassLost(str(exc)) from None
        except Terminated:
            self.abandon_writes()
            self._fail("terminated")
            signum = getattr(self.stop, "signum", signal.SIGTERM)
            name = signal.Signals(signum).name + (" (Ctrl-C)" if signum == signal.SIGINT else "")
            report = self._report(128 + signum if signum != signal.SIGTERM else EXIT_TERMINATED, "terminated",
                                  f"stopped by {name} between batches; the run is marked failed and a re-run completes it",
                                  counters, rejects_path=rejects_path)
            return report
        except RunFailed as exc:
            self.abandon_writes()
            self._fail(exc.reason)
            counters = getattr(exc, "counters", counters)
            report = self._report(EXIT_FAILED, "failed", str(exc), counters, rejects_path=rejects_path)
            return report
        except Exception as exc:
            log.debug("run %s failed", self.run_id, exc_info=True)
            self.abandon_writes()
            from .files.store import FileStoreError

            if isinstance(exc, FileStoreError):
                # The store's messages name the stored file and the OS reason, never content.
                self._fail("file_transfer")
                counters = attrs.evolve(counters, file_failures=max(counters.file_failures, 1))
                report = self._report(EXIT_FAILED, "failed", f"file store: {exc}", counters, rejects_path=rejects_path)
                return report
            if isinstance(exc, DatabaseError):
                self._fail("database_error")
                report = self._report(EXIT_FAILED, "failed", f"database: {exc}", counters, rejects_path=rejects_path)
                return report
            # the cause in words (errno text, path relative to the source root or store);
            # a plugin's exception text may quote data, so it is never shown
            roots = [("source", settings.src_path), ("store", Path(settings.storage_path)), ("output", settings.output_dir)]
            message, reason = describe_failure(exc, roots)
            self._fail(reason)
            report = self._report(EXIT_FAILED, "failed", message, counters, rejects_path=rejects_path)
            return report
        finally:
            rejects.close()
            if consumer is not None:
                consumer.stop(drop=report is not None)
            if report is not None:
                if self.monitor is not None:
                    self.monitor.write(report)  # the local data report, before the category releases its state
                self._finish(ctx, report)
            for helper in (self._identity, self._db_writer, self._filter):
                if helper is not None:
                    helper.close()  # writer thread, temporary files
            if ctx.files is not None:
                ctx.files.close()  # staging left unpublished, worker processes

    def _finish_load(self, consumer: OnePassLoad, counters: Counters):
        from .sinks.database import DatabaseError, StreamLost

        try:
            return consumer.finish(counters)
        except StreamLost:
            raise
        except DatabaseError as exc:
            err = RunFailed(f"database: {exc}", "database_error")
            err.counters = attrs.evolve(counters, db_failures=counters.total)
            raise err from None

    def report_run_failure(self, reason: str) -> None:
        """Tell the backend that the run failed (``reason`` a short slug); never raises."""
        try:
            self.sink.report_failure(self.run_id, reason)
        except Exception:
            log.debug("could not report the failure", exc_info=True)

    def _fail(self, reason: str) -> None:
        if self.sharded is not None:
            # this shard failed; the run stays open for its retry (a pod of the Indexed Job)
            self.sharded.failed()
            self.report_run_failure(reason)
            return
        try:
            state = self.database.run_state(self.run_id)
            # a run whose rows are all committed stays "loaded": the next run of the same input only registers
            if state is not None and state != "loaded":
                self.database.finish_run(self.run_id, "failed")
        except Exception:  # the database may be what failed; the run already reports that
            log.debug("could not mark run %s failed", self.run_id, exc_info=True)
        try:
            self.sink.report_failure(self.run_id, reason)
        except Exception:
            log.debug("could not report the failure", exc_info=True)

    def _write(self, ctx: RunContext, schema: TableSchema, counters: Counters, salt: bytes):
        """The second pass: read the validated input again and write it."""
        from .sinks.database import DatabaseError, StreamLost

        table = ctx.table
        processed = 0
        streamed = False  # whether the rows go in as one transaction (all or nothing)
        stats: dict = {}
        self._identity.restart()
        try:
            self.prepare_table(ctx, schema, salt)
            # a shard's rows go in chunk by chunk: one transaction cannot span the shards
            streamed = self._db_writer.begin(table) if self.shard is None else False
            if ctx.files is not None and self.shard is not None and ctx.files.staging:
                ctx.files.publish_each()  # staged while checked: each batch's files go live before its rows
            elif ctx.files is not None:
                # the table's salt is stored now, so the folder is claimed for its lasting identity;
                # files are published with the rows: at the end when those are one transaction
                ctx.files.open(ctx.dataset_identity, table=table, deferred=streamed)
            for batch in self._discover(ctx):
                out = self._transform(ctx, batch)
                self.load(ctx, out)
                self._describe(ctx, out, stats)
                processed += out.num_rows
            self._db_writer.drain()
            if ctx.files is not None:
                ctx.files.publish()
            self._db_writer.commit()
            if self.sharded is not None:
                new_rows = processed  # rows carry the run's id, not the shard's: counted over the run at the end
            else:
                new_rows = self.database.count_rows(table, run_id=self.run_id)
                self.database.finish_run(self.run_id, "loaded", record_count=processed)
        except StreamLost:
            raise
        except DatabaseError as exc:
            written = 0 if streamed else processed
            err = RunFailed(f"database: {exc}", "database_error")
            err.counters = attrs.evolve(counters, processed=written, db_failures=counters.total - written)
            raise err from None
        skipped = ctx.stats.skipped
        counters = attrs.evolve(
            counters,
            processed=processed,
            inserted=processed,
            new_rows=new_rows,
            already_present=processed - new_rows,
            skipped=skipped,
        )
        return counters, stats

    def _check_same_columns(self, ctx: RunContext, schema: TableSchema) -> None:
        """Refuse a run whose feature columns or types differ from the registered table's (naming them)."""
        from .sinks.database import DatabaseError
        from .sinks.db.tables import check_compatible, feature_columns

        existing = self.database.existing_columns(ctx.table) if hasattr(self.database, "existing_columns") else None
        if existing is not None:
            try:
                check_compatible(ctx.table, existing, feature_columns(ctx.table, schema, ()))
            except DatabaseError as exc:
                raise RunFailed(f"{exc}; nothing was written", "schema_mismatch") from None

    def _verify_registered(self, ctx: RunContext, owner: str, counters: Counters, consumer: "IdCheck | None"):
        """The table holds a registered dataset: accept only an input it already holds entirely.

        Content-hash ids first get a cheap whole-table comparison (count and the sum of each
        id's first 64 bits, salted SHA-256 so not steerable without the table's salt): equal
        means the table holds exactly this input. Anything else is settled by looking up
        every id. The first comparison is made in the validation pass itself when the
        category allows one pass.
        """
        table_print = self._fingerprint(ctx)
        if table_print is not None:
            processed, stats, input_print = self._id_pass(ctx, consumer, fingerprint=True)
            if input_print == table_print:
                counters = attrs.evolve(counters, processed=processed, inserted=processed, already_present=processed)
                return counters, stats
            consumer = None
        processed, stats, missing = self._id_pass(ctx, consumer, fingerprint=False)
        if missing:
            raise RunFailed(
                f"table {ctx.table!r} already holds a registered dataset (run {owner}) and {missing:,} records of this "
                "input are not in it; nothing was written. Choose a new TABLE_NAME for a new dataset.",
                "table_taken",
            )
        counters = attrs.evolve(counters, processed=processed, inserted=processed, already_present=processed)
        return counters, stats

    def _resume(self, ctx: RunContext, loaded: tuple[str, int | None], counters: Counters, consumer: "IdCheck | None"):
        """A run loaded every row but was not registered: are its rows exactly this input's?

        Then (counters, stats) for registering them as they are; None when the rows must be
        written again (a second pass clears them and writes).
        """
        loaded_id, recorded = loaded
        total = counters.total
        if recorded is not None and recorded != total:
            return None
        in_table = self.database.count_rows(ctx.table)
        if in_table != total or self.database.count_rows(ctx.table, run_id=loaded_id) != total:
            return None
        fingerprint = self._fingerprint(ctx)
        processed, stats, found = self._id_pass(ctx, consumer, fingerprint=fingerprint is not None)
        exact = found == fingerprint if fingerprint is not None else found == 0
        if not exact or processed != total:
            self._identity.restart()
            return None
        counters = attrs.evolve(counters, processed=processed, inserted=processed, already_present=processed)
        return counters, stats

    def _id_pass(self, ctx: RunContext, consumer: "IdCheck | None", *, fingerprint: bool):
        """(records, statistics, fingerprint or missing ids) from ``consumer``'s pass or a pass of its own."""
        if consumer is None or consumer.fingerprint != fingerprint:
            self._passes = 2
            self._identity.restart()
            consumer = IdCheck(self, ctx, fingerprint=fingerprint)
            try:
                for batch in self._discover(ctx):
                    consumer.take(batch)
            finally:
                consumer.stop()
        return consumer.processed, consumer.stats, consumer.result()

    def _register(self, ctx: RunContext, stats: dict, counters: Counters, ingestor_id: str, mark: str | None):
        payload = self.build_payload(ctx, stats, counters, ingestor_id)
        try:
            result = self.sink.register(ctx.table, payload)
        except Exception as exc:
            err = RunFailed(f"registration failed: {exc}", getattr(exc, "reason_slug", "registration_failed"))
            err.counters = counters
            raise err from None
        if mark is not None:
            self.database.finish_run(mark, "registered", record_count=counters.processed)
        where = self.sink.describe() if hasattr(self.sink, "describe") else "the backend"
        action = getattr(self.sink, "action", "registered with")
        note = " (already registered)" if getattr(result, "already_registered", False) else ""
        return attrs.evolve(counters, sent=counters.processed), f"{action} {where}{note}"

    def build_payload(self, ctx: RunContext, stats: dict, counters: Counters, ingestor_id: str) -> dict:
        settings = ctx.settings
        labels = stats.pop("labels", None)
        meta = {key: stat.to_json() for key, stat in sorted(stats.items())}
        meta.update(
            {
                "label_policy": settings.label_policy or self.category.default_label_policy,
                "schema_inferred": bool(ctx.table_schema and ctx.table_schema.inferred),
                "repeated_records": counters.repeats,
                "feature_columns": len(ctx.table_schema.features) if ctx.table_schema else 0,
            }
        )
        size = 0
        if settings.label_file is not None and settings.label_file.is_file():
            size += settings.label_file.stat().st_size
        size += ctx.stats.stored_bytes
        return {
            "ingestor_id": ingestor_id,
            "labels": labels.to_json() if labels is not None else {},
            "dataset_title": settings.title or f"{ctx.table} - {self.run_id[:8]}",
            "data_format": self.category.data_format,
            "data_intent": settings.intent,
            "category": self.category.name,
            "schema": self.database.table_schema(ctx.table),
            "meta_data": meta,
            "record_count": counters.processed,
            "size_bytes": size,
        }

