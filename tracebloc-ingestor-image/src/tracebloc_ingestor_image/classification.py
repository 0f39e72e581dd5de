"""``image_classification``: a manifest (``filename``, label) and the images it names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from tracebloc_ingestor.api import Issue

from .base import ImageIngestor

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from tracebloc_ingestor.api import RunContext

    from .checks import ImageFacts


class _FirstLabels:
    """The label and row each image was first listed with (to find conflicting rows)."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, int]] = {}


class ImageClassification(ImageIngestor):
    """One row per manifest row; each referenced image is stored once under its own name.

    An image listed twice with the same label is two samples (like repeated rows of a
    table); listed with two different labels it is refused (rule ``conflicting_label``):
    one picture cannot teach two classes.
    """

    category = "image_classification"
    summary = "Images under images/ with a class label per image (manifest: filename, label)."

    def check_row(self, ctx: "RunContext", batch: "pa.RecordBatch", index: int, row: int, rel: str, facts: "ImageFacts") -> Iterable[Issue]:
        yield from super().check_row(ctx, batch, index, row, rel, facts)
        column = self.label_column(ctx)
        if column not in batch.schema.names:
            return
        label = batch.column(column)[index].as_py()
        if label is None or not str(label).strip():
            return
        label = str(label).strip()
        first = ctx.state(f"image-labels:{self.category}", _FirstLabels).seen.setdefault(rel, (label, row))
        if first[0] != label:
            yield Issue(
                "conflicting_label",
                f"the image is also listed in row {first[1]:,} with another label; give each image one label",
                row=row, column=column, file=rel, value=label,
            )
