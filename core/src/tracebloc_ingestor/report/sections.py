"""What a plugin may add to the local data report: sections of charts, tables and thumbnails.

A category's ``report_sections(ctx, statistics)`` stage, or a behaviour plugin's
``tb_report_sections`` hook, returns :class:`ReportSection` records. They describe
*what* to show; the core draws the charts (with matplotlib when it is installed) and
writes the HTML, so a plugin needs no plotting library. The report stays in the
cluster, so values may appear in it; the registration sent to the backend never
sees any of this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Union

import attrs

__all__ = ["BarChart", "Histogram", "ReportItem", "ReportSection", "Table", "Thumbnail"]


def _counts(value: Mapping) -> dict[str, int]:
    return {str(k): int(v) for k, v in dict(value).items()}


@attrs.frozen
class BarChart:
    """Counts per category (labels, image modes, ...); the ``limit`` largest are drawn."""

    counts: Mapping[str, int] = attrs.field(converter=_counts)
    title: str = ""
    xlabel: str = ""
    limit: int = 30


@attrs.frozen
class Histogram:
    """Counts in consecutive bins: ``edges`` has one more entry than ``counts``."""

    edges: tuple[float, ...] = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    counts: tuple[int, ...] = attrs.field(converter=lambda v: tuple(int(x) for x in v))
    title: str = ""
    xlabel: str = ""

    def __attrs_post_init__(self) -> None:
        if self.counts and len(self.edges) != len(self.counts) + 1:
            raise ValueError("a histogram needs one more edge than it has counts")

    @classmethod
    def of(cls, values: Sequence[float], *, bins: int = 30, title: str = "", xlabel: str = "") -> "Histogram":
        """The histogram of ``values`` in ``bins`` equal bins (integers get whole-number bins)."""
        import numpy as np

        data = np.asarray(values, dtype=float)
        data = data[np.isfinite(data)]
        if data.size == 0:
            return cls((), (), title, xlabel)
        low, high = float(data.min()), float(data.max())
        if np.all(data == np.floor(data)) and high - low < bins:
            edges = np.arange(low, high + 2) - 0.5  # one bar per whole number
        else:
            edges = np.linspace(low, high if high > low else low + 1, bins + 1)
        counts, edges = np.histogram(data, bins=edges)
        return cls(edges.tolist(), counts.tolist(), title, xlabel)


@attrs.frozen
class Table:
    """A small table: a header and rows of cells (shown as text)."""

    header: tuple[str, ...] = attrs.field(converter=lambda v: tuple(str(x) for x in v))
    rows: tuple[tuple[str, ...], ...] = attrs.field(converter=lambda v: tuple(tuple(str(c) for c in r) for r in v))
    title: str = ""


@attrs.frozen
class Thumbnail:
    """A small picture (PNG or JPEG bytes) with a caption, embedded in the file itself."""

    data: bytes = attrs.field(repr=False)
    caption: str = ""
    mime: str = attrs.field(default="image/png", validator=attrs.validators.in_(("image/png", "image/jpeg")))


ReportItem = Union[BarChart, Histogram, Table, Thumbnail]


@attrs.frozen
class ReportSection:
    """A titled part of the report: a paragraph and items in order."""

    title: str
    text: str = ""
    items: tuple[ReportItem, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        for item in self.items:
            if not isinstance(item, (BarChart, Histogram, Table, Thumbnail)):
                raise TypeError(f"report section {self.title!r}: {type(item).__name__} is not a BarChart, Histogram, Table or Thumbnail")
