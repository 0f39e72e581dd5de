"""``semantic_segmentation``: images with one single-channel mask each.

The mask of ``images/<stem>.<ext>`` is ``masks/<stem>_mask.png``: a PNG of one channel
(class indices) with exactly the image's size. A manifest ``mask_id`` column, when
present, must name that mask (with or without ``.png``). Image and mask are both stored;
``mask_id`` (the mask's stem) is a column of the table. With a resize policy the mask is
resampled with nearest neighbour so that no new class values appear.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable, Iterable

import pyarrow as pa

from tracebloc_ingestor.api import FILENAME, MEMBER, Companion, FileCheck, FileProblem, Issue, TableSchema, set_column

from .base import ImageIngestor
from .checks import ImageFacts, inspect_image
from .options import COMMON, MASKS, ImageOptions

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext

MASK_ID = "mask_id"
MASK_SUFFIX = "_mask"
SINGLE_CHANNEL_MODES = frozenset({"1", "L", "P", "I", "I;16", "I;16B", "I;16L"})


def _mask_member(member: str) -> str:
    pure = PurePosixPath(member.replace("\\", "/"))
    return str(pure.with_name(f"{pure.stem}{MASK_SUFFIX}.png"))


class SemanticSegmentation(ImageIngestor):
    """One record per image; the mask is stored next to it and named in ``mask_id``."""

    category = "semantic_segmentation"
    summary = "Images with single-channel <stem>_mask.png masks under masks/ (manifest: filename, mask_id, label)."
    options = (*COMMON, MASKS)
    file_columns = (FILENAME, MASK_ID)
    one_record_per_file = True

    def companions(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, member: str) -> list[Companion]:
        return [self.companion(ctx, "masks", _mask_member(member))]

    def check_companions(self, ctx: "RunContext", check: FileCheck, companions: list[tuple[Companion, Path]]) -> None:
        """The mask is a sound single-channel image of exactly the image's size."""
        image = check.facts
        options = ImageOptions.of(ctx)
        for comp, path in companions:
            try:
                mask = inspect_image(path, max_pixels=options.max_pixels, full_decode=options.full_decode)
            except FileProblem as problem:
                check.problems.append((problem.rule, f"mask: {problem.message}", comp.rel))
                continue
            if mask.mode not in SINGLE_CHANNEL_MODES:
                check.problems.append(("mask_mode", f"the mask has mode {mask.mode}; a mask has one channel of class indices", comp.rel))
            if (mask.width, mask.height) != (image.width, image.height):
                check.problems.append(
                    ("mask_size", f"the mask is {mask.width}x{mask.height} but its image is {image.width}x{image.height}", comp.rel)
                )

    def check_row(self, ctx, batch, index, row, rel, facts) -> Iterable[Issue]:
        if MASK_ID not in batch.schema.names:
            return
        given = batch.column(MASK_ID)[index].as_py()
        member = batch.column(MEMBER)[index].as_py()
        expected = PurePosixPath(_mask_member(member)).stem
        text = None if given is None else str(given).strip()
        if text and text.lower().endswith(".png"):
            text = text[:-4]
        if text and PurePosixPath(text.replace("\\", "/")).name != expected:
            yield Issue("mask_pairing", f"mask_id must name the image's mask, {expected}", row=row, column=MASK_ID, file=rel)

    def table_schema(self, ctx: "RunContext") -> TableSchema:
        declared = dict(self.declared_features(ctx) or {})
        schema = ctx.settings.schema or {}
        declared[MASK_ID] = schema.get(MASK_ID, "VARCHAR(255)")
        return TableSchema.from_mapping(declared)

    def add_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        members = batch.column(MEMBER).to_pylist()
        return set_column(batch, MASK_ID, pa.array([PurePosixPath(_mask_member(m)).stem for m in members], pa.string()))

    def companion_producer(self, ctx: "RunContext", facts: ImageFacts, companion: Companion) -> Callable[[Path], bytes] | None:
        # nearest neighbour: a resized mask holds only the class values it had
        return self.resizer(ctx, facts, fmt="PNG", mask=True)
