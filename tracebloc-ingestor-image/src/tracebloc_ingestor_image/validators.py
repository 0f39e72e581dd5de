"""Image validators for ``BaseIngestor.validators`` lists.

``ImageResolutionValidator`` is also importable from the package root,
``from tracebloc_ingestor import ImageResolutionValidator`` (this distribution declares
it in the entry-point group ``tracebloc_ingestor.exports``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pyarrow as pa

from tracebloc_ingestor.api import FILE, ROW, FileProblem, Issue, Validator

from .checks import inspect_image
from .options import DEFAULT_MAX_PIXELS


class ImageResolutionValidator(Validator):
    """Every referenced image (``_tb_file``, relative to the source root) is exactly ``size``.

    The image categories check sizes themselves (with the resize policy); this is for
    ingestors of your own that carry a ``_tb_file`` column.
    """

    name = "image_resolution"

    def __init__(self, size: tuple[int, int], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.max_pixels = max_pixels

    def check_batch(self, ctx, batch: pa.RecordBatch) -> Iterable[Issue]:
        if FILE not in batch.schema.names:
            return
        seen: set[str] = set()
        for row, rel in zip(batch.column(ROW).to_pylist(), batch.column(FILE).to_pylist()):
            if rel is None or rel in seen:
                continue
            seen.add(rel)
            try:
                facts = inspect_image(Path(ctx.source_root) / rel, max_pixels=self.max_pixels)
            except FileProblem as problem:
                yield Issue(problem.rule, problem.message, row=row, file=rel)
                continue
            except OSError:
                yield Issue("missing_file", "the file cannot be read", row=row, file=rel)
                continue
            if (facts.width, facts.height) != self.size:
                yield Issue(
                    "image_size",
                    f"the image is {facts.width}x{facts.height}, not {self.size[0]}x{self.size[1]}",
                    row=row,
                    file=rel,
                )
