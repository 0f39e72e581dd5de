"""Categories: what a data type is (:class:`CategorySpec`) and what it does (:class:`Category`).

A plugin registers a category by returning a ``CategorySpec`` from ``tb_categories``;
the spec carries the implementation, an object with the stages the host calls for the
selected category only: ``start``, ``discover``, ``validate``, ``validate_end``,
``table_schema``, ``transform_batch``, ``load``, ``describe`` and ``finish``.
:class:`Category` is that object's base class, with a no-op default for every stage
but ``discover``; ``BaseIngestor`` (tables) and ``FileCategory`` (records that name
files) build on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from .markers import hookimpl
from .options import Option

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from .context import RunContext
    from .files.store import FileStore
    from .issues import Issue
    from .options import OptionValues
    from .report.sections import ReportSection
    from .schema import TableSchema
    from .settings import Settings
    from .stats import Stat
    from .summary import RunReport

__all__ = ["DATA_FORMATS", "LABEL_KINDS", "Category", "CategoryError", "CategorySpec"]

#: what the tracebloc backend knows as a dataset's ``data_format``
DATA_FORMATS = ("image", "tabular", "text")
#: how a category's label may leave the cluster
LABEL_KINDS = ("classification", "regression", "none")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class CategoryError(ValueError):
    """A category declaration the host cannot accept; the message says what is allowed."""


def _options(value: Iterable[Option] | None) -> tuple[Option, ...]:
    return tuple(value or ())


@attrs.frozen
class CategorySpec:
    """What the host needs to know about a category before running it.

    ``label_kind`` decides what may leave the cluster: class names of a
    ``classification`` target are sent as they are; a ``regression`` target is sent
    only as bucket ids; ``none`` has no label. ``file_bearing`` categories get a file
    store (``ctx.files``) for ``<storage_path>/<table>/``. ``implementation`` is the
    object whose stages run (see :class:`Category`); ``options`` are its declared options.
    """

    name: str
    data_format: str
    label_kind: str = "classification"
    file_bearing: bool = False
    summary: str = ""
    implementation: Any = attrs.field(default=None, eq=False, repr=False)
    options: tuple[Option, ...] = attrs.field(default=(), converter=_options, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise CategoryError(
                f"category name {self.name!r} must be lower-case letters, digits and '_', starting with a letter"
            )
        if self.data_format not in DATA_FORMATS:
            raise CategoryError(
                f"category {self.name!r}: data_format {self.data_format!r} is not one the tracebloc backend knows; "
                f"use one of: {', '.join(DATA_FORMATS)}"
            )
        if self.label_kind not in LABEL_KINDS:
            raise CategoryError(
                f"category {self.name!r}: label_kind {self.label_kind!r} is not accepted; use one of: {', '.join(LABEL_KINDS)}"
            )
        seen: set[str] = set()
        for option in self.options:
            if not isinstance(option, Option):
                raise CategoryError(f"category {self.name!r}: options must be Option records, got {type(option).__name__}")
            if option.name in seen:
                raise CategoryError(f"category {self.name!r} declares option {option.name!r} twice")
            seen.add(option.name)

    @property
    def default_label_policy(self) -> str:
        return "bucket" if self.label_kind == "regression" else "passthrough"


class Category:
    """The implementation of one category: the stages a run calls, in this order.

    1. ``start(ctx)`` once, before anything is read: run-level checks (folders,
       options, companion files); return issues.
    2. ``discover(ctx)`` yields record batches; each goes to ``validate(ctx, batch)``;
       then ``validate_end(ctx)``. Nothing becomes visible unless no error was reported.
    3. ``table_schema(ctx)``: the typed feature columns of the table.
    4. Each batch through ``transform_batch``, then ``load`` (files to ``ctx.files``; the
       host writes the rows after), then ``describe`` (mergeable statistics). With
       ``single_pass`` this happens to each batch right after its validation, in the same
       pass (``table_schema`` is asked after the first batch); otherwise ``discover`` runs
       again after ``validate_end`` for a second pass.
    5. ``finish(ctx, report)`` once, whatever happened (success, failure, SIGTERM).

    A run split into shards (``--shard``, an Indexed Job) also asks ``shard_problem``,
    ``shard_key``, ``note_all_shards``, ``shard_facts`` and ``validate_shards``; their
    defaults suit records that are checked one by one.

    Per-run state belongs in ``ctx.state(key, factory)``: one category object may
    serve several runs in one process. Class attributes describe the category.
    """

    category: ClassVar[str] = ""
    data_format: ClassVar[str] = "tabular"
    label_kind: ClassVar[str] = "classification"
    file_bearing: ClassVar[bool] = False
    summary: ClassVar[str] = ""
    #: the category's own options; their values arrive as ``ctx.options``
    options: ClassVar[Sequence[Option]] = ()

    def __init__(self, category: str | None = None) -> None:
        if category is not None:
            self.category = category  # type: ignore[misc]

    def spec(self) -> CategorySpec:
        """This category's registration record (with ``self`` as the implementation)."""
        return CategorySpec(
            name=self.category,
            data_format=self.data_format,
            label_kind=self.label_kind,
            file_bearing=self.file_bearing,
            summary=self.summary,
            implementation=self,
            options=tuple(self.options),
        )

    @hookimpl
    def tb_categories(self) -> list[CategorySpec]:
        return [self.spec()]

    def check_options(self, options: "OptionValues") -> "Iterable[tuple[str, str]] | None":
        """Problems with the options taken together, as ``(option name, message)`` pairs.

        Called once the settings are read, before anything else: a problem refuses the
        configuration (exit code 2), named with where the option's value came from. Each
        option's own type is checked already; this is for rules across options (a minimum
        above a maximum, a policy that needs another option).
        """
        return None

    # -- the stages --------------------------------------------------------------------

    def start(self, ctx: "RunContext") -> "Iterable[Issue] | None":
        """Once per run, before the validation pass: checks of the run as a whole."""
        return None

    def discover(self, ctx: "RunContext") -> "Iterator[pa.RecordBatch]":
        """Yield the input as record batches, the same rows in the same order in every pass.

        Each batch carries ``_tb_row`` (int64, the 1-based record number). Problems
        found while reading go to ``ctx.report(Issue(...))``.
        """
        raise NotImplementedError(f"category {self.category!r} does not say how to discover its records")

    def validate(self, ctx: "RunContext", batch: "pa.RecordBatch") -> "Iterable[Issue] | None":
        """Check one discovered batch; return the issues found."""
        return None

    def validate_end(self, ctx: "RunContext") -> "Iterable[Issue] | None":
        """Whole-input rules, after the last batch of the validation pass."""
        return None

    def table_schema(self, ctx: "RunContext") -> "TableSchema | None":
        """The typed feature columns of the table (None: framework columns only)."""
        return None

    def single_pass(self, ctx: "RunContext") -> bool:
        """Whether a batch may be transformed and loaded right after its own validation.

        True when ``table_schema`` can answer once the first batch is validated and
        ``transform_batch`` needs nothing that a later batch or ``validate_end`` finds out;
        the run then validates and writes in one pass where the database can keep the rows
        invisible until the end. False (the default here) keeps two passes: the whole input
        is validated before ``table_schema`` is asked.
        """
        return False

    def transform_batch(self, ctx: "RunContext", batch: "pa.RecordBatch") -> "pa.RecordBatch":
        """One write-pass batch as the table stores it: ``label``, the framework columns used, the features."""
        return batch

    def load(self, ctx: "RunContext", batch: "pa.RecordBatch") -> None:
        """Store what the batch's rows refer to (files, through ``ctx.files``); the host writes the rows."""
        return None

    def describe(self, ctx: "RunContext", batch: "pa.RecordBatch") -> "Mapping[str, Stat] | None":
        """Fold one loaded batch into mergeable statistics (aggregates only)."""
        return None

    def report_sections(self, ctx: "RunContext", statistics: "Mapping[str, Stat]") -> "Iterable[ReportSection] | None":
        """Sections of the local HTML data report that only this category can draw (thumbnails, lengths).

        Called once at the end of a run that read data, with the merged ``describe``
        statistics (empty when nothing was written). The core already shows every
        column, the labels, the issues and each statistic; return
        :class:`~tracebloc_ingestor.api.ReportSection` records for anything else. The
        report stays local: values may appear in it.
        """
        return None

    def finish(self, ctx: "RunContext", report: "RunReport") -> None:
        """Once at the end of every run, successful or not: release what ``start`` took."""
        return None

    # -- scaled-out runs (several shards of one run; see sharding.py) ---------------------

    def shard_problem(self, settings: "Settings") -> str | None:
        """Why a run with these settings cannot be split into shards, or None.

        Say so when a rule depends on the order of the whole input (a time series checked
        across all its rows): each shard sees only its own records. A problem refuses the
        configuration of a sharded run (exit code 2). Options are ``settings.options``.
        """
        return None

    def shard_key(self, ctx: "RunContext", batch: "pa.RecordBatch") -> "pa.Array | Sequence[str | None] | None":
        """The key that decides each record's shard in a scaled-out run, or None for the default.

        The default is the record's content identity (the digest of its ``data_id``), which
        keeps identical records, and equal id values, in one shard. Give a key (one string per
        record, made from the record's own cells) when records that rules tie together must
        share a shard: the rows naming one file, the rows of one sequence. A null key leaves
        that record to its content identity.
        """
        return None

    def note_all_shards(self, ctx: "RunContext", batch: "pa.RecordBatch", mine: "Any") -> None:
        """A scaled-out run's validation pass: every discovered batch, with every shard's records.

        Called before the records of other shards are dropped; ``mine`` (a boolean array)
        marks this shard's. Keep only what a rule across the whole input needs that is cheap
        to see (the names of the flat folder); report problems of this shard's records only.
        """
        return None

    def shard_facts(self, ctx: "RunContext") -> "Mapping[str, Stat] | None":
        """A scaled-out run, after ``validate_end``: mergeable facts that rules over the whole input need.

        They are stored with the shard's validation; once every shard has validated, each
        shard gets all of them merged in :meth:`validate_shards`. Keep them small (a
        ``Tally`` of two labels says as much about label diversity as one of all).
        """
        return None

    def validate_shards(self, ctx: "RunContext", facts: "Mapping[str, Stat]") -> "Iterable[Issue] | None":
        """A scaled-out run, once every shard has validated: whole-input rules on the merged :meth:`shard_facts`.

        Every shard runs it on the same facts, so all of them reach the same verdict.
        """
        return None

    def make_store(self, ctx: "RunContext") -> "FileStore":
        """The file store of a file-bearing run (``ctx.files``); override to tune it."""
        from .files.store import FileStore

        return FileStore(ctx.destination)
