"""One shard's part in a scaled-out run: join, validate, wait for the others, write, finish once.

The shards of a run (the pods of an Indexed Job, or processes started with ``--shard``)
share one run id and coordinate through the run ledger in the database
(:mod:`tracebloc_ingestor.sinks.db.shards`). Nothing is written unless the whole input is
valid, so a sharded run always takes two passes:

1. **Join.** The shard takes its own lock and its row in the ledger; the first shard's
   random salt becomes the table's, so every shard gives the same ``data_id``s. A run
   that is registered already ends the shard at once with success (a retried pod); a run
   that failed, with failure.
2. **Validate** the shard's records (:mod:`tracebloc_ingestor.sharding`); record
   ``validated`` with the facts whole-input rules need, or ``invalid`` (the run fails).
3. **Barrier.** Wait until every shard has validated (up to ``SHARD_WAIT`` seconds, with
   a progress line every 30 s). If any shard found an error, or a shard never came, every
   shard stops without writing; the run is marked failed once. Then every shard checks the
   rules over the whole input on the merged facts (two distinct labels, not empty).
4. **Write** the shard's rows in chunks and publish its files (never the streamed first
   load, which needs all rows in one transaction).
5. **Finish.** In one transaction the shard records its counters and statistics; the one
   shard that finds every shard loaded merges them and registers the run, once.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import attrs

from .issues import Issue
from .stats import dump_stats, load_stats, merge_stats

if TYPE_CHECKING:  # pragma: no cover
    from .context import RunContext
    from .pipeline import Pipeline
    from .sharding import Shard
    from .sinks.database import ShardRow
    from .summary import Counters

__all__ = ["ShardedRun", "ShardStop"]

log = logging.getLogger("tracebloc_ingestor")

POLL_SECONDS = 1.0
PROGRESS_SECONDS = 30.0


class ShardStop(Exception):
    """This shard stops without writing: ``message`` says why; ``reason`` is set when this shard
    is the one that failed the run (it reports the failure to the backend, once)."""

    def __init__(self, message: str, reason: str | None = None, exit_ok: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.exit_ok = exit_ok


class ShardedRun:
    """The coordination of one shard of run ``pipeline.run_id`` (see the module's docstring)."""

    def __init__(self, pipeline: "Pipeline", shard: "Shard", *, wait: float, poll: float = POLL_SECONDS) -> None:
        self.pipeline = pipeline
        self.shard = shard
        self.wait = wait
        self.poll = poll
        self.salt: bytes | None = None
        self._lock = None
        self.registrar = False
        self.loaded = False  # this shard's rows and files are in place

    @property
    def _db(self):
        return self.pipeline.database

    @property
    def _run_id(self) -> str:
        return self.pipeline.run_id

    def _table(self) -> str:
        return self.pipeline.settings.table

    # -- 1. join

    def join(self, lock_wait: float) -> None:
        """Take this shard's place in the run; ShardStop when the run is over already."""
        state, salt, lock = self._db.join_run(
            self._table(), run_id=self._run_id, category=self.pipeline.category.name,
            shard=(self.shard.index, self.shard.count), wait=lock_wait,
        )
        self._lock = lock
        self.salt = salt
        log.info("run %s: %s joined (the run is %s)", self._run_id, self.shard, state)
        if state == "registered":
            raise ShardStop(f"run {self._run_id} is registered already; {self.shard} has nothing left to do", exit_ok=True)
        if state == "failed":
            raise ShardStop(self._failure_words() + "; nothing was written; start a new Job (a new run id) once the "
                            "input is fixed")
        if state == "abandoned":
            raise ShardStop(f"run {self._run_id} was taken over by a later run of table {self._table()!r}, which removed "
                            "its rows; nothing was written")
        if state not in ("validating", "loading", "loaded"):
            raise ShardStop(f"run {self._run_id} is in state {state!r}; {self.shard} does nothing")

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- 2. + 3. validation and the barrier

    def validated(self, ctx: "RunContext", total: int) -> list[Issue]:
        """Record this shard's validation and wait for every shard's; the issues of the rules over
        the whole input (every shard finds the same). ShardStop when the run cannot go on."""
        p = self.pipeline
        if p.issues.errors:
            self._db.shard_state(self._run_id, self.shard.index, "invalid", records=total, errors=p.issues.errors)
            self._fail_run(None)  # an invalid input is not reported to the backend, as in a run without shards
            return []
        facts = _dumped(p.impl.shard_facts(ctx) or {})
        self._db.shard_state(self._run_id, self.shard.index, "validated", records=total, errors=0, facts=facts)
        rows = self._barrier()
        merged: dict = {}
        for row in rows:
            merge_stats(merged, load_stats(row.facts or {}))
        issues: list[Issue] = []
        if sum(row.records or 0 for row in rows) == 0:
            issues.append(Issue("empty", "the source has no records"))
        issues.extend(p.impl.validate_shards(ctx, merged) or ())
        if any(issue.is_error for issue in issues):
            # every shard finds the same: each reports them, whichever marks the run failed first
            self._fail_run(None)
        return issues

    def _barrier(self) -> list["ShardRow"]:
        """Every shard's row once all have validated; ShardStop when one failed or never came."""
        started = time.monotonic()
        last_note = started
        polls = 0
        while True:
            self.pipeline._check_stop()
            state = self._db.run_state(self._run_id)
            rows = self._db.run_shards(self._run_id)
            if any(r.state == "invalid" for r in rows):
                raise ShardStop(self._failure_words(rows, state) + "; nothing was written")
            done = {r.index for r in rows if r.state in ("validated", "loading", "loaded")}
            if len(done) == self.shard.count and state != "abandoned":
                # (a run failed by the rules over the whole input: this shard finds the same and says so)
                log.info("run %s: every shard has validated its records", self._run_id)
                return rows
            if state in ("failed", "abandoned"):
                raise ShardStop(self._failure_words(rows, state) + "; nothing was written")
            waited = time.monotonic() - started
            missing = [i for i in range(self.shard.count) if i not in done]
            if waited >= self.wait:
                message = (f"{_shards_words(missing)} did not finish validating within {self.wait:g} s (SHARD_WAIT); "
                           "the run failed and nothing was written")
                self._fail_run("shard_timeout")
                raise ShardStop(message)
            if time.monotonic() - last_note >= PROGRESS_SECONDS:
                last_note = time.monotonic()
                log.warning("run %s: %s waits for %s to finish validating (%d of %d done; %.0f s of %g s SHARD_WAIT)",
                            self._run_id, self.shard, _shards_words(missing), len(done), self.shard.count, waited, self.wait)
            self._db.shard_heartbeat(self._run_id, self.shard.index)
            # often at first (the shards of a small input finish within moments of each other), then calmer
            time.sleep(min(self.poll, 0.05 * 2 ** min(polls, 10)))
            polls += 1

    def _fail_run(self, reason: str | None) -> None:
        """Mark the run failed; the shard that does so reports ``reason`` to the backend (once per run)."""
        if self._db.move_run(self._run_id, "failed", only_from=("validating", "loading")) and reason is not None:
            self.pipeline.report_run_failure(reason)

    def _failure_words(self, rows: "list[ShardRow] | None" = None, state: str | None = None) -> str:
        rows = self._db.run_shards(self._run_id) if rows is None else rows
        bad = [r for r in rows if r.state == "invalid"]
        if bad:
            found = ", ".join(f"shard {r.index}: {_count(r.errors or 0, 'error')}" for r in bad)
            return f"run {self._run_id} failed: validation found errors ({found}; each shard's report names them)"
        if state == "abandoned":
            return f"run {self._run_id} was taken over by a later run, which removed its rows"
        return (f"run {self._run_id} failed (a shard did not finish validating within SHARD_WAIT, or the rules over "
                "the whole input found errors)")

    # -- 4. + 5. writing and finishing

    def before_write(self) -> None:
        """Record that this shard writes; ShardStop when the run failed meanwhile."""
        self._db.shard_state(self._run_id, self.shard.index, "loading")
        # a run that is loaded already stays so: its registrar (and only it) registers it
        if not self._db.move_run(self._run_id, "loading", only_from=("validating", "loading")):
            state = self._db.run_state(self._run_id)
            if state != "loaded":
                raise ShardStop(self._failure_words(state=state) + "; this shard wrote nothing")

    def finish(self, ctx: "RunContext", counters: "Counters", stats: dict) -> tuple["Counters", dict] | None:
        """Record this shard's load; for the one shard that registers, the run's merged (counters, statistics)."""
        from .summary import Counters

        data = {
            "counters": attrs.asdict(counters),
            "statistics": _dumped(stats),
            "stored_bytes": ctx.stats.stored_bytes,
            "stored_files": ctx.stats.stored_files,
            "skipped": ctx.stats.skipped,
            "nulls": dict(ctx.stats.nulls),
        }
        finish = self._db.finish_shard(self._run_id, self.shard.index, self.shard.count, counters.processed, data)
        self.loaded = True
        self.registrar = finish.registrar
        if not finish.registrar:
            log.info("run %s: %s loaded (%d of %d shards); the last to finish registers the run",
                     self._run_id, self.shard, finish.loaded, self.shard.count)
            return None
        log.info("run %s: every shard loaded; %s registers the run", self._run_id, self.shard)
        merged_counts: dict[str, int] = {}
        merged_stats: dict = {}
        for row in self._db.run_shards(self._run_id):
            part = row.data or {}
            for key, value in (part.get("counters") or {}).items():
                merged_counts[key] = merged_counts.get(key, 0) + int(value)
            merge_stats(merged_stats, load_stats(part.get("statistics") or {}))
            if row.index != self.shard.index:  # this shard's own are counted already
                ctx.stats.add(stored_bytes=part.get("stored_bytes", 0), stored_files=part.get("stored_files", 0),
                              skipped=part.get("skipped", 0), nulls=part.get("nulls") or {})
        fields = {f.name for f in attrs.fields(Counters)}
        merged = Counters(**{k: v for k, v in merged_counts.items() if k in fields})
        if merged.processed and self.pipeline.plan != "verify":
            new_rows = self._db.count_rows(self._table(), run_id=self._run_id)
            merged = attrs.evolve(merged, new_rows=new_rows, already_present=merged.processed - new_rows)
        return merged, merged_stats

    def registered(self, *, verified: bool) -> None:
        """After the registration: a verified run wrote nothing, so it leaves no owner behind."""
        if verified:
            self._db.move_run(self._run_id, "verified", only_from=("loaded",))

    def failed(self) -> None:
        """This shard failed after it joined (a database error, SIGTERM): its row says so; the run
        stays open for the shard's retry (a pod of the Indexed Job)."""
        try:
            if not self.loaded:
                self._db.shard_state(self._run_id, self.shard.index, "failed")
        except Exception:  # the database may be what failed
            log.debug("could not record the failure of %s", self.shard, exc_info=True)

    def note(self) -> str:
        """The summary's words for this shard's place in the run."""
        if self.registrar:
            return f"{self.shard} of run {self._run_id}; it finished last and registered the whole run"
        return f"{self.shard} of run {self._run_id}; the shard that finishes last registers the whole run"


def _dumped(stats: dict) -> dict:
    """``stats`` as JSON for the other shards; a kind of statistic they cannot merge fails the run, naming it."""
    from .pipeline import RunFailed

    try:
        return dump_stats(stats)
    except TypeError as exc:
        raise RunFailed(f"{exc}; a scaled-out run merges its shards' statistics through the database", "statistics") from None


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _shards_words(indices: list[int]) -> str:
    shown = ", ".join(str(i) for i in indices[:10]) + (f" and {len(indices) - 10} more" if len(indices) > 10 else "")
    return f"shard{'s' if len(indices) != 1 else ''} {shown}"

