"""What the text categories share: manifest paths, text checks, the file store, statistics.

A manifest batch gets two host columns: ``_tb_member`` (the value of ``filename``
inside the texts folder, ``.txt`` added when it has no extension) and ``_tb_file``
(the same path relative to the source root, for messages and validators). The
validation pass checks each referenced file once, in parallel: its path stays inside
its folder, it exists, is within the size bound, is UTF-8, holds text. The write pass
copies every referenced file once into ``<storage_path>/<table>/<stem>.txt`` through
the core's :class:`~tracebloc_ingestor.files.FileStore`, before the rows are written.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

import pyarrow as pa

from tracebloc_ingestor import FileBearingIngestor, Issue, TableNameValidator, TableSchema, hookimpl
from tracebloc_ingestor.files import CopyJob, FileStore, FileStoreError, PathProblem, dataset_identity, member_path
from tracebloc_ingestor.stats import Numeric, Tally, Total

from .checks import TEXT_EXTENSION, TextFacts, TextProblem, inspect_text
from .options import TextOptions, text_options

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor import RunContext

FILE_COLUMN = "filename"
EXTENSION_COLUMN = "extension"
MEMBER = "_tb_member"  # host columns set by FileBearingIngestor.with_paths
FILE = "_tb_file"
ROW = "_tb_row"
# Buckets of the distributions sent with the registration (no single count leaves).
CHAR_BUCKETS = ((100, "<100"), (1_000, "100-1k"), (10_000, "1k-10k"), (100_000, "10k-100k"), (1_000_000, "100k-1M"))
WORD_BUCKETS = ((16, "<16"), (64, "16-64"), (256, "64-256"), (1_024, "256-1k"), (4_096, "1k-4k"), (16_384, "4k-16k"))


class _TextState:
    def __init__(self) -> None:
        self.started = False
        self.header_done = False
        self.facts: dict[str, TextFacts] = {}  # text rel -> facts, usable texts only
        self.bad: set[str] = set()
        self.stems: dict[str, str] = {}  # stored stem -> text rel
        self.pending: dict[str, CopyJob] = {}  # stored name -> its copy, for the current batch
        self.described: set[str] = set()
        self.extra_counted = False
        self.store: FileStore | None = None


def stored_stem(member: str) -> str:
    """The stem a manifest value is stored under (``<stem>.txt`` in the flat dataset folder)."""
    return PurePosixPath(member.replace("\\", "/")).stem


class TextIngestor(FileBearingIngestor):
    """Base of the text categories: a manifest of UTF-8 ``.txt`` files under one folder."""

    data_format = "text"
    label_kind = "classification"
    validators = (TableNameValidator(),)
    #: the settings field (and default folder name under the source root) of the texts
    folder_setting: ClassVar[str] = "texts"
    #: manifest columns that describe files, not features
    file_columns: ClassVar[tuple[str, ...]] = (FILE_COLUMN, EXTENSION_COLUMN)

    # -- folders and options ---------------------------------------------------------

    def options(self, ctx: "RunContext") -> TextOptions:
        return ctx.state(f"text-options:{self.category}", lambda: text_options(ctx.settings))

    def folder(self, ctx: "RunContext") -> Path:
        given = getattr(ctx.settings, self.folder_setting, None)
        return Path(given) if given is not None else ctx.source_root / self.folder_setting

    def _prefix(self, ctx: "RunContext") -> str:
        return ctx.relative(self.folder(ctx))

    def manifest_prefix(self, ctx: "RunContext") -> str:
        return self._prefix(ctx)

    def store_workers(self, ctx: "RunContext") -> int:
        return self.options(ctx).workers

    def _text_state(self, ctx: "RunContext") -> _TextState:
        return ctx.state(f"text:{self.category}", _TextState)

    # -- discovery -------------------------------------------------------------------

    def member_of(self, ctx: "RunContext", value: Any) -> str | None:
        """The manifest value as a path inside the folder, ``.txt`` added when it has no such extension."""
        text = super().member_of(ctx, value)
        if text is None or PurePosixPath(text.replace("\\", "/")).suffix.lower() == TEXT_EXTENSION:
            return text
        return text + TEXT_EXTENSION

    # -- validation ------------------------------------------------------------------

    def declared_features(self, ctx: "RunContext") -> dict[str, str] | None:
        # Text manifests carry no inferred features: only what the schema declares.
        declared = super().declared_features(ctx)
        return {} if declared is None else declared

    def start_issues(self, ctx: "RunContext") -> Iterable[Issue]:
        """Run-level checks: the folder, the options, whether the destination may be used."""
        options = self.options(ctx)
        if options.problem:
            yield Issue("file_options", options.problem)
        if not self.folder(ctx).is_dir():
            yield Issue("missing_folder", f"the {self.folder_setting} folder does not exist", file=self._prefix(ctx))
        problem = self.make_store(ctx).destination_problem(dataset_identity(ctx))
        if problem:
            yield Issue("destination", f"{self.destination(ctx)}: {problem}")

    def validate_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        issues = list(super().validate_batch(ctx, batch))
        state = self._text_state(ctx)
        if not state.started:
            state.started = True
            issues.extend(self.start_issues(ctx))
        names = batch.schema.names
        if not state.header_done:
            state.header_done = True
            if FILE_COLUMN not in names:
                manifest = ctx.relative(ctx.settings.label_file) if ctx.settings.label_file else None
                issues.append(Issue("missing_column", "the manifest needs this column", column=FILE_COLUMN, file=manifest))
        if FILE_COLUMN in names:
            issues.extend(self._check_files(ctx, batch))
        return issues

    def _check_files(self, ctx: "RunContext", batch: pa.RecordBatch) -> list[Issue]:
        state = self._text_state(ctx)
        options = self.options(ctx)
        folder = self.folder(ctx)
        rows = batch.column(ROW).to_pylist()
        members = batch.column(MEMBER).to_pylist()
        files = batch.column(FILE).to_pylist()
        issues: list[Issue] = []
        tasks: list[tuple[int, int, str, Path]] = []
        queued: set[str] = set()
        later: list[tuple[int, int, str]] = []  # rows whose file another row checks
        for index, (row, member, rel) in enumerate(zip(rows, members, files)):
            if member is None:
                issues.append(Issue("required", "a file name is required", row=row, column=FILE_COLUMN))
                continue

            def problem(rule: str, message: str, row: int = row, rel: str = rel) -> None:
                issues.append(Issue(rule, message, row=row, column=FILE_COLUMN, file=rel))

            try:
                path = member_path(folder, member)
            except PathProblem as exc:
                problem(exc.rule, exc.message)
                continue
            stem = stored_stem(member)
            if stem.startswith("."):
                problem("file_name", "a stored file name must not start with '.'")
                continue
            first = state.stems.setdefault(stem, rel)
            if first != rel:
                problem("duplicate_name", f"another referenced text ({first}) has the same name; the dataset folder is flat")
                continue
            if rel in state.bad:
                continue
            if rel in state.facts or rel in queued:
                later.append((index, row, rel))
                continue
            if not path.is_file():
                state.bad.add(rel)
                problem("missing_file", "the file does not exist")
                continue
            queued.add(rel)
            tasks.append((index, row, rel, path))
        for (index, row, rel, _path), outcome in zip(tasks, self._inspect_all(options, [t[3] for t in tasks])):
            if isinstance(outcome, TextFacts):
                state.facts[rel] = outcome
                issues.extend(self.check_row(ctx, batch, index, row, rel, outcome))
            else:
                state.bad.add(rel)
                issues.append(Issue(outcome[0], outcome[1], row=row, column=FILE_COLUMN, file=rel))
        for index, row, rel in later:
            if rel in state.facts:
                issues.extend(self.check_row(ctx, batch, index, row, rel, state.facts[rel]))
        # Inspection results arrive after the path checks; report in manifest order.
        issues.sort(key=lambda issue: issue.row if issue.row is not None else 0)
        return issues

    def _inspect_all(self, options: TextOptions, paths: list[Path]) -> list[TextFacts | tuple[str, str]]:
        """Inspect ``paths`` in worker threads (reading releases the GIL); results in order."""
        if not paths:
            return []

        def one(path: Path) -> TextFacts | tuple[str, str]:
            try:
                return inspect_text(path, max_size=options.max_file_size)
            except TextProblem as problem:
                return problem.rule, problem.message
            except OSError as exc:
                return "unreadable", f"the file cannot be read ({exc.strerror or type(exc).__name__})"

        shares = min(options.workers, len(paths))
        if shares == 1:
            return [one(p) for p in paths]

        def run_share(share: int) -> list:
            return [one(p) for p in paths[share::shares]]

        with ThreadPoolExecutor(max_workers=shares) as pool:
            parts = list(pool.map(run_share, range(shares)))
        return [parts[i % shares][i // shares] for i in range(len(paths))]

    def check_row(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, row: int, rel: str, facts: TextFacts) -> Iterable[Issue]:
        """Row-level rules that need the text's facts (tag count = word count, say)."""
        return ()

    # -- schema and write pass -------------------------------------------------------

    def table_schema(self, ctx: "RunContext") -> TableSchema:
        return TableSchema.from_mapping(self.declared_features(ctx) or {})

    def transform_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        state = self._text_state(ctx)
        folder = self.folder(ctx)
        stems: list[str] = []
        pending: dict[str, CopyJob] = {}
        for member in batch.column(MEMBER).to_pylist():
            stem = stored_stem(member)
            stems.append(stem)
            name = stem + TEXT_EXTENSION
            if name not in pending:
                pending[name] = CopyJob(name, str(member_path(folder, member)))
        state.pending = pending
        batch = _set(batch, FILE_COLUMN, pa.array(stems, pa.string()))
        batch = _set(batch, EXTENSION_COLUMN, pa.array([TEXT_EXTENSION] * batch.num_rows, pa.string()))
        return super().transform_batch(ctx, batch)

    def extra_jobs(self, ctx: "RunContext") -> list[CopyJob]:
        """Files stored once per run besides the texts (a tokenizer, say)."""
        return []

    @hookimpl
    def tb_load(self, ctx: "RunContext", batch: pa.RecordBatch):
        if not self._mine(ctx):
            return None
        state = self._text_state(ctx)
        jobs: list[CopyJob] = []
        if state.store is None:
            identity = dataset_identity(ctx)
            if identity is None:
                raise FileStoreError("the table has no identity in the database; the file store cannot be claimed")
            store = self.make_store(ctx)
            store.open(identity, table=ctx.table)
            state.store = store
            jobs.extend(self.extra_jobs(ctx))
        # Only the rows that reached the load (a transform may have skipped some).
        names = dict.fromkeys(stem + TEXT_EXTENSION for stem in batch.column(FILE_COLUMN).to_pylist())
        jobs.extend(state.pending[name] for name in names if name in state.pending)
        try:
            state.store.store(jobs)
        except FileStoreError:
            ctx.scratch["tracebloc.file_failures"] = int(ctx.scratch.get("tracebloc.file_failures", 0)) + 1
            raise
        return None

    # -- statistics ------------------------------------------------------------------

    def extra_bytes(self, ctx: "RunContext") -> int:
        """Bytes of the files of :meth:`extra_jobs`, counted once in ``size_bytes``."""
        return 0

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        out = super().describe(ctx, batch)
        state = self._text_state(ctx)
        facts: list[TextFacts] = []
        for stem in batch.column(FILE_COLUMN).to_pylist():
            name = stem + TEXT_EXTENSION
            rel = state.stems.get(stem)
            if name in state.described or rel not in state.facts:
                continue
            state.described.add(name)
            facts.append(state.facts[rel])
        # Files are stored unchanged, so their source sizes are the stored sizes; this also
        # holds when a re-run of a registered dataset loads nothing.
        size = sum(f.size for f in facts)
        if not state.extra_counted:
            state.extra_counted = True
            size += self.extra_bytes(ctx)
        ctx.scratch["tracebloc.stored_bytes"] = int(ctx.scratch.get("tracebloc.stored_bytes", 0)) + size
        out.update(
            {
                "texts": Total(len(facts)),
                "text_characters": _numeric([f.chars for f in facts]),
                "text_words": _numeric([f.words for f in facts]),
                "text_character_buckets": Tally(_buckets((f.chars for f in facts), CHAR_BUCKETS, ">=1M")),
                "text_word_buckets": Tally(_buckets((f.words for f in facts), WORD_BUCKETS, ">=16k")),
            }
        )
        return out


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


def _buckets(values: Iterable[int], limits: tuple[tuple[int, str], ...], top: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        key = next((name for limit, name in limits if value < limit), top)
        out[key] = out.get(key, 0) + 1
    return out


def _set(batch: pa.RecordBatch, name: str, values: pa.Array) -> pa.RecordBatch:
    names = batch.schema.names
    if name in names:
        return batch.set_column(names.index(name), name, values)
    return batch.append_column(name, values)
