"""What the four image categories share: the image rules on top of the core's file handling.

The core's :class:`~tracebloc_ingestor.api.FileCategory` resolves manifest paths, keeps
the dataset folder flat, inspects files in worker threads, stores them and counts their
bytes. An image category adds what makes a file a usable image (:func:`inspect_image`),
the size rules (``min_size``, ``target_size`` and the resize policy, or one size for
all), the resize on the way to the store, and image statistics.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar, Iterable

from tracebloc_ingestor.api import (
    FILE,
    MEMBER,
    FileCategory,
    Issue,
    PathProblem,
    ReportSection,
    TableNameValidator,
    Tally,
    Thumbnail,
    Total,
    member_path,
)

from .checks import IMAGE_EXTENSIONS, ImageFacts, inspect_image
from .options import COMMON, ImageOptions
from .process import conform, thumbnail

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext

# Byte-size buckets of the images, for the registration (no single size leaves).
SIZE_BUCKETS = ((16 << 10, "<16KiB"), (64 << 10, "16-64KiB"), (256 << 10, "64-256KiB"), (1 << 20, "256KiB-1MiB"), (4 << 20, "1-4MiB"))


# Thumbnails in the local data report: a few per label, found in the first batches.
THUMBNAILS = 12
THUMBNAILS_PER_LABEL = 3
SAMPLE_BATCHES = 20


class _Samples:
    """Sound images picked for thumbnails: (path inside the folder, caption)."""

    def __init__(self) -> None:
        self.picked: list[tuple[str, str]] = []
        self.per_label: dict[str, int] = {}
        self.batches = 0


class _Reference:
    """The size of the first sound image, which every later one must share (no target_size)."""

    def __init__(self) -> None:
        self.size: tuple[int, int] | None = None


class ImageIngestor(FileCategory):
    """Base of the image categories: a manifest of image files under ``images/``."""

    data_format = "image"
    label_kind = "classification"
    validators = (TableNameValidator(),)
    folder_option = "images"
    extensions = IMAGE_EXTENSIONS
    options = COMMON
    #: whether resize_policy resize|pad may change this category's images
    resizable: ClassVar[bool] = True

    def default_extension(self, ctx: "RunContext") -> str | None:
        return ctx.options.get("extension")

    # -- validation ------------------------------------------------------------------

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        issues = list(super().start(ctx))
        options = ImageOptions.of(ctx)
        if options.resize_policy != "reject":
            if not self.resizable:
                issues.append(
                    Issue(
                        "resize_policy",
                        f"resize_policy {options.resize_policy!r} is not available for {self.category} "
                        "(annotations would no longer match the pixels); use reject",
                    )
                )
            elif options.target_size is None:
                issues.append(Issue("target_size", f"resize_policy {options.resize_policy!r} needs target_size [width, height]"))
        return issues

    def validate(self, ctx: "RunContext", batch) -> Iterable[Issue]:
        issues = list(super().validate(ctx, batch))
        self._pick_samples(ctx, batch)
        return issues

    def _pick_samples(self, ctx: "RunContext", batch) -> None:
        samples = ctx.state(f"image-samples:{self.category}", _Samples)
        samples.batches += 1
        names = batch.schema.names
        if len(samples.picked) >= THUMBNAILS or samples.batches > SAMPLE_BATCHES or MEMBER not in names:
            return
        label = self.label_column(ctx)
        labels = batch.column(label).to_pylist() if label in names else [None] * batch.num_rows
        for member, rel, value in zip(batch.column(MEMBER).to_pylist(), batch.column(FILE).to_pylist(), labels):
            key = "" if value is None else str(value).strip()
            if member is None or self.file_facts(ctx, rel) is None or samples.per_label.get(key, 0) >= THUMBNAILS_PER_LABEL:
                continue
            samples.per_label[key] = samples.per_label.get(key, 0) + 1
            samples.picked.append((member, key or member))
            if len(samples.picked) >= THUMBNAILS:
                return

    def report_sections(self, ctx: "RunContext", statistics) -> list[ReportSection]:
        """Thumbnails of a few sound images, at most three per label (local report only)."""
        samples = ctx.state(f"image-samples:{self.category}", _Samples)
        folder = self.folder(ctx)
        thumbs = []
        for member, caption in samples.picked:
            try:
                thumbs.append(Thumbnail(thumbnail(member_path(folder, member)), caption))
            except (OSError, ValueError, PathProblem):
                continue  # gone or unreadable since it was checked: the report shows the others
        if not thumbs:
            return []
        text = f"{len(thumbs)} of the images, at most {THUMBNAILS_PER_LABEL} per label, as found in the manifest."
        return [ReportSection("Sample images", text, thumbs)]

    def inspect(self, ctx: "RunContext", path: Path) -> ImageFacts:
        options = ImageOptions.of(ctx)
        return inspect_image(path, max_pixels=options.max_pixels, full_decode=options.full_decode)

    def check_file(self, ctx: "RunContext", facts: ImageFacts) -> Iterable[tuple[str, str]]:
        """min_size; then target_size (unless converted), or the size of the first image."""
        options = ImageOptions.of(ctx)
        size = (facts.width, facts.height)
        min_w, min_h = options.min_size
        if facts.width < min_w or facts.height < min_h:
            yield "min_size", f"the image is {facts.width}x{facts.height}, smaller than the minimum {min_w}x{min_h}"
            return
        target = options.target_size
        if target is not None:
            if size != target and not (options.converts and self.resizable):
                yield (
                    "image_size",
                    f"the image is {facts.width}x{facts.height} but target_size is {target[0]}x{target[1]} "
                    "(use --resize-policy resize or pad to convert)",
                )
            return
        reference = ctx.state(f"image-size:{self.category}", _Reference)
        if reference.size is None:
            reference.size = size
        elif size != reference.size:
            w, h = reference.size
            yield (
                "image_size",
                f"the image is {facts.width}x{facts.height} but earlier images are {w}x{h}; set target_size "
                "(and --resize-policy resize or pad to convert)",
            )

    # -- write pass ------------------------------------------------------------------

    def resizer(self, ctx: "RunContext", facts: ImageFacts, *, fmt: str, mask: bool = False) -> Callable[[Path], bytes] | None:
        """The function that brings an image of ``facts``' size to target_size, or None when it stays as it is."""
        options = ImageOptions.of(ctx)
        if not options.converts or (facts.width, facts.height) == options.target_size:
            return None
        return functools.partial(conform, target=options.target_size, policy=options.resize_policy, fmt=fmt, mask=mask)

    def produce_in_processes(self, ctx: "RunContext") -> bool:
        # resizing is CPU-bound: worker processes use every core
        return self.resizable and ImageOptions.of(ctx).converts

    def producer(self, ctx: "RunContext", facts: ImageFacts) -> Callable[[Path], bytes] | None:
        return self.resizer(ctx, facts, fmt=facts.format)

    def file_statistics(self, ctx: "RunContext", described: list[tuple[str, ImageFacts]]) -> dict:
        """Modes, formats, resolutions as stored (after a resize) and size buckets of the source files."""
        options = ImageOptions.of(ctx)
        modes: dict[str, int] = {}
        formats: dict[str, int] = {}
        resolutions: dict[str, int] = {}
        sizes: dict[str, int] = {}
        for _rel, facts in described:
            width, height = options.target_size if options.converts else (facts.width, facts.height)
            _count(modes, facts.mode)
            _count(formats, facts.format)
            _count(resolutions, f"{width}x{height}")
            _count(sizes, _size_bucket(facts.size))
        return {
            "images": Total(len(described)),
            "image_modes": Tally(modes),
            "image_formats": Tally(formats),
            "image_resolutions": Tally(resolutions),
            "image_file_sizes": Tally(sizes),
        }


def _count(tally: dict[str, int], key: str) -> None:
    tally[key] = tally.get(key, 0) + 1


def _size_bucket(size: int) -> str:
    for limit, name in SIZE_BUCKETS:
        if size < limit:
            return name
    return ">=4MiB"
