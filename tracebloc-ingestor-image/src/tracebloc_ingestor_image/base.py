"""What the four image categories share: manifest paths, image checks, the file store.

A manifest batch gets two host columns: ``_tb_member`` (the value of ``filename``
inside the images folder, with its extension resolved) and ``_tb_file`` (the same path
relative to the source root, for messages and validators). The validation pass checks
each referenced file once, in parallel: its path stays inside its folder, it exists, it
is a sound image of the right format within the pixel budget and size rules. The write
pass copies every referenced file once into ``<storage_path>/<table>/`` through the
core's :class:`~tracebloc_ingestor.files.FileStore` before the rows are written.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Iterator

import attrs
import pyarrow as pa

from tracebloc_ingestor import FileBearingIngestor, Issue, TableNameValidator, TableSchema, hookimpl
from tracebloc_ingestor.files import CopyJob, FileStore, FileStoreError, PathProblem, dataset_identity, member_path, relative_name
from tracebloc_ingestor.stats import Tally, Total

from .checks import IMAGE_EXTENSIONS, ImageFacts, ImageProblem, inspect_image
from .options import ImageOptions, image_options
from .process import conform

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor import RunContext

FILE_COLUMN = "filename"
MEMBER = "_tb_member"  # host columns set by FileBearingIngestor.with_paths
FILE = "_tb_file"
ROW = "_tb_row"
# Byte-size buckets of stored files, for the registration (no single size leaves).
SIZE_BUCKETS = ((16 << 10, "<16KiB"), (64 << 10, "16-64KiB"), (256 << 10, "64-256KiB"), (1 << 20, "256KiB-1MiB"), (4 << 20, "1-4MiB"))


@attrs.frozen
class Companion:
    """A file that belongs to an image record (its mask, its annotation).

    ``kind`` is the folder setting (``masks``, ``annotations``), ``member`` the path inside
    that folder, ``rel`` the path relative to the source root (for messages).
    """

    kind: str
    member: str
    rel: str


class RecordCheck:
    """The outcome of checking one record's files in a worker thread."""

    __slots__ = ("facts", "problems", "extra")

    def __init__(self) -> None:
        self.facts: ImageFacts | None = None
        self.problems: list[tuple[str, str, str]] = []  # (rule, message, file)
        self.extra: Any = None


class _ImageState:
    def __init__(self) -> None:
        self.started = False
        self.header_done = False
        self.facts: dict[str, ImageFacts] = {}  # image rel -> facts, sound images only
        self.extra: dict[str, Any] = {}  # image rel -> what a category derived (a label, say)
        self.bad: set[str] = set()
        self.stems: dict[str, str] = {}  # stored stem -> image rel
        self.names: dict[str, str] = {}  # stored companion name -> its rel
        self.reference: tuple[int, int] | None = None
        self.pending: dict[str, list[CopyJob]] = {}
        self.described: set[str] = set()
        self.store: FileStore | None = None


