"""The base of categories whose records name files (images, texts, audio, ...).

:class:`FileCategory` does what every such category needs, so that a data type adds
only its own rules:

* **manifest paths**: each manifest row's file column becomes ``_tb_member`` (a path
  inside the category's folder, its extension found on disk when the manifest leaves
  it out) and ``_tb_file`` (the same path relative to the source root, for messages);
  a value that leads outside the folder is refused;
* **one flat folder**: two referenced files whose stored names would collide are
  refused, and so is a companion file (a mask, an annotation) whose name collides;
* **parallel inspection**: each referenced file is checked once, in worker threads,
  by the category's :meth:`~FileCategory.inspect`; a file named by several rows is
  read once. When the run stores files in the same pass, the worker copies the source
  into the run's staging folder (one open, one read, hashed on the way) and inspects
  the copy;
* **storing**: each file is stored once through the run's file store (``ctx.files``),
  with the category's processed bytes where it produces them (a resized image, made
  from the staged copy), plus once-per-run extra files (a tokenizer); the files become
  visible when the run publishes them;
* **statistics**: each stored file is described once, and its bytes on the shared
  volume count towards the registration's ``size_bytes``.
"""

from __future__ import annotations

import os
import shutil
import posixpath
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator

import attrs
import pyarrow as pa

from ..batches import EXTENSION, FILE, FILENAME, MEMBER, ROW, set_column
from ..ingestors import BaseIngestor
from ..issues import Issue
from ..schema import TableSchema
from .paths import PathProblem, member_path, relative_name
from .store import DEFAULT_WORKERS, CopyJob, FileStore, _mib

if TYPE_CHECKING:  # pragma: no cover
    from ..context import RunContext

__all__ = ["Companion", "FileCategory", "FileCheck", "FileFacts", "FileProblem"]


class FileProblem(Exception):
    """Raised by :meth:`FileCategory.inspect`: the file breaks ``rule``; ``message`` says how (no content)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@attrs.frozen
class FileFacts:
    """What :meth:`FileCategory.inspect` learns by default: the file's size in bytes."""

    size: int


@attrs.frozen
class Companion:
    """A file that belongs to a record besides its own (a mask, an annotation).

    ``kind`` names the folder option it lives in (``masks``), ``member`` is the path
    inside that folder, ``rel`` the path relative to the source root (for messages).
    """

    kind: str
    member: str
    rel: str


class FileCheck:
    """The outcome of checking one record's files in a worker thread.

    ``facts`` is what ``inspect`` returned; companions' checks add ``problems``
    (``(rule, message, file relative to the source root)``) or set ``extra`` (what the
    category derives from them, a label say; read back with ``file_extra``).
    """

    __slots__ = ("facts", "problems", "extra", "paths")

    def __init__(self) -> None:
        self.facts: Any = None
        self.problems: list[tuple[str, str, str]] = []
        self.extra: Any = None
        self.paths: dict[str, str] = {}  # file rel -> its resolved source path


class _FileState:
    def __init__(self) -> None:
        self.header_done = False
        self.facts: dict[str, Any] = {}  # file rel -> facts, sound files only
        self.extra: dict[str, Any] = {}  # file rel -> what the category derived
        self.bad: set[str] = set()
        self.stems: dict[str, str] = {}  # stored stem -> file rel
        self.names: dict[str, str] = {}  # stored companion name -> its rel
        self.paths: dict[str, str] = {}  # file rel -> resolved source path, sound files and companions
        self.pending: dict[str, list[CopyJob]] = {}  # stored name -> its copies, for the current batch
        self.described: set[str] = set()
        self.extras_stored = False
        self.extras_counted = False
        self.workers: int | None = None  # threads for the checks, chosen on the first files
        self.planned: tuple[list, tuple] | None = None  # a sharded run's name plan of the next batch, by its rows


def default_workers() -> int:
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


#: threads for a source on a volume where each open and read waits for a round trip (NFS, a cloud share)
LATENCY_WORKERS = 32
# a probe file that keeps a thread waiting (not computing) this long per file marks such a volume
_SLOW_VOLUME_SECONDS = 0.001
_PROBE_FILES = 3


