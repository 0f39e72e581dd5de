"""What the text categories share: texts as files or inline in the table, their options and statistics.

The core's :class:`~tracebloc_ingestor.api.FileCategory` reads the manifest, guards the
paths, inspects each referenced file once in worker threads and stores it once as
``<stem>.txt``. A manifest without a ``filename`` column holds its texts inline
(:mod:`.inline`): each record's text is built from its cells, checked by the same rules
(:func:`~.checks.check_text`) and stored as ``<stem>.txt`` named after its ``data_id``.
A category sets its ``layout`` (one text, or TAB-separated parts) and the column sets it
looks for in the inline form.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Iterator

import pyarrow as pa

from tracebloc_ingestor.api import (
    DATA_ID,
    EXTENSION,
    FILE,
    FILENAME,
    MEMBER,
    ROW,
    BaseIngestor,
    CopyJob,
    FileCategory,
    FileProblem,
    Histogram,
    Integer,
    Issue,
    Names,
    Numeric,
    Option,
    PathValue,
    ReportSection,
    TableNameValidator,
    Tally,
    Total,
    set_column,
)

from .checks import DEFAULT_MAX_FILE_SIZE, TEXT_EXTENSION, TextFacts, check_text, inspect_text
from .inline import FILE as FILE_FORM
from .inline import INLINE, REPORTED, Form, PartProblem, cells, join_parts, plain_columns, stem_for
from .layout import PLAIN, Layout

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import OptionValues, RunContext

# Buckets of the distributions sent with the registration (no single count leaves).
CHAR_BUCKETS = ((100, "<100"), (1_000, "100-1k"), (10_000, "1k-10k"), (100_000, "10k-100k"), (1_000_000, "100k-1M"))
WORD_BUCKETS = ((16, "<16"), (64, "16-64"), (256, "64-256"), (1_024, "256-1k"), (4_096, "1k-4k"), (16_384, "4k-16k"))

MAX_FILE_SIZE = Option(
    "max_file_size",
    Integer(minimum=1),
    default=DEFAULT_MAX_FILE_SIZE,
    help="Largest text accepted (a file, or an inline text as UTF-8), in bytes; a larger one breaks rule file_size",
    yaml="spec.file_options.max_file_size",
)

TEXT_COLUMNS = Option(
    "text_columns",
    Names(),
    help=(
        "Columns of the manifest that hold the texts inline, one per part in order (text_a,text_b); "
        "given, the texts are taken from the table, not from files (default: the category's own column names, "
        "when the manifest has no filename column)"
    ),
)


def _folder(name: str, what: str) -> Option:
    # the ingest.yaml key is the top-level name the platform already uses (texts:, sequences:)
    return Option(
        name,
        PathValue("source"),
        help=f"Folder of the UTF-8 .txt {what} the manifest names (default: {name}/ under the source root)",
        env=f"{name.upper()}_DIR",
    )


TEXTS = _folder("texts", "texts")
SEQUENCES = _folder("sequences", "sequences")


class _TextState:
    """Per run: the manifest's form, what its header showed, and the inline texts of the current batch."""

    def __init__(self) -> None:
        self.form: Form | None = None
        self.header_done = False
        self.unusable = False  # the header broke a rule every row would repeat
        self.pending: dict[str, tuple[CopyJob, TextFacts]] = {}


