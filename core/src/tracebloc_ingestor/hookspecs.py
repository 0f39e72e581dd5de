"""The hook specifications of tracebloc-ingestor, in the order a run calls them.

A run goes through two passes over the input. The *validation pass* calls
``tb_discover`` and hands every batch to ``tb_validate``; ``tb_validate_end`` closes it.
Nothing is written unless that pass found no error. The *write pass* calls
``tb_discover`` again, runs each batch through the ``tb_transform`` chain, hands the
result to ``tb_load`` and folds it into statistics with ``tb_describe``.

Batches are ``pyarrow.RecordBatch`` objects. A discovered batch holds the source's
columns as read plus ``_tb_row`` (int64, the 1-based record number in the source, used
to name rows in messages). Columns whose names start with ``_tb_`` are the host's and
are dropped before loading.

Implementations are plain functions or methods marked with ``@hookimpl`` (imported from
``tracebloc_ingestor``). Arguments may be omitted from an implementation's signature;
pluggy passes only those it names. Never give an implementation's argument a default
value: pluggy does not pass it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator, Mapping

from .markers import hookspec

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from .categories import CategorySpec
    from .context import RunContext
    from .issues import Issue
    from .schema import TableSchema
    from .stats import Stat


# -- registration -------------------------------------------------------------------


@hookspec
def tb_categories() -> "Iterable[CategorySpec] | None":
    """Declare the categories (data-type templates) this plugin provides.

    Called once when the plugin manager is built, before any run. Return
    :class:`~tracebloc_ingestor.CategorySpec` records, or None for a plugin that only
    adds behaviour (an extra validator, say). Results of all plugins are combined; two
    plugins declaring the same name is an error that names both.

    .. versionadded:: 1.0
    """


# -- discovery ---------------------------------------------------------------------


@hookspec(firstresult=True)
def tb_discover(ctx: "RunContext") -> "Iterator[pa.RecordBatch] | None":
    """Return an iterator over the input as Arrow record batches.

    Called at the start of each pass (so at least twice per run); every call must yield
    the same rows in the same order, reading lazily so that memory does not grow with
    the input. Each batch carries a ``_tb_row`` column. The first implementation that
    returns something other than None wins, so a category plugin answers only when
    ``ctx.category.name`` is its own.

    .. versionadded:: 1.0
    """


# -- validation --------------------------------------------------------------------


@hookspec
def tb_validate(ctx: "RunContext", batch: "pa.RecordBatch") -> "Iterable[Issue] | None":
    """Check one discovered batch; return the issues found (or None).

    Called for every batch of the validation pass, before anything is written. All
    implementations run and their issues are combined. An issue must name the rule and,
    where it can, the row (``_tb_row``), the column and the file relative to the source
    root, and must not quote cell values in its message. State that spans batches
    belongs in ``ctx.state(...)``.

    .. versionadded:: 1.0
    """


@hookspec
def tb_validate_end(ctx: "RunContext") -> "Iterable[Issue] | None":
    """Check the input as a whole once its last batch was validated.

    For rules no single batch can decide: distinct labels, unique ids, ordering across
    the file. All implementations run and their issues are combined.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def tb_table_schema(ctx: "RunContext") -> "TableSchema | None":
    """Return the typed feature columns of the destination table.

    Called once after a validation pass without errors, before the table is created.
    The first non-None answer wins; with none, the table has framework columns only.
    The answer is available to later hooks as ``ctx.table_schema``.

    .. versionadded:: 1.0
    """


# -- writing -------------------------------------------------------------------------


@hookspec
def tb_transform(ctx: "RunContext", batch: "pa.RecordBatch") -> "pa.RecordBatch | None":
    """Return ``batch`` changed (cast, renamed, enriched), or None to leave it as it is.

    Called for every batch of the write pass. Implementations form a chain: each receives
    the previous one's output, in pluggy's call order (``tryfirst`` ones first,
    ``trylast`` ones last, otherwise the most recently registered first). The host's
    own implementations open the chain (``data_id``) and close it (``data_intent``,
    ``ingestor_id``, dropping ``_tb_`` columns). The final batch has exactly the
    framework columns the category uses plus the schema's feature columns.

    .. versionadded:: 1.0
    """


@hookspec
def tb_load(ctx: "RunContext", batch: "pa.RecordBatch") -> None:
    """Persist one transformed batch: rows to the database, files to the store.

    Called for every batch of the write pass after the transform chain. All
    implementations run; the host's database writer runs last so that files a row
    refers to are in place before the row is. Writes must be idempotent: loading the
    same batch twice leaves the same state. Raise to fail the run.

    .. versionadded:: 1.0
    """


@hookspec
def tb_describe(ctx: "RunContext", batch: "pa.RecordBatch") -> "Mapping[str, Stat] | None":
    """Fold one loaded batch into mergeable statistics (metadata only).

    Called for every batch after ``tb_load``. Return a mapping of statistic name to a
    :mod:`~tracebloc_ingestor.stats` value; results of all batches and plugins are
    merged by name. The key ``labels`` holds label counts (a ``Tally``); the others
    become ``meta_data`` of the registration. Never put a cell value, file name or free
    text into a statistic that leaves the cluster.

    .. versionadded:: 1.0
    """