class ImageIngestor(FileBearingIngestor):
    """Base of the image categories: a manifest of image files under ``images/``."""

    data_format = "image"
    label_kind = "classification"
    validators = (TableNameValidator(),)
    #: manifest columns that describe files, not features
    file_columns: ClassVar[tuple[str, ...]] = (FILE_COLUMN,)
    #: whether --resize-policy resize|pad may change this category's images
    resizable: ClassVar[bool] = True
    #: whether the manifest carries the label column (object detection derives it)
    manifest_label: ClassVar[bool] = True
    #: whether an image may appear in more than one record
    one_record_per_image: ClassVar[bool] = False

    # -- folders and options ---------------------------------------------------------

    def options(self, ctx: "RunContext") -> ImageOptions:
        return ctx.state(f"image-options:{self.category}", lambda: image_options(ctx.settings))

    def folder(self, ctx: "RunContext", kind: str) -> Path:
        given = getattr(ctx.settings, kind, None)
        return Path(given) if given is not None else ctx.source_root / kind

    def _prefix(self, ctx: "RunContext", kind: str) -> str:
        return ctx.relative(self.folder(ctx, kind))

    def manifest_prefix(self, ctx: "RunContext") -> str:
        return self._prefix(ctx, "images")

    def store_workers(self, ctx: "RunContext") -> int:
        return self.options(ctx).workers

    def _image_state(self, ctx: "RunContext") -> _ImageState:
        return ctx.state(f"image:{self.category}", _ImageState)

    # -- discovery -------------------------------------------------------------------

    def member_of(self, ctx: "RunContext", value: Any) -> str | None:
        """The manifest value, with the image extension found on disk when it has none."""
        text = super().member_of(ctx, value)
        if text is None:
            return None
        if PurePosixPath(text.replace("\\", "/")).suffix.lower() in IMAGE_EXTENSIONS:
            return text
        options = self.options(ctx)
        candidates = ([options.extension] if options.extension else []) + [
            ext for e in IMAGE_EXTENSIONS for ext in (e, e.upper()) if ext != options.extension
        ]
        folder = self.folder(ctx, "images")
        try:
            pure = relative_name(text)
        except PathProblem:
            return text
        for ext in candidates:
            if (folder / f"{pure}{ext}").is_file():
                return f"{text}{ext}"
        return f"{text}{options.extension}" if options.extension else text

    # -- validation ------------------------------------------------------------------

    def declared_features(self, ctx: "RunContext") -> dict[str, str] | None:
        # Image manifests carry no inferred features: only what the schema declares.
        declared = super().declared_features(ctx)
        return {} if declared is None else declared

    def start_issues(self, ctx: "RunContext") -> Iterable[Issue]:
        """Run-level checks: folders, options, and whether the destination may be used."""
        options = self.options(ctx)
        folder = self.folder(ctx, "images")
        if not folder.is_dir():
            yield Issue("missing_folder", "the images folder does not exist", file=self._prefix(ctx, "images"))
        if options.resize_policy != "reject":
            if not self.resizable:
                yield Issue(
                    "resize_policy",
                    f"resize_policy {options.resize_policy!r} is not available for {self.category} "
                    "(annotations would no longer match the pixels); use reject",
                )
            elif options.target_size is None:
                yield Issue("target_size", f"resize_policy {options.resize_policy!r} needs target_size [width, height]")
        store = self.make_store(ctx)
        problem = store.destination_problem(dataset_identity(ctx))
        if problem:
            yield Issue("destination", f"{self.destination(ctx)}: {problem}")

    def validate_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        issues = list(super().validate_batch(ctx, batch)) if self.manifest_label else []
        state = self._image_state(ctx)
        if not state.started:
            state.started = True
            issues.extend(self.start_issues(ctx))
        names = batch.schema.names
        manifest = ctx.relative(ctx.settings.label_file) if ctx.settings.label_file else None
        if not state.header_done:
            state.header_done = True
            for column in self.required_columns(ctx):
                if column not in names:
                    issues.append(Issue("missing_column", "the manifest needs this column", column=column, file=manifest))
        if FILE_COLUMN not in names:
            return issues
        issues.extend(self._check_files(ctx, batch))
        return issues

    def required_columns(self, ctx: "RunContext") -> tuple[str, ...]:
        return (FILE_COLUMN,)

    def companions(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, member: str) -> list[Companion]:
        """Files that belong to row ``index`` besides its image (a mask, an annotation)."""
        return []

    def _companion(self, ctx: "RunContext", kind: str, member: str) -> Companion:
        return Companion(kind, member, f"{self._prefix(ctx, kind)}/{member}")

    def _check_files(self, ctx: "RunContext", batch: pa.RecordBatch) -> list[Issue]:
        state = self._image_state(ctx)
        options = self.options(ctx)
        images = self.folder(ctx, "images")
        rows = batch.column(ROW).to_pylist()
        members = batch.column(MEMBER).to_pylist()
        files = batch.column(FILE).to_pylist()
        issues: list[Issue] = []
        tasks: list[tuple[int, int, str, Path, list[tuple[Companion, Path]]]] = []
        queued: set[str] = set()
        later: list[tuple[int, int, str]] = []  # rows whose image is checked by another row
        for index, (row, member, rel) in enumerate(zip(rows, members, files)):
            if member is None:
                issues.append(Issue("required", "a file name is required", row=row, column=FILE_COLUMN))
                continue
            try:
                path = member_path(images, member)
            except PathProblem as problem:
                issues.append(Issue(problem.rule, problem.message, row=row, column=FILE_COLUMN, file=rel))
                continue
            stem = PurePosixPath(member.replace("\\", "/")).stem
            first = state.stems.setdefault(stem, rel)
            if first == rel:
                first = state.names.get(PurePosixPath(member.replace("\\", "/")).name, rel)
            if first != rel:
                issues.append(
                    Issue(
                        "duplicate_name",
                        f"another referenced image ({first}) has the same name; the dataset folder is flat",
                        row=row,
                        column=FILE_COLUMN,
                        file=rel,
                    )
                )
                continue
            if rel in state.bad:
                continue
            if rel in state.facts or rel in queued:
                if self.one_record_per_image:
                    issues.append(
                        Issue("duplicate_record", f"the image is listed more than once; {self.category} stores one record per image", row=row, column=FILE_COLUMN, file=rel)
                    )
                    continue
                later.append((index, row, rel))
                continue
            if not path.is_file():
                state.bad.add(rel)
                issues.append(Issue("missing_file", "the file does not exist", row=row, column=FILE_COLUMN, file=rel))
                continue
            companions: list[tuple[Companion, Path]] = []
            broken = False
            for comp in self.companions(ctx, batch, index, member):
                try:
                    comp_path = member_path(self.folder(ctx, comp.kind), comp.member)
                except PathProblem as problem:
                    issues.append(Issue(problem.rule, problem.message, row=row, file=comp.rel))
                    broken = True
                    continue
                name = PurePosixPath(comp.member).name
                owner = state.names.setdefault(name, comp.rel)
                image = state.stems.get(PurePosixPath(name).stem)
                if owner != comp.rel or (image is not None and PurePosixPath(image).name == name):
                    issues.append(
                        Issue("duplicate_name", "another referenced file has the same name; the dataset folder is flat", row=row, file=comp.rel)
                    )
                    broken = True
                    continue
                if not comp_path.is_file():
                    issues.append(Issue("missing_file", f"the {comp.kind} file does not exist", row=row, file=comp.rel))
                    broken = True
                    continue
                companions.append((comp, comp_path))
            if broken:
                state.bad.add(rel)
                continue
            queued.add(rel)
            tasks.append((index, row, rel, path, companions))
        if tasks:
            shares = min(options.workers, len(tasks))

            def run_share(share: int) -> list[RecordCheck]:
                return [self._run_check(options, task) for task in tasks[share::shares]]

            with ThreadPoolExecutor(max_workers=shares) as pool:
                parts = list(pool.map(run_share, range(shares)))
            results = [parts[i % shares][i // shares] for i in range(len(tasks))]
            for (index, row, rel, _path, _c), result in zip(tasks, results):
                for rule, message, file in result.problems:
                    issues.append(Issue(rule, message, row=row, column=FILE_COLUMN if file == rel else None, file=file))
                if result.problems or result.facts is None:
                    state.bad.add(rel)
                    continue
                size_issues = list(self._size_issues(ctx, state, result.facts))
                for rule, message in size_issues:
                    issues.append(Issue(rule, message, row=row, column=FILE_COLUMN, file=rel))
                if size_issues:
                    state.bad.add(rel)
                    continue
                state.facts[rel] = result.facts
                if result.extra is not None:
                    state.extra[rel] = result.extra
                issues.extend(self.check_row(ctx, batch, index, row, rel, result.facts))
        for index, row, rel in later:
            if rel in state.facts:
                issues.extend(self.check_row(ctx, batch, index, row, rel, state.facts[rel]))
        return issues

    def _run_check(self, options: ImageOptions, task) -> RecordCheck:
        _index, _row, rel, path, companions = task
        result = RecordCheck()
        try:
            result.facts = inspect_image(path, max_pixels=options.max_pixels, full_decode=options.full_decode)
        except ImageProblem as problem:
            result.problems.append((problem.rule, problem.message, rel))
            return result
        except OSError as exc:
            result.problems.append(("unreadable", f"the file cannot be read ({exc.strerror or type(exc).__name__})", rel))
            return result
        try:
            self.check_companions(options, result, companions)
        except OSError as exc:
            result.problems.append(("unreadable", f"a file cannot be read ({exc.strerror or type(exc).__name__})", rel))
        return result

    def check_companions(self, options: ImageOptions, result: RecordCheck, companions: list[tuple[Companion, Path]]) -> None:
        """Check a record's companion files against its image (in a worker thread)."""

    def check_row(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, row: int, rel: str, facts: ImageFacts) -> Iterable[Issue]:
        """Row-level rules that need the image's facts (keypoints inside the image, say)."""
        return ()

    def _size_issues(self, ctx: "RunContext", state: _ImageState, facts: ImageFacts) -> Iterator[tuple[str, str]]:
        options = self.options(ctx)
        size = (facts.width, facts.height)
        min_w, min_h = options.min_size
        if facts.width < min_w or facts.height < min_h:
            yield "min_size", f"the image is {facts.width}x{facts.height}, smaller than the minimum {min_w}x{min_h}"
            return
        target = options.target_size
        if target is not None:
            if size != tuple(target) and (options.resize_policy == "reject" or not self.resizable):
                yield (
                    "image_size",
                    f"the image is {facts.width}x{facts.height} but target_size is {target[0]}x{target[1]} "
                    "(use --resize-policy resize or pad to convert)",
                )
            return
        if state.reference is None:
            state.reference = size
        elif size != state.reference:
            w, h = state.reference
            yield (
                "image_size",
                f"the image is {facts.width}x{facts.height} but earlier images are {w}x{h}; set target_size "
                "(and --resize-policy resize or pad to convert)",
            )

    # -- schema and write pass -------------------------------------------------------

    def table_schema(self, ctx: "RunContext") -> TableSchema:
        return TableSchema.from_mapping(self.declared_features(ctx) or {})

    def transform_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        state = self._image_state(ctx)
        options = self.options(ctx)
        images = self.folder(ctx, "images")
        members = batch.column(MEMBER).to_pylist()
        files = batch.column(FILE).to_pylist()
        stems: list[str] = []
        extensions: list[str] = []
        pending: dict[str, list[CopyJob]] = {}
        for index, (member, rel) in enumerate(zip(members, files)):
            pure = PurePosixPath(member.replace("\\", "/"))
            name, stem, ext = pure.name, pure.stem, pure.suffix
            stems.append(stem)
            extensions.append(ext)
            if name in pending:
                continue
            facts = state.facts[rel]
            jobs = [CopyJob(name, str(member_path(images, member)), self._producer(options, facts))]
            for comp in self.companions(ctx, batch, index, member):
                comp_name = PurePosixPath(comp.member).name
                comp_path = str(member_path(self.folder(ctx, comp.kind), comp.member))
                jobs.append(CopyJob(comp_name, comp_path, self.companion_producer(options, facts, comp)))
            pending[name] = jobs
        state.pending = pending
        batch = _set(batch, FILE_COLUMN, pa.array(stems, pa.string()))
        batch = _set(batch, "extension", pa.array(extensions, pa.string()))
        batch = self.add_columns(ctx, batch)
        return super().transform_batch(ctx, batch)

    def add_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        """Set category columns (``label``, ``annotation``, ``mask_id``) before the cast."""
        return batch

    def _producer(self, options: ImageOptions, facts: ImageFacts):
        target = options.target_size
        if options.resize_policy == "reject" or target is None or (facts.width, facts.height) == tuple(target):
            return None
        return functools.partial(conform, target=tuple(target), policy=options.resize_policy, fmt=facts.format)

    def companion_producer(self, options: ImageOptions, facts: ImageFacts, comp: Companion):
        return None

    def _stored_facts(self, options: ImageOptions, facts: ImageFacts) -> ImageFacts:
        target = options.target_size
        if options.resize_policy != "reject" and target is not None:
            return ImageFacts(facts.format, facts.mode, int(target[0]), int(target[1]), facts.size)
        return facts

    @hookimpl
    def tb_load(self, ctx: "RunContext", batch: pa.RecordBatch):
        if not self._mine(ctx):
            return None
        state = self._image_state(ctx)
        if state.store is None:
            identity = dataset_identity(ctx)
            if identity is None:
                raise FileStoreError("the table has no identity in the database; the file store cannot be claimed")
            store = self.make_store(ctx)
            store.open(identity, table=ctx.table)
            state.store = store
        keys = dict.fromkeys(f + e for f, e in zip(batch.column(FILE_COLUMN).to_pylist(), batch.column("extension").to_pylist()))
        jobs = [job for key in keys for job in state.pending.get(key, ())]
        try:
            state.store.store(jobs)
        except FileStoreError:
            ctx.scratch["tracebloc.file_failures"] = int(ctx.scratch.get("tracebloc.file_failures", 0)) + 1
            raise
        finally:
            ctx.scratch["tracebloc.stored_bytes"] = state.store.stored_bytes
        return None

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        out = super().describe(ctx, batch)
        state = self._image_state(ctx)
        modes: dict[str, int] = {}
        formats: dict[str, int] = {}
        resolutions: dict[str, int] = {}
        sizes: dict[str, int] = {}
        count = 0
        folder = self.destination(ctx)
        options = self.options(ctx)
        for stem, ext in zip(batch.column(FILE_COLUMN).to_pylist(), batch.column("extension").to_pylist()):
            name = stem + ext
            rel = state.stems.get(stem)
            if name in state.described or rel not in state.facts:
                continue
            state.described.add(name)
            if state.store is None:
                # Nothing was loaded (the dataset is registered already): count what the folder holds.
                for job in state.pending.get(name, ()):
                    try:
                        size = (folder / job.name).stat().st_size
                    except OSError:
                        continue
                    ctx.scratch["tracebloc.stored_bytes"] = int(ctx.scratch.get("tracebloc.stored_bytes", 0)) + size
            facts = self._stored_facts(options, state.facts[rel])
            count += 1
            modes[facts.mode] = modes.get(facts.mode, 0) + 1
            formats[facts.format] = formats.get(facts.format, 0) + 1
            key = f"{facts.width}x{facts.height}"
            resolutions[key] = resolutions.get(key, 0) + 1
            bucket = _size_bucket(facts.size)
            sizes[bucket] = sizes.get(bucket, 0) + 1
        out.update(
            {
                "images": Total(count),
                "image_modes": Tally(modes),
                "image_formats": Tally(formats),
                "image_resolutions": Tally(resolutions),
                "image_file_sizes": Tally(sizes),
            }
        )
        return out


def _size_bucket(size: int) -> str:
    for limit, name in SIZE_BUCKETS:
        if size < limit:
            return name
    return ">=4MiB"


def _set(batch: pa.RecordBatch, name: str, values: pa.Array) -> pa.RecordBatch:
    names = batch.schema.names
    if name in names:
        return batch.set_column(names.index(name), name, values)
    return batch.append_column(name, values)
