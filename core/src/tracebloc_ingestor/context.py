"""The run context handed to every stage and hook: settings, options, identity and services."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import attrs

from .categories import CategorySpec
from .issues import Issue
from .options import OptionValues
from .schema import TableSchema

if TYPE_CHECKING:  # pragma: no cover
    from .files.store import FileStore
    from .settings import Settings
    from .sharding import Shard

__all__ = ["RunContext", "RunStats"]


@attrs.define
class RunStats:
    """Counters a run accumulates for its summary and registration.

    ``stored_bytes`` is what the dataset's files take on the shared volume (it becomes
    part of ``size_bytes``); ``skipped`` counts records a transform dropped; ``nulls``
    counts the missing values stored as NULL, per feature column; ``reader`` says how the
    source table was read (for the report). Safe to call from worker threads.
    """

    stored_bytes: int = 0
    stored_files: int = 0
    skipped: int = 0
    nulls: dict[str, int] = attrs.field(factory=dict)
    reader: str | None = None
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False, eq=False)

    def add(self, *, stored_bytes: int = 0, stored_files: int = 0, skipped: int = 0, nulls: Mapping[str, int] | None = None) -> None:
        with self._lock:
            self.stored_bytes += int(stored_bytes)
            self.stored_files += int(stored_files)
            self.skipped += int(skipped)
            for column, count in (nulls or {}).items():
                self.nulls[column] = self.nulls.get(column, 0) + int(count)


@attrs.frozen
class RunContext:
    """Everything a stage or hook may need to know about the current run.

    The context is immutable; the host hands out an evolved copy once the table schema
    is known (after validation). Services:

    * ``options``: the plugins' option values (typed, frozen), ``ctx.options.<name>``;
    * ``dataset_identity``: a fingerprint of the table's dataset, the same in every run
      on the table (derived one-way from its salt);
    * ``files``: the :class:`~tracebloc_ingestor.files.FileStore` of a file-bearing
      category (``<storage_path>/<table>/``), opened by the host before the write pass;
    * ``stats``: the run's :class:`RunStats`;
    * ``state(key, factory)``: per-run state of a plugin, kept between batches;
    * ``shard``: in a scaled-out run, which shard of how many this process is (None otherwise).
    """

    settings: "Settings"
    run_id: str
    category: CategorySpec
    source_root: Path
    table_schema: TableSchema | None = None
    #: "validate" in the validation pass (and start), "write" afterwards
    phase: str = "validate"
    dataset_identity: str | None = None
    files: "FileStore | None" = attrs.field(default=None, eq=False, repr=False)
    stats: RunStats = attrs.field(factory=RunStats, eq=False, repr=False)
    _states: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False, alias="_states")
    log: logging.Logger = attrs.field(factory=lambda: logging.getLogger("tracebloc_ingestor"), eq=False, repr=False)
    issue_sink: Callable[[Issue], None] | None = attrs.field(default=None, eq=False, repr=False)
    shard: "Shard | None" = None

    @property
    def table(self) -> str:
        return self.settings.table

    @property
    def options(self) -> OptionValues:
        return self.settings.options

    @property
    def destination(self) -> Path:
        """The dataset's folder on the shared volume: ``<storage_path>/<table>``."""
        return Path(self.settings.storage_path) / self.table

    def relative(self, path: os.PathLike | str) -> str:
        """``path`` relative to the source root, for messages; never an absolute path."""
        p = Path(path)
        try:
            return p.resolve().relative_to(self.source_root.resolve()).as_posix()
        except ValueError:
            return p.name

    def report(self, issue: Issue) -> None:
        """Report a problem found outside ``validate`` (while discovering, say).

        In the validation pass it joins the run's issues; elsewhere it raises, because
        an input problem after validation means a plugin validated too little.
        """
        if self.issue_sink is None:
            raise RuntimeError(f"input problem outside validation: {issue}")
        self.issue_sink(issue)

    def state(self, owner: str, factory: Callable[[], Any]) -> Any:
        """Return this run's state object for ``owner``, creating it with ``factory()``."""
        if owner not in self._states:
            self._states[owner] = factory()
        return self._states[owner]
