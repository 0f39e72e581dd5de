"""The hook specifications of tracebloc-ingestor, in the order a run calls them.

Two kinds of plugin meet here. A *category plugin* registers categories with
``tb_categories``; the run then calls the selected category's stages directly (see
:class:`~tracebloc_ingestor.Category`), never the other categories'. Every other hook
is for *behaviour plugins*, which add to every run whatever its category (a PII guard,
an audit log, an extra statistic): all their implementations run, around the
category's own stage.

A run goes through two passes over the input. The *validation pass* calls the
category's ``start`` and ``tb_start``, then hands every discovered batch to the
category's ``validate`` and to ``tb_validate``, and closes with ``validate_end`` and
``tb_validate_end``. Nothing is written unless that pass found no error. The *write
pass* discovers the input again; each batch goes through the category's
``transform_batch`` and then the ``tb_transform`` chain, is loaded (the category's
``load``, then ``tb_load``, then the host's database writer) and folded into
statistics (``describe`` and ``tb_describe``). ``tb_finish`` closes every run.

Batches are ``pyarrow.RecordBatch`` objects. A discovered batch holds the source's
columns as read plus ``_tb_row`` (int64, the 1-based record number in the source, used
to name rows in messages). Columns whose names start with ``_tb_`` are the host's and
are dropped before loading.

Implementations are plain functions or methods marked with ``@hookimpl`` (imported from
``tracebloc_ingestor.api``). Arguments may be omitted from an implementation's
signature; pluggy passes only those it names. Never give an implementation's argument
a default value: pluggy does not pass it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from .markers import hookspec

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from .categories import CategorySpec
    from .context import RunContext
    from .issues import Issue
    from .options import Option
    from .report.sections import ReportSection
    from .stats import Stat
    from .summary import RunReport


# -- registration -------------------------------------------------------------------


@hookspec
def tb_categories() -> "Iterable[CategorySpec] | None":
    """Declare the categories (data types) this plugin provides, with their implementations.

    Called when the plugin manager is asked which categories exist (at start). Return
    :class:`~tracebloc_ingestor.api.CategorySpec` records, each carrying the object
    whose stages run the category; ``Category`` subclasses do this for you. A plugin
    that only adds behaviour returns None. Two plugins declaring one name is an error
    that names both.

    .. versionadded:: 1.0
    .. versionchanged:: 1.1 the spec carries its implementation and options
    """


@hookspec
def tb_options() -> "Iterable[Option] | None":
    """Declare the options of a behaviour plugin (a category declares its own on its class).

    Called once per run, after the plugins are loaded and before the settings are
    read. Each :class:`~tracebloc_ingestor.api.Option` becomes a flag, an environment
    variable and an ``ingest.yaml`` key; its value reaches every hook as
    ``ctx.options.<name>``. Two options that claim one name, flag, variable or key are
    refused at start (exit 2), naming both owners.

    .. versionadded:: 1.1
    """


# -- the run ---------------------------------------------------------------------------


@hookspec
def tb_start(ctx: "RunContext") -> "Iterable[Issue] | None":
    """A run starts: nothing has been read yet. Return issues about the run as a whole.

    Called once per run, after the category's own ``start``, before the validation
    pass. Issues count like validation issues (an error means nothing is written).

    .. versionadded:: 1.1
    """


@hookspec
def tb_validate(ctx: "RunContext", batch: "pa.RecordBatch") -> "Iterable[Issue] | None":
    """Check one discovered batch; return the issues found (or None).

    Called for every batch of the validation pass, after the category's ``validate``,
    before anything is written. All implementations run and their issues are combined.
    An issue must name the rule and, where it can, the row (``_tb_row``), the column and
    the file relative to the source root, and must not quote cell values in its
    message. State that spans batches belongs in ``ctx.state(...)``.

    .. versionadded:: 1.0
    """


@hookspec
def tb_validate_end(ctx: "RunContext") -> "Iterable[Issue] | None":
    """Check the input as a whole once its last batch was validated.

    For rules no single batch can decide: distinct values, totals, ordering across
    the file. All implementations run and their issues are combined.

    .. versionadded:: 1.0
    """


@hookspec
def tb_transform(ctx: "RunContext", batch: "pa.RecordBatch") -> "pa.RecordBatch | None":
    """Return ``batch`` changed (enriched, normalised), or None to leave it as it is.

    Called for every batch of the write pass, after the category's ``transform_batch``
    (so the batch holds ``data_id``, ``label`` and the typed feature columns).
    Implementations form a chain: each receives the previous one's output, in pluggy's
    call order (``tryfirst`` ones first, ``trylast`` ones last, otherwise the most
    recently registered first). The host closes the chain (``data_intent``,
    ``ingestor_id``, dropping ``_tb_`` columns).

    .. versionadded:: 1.0
    """


@hookspec
def tb_load(ctx: "RunContext", batch: "pa.RecordBatch") -> None:
    """Persist something more of one transformed batch (an audit copy, say).

    Called for every batch of the write pass after the category's ``load`` and before
    the host writes the rows, so the rows land only after every loader succeeded.
    Writes must be idempotent: loading the same batch twice leaves the same state.
    Raise to fail the run.

    .. versionadded:: 1.0
    """


@hookspec
def tb_describe(ctx: "RunContext", batch: "pa.RecordBatch") -> "Mapping[str, Stat] | None":
    """Fold one loaded batch into mergeable statistics (metadata only).

    Called for every batch after it was loaded. Return a mapping of statistic name to a
    :mod:`~tracebloc_ingestor.stats` value; results of all batches and plugins are
    merged by name with the category's own. The key ``labels`` holds label counts (a
    ``Tally``); the others become ``meta_data`` of the registration. Never put a cell
    value, file name or free text into a statistic that leaves the cluster.

    .. versionadded:: 1.0
    """


@hookspec
def tb_report_sections(ctx: "RunContext", statistics: "Mapping[str, Stat]") -> "Iterable[ReportSection] | None":
    """Add sections to the local HTML data report (never sent anywhere).

    Called once at the end of a run that read data, after the category's
    ``report_sections`` stage; ``statistics`` are the merged results of ``describe``
    (empty when nothing was written). Return
    :class:`~tracebloc_ingestor.api.ReportSection` records of charts, tables and
    thumbnails; the core draws and embeds them. The report stays in the cluster, so a
    section may show values. An exception is logged and named in the report; the run's
    outcome stands.

    .. versionadded:: 1.0
    """


@hookspec
def tb_finish(ctx: "RunContext", report: "RunReport") -> None:
    """A run is over, successfully or not; ``report`` says how it ended.

    Called once per run, after the category's ``finish``, also after a failure or
    SIGTERM. An exception here is logged and does not change the outcome.

    .. versionadded:: 1.1
    """
