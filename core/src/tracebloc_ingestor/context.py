"""The run context handed to every hook: settings, identity and where things are."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import attrs

from .categories import CategorySpec
from .issues import Issue
from .schema import TableSchema

if TYPE_CHECKING:  # pragma: no cover
    from .settings import Settings


@attrs.frozen
class RunContext:
    """Everything a hook may need to know about the current run.

    The context is immutable; the host hands out an evolved copy once the table schema
    is known (after validation). ``scratch`` is the one mutable part: a per-run dict
    in which a plugin may keep state between batches, under a key of its own name.
    """

    settings: "Settings"
    run_id: str
    category: CategorySpec
    source_root: Path
    table_schema: TableSchema | None = None
    scratch: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
    log: logging.Logger = attrs.field(factory=lambda: logging.getLogger("tracebloc_ingestor"), eq=False, repr=False)
    issue_sink: Callable[[Issue], None] | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def table(self) -> str:
        return self.settings.table

    def relative(self, path: os.PathLike | str) -> str:
        """``path`` relative to the source root, for messages; never an absolute path."""
        p = Path(path)
        try:
            return p.resolve().relative_to(self.source_root.resolve()).as_posix()
        except ValueError:
            return p.name

    def report(self, issue: Issue) -> None:
        """Report a problem found outside ``tb_validate`` (while discovering, say).

        In the validation pass it joins the run's issues; elsewhere it raises, because
        an input problem after validation means a plugin validated too little.
        """
        if self.issue_sink is None:
            raise RuntimeError(f"input problem outside validation: {issue}")
        self.issue_sink(issue)

    def state(self, owner: str, factory):
        """Return this run's state object for ``owner``, creating it with ``factory()``."""
        if owner not in self.scratch:
            self.scratch[owner] = factory()
        return self.scratch[owner]