class TextIngestor(FileCategory):
    """Base of the text categories: texts as UTF-8 ``.txt`` files named by a manifest, or inline in it."""

    data_format = "text"
    validators = (TableNameValidator(),)
    folder_option = "texts"
    file_columns = (FILENAME, EXTENSION)
    extensions = (TEXT_EXTENSION,)
    stored_extension = TEXT_EXTENSION
    nested_values = "json"  # a list of tokens in JSON lines arrives as its JSON text
    options = (TEXTS, TEXT_COLUMNS, MAX_FILE_SIZE)
    #: how a stored text splits into parts
    layout: ClassVar[Layout] = PLAIN
    #: inline column sets looked for, in order, when text_columns is not given
    inline_columns: ClassVar[tuple[tuple[str, ...], ...]] = (("text",),)

    # -- layout, options and form ----------------------------------------------------

    def text_layout(self, options: "OptionValues") -> Layout:
        """The layout of this run's texts (a category with a layout option overrides this)."""
        return self.layout

    def check_options(self, options: "OptionValues") -> Iterable[tuple[str, str]]:
        columns = options.get("text_columns") or ()
        layout = self.text_layout(options)
        if columns and not layout.minimum <= len(columns) <= layout.maximum:
            wanted = f"{layout.minimum}" if layout.minimum == layout.maximum else f"{layout.minimum} to {layout.maximum}"
            yield "text_columns", (
                f"{self.category} takes {wanted} text columns ({layout.shape()}); text_columns names {len(columns)}"
            )

    def _text(self, ctx: "RunContext") -> _TextState:
        return ctx.state(f"text:{self.category}", _TextState)

    def form(self, ctx: "RunContext") -> Form:
        """How this run's manifest holds its texts (decided when its first batch is read)."""
        return self._text(ctx).form or Form()

    def choose_form(self, ctx: "RunContext", names: tuple[str, ...]) -> Form:
        """``text_columns`` if given; else ``filename`` (file form); else the first inline column set present."""
        given = ctx.options.get("text_columns")
        if given:
            return Form(INLINE, tuple(given), names)
        if self.file_column in names:
            return Form(FILE_FORM, (), names)
        layout = self.text_layout(ctx.options)
        for columns in self.inline_columns:
            if layout.minimum <= len(columns) <= layout.maximum and all(c in names for c in columns):
                return Form(INLINE, columns, names)
        return Form(FILE_FORM, (), names)

    def inline_hint(self, layout: Layout) -> str:
        """The inline columns that fit ``layout``, in words, for the message about a manifest with neither form."""
        fitting = [c for c in self.inline_columns if layout.minimum <= len(c) <= layout.maximum]
        return " or ".join(",".join(columns) for columns in fitting)

    def manifest_rel(self, ctx: "RunContext") -> str | None:
        return ctx.relative(ctx.settings.label_file) if ctx.settings.label_file else None

    # -- discovery ---------------------------------------------------------------------

    def discover(self, ctx: "RunContext") -> Iterator[pa.RecordBatch]:
        manifest = self.manifest_rel(ctx)

        def refuse(row: int, column: str) -> None:
            ctx.report(Issue("encoding", "the cell is not valid UTF-8", row=row, column=column, file=manifest))

        for batch in super().discover(ctx):
            yield plain_columns(batch, refuse)

    def header_seen(self, ctx: "RunContext", names: tuple[str, ...]) -> None:
        # the form decides which columns hold texts, so it must be known before they are checked
        state = self._text(ctx)
        if state.form is None:
            state.form = self.choose_form(ctx, names)

    def with_paths(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        state = self._text(ctx)
        if state.form is None:
            state.form = self.choose_form(ctx, tuple(batch.schema.names))
        if not state.form.inline:
            return super().with_paths(ctx, batch)
        # inline: no member file; messages name the manifest
        batch = batch.append_column(MEMBER, pa.nulls(batch.num_rows, pa.string()))
        return batch.append_column(FILE, pa.array([self.manifest_rel(ctx)] * batch.num_rows, pa.string()))

    # -- validation --------------------------------------------------------------------

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        # the folder is checked once the first batch shows the file form (an inline manifest needs none)
        return BaseIngestor.start(self, ctx)

    def required_columns(self, ctx: "RunContext") -> tuple[str, ...]:
        return ()  # checked with the form, see _check_form

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        return super().excluded_columns(ctx) | set(self.form(ctx).columns)

    def validate(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        state = self._text(ctx)
        header = []
        if not state.header_done:
            state.header_done = True
            header = list(self._check_form(ctx, tuple(batch.schema.names)))
            state.unusable = any(issue.is_error for issue in header)
        form = self.form(ctx)
        if state.unusable:
            return [*BaseIngestor.validate(self, ctx, batch), *header]
        if form.inline:
            issues = [*BaseIngestor.validate(self, ctx, batch), *self._check_inline(ctx, batch, form)]
            return sorted(issues, key=lambda issue: issue.row or 0)  # in manifest order, as the file form
        return list(super().validate(ctx, batch))

    def _check_form(self, ctx: "RunContext", names: tuple[str, ...]) -> Iterator[Issue]:
        form = self.form(ctx)
        manifest = self.manifest_rel(ctx)
        if form.inline:
            for column in form.columns:
                if column not in names:
                    yield Issue("missing_column", "a text column is not in the manifest", column=column, file=manifest)
            return
        if self.file_column not in names:
            inline = self.inline_hint(self.text_layout(ctx.options))
            yield Issue(
                "missing_column",
                f"the manifest needs a {self.file_column} column (texts in files) or the column(s) {inline} "
                "(texts inline; other names with text_columns)",
                column=self.file_column,
                file=manifest,
            )
        elif not self.folder(ctx).is_dir():
            yield Issue("missing_folder", f"the {self.folder_option} folder does not exist", file=self.folder_rel(ctx))

    def inline_texts(self, ctx: "RunContext", batch: pa.RecordBatch, form: Form) -> list[bytes | PartProblem]:
        """The stored text of each row of an inline batch, or the problem of its cells."""
        layout = self.text_layout(ctx.options)
        columns = [cells(batch, column) for column in form.columns]
        out: list[bytes | PartProblem] = []
        for values in zip(*columns):
            try:
                out.append(join_parts(values, form.columns, layout))
            except PartProblem as problem:
                out.append(problem)
        return out

    def _check_inline(self, ctx: "RunContext", batch: pa.RecordBatch, form: Form) -> list[Issue]:
        layout = self.text_layout(ctx.options)
        max_size = ctx.options.max_file_size
        manifest = self.manifest_rel(ctx)
        issues: list[Issue] = []
        rows = batch.column(ROW).to_pylist()
        reported = batch.column(REPORTED).to_pylist()
        for index, (row, text) in enumerate(zip(rows, self.inline_texts(ctx, batch, form))):
            if reported[index]:
                continue  # refused while discovering
            if isinstance(text, PartProblem):
                issues.append(Issue(text.rule, text.message, row=row, column=text.column, file=manifest))
                continue
            try:
                facts = check_text(text, max_size=max_size, layout=layout, what="text")
            except FileProblem as problem:
                issues.append(Issue(problem.rule, problem.message, row=row, column=form.columns[0], file=manifest))
                continue
            issues.extend(self.check_row(ctx, batch, index, row, manifest, facts))
        return issues

    def inspect(self, ctx: "RunContext", path: Path) -> TextFacts:
        return inspect_text(path, max_size=ctx.options.max_file_size, layout=self.text_layout(ctx.options))

    # -- the write pass ----------------------------------------------------------------

    def transform_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        form = self.form(ctx)
        if not form.inline:
            return super().transform_batch(ctx, batch)
        layout = self.text_layout(ctx.options)
        max_size = ctx.options.max_file_size
        stems = [stem_for(data_id) for data_id in batch.column(DATA_ID).to_pylist()]
        pending: dict[str, tuple[CopyJob, TextFacts]] = {}
        for stem, text in zip(stems, self.inline_texts(ctx, batch, form)):
            if isinstance(text, Exception):
                raise text  # validated already: only a plugin's own change can get here
            name = stem + TEXT_EXTENSION
            pending[name] = (CopyJob.of_bytes(name, text), check_text(text, max_size=max_size, layout=layout, what="text"))
        self._text(ctx).pending = pending
        batch = set_column(batch, FILENAME, pa.array(stems, pa.string()))
        batch = set_column(batch, EXTENSION, pa.array([TEXT_EXTENSION] * batch.num_rows, pa.string()))
        return BaseIngestor.transform_batch(self, ctx, self.add_columns(ctx, batch))

    def _loaded(self, ctx: "RunContext", batch: pa.RecordBatch) -> list[tuple[CopyJob, TextFacts]]:
        """The inline texts of the rows that reached the load (a transform may have skipped some)."""
        pending = self._text(ctx).pending
        names = dict.fromkeys(batch.column(FILENAME).to_pylist())
        return [pending[stem + TEXT_EXTENSION] for stem in names if stem + TEXT_EXTENSION in pending]

    def load(self, ctx: "RunContext", batch: pa.RecordBatch) -> None:
        super().load(ctx, batch)  # the once-per-run extra files, and the files of the file form
        if self.form(ctx).inline:
            ctx.files.store([job for job, _facts in self._loaded(ctx, batch)])

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        out = super().describe(ctx, batch)
        if self.form(ctx).inline:
            loaded = self._loaded(ctx, batch)
            ctx.stats.add(stored_bytes=sum(facts.size for _job, facts in loaded), stored_files=len(loaded))
            out.update(self.file_statistics(ctx, [(job.name, facts) for job, facts in loaded]))
        return out

    # -- statistics --------------------------------------------------------------------

    def file_statistics(self, ctx: "RunContext", described: list[tuple[str, TextFacts]]) -> dict:
        facts = [f for _name, f in described]
        chars = [f.chars for f in facts]
        words = [f.words for f in facts]
        out: dict[str, Any] = {
            "texts": Total(len(facts)),
            "text_characters": _numeric(chars),
            "text_words": _numeric(words),
            "text_character_buckets": Tally(_buckets(chars, CHAR_BUCKETS, ">=1M")),
            "text_word_buckets": Tally(_buckets(words, WORD_BUCKETS, ">=16k")),
        }
        layout = self.text_layout(ctx.options)
        if not layout.single:
            out["text_layouts"] = Tally(_count(layout.kind(len(f.parts) or 1) for f in facts))
            for position, name in enumerate(layout.names):
                out[f"{name}_characters"] = _numeric([f.parts[position] for f in facts if len(f.parts) > position])
        return out


    def report_sections(self, ctx: "RunContext", statistics) -> list[ReportSection]:
        """Exact length distributions of the sound texts (local report only; the registration has buckets)."""
        facts = [f for f in self._files(ctx).facts.values() if isinstance(f, TextFacts)]
        if not facts:
            return []
        chars = Histogram.of([f.chars for f in facts], title="Characters per text", xlabel="characters")
        words = Histogram.of([f.words for f in facts], title="Words per text", xlabel="words")
        text = f"{len(facts):,} texts; mean {sum(f.chars for f in facts) / len(facts):,.0f} characters."
        return [ReportSection("Text lengths", text, (chars, words))]


def _numeric(values: list[int]) -> Numeric:
    if not values:
        return Numeric()
    return Numeric(
        count=len(values),
        minimum=float(min(values)),
        maximum=float(max(values)),
        total=float(sum(values)),
        total_sq=float(sum(v * v for v in values)),
    )


def _count(keys: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in keys:
        out[key] = out.get(key, 0) + 1
    return out


def _buckets(values: Iterable[int], limits: tuple[tuple[int, str], ...], top: str) -> dict[str, int]:
    return _count(next((name for limit, name in limits if value < limit), top) for value in values)