class FileCategory(BaseIngestor):
    """Records that name files under one folder of the source; subclasses add their rules.

    Set ``folder_option`` to the name of a path option the category declares (its
    value is the folder; unset, the folder is ``<source root>/<folder_option>``),
    ``extensions`` to the accepted file extensions, and override :meth:`inspect` to
    check one file. The remaining methods are optional hooks.
    """

    file_bearing = True
    #: the manifest column naming each record's file
    file_column: ClassVar[str] = FILENAME
    #: manifest columns that describe files, not features
    file_columns: ClassVar[tuple[str, ...]] = (FILENAME,)
    #: the option holding the files' folder, and the folder's default name under the source root
    folder_option: ClassVar[str] = "files"
    #: accepted extensions (lower case, with the dot); tried in order when the manifest gives none
    extensions: ClassVar[tuple[str, ...]] = ()
    #: every file is stored as ``<stem><stored_extension>`` (None: its own extension)
    stored_extension: ClassVar[str | None] = None
    #: whether a file may be named by one record only
    one_record_per_file: ClassVar[bool] = False
    #: whether the manifest carries the label column (False: the category derives it)
    manifest_label: ClassVar[bool] = True
    #: rows per batch: bounds the per-batch work lists (checks, copy jobs, rows) whatever BATCH_SIZE says
    max_batch_rows: ClassVar[int] = 10_000

    # -- folders --------------------------------------------------------------------

    def folder(self, ctx: "RunContext", kind: str | None = None) -> Path:
        """The folder of ``kind`` (an option's name; default ``folder_option``)."""
        kind = kind or self.folder_option
        given = ctx.options.get(kind)
        return Path(given) if given is not None else ctx.source_root / kind

    def folder_rel(self, ctx: "RunContext", kind: str | None = None) -> str:
        return ctx.relative(self.folder(ctx, kind))

    def workers(self, ctx: "RunContext") -> int:
        """Threads that inspect and store files."""
        return default_workers()

    def produce_in_processes(self, ctx: "RunContext") -> bool:
        """Whether this run's :meth:`producer` functions are CPU-bound work for worker processes (resizing).

        The functions must be picklable (module-level functions or ``functools.partial`` of
        them); others run in threads.
        """
        return False

    def make_store(self, ctx: "RunContext") -> FileStore:
        return FileStore(
            ctx.destination, workers=self.workers(ctx) or DEFAULT_WORKERS, process_producers=self.produce_in_processes(ctx)
        )

    def _files(self, ctx: "RunContext") -> _FileState:
        return ctx.state(f"files:{self.category}", _FileState)

    # -- discovery ------------------------------------------------------------------

    def discover(self, ctx: "RunContext") -> Iterator[pa.RecordBatch]:
        for batch in super().discover(ctx):
            for start in range(0, batch.num_rows, self.max_batch_rows):
                yield self.with_paths(ctx, batch.slice(start, self.max_batch_rows))

    def with_paths(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add ``_tb_member`` and ``_tb_file`` from the file column."""
        if self.file_column in batch.schema.names:
            members = [self.member_of(ctx, v) for v in batch.column(self.file_column).to_pylist()]
        else:
            members = [None] * batch.num_rows
        prefix = self.folder_rel(ctx)
        files = [None if m is None else f"{prefix}/{m}" for m in members]
        batch = batch.append_column(MEMBER, pa.array(members, pa.string()))
        return batch.append_column(FILE, pa.array(files, pa.string()))

    def default_extension(self, ctx: "RunContext") -> str | None:
        """The extension added to a manifest value that has none and matches no file on disk."""
        return self.stored_extension or (self.extensions[0] if len(self.extensions) == 1 else None)

    def member_of(self, ctx: "RunContext", value: Any) -> str | None:
        """The manifest value as a path inside the folder (None when it names no file).

        A value without one of ``extensions`` gets the first extension under which
        the file exists on disk (the default extension first).
        """
        if value is None or not str(value).strip():
            return None
        text = str(value).strip()
        if not self.extensions or self._suffix(text).lower() in self.extensions:
            return text
        default = self.default_extension(ctx)
        candidates = ([default] if default else []) + [e for ext in self.extensions for e in (ext, ext.upper()) if e != default]
        try:
            pure = relative_name(text)
        except PathProblem:
            return text  # refused with its reason when the file is checked
        folder = self.folder(ctx)
        for ext in candidates:
            if (folder / f"{pure}{ext}").is_file():
                return f"{text}{ext}"
        return f"{text}{default}" if default else text

    @staticmethod
    def _suffix(member: str) -> str:
        """The extension of a manifest value, as ``PurePosixPath(...).suffix`` gives it (string work only)."""
        base = posixpath.basename(member.replace("\\", "/").rstrip("/"))
        if base in ("", ".", ".."):
            return PurePosixPath(member.replace("\\", "/")).suffix
        suffix = posixpath.splitext(base)[1]
        return "" if suffix == "." else suffix

    def stored_name(self, member: str) -> tuple[str, str]:
        """(stem, extension) a file is stored under in the flat dataset folder."""
        text = member.replace("\\", "/")
        base = posixpath.basename(text.rstrip("/"))  # string work: once per file, in the main thread
        if base in ("", ".", ".."):
            pure = PurePosixPath(text)
            stem, suffix = pure.stem, pure.suffix
        else:
            stem, suffix = posixpath.splitext(base)
            if suffix == ".":  # "a." has no suffix
                stem, suffix = base, ""
        return stem, self.stored_extension if self.stored_extension is not None else suffix

    # -- validation -----------------------------------------------------------------

    def declared_features(self, ctx: "RunContext") -> dict[str, str] | None:
        # Manifests carry no inferred features: only what the schema declares.
        declared = super().declared_features(ctx)
        return {} if declared is None else declared

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        return super().excluded_columns(ctx) | set(self.file_columns)

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        issues = list(super().start(ctx))
        if not self.folder(ctx).is_dir():
            issues.append(Issue("missing_folder", f"the {self.folder_option} folder does not exist", file=self.folder_rel(ctx)))
        return issues

    def reads_label(self, ctx: "RunContext") -> bool:
        return self.manifest_label and super().reads_label(ctx)

    def checks_header(self, ctx: "RunContext") -> bool:
        return self.manifest_label

    def required_columns(self, ctx: "RunContext") -> tuple[str, ...]:
        """Manifest columns without which no record can be read."""
        return (self.file_column,)

    def validate(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        issues = list(super().validate(ctx, batch))
        state = self._files(ctx)
        names = batch.schema.names
        if not state.header_done:
            state.header_done = True
            manifest = ctx.relative(ctx.settings.label_file) if ctx.settings.label_file else None
            for column in self.required_columns(ctx):
                if column not in names:
                    issues.append(Issue("missing_column", "the manifest needs this column", column=column, file=manifest))
        if self.file_column in names:
            issues.extend(self._check_files(ctx, batch))
        return issues

    def validate_end(self, ctx: "RunContext") -> Iterable[Issue]:
        issues = list(super().validate_end(ctx))
        if not any(issue.is_error for issue in issues):
            issues.extend(self._space_check(ctx))
        return issues

    def _space_check(self, ctx: "RunContext") -> list[Issue]:
        """Free space at the destination for the files found (those not stored there already).

        Only when the files are copied after validation: staged while checked (one pass),
        they take their space already, and a full volume is named as it happens.
        """
        if ctx.files is not None and ctx.files.staging:
            return []
        state = self._files(ctx)
        destination = ctx.destination
        needed = 0
        for rel, facts in state.facts.items():
            size = getattr(facts, "size", None)
            if size is None:
                continue
            stored = destination / "".join(self.stored_name(PurePosixPath(rel).name))
            if not (stored.is_file() and stored.stat().st_size == size):
                needed += int(size)
        existing = destination
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        try:
            free = shutil.disk_usage(existing).free
        except OSError:
            return []
        if needed <= free:
            return []
        return [Issue("free_space", f"the files need {_mib(needed)} at {destination} but only {_mib(free)} are free")]

    def inspect(self, ctx: "RunContext", path: Path) -> Any:
        """Check one file (in a worker thread); return what later rules need to know of it.

        Raise :class:`FileProblem` for a file that breaks a rule. The default only reads
        the size. It runs in several threads at once, so it must not keep state nor call
        ``ctx.state``: rules across files go into :meth:`check_file` (main thread).

        When the run stores files, ``path`` is the file's copy in the run's staging folder
        (the same name and bytes): the source was read once, into that copy. Read only
        ``path`` itself; files beside it are not the source's neighbours (declare them as
        :meth:`companions`).
        """
        return FileFacts(path.stat().st_size)

    def companions(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, member: str) -> list[Companion]:
        """Files that belong to row ``index`` besides its own (a mask, an annotation)."""
        return []

    def companion(self, ctx: "RunContext", kind: str, member: str) -> Companion:
        """A :class:`Companion` of ``member`` inside the folder of option ``kind``."""
        return Companion(kind, member, f"{self.folder_rel(ctx, kind)}/{member}")

    def check_companions(self, ctx: "RunContext", check: FileCheck, companions: list[tuple[Companion, Path]]) -> None:
        """Check a record's companion files against its file's facts (in a worker thread)."""

    def check_file(self, ctx: "RunContext", facts: Any) -> Iterable[tuple[str, str]]:
        """Rules over one sound file that may compare files (``(rule, message)`` pairs).

        Runs in the main thread, once per file, in manifest order.
        """
        return ()

    def check_row(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, row: int, rel: str, facts: Any) -> Iterable[Issue]:
        """Row-level rules that need the file's facts (tags per word, keypoints inside the image)."""
        return ()

    def file_facts(self, ctx: "RunContext", rel: str) -> Any:
        """The facts of a checked file (by its path relative to the source root)."""
        return self._files(ctx).facts.get(rel)

    def file_extra(self, ctx: "RunContext", rel: str) -> Any:
        """What ``check_companions`` derived for a file (its ``FileCheck.extra``)."""
        return self._files(ctx).extra.get(rel)

    def _plan_names(self, ctx: "RunContext", batch: pa.RecordBatch, mine: Any = None) -> tuple[list, list, list]:
        """The flat folder's name rules over ``batch``, in manifest order: (issues, files to check, rows whose
        file another row checks) of the rows ``mine`` marks (every row when None), with indices into the
        batch of those rows alone. The names of every row are noted, so that a later record (of any shard)
        that would collide with one of them is refused as in one process."""
        state = self._files(ctx)
        column = self.file_column
        rows = batch.column(ROW).to_pylist()
        members = batch.column(MEMBER).to_pylist()
        files = batch.column(FILE).to_pylist()
        keep = [True] * len(rows) if mine is None else [bool(m) for m in mine]
        issues: list[Issue] = []
        tasks: list[tuple[int, int, str, PurePosixPath, str, list[Companion]]] = []
        queued: set[str] = set()
        later: list[tuple[int, int, str]] = []  # rows whose file another row checks
        position = -1
        # names are checked here, in manifest order; everything that touches the file system
        # runs in the worker threads (on a network volume each lookup costs a round trip)
        for index, (row, member, rel, own) in enumerate(zip(rows, members, files, keep)):
            position += own
            if member is None:
                if own:
                    issues.append(Issue("required", "a file name is required", row=row, column=column))
                continue

            def problem(rule: str, message: str, file: str = rel, on_column: bool = True, row: int = row, own: bool = own) -> None:
                if own:
                    issues.append(Issue(rule, message, row=row, column=column if on_column else None, file=file))

            try:
                pure = relative_name(member)
            except PathProblem as exc:
                problem(exc.rule, exc.message)
                continue
            stem, ext = self.stored_name(member)
            if stem.startswith("."):
                problem("file_name", "a stored file name must not start with '.'")
                continue
            first = state.stems.setdefault(stem, rel)
            if first == rel:
                first = state.names.get(stem + ext, rel)
            if first != rel:
                problem("duplicate_name", f"another referenced file ({first}) has the same name; the dataset folder is flat")
                continue
            if own and rel in state.bad:
                continue
            if own and (rel in state.facts or rel in queued):
                if self.one_record_per_file:
                    problem("duplicate_record", f"the file is listed more than once; {self.category} stores one record per file")
                    continue
                later.append((position, row, rel))
                continue
            companions: list[Companion] = []
            broken = False
            for comp in self.companions(ctx, batch, index, member):
                try:
                    relative_name(comp.member)
                except PathProblem as exc:
                    problem(exc.rule, exc.message, comp.rel, False)
                    broken = True
                    continue
                name = PurePosixPath(comp.member).name
                owner = state.names.setdefault(name, comp.rel)
                mine_stem = state.stems.get(PurePosixPath(name).stem)
                if owner != comp.rel or (mine_stem is not None and PurePosixPath(mine_stem).name == name):
                    problem("duplicate_name", "another referenced file has the same name; the dataset folder is flat", comp.rel, False)
                    broken = True
                    continue
                companions.append(comp)
            if not own:
                continue
            if broken:
                state.bad.add(rel)
                continue
            queued.add(rel)
            tasks.append((position, row, rel, pure, stem + ext, companions))
        return issues, tasks, later

    def note_all_shards(self, ctx: "RunContext", batch: pa.RecordBatch, mine: Any) -> None:
        """Plan the names with every shard's records; :meth:`validate` of this shard's part uses the plan."""
        if self.file_column in batch.schema.names:
            own = [row for row, keep in zip(batch.column(ROW).to_pylist(), mine) if keep]
            self._files(ctx).planned = (own, self._plan_names(ctx, batch, mine))

    def shard_key(self, ctx: "RunContext", batch: pa.RecordBatch) -> list[str | None]:
        """The stem each record's file is stored under: one file, and every name that could collide
        with it in the flat folder by stem, is checked and stored by one shard."""
        members = batch.column(MEMBER).to_pylist() if MEMBER in batch.schema.names else [None] * batch.num_rows
        return [None if m is None else self.stored_name(m)[0] for m in members]

    def _check_files(self, ctx: "RunContext", batch: pa.RecordBatch) -> list[Issue]:
        state = self._files(ctx)
        column = self.file_column
        planned, state.planned = state.planned, None
        rows = batch.column(ROW).to_pylist()
        # a sharded run planned the names with every shard's records (note_all_shards): the plan of this batch
        if planned is not None and planned[0] == rows:
            issues, tasks, later = planned[1]
        else:
            issues, tasks, later = self._plan_names(ctx, batch)
        for (index, row, rel, *_rest), check in zip(tasks, self._inspect_all(ctx, tasks)):
            for rule, message, file in check.problems:
                issues.append(Issue(rule, message, row=row, column=column if file == rel else None, file=file))
            if check.problems or check.facts is None:
                state.bad.add(rel)
                continue
            state.paths.update(check.paths)
            found = list(self.check_file(ctx, check.facts))
            for rule, message in found:
                issues.append(Issue(rule, message, row=row, column=column, file=rel))
            if found:
                state.bad.add(rel)
                continue
            state.facts[rel] = check.facts
            if check.extra is not None:
                state.extra[rel] = check.extra
            issues.extend(self.check_row(ctx, batch, index, row, rel, check.facts))
        for index, row, rel in later:
            if rel in state.facts:
                issues.extend(self.check_row(ctx, batch, index, row, rel, state.facts[rel]))
        # inspection results arrive after the name checks; report in manifest order
        issues.sort(key=lambda issue: issue.row if issue.row is not None else 0)
        return issues

    def _readable(self, ctx: "RunContext", name: str, path: Path) -> Path | None:
        """The path to check: the staged copy when the run is storing (one read of the source), else the source.

        None when there is no such file.
        """
        files = ctx.files
        if files is not None and files.staging:
            try:
                staged = files.stage(name, path)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return None
            if staged is not None:
                return staged
        return path if path.is_file() else None

    def _check_one(self, ctx: "RunContext", task: tuple, folder: Path) -> FileCheck:
        _index, _row, rel, pure, name, companions = task
        check = FileCheck()
        try:
            path = member_path(folder, pure)
            target = self._readable(ctx, name, path)
            if target is None:
                check.problems.append(("missing_file", "the file does not exist", rel))
                return check
            check.paths[rel] = str(path)
            pairs: list[tuple[Companion, Path]] = []
            for comp in companions:
                try:
                    comp_path = member_path(self.folder(ctx, comp.kind), comp.member)
                except PathProblem as exc:
                    check.problems.append((exc.rule, exc.message, comp.rel))
                    continue
                comp_target = self._readable(ctx, PurePosixPath(comp.member).name, comp_path)
                if comp_target is None:
                    check.problems.append(("missing_file", f"the {comp.kind} file does not exist", comp.rel))
                    continue
                check.paths[comp.rel] = str(comp_path)
                pairs.append((comp, comp_target))
            if check.problems:
                return check
            check.facts = self.inspect(ctx, target)
        except PathProblem as exc:
            check.problems.append((exc.rule, exc.message, rel))
            return check
        except FileProblem as exc:
            check.problems.append((exc.rule, exc.message, rel))
            return check
        except OSError as exc:
            check.problems.append(("unreadable", f"the file cannot be read ({exc.strerror or type(exc).__name__})", rel))
            return check
        try:
            self.check_companions(ctx, check, pairs)
        except FileProblem as exc:
            check.problems.append((exc.rule, exc.message, rel))
        except OSError as exc:
            check.problems.append(("unreadable", f"a file cannot be read ({exc.strerror or type(exc).__name__})", rel))
        if not check.problems and target != path and ctx.files is not None:
            produce = self.producer(ctx, check.facts)
            if produce is not None:  # processed while the next files are checked
                ctx.files.produce_early(name, produce)
        return check

    def _inspect_all(self, ctx: "RunContext", tasks: list) -> list[FileCheck]:
        """Check every task's files in worker threads (reading releases the GIL); results in order."""
        if not tasks:
            return []
        folder = self.folder(ctx)
        state = self._files(ctx)
        first: list[FileCheck] = []
        if state.workers is None:
            state.workers = max(1, self.workers(ctx))
            if type(self).workers is FileCategory.workers:
                # the first files, one by one: a thread that mostly waits on each is on a
                # network volume, where many reads in flight hide the latency
                probe, tasks = tasks[:_PROBE_FILES], tasks[_PROBE_FILES:]
                wall, busy = time.perf_counter(), _busy_seconds()
                first = [self._check_one(ctx, task, folder) for task in probe]
                waited = (time.perf_counter() - wall) - (_busy_seconds() - busy)
                ctx.log.debug("the first %d files took %.2f ms each waiting", len(probe), 1000 * waited / len(probe))
                if waited / len(probe) > _SLOW_VOLUME_SECONDS:
                    state.workers = max(state.workers, LATENCY_WORKERS)
                    ctx.log.info("the source answers slowly (%.1f ms per file): checking %d files at a time",
                                 1000 * waited / len(probe), state.workers)
        shares = min(state.workers, len(tasks))
        if shares <= 1:
            return first + [self._check_one(ctx, task, folder) for task in tasks]

        # contiguous work per thread: less hand-over than one future per file
        def run_share(share: int) -> list[FileCheck]:
            return [self._check_one(ctx, task, folder) for task in tasks[share::shares]]

        with ThreadPoolExecutor(max_workers=shares, thread_name_prefix="tb-inspect") as pool:
            parts = list(pool.map(run_share, range(shares)))
        return first + [parts[i % shares][i // shares] for i in range(len(tasks))]

    # -- schema and write pass ---------------------------------------------------------

    def table_schema(self, ctx: "RunContext") -> TableSchema:
        return TableSchema.from_mapping(self.declared_features(ctx) or {})

    def transform_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        """Set ``filename``/``extension`` to the stored names and plan the batch's copies."""
        state = self._files(ctx)
        folder = self.folder(ctx)
        stems: list[str] = []
        extensions: list[str] = []
        pending: dict[str, list[CopyJob]] = {}
        members = batch.column(MEMBER).to_pylist()
        files = batch.column(FILE).to_pylist()
        for index, (member, rel) in enumerate(zip(members, files)):
            stem, ext = self.stored_name(member)
            stems.append(stem)
            extensions.append(ext)
            name = stem + ext
            if name in pending:
                continue
            facts = state.facts.get(rel)
            source = state.paths.get(rel) or str(member_path(folder, member))
            jobs = [CopyJob(name, source, self.producer(ctx, facts))]
            for comp in self.companions(ctx, batch, index, member):
                comp_path = state.paths.get(comp.rel) or str(member_path(self.folder(ctx, comp.kind), comp.member))
                jobs.append(CopyJob(PurePosixPath(comp.member).name, comp_path, self.companion_producer(ctx, facts, comp)))
            pending[name] = jobs
        state.pending = pending
        batch = set_column(batch, FILENAME, pa.array(stems, pa.string()))
        batch = set_column(batch, EXTENSION, pa.array(extensions, pa.string()))
        batch = self.add_columns(ctx, batch)
        return super().transform_batch(ctx, batch)

    def add_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        """Set category columns (``label``, ``annotation``, ...) before the cast; ``_tb_file`` names each row's file."""
        return batch

    def producer(self, ctx: "RunContext", facts: Any) -> Callable[[Path], bytes] | None:
        """A function that returns the bytes to store instead of the file's own (a resized image), or None."""
        return None

    def companion_producer(self, ctx: "RunContext", facts: Any, companion: Companion) -> Callable[[Path], bytes] | None:
        """Like :meth:`producer`, for a companion file."""
        return None

    def extra_files(self, ctx: "RunContext") -> list[CopyJob]:
        """Files stored once per run besides the records' own (a tokenizer, say)."""
        return []

    def load(self, ctx: "RunContext", batch: pa.RecordBatch) -> None:
        state = self._files(ctx)
        jobs: list[CopyJob] = []
        if not state.extras_stored:
            state.extras_stored = True
            if _first_shard(ctx):  # stored (and counted) once per run, by one shard
                jobs.extend(self.extra_files(ctx))
        # only the rows that reached the load (a transform may have skipped some)
        names = dict.fromkeys(f + e for f, e in zip(batch.column(FILENAME).to_pylist(), batch.column(EXTENSION).to_pylist()))
        jobs.extend(job for name in names for job in state.pending.get(name, ()))
        ctx.files.store(jobs)

    # -- statistics -------------------------------------------------------------------

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        out = dict(super().describe(ctx, batch) or {})
        state = self._files(ctx)
        described: list[tuple[str, Any]] = []
        sizes = 0
        count = 0
        if not state.extras_counted:
            state.extras_counted = True
            for job in self.extra_files(ctx) if _first_shard(ctx) else ():
                sizes += _stored_size(ctx, job.name)
                count += 1
        for stem, ext in zip(batch.column(FILENAME).to_pylist(), batch.column(EXTENSION).to_pylist()):
            name = stem + ext
            rel = state.stems.get(stem)
            if name in state.described or rel not in state.facts:
                continue
            state.described.add(name)
            described.append((rel, state.facts[rel]))
            # what the files take on the volume (also when an earlier run stored them)
            for job in state.pending.get(name, ()):
                sizes += _stored_size(ctx, job.name)
                count += 1
        ctx.stats.add(stored_bytes=sizes, stored_files=count)
        out.update(self.file_statistics(ctx, described) or {})
        return out

    def file_statistics(self, ctx: "RunContext", described: list[tuple[str, Any]]) -> dict:
        """Statistics of files described for the first time: ``(rel, facts)`` pairs (aggregates only)."""
        return {}


def _first_shard(ctx: "RunContext") -> bool:
    return ctx.shard is None or ctx.shard.index == 0


def _busy_seconds() -> float:
    """This thread's time on a CPU or waiting for one (a busy machine is not a slow volume)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as fh:
            on_cpu, queued = fh.read().split()[:2]
        return (int(on_cpu) + int(queued)) / 1e9
    except (OSError, ValueError):
        return time.thread_time()


def _stored_size(ctx: "RunContext", name: str) -> int:
    if ctx.files is not None:
        return ctx.files.size_of(name)
    try:
        return (ctx.destination / name).stat().st_size
    except OSError:
        return 0


#: the name of 1.0
FileBearingIngestor = FileCategory
