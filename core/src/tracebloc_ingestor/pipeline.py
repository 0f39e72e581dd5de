"""The run: a validation pass, then a write pass, then registration.

Nothing is written until the whole input has been validated without an error. The
write pass streams batches through the transform chain into the loaders and folds
statistics as it goes, so memory does not grow with the input.
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
from .schema import TableSchema
from .stats import merge_stats
from .summary import EXIT_FAILED, EXIT_OK, EXIT_TERMINATED, Counters, FilesNote, RunReport

log = logging.getLogger("tracebloc_ingestor")

__all__ = ["Pipeline", "RunReport", "Terminated"]


class Terminated(Exception):
    """The run was asked to stop (SIGTERM) and stopped between batches."""


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
        self.run_id = str(uuid.uuid4())
        self.issues = IssueLog()
        self.started = time.monotonic()
        self._stats = None  # the run's RunStats, once the context exists
        # progress display and local data report (tracebloc_ingestor.monitor); None shows nothing
        self.monitor = monitor

    # -- helpers ---------------------------------------------------------------------

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise Terminated()

    def _discover(self, ctx: RunContext) -> Iterator[pa.RecordBatch]:
        batches = self.impl.discover(ctx)
        if batches is None:
            raise RunFailed(f"category {self.category.name!r} discovered no input (discover returned None)", "no_discoverer")
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
            files=self._files_note(),
            # what the category noted while reading (reading/, ingestors.py): reader and NULL counts
            reader=self._stats.reader if self._stats else None,
            null_counts=dict(self._stats.nulls) if self._stats else {},
            **extra,
        )

    def _files_note(self) -> "FilesNote | None":
        ctx = getattr(self, "_ctx", None)
        if ctx is None or ctx.files is None:
            return None
        pvc = ctx.settings.client_pvc if ctx.settings.in_cluster else None
        return FilesNote(str(ctx.destination), ctx.stats.stored_files, ctx.stats.stored_bytes, pvc)

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

    # -- the run ---------------------------------------------------------------------

    def run(self) -> RunReport:
        from .reading.tables import lean_memory_pool
        from .sinks.database import DatabaseError, TableBusyError

        lock = None
        hold = getattr(self.database, "lock_table", None)
        if hold is not None and not self.settings.validate_only:
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

    def _run(self) -> RunReport:
        from .sinks.database import DatabaseError

        settings = self.settings
        table = settings.table
        try:
            stored_salt = self.database.read_salt(table)
            owner = self.database.registered_owner(table)
        except DatabaseError as exc:
            self._fail("database_error")
            return self._report(EXIT_FAILED, "failed", f"database: {exc}", Counters())
        salt = stored_salt or os.urandom(32)
        self._identity = RecordIdentity(salt)
        self._stamp = RunStamp()
        self._labels = LabelCounter()
        # rows are written on a writer thread while the next batch is read, cast and hashed
        self._db_writer = DatabaseWriter(self.database, background=True)
        rejects = RejectsFile(settings.rejects_path or settings.output_dir / f"{table}.rejects.jsonl")
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
        )
        self._stats = ctx.stats
        if self.category.file_bearing:
            ctx = attrs.evolve(ctx, files=self.impl.make_store(ctx))
        self._ctx = ctx
        counters = Counters()
        rejects_path = None
        report: RunReport | None = None
        try:
            check_hooks(self.pm)
            log.info("run %s: validating %s input for table %s", self.run_id, self.category.name, table)
            # -- validation pass
            self.issues.extend(preflight(ctx, self.database, self.sink))
            if not self.issues.errors:
                self._start(ctx)
            total = 0
            started = not self.issues.errors
            # a run that cannot start (a missing folder, options that contradict each other)
            # is not read: every record would only repeat the same problem
            if started:
                for batch in self._discover(ctx):
                    total += batch.num_rows
                    self._validate(ctx, batch)
                self._validate_end(ctx)
            if started and total == 0 and not self.issues.errors:
                self.issues.add(Issue("empty", "the source has no records"))
            counters = attrs.evolve(counters, total=total, repeats=self._identity.repeats)
            rejects_path = rejects.close()
            if self.issues.errors:
                found = "validation found" if started else "the run cannot start:"
                report = self._report(
                    EXIT_FAILED,
                    "invalid",
                    f"{found} {self.issues.errors:,} errors; nothing was written",
                    counters,
                    rejects_path=rejects_path,
                )
                return report
            schema = self.impl.table_schema(ctx) or TableSchema()
            # too many or too wide columns for this database: refused before anything is written
            limits = getattr(self.database, "schema_problem", lambda schema: None)(schema)
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
            log.info("run %s: validation passed (%d records); writing", self.run_id, total)
            if owner:
                self._check_same_columns(ctx, schema)  # a registered table keeps its columns
                counters, stats = self._verify_registered(ctx, owner, counters)
                payload_owner = owner
            else:
                counters, stats = self._write(ctx, schema, counters, salt)
                payload_owner = self.run_id
            if self.monitor is not None:
                self.monitor.statistics(stats)  # before registration takes the label counts out
            counters, registration = self._register(ctx, stats, counters, payload_owner)
            report = self._report(EXIT_OK, "success", "every record landed and the dataset is registered", counters, registration=registration, **extra)
            return report
        except Terminated:
            self._fail("terminated")
            signum = getattr(self.stop, "signum", signal.SIGTERM)
            name = signal.Signals(signum).name + (" (Ctrl-C)" if signum == signal.SIGINT else "")
            report = self._report(128 + signum if signum != signal.SIGTERM else EXIT_TERMINATED, "terminated",
                                  f"stopped by {name} between batches; the run is marked failed and a re-run completes it", counters,
                                  rejects_path=rejects_path)
            return report
        except RunFailed as exc:
            self._fail(exc.reason)
            counters = getattr(exc, "counters", counters)
            report = self._report(EXIT_FAILED, "failed", str(exc), counters, rejects_path=rejects_path)
            return report
        except DatabaseError as exc:  # outside the write pass too (a registered table's checks, the payload's schema)
            self._fail("database_error")
            report = self._report(EXIT_FAILED, "failed", f"database: {exc}", counters, rejects_path=rejects_path)
            return report
        except Exception as exc:
            log.debug("run %s failed", self.run_id, exc_info=True)
            from .files.store import FileStoreError

            if isinstance(exc, FileStoreError):
                # The store's messages name the stored file and the OS reason, never content.
                self._fail("file_transfer")
                counters = attrs.evolve(counters, file_failures=max(counters.file_failures, 1))
                report = self._report(EXIT_FAILED, "failed", f"file store: {exc}", counters, rejects_path=rejects_path)
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
            if report is not None:
                if self.monitor is not None:
                    self.monitor.write(report)  # the local data report, before the category releases its state
                self._finish(ctx, report)
            for helper in (self._identity, self._db_writer):
                helper.close()  # writer thread, temporary files

    def _fail(self, reason: str) -> None:
        try:
            if self.database.run_state(self.run_id) is not None:
                self.database.finish_run(self.run_id, "failed")
        except Exception:  # the database may be what failed; the run already reports that
            log.debug("could not mark run %s failed", self.run_id, exc_info=True)
        try:
            self.sink.report_failure(self.run_id, reason)
        except Exception:
            log.debug("could not report the failure", exc_info=True)

    def _write(self, ctx: RunContext, schema: TableSchema, counters: Counters, salt: bytes):
        from .sinks.database import DatabaseError

        table = ctx.table
        processed = 0
        streamed = False  # whether the rows go in as one streamed load (all or nothing)
        stats: dict = {}
        try:
            self.database.prepare(table, schema, run_id=self.run_id, category=self.category.name, salt=salt)
            if ctx.files is not None:
                # the table's salt is stored now, so the folder is claimed for its lasting identity
                ctx.files.open(ctx.dataset_identity, table=table)
            streamed = self._db_writer.begin(table)
            for batch in self._discover(ctx):
                out = self._transform(ctx, batch)
                self.impl.load(ctx, out)
                self.pm.hook.tb_load(ctx=ctx, batch=out)
                self._db_writer.load(ctx, out)
                self._describe(ctx, out, stats)
                processed += out.num_rows
            self._db_writer.flush()
            new_rows = self.database.count_rows(table, run_id=self.run_id)
            self.database.finish_run(self.run_id, "loaded", record_count=processed)
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

    def _verify_registered(self, ctx: RunContext, owner: str, counters: Counters):
        """The table holds a registered dataset: accept only an input it already holds entirely.

        Content-hash ids first get a cheap whole-table comparison (count and the sum of each
        id's first 64 bits, salted SHA-256 so not steerable without the table's salt): equal
        means the table holds exactly this input. Anything else is settled by looking up
        every id, as before.
        """
        table_print = None
        if ctx.settings.data_id_strategy == "content_hash" and hasattr(self.database, "id_fingerprint"):
            table_print = self.database.id_fingerprint(ctx.table)
        if table_print is not None:
            processed, stats, input_print = self._verify_pass(ctx, lookup=False)
            if input_print == table_print:
                counters = attrs.evolve(counters, processed=processed, inserted=processed, already_present=processed)
                return counters, stats
            self._identity.restart()  # the same ids again in the exact pass below
        processed, stats, missing = self._verify_pass(ctx, lookup=True)
        if missing:
            raise RunFailed(
                f"table {ctx.table!r} already holds a registered dataset (run {owner}) and {missing:,} records of this "
                "input are not in it; nothing was written. Choose a new TABLE_NAME for a new dataset.",
                "table_taken",
            )
        counters = attrs.evolve(counters, processed=processed, inserted=processed, already_present=processed)
        return counters, stats

    def _verify_pass(self, ctx: RunContext, *, lookup: bool):
        """One pass over the input: (records, statistics, missing ids if ``lookup`` else the fingerprint)."""
        from concurrent.futures import ThreadPoolExecutor

        from .identity import id_fingerprint

        missing = 0
        count, total = 0, 0
        processed = 0
        stats: dict = {}

        def look(ids: list) -> int:
            return len(ids) - self.database.count_existing(ctx.table, ids)

        # the database looks up one batch's ids while the next batch is read and cast
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tb-verify") as pool:
            pending = None
            for batch in self._discover(ctx):
                out = self._transform(ctx, batch)
                if lookup:
                    ids = out.column("data_id").to_pylist()
                    if pending is not None:
                        missing += pending.result()
                    pending = pool.submit(look, ids)
                else:
                    part_count, part_total = id_fingerprint(out.column("data_id"))
                    count, total = count + part_count, total + part_total
                self._describe(ctx, out, stats)
                processed += out.num_rows
            if pending is not None:
                missing += pending.result()
        return processed, stats, (missing if lookup else (count, total))

    def _register(self, ctx: RunContext, stats: dict, counters: Counters, ingestor_id: str):
        payload = self.build_payload(ctx, stats, counters, ingestor_id)
        try:
            result = self.sink.register(ctx.table, payload)
        except Exception as exc:
            err = RunFailed(f"registration failed: {exc}", getattr(exc, "reason_slug", "registration_failed"))
            err.counters = counters
            raise err from None
        if ingestor_id == self.run_id:
            self.database.finish_run(self.run_id, "registered", record_count=counters.processed)
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

