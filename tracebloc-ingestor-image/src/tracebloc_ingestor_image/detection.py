"""``object_detection``: images with Pascal VOC XML annotations, one record per image.

Records come from ``annotations/*.xml`` (sorted by name), or from an optional manifest
whose ``filename`` column names the images. Each XML is parsed with defusedxml (no
DTDs, no entities, at most ``MAX_XML_BYTES``), its ``<size>`` is compared with the real
image and every box must lie inside the image. The record's ``label`` is the class
histogram, ``"car:3 person:1"`` (classes sorted); image and XML are both stored.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Iterator

import pyarrow as pa
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from xml.etree.ElementTree import ParseError

from tracebloc_ingestor import Issue
from tracebloc_ingestor.stats import Tally

from .base import FILE_COLUMN, ROW, Companion, ImageIngestor, RecordCheck, _set
from .options import ImageOptions

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor import RunContext

MAX_XML_BYTES = 1 << 20
MAX_LABEL_LENGTH = 255
_CLASS = re.compile(r"^[^\s:]{1,64}$")


class ObjectDetection(ImageIngestor):
    """One record per image; its boxes stay in the XML, its class histogram is the label."""

    category = "object_detection"
    summary = "Images with Pascal VOC XML boxes under annotations/ (one record per image)."
    resizable = False
    manifest_label = False
    one_record_per_image = True

    def label_column(self, ctx: "RunContext") -> str:
        return "label"

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        # a manifest's own label column (one class per box in older layouts) is not a feature
        return super().excluded_columns(ctx) | {"label", "image_label"}

    def discover(self, ctx: "RunContext") -> Iterator[pa.RecordBatch]:
        if ctx.settings.label_file is not None:
            yield from super().discover(ctx)
            return
        folder = self.folder(ctx, "annotations")
        if not folder.is_dir():
            if ctx.issue_sink is not None:
                ctx.report(Issue("missing_folder", "the annotations folder does not exist", file=self._prefix(ctx, "annotations")))
            return
        names = sorted(e.name for e in os.scandir(folder) if e.name.lower().endswith(".xml"))
        size = ctx.settings.batch_size
        for start in range(0, len(names), size):
            chunk = names[start : start + size]
            batch = pa.record_batch(
                {
                    FILE_COLUMN: pa.array([n[: -len(".xml")] for n in chunk], pa.string()),
                    ROW: pa.array(range(start + 1, start + 1 + len(chunk)), pa.int64()),
                }
            )
            yield self.with_paths(ctx, batch)

    def companions(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, member: str) -> list[Companion]:
        xml = str(PurePosixPath(member.replace("\\", "/")).with_suffix(".xml"))
        return [self._companion(ctx, "annotations", xml)]

    def check_companions(self, options: ImageOptions, result: RecordCheck, companions) -> None:
        facts = result.facts
        for comp, path in companions:
            classes = _boxes(path, comp.rel, facts.width, facts.height, result.problems)
            if classes is None:
                continue
            label = " ".join(f"{name}:{count}" for name, count in sorted(classes.items()))
            if len(label) > MAX_LABEL_LENGTH:
                result.problems.append(("max_length", f"the class histogram is longer than {MAX_LABEL_LENGTH} characters", comp.rel))
                continue
            result.extra = (label, dict(classes))

    def check_row(self, ctx, batch, index, row, rel, facts):
        extra = self._image_state(ctx).extra.get(rel)
        if extra is not None and not extra[1]:
            yield Issue("no_objects", "the annotation holds no object; the image is stored with an empty label", row=row, file=rel, severity="warning")

    def add_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        state = self._image_state(ctx)
        labels = [state.extra[rel][0] for rel in batch.column("_tb_file").to_pylist()]
        return _set(batch, "label", pa.array(labels, pa.string()))

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        state = self._image_state(ctx)
        seen = set(state.described)
        out = super().describe(ctx, batch)
        boxes: Counter = Counter()
        for stem, ext in zip(batch.column(FILE_COLUMN).to_pylist(), batch.column("extension").to_pylist()):
            rel = state.stems.get(stem)
            if stem + ext in seen or rel is None:
                continue
            seen.add(stem + ext)
            boxes.update(state.extra.get(rel, ("", {}))[1])
        out["boxes"] = Tally(dict(boxes))
        return out


def _boxes(path: Path, rel: str, width: int, height: int, problems: list) -> Counter | None:
    """Class counts of a VOC file, or None after adding what is wrong to ``problems``."""
    size = path.stat().st_size
    if size > MAX_XML_BYTES:
        problems.append(("xml_size", f"the annotation is {size:,} bytes; at most {MAX_XML_BYTES:,} are read", rel))
        return None
    try:
        root = fromstring(path.read_bytes(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        why = "DTDs and entities are not allowed" if isinstance(exc, DefusedXmlException) else "not well-formed XML"
        problems.append(("xml", f"the annotation cannot be read ({why})", rel))
        return None
    if root.tag != "annotation":
        problems.append(("xml", "the root element is not <annotation> (Pascal VOC)", rel))
        return None
    found = len(problems)
    declared = root.find("size")
    if declared is not None:
        w, h = _number(declared.findtext("width")), _number(declared.findtext("height"))
        if w is None or h is None:
            problems.append(("xml_size_tag", "<size> needs numeric <width> and <height>", rel))
        elif (int(w), int(h)) != (width, height):
            problems.append(("xml_size_tag", f"<size> says {int(w)}x{int(h)} but the image is {width}x{height}", rel))
    classes: Counter = Counter()
    for n, obj in enumerate(root.iter("object"), start=1):
        name = (obj.findtext("name") or "").strip()
        if not _CLASS.match(name):
            problems.append(("class_name", f"object {n}: a class name is 1 to 64 characters without white space or ':'", rel))
            continue
        box = obj.find("bndbox")
        coords = [_number(box.findtext(k)) if box is not None else None for k in ("xmin", "ymin", "xmax", "ymax")]
        if any(c is None for c in coords):
            problems.append(("bbox", f"object {n}: <bndbox> needs numeric xmin, ymin, xmax and ymax", rel))
            continue
        x0, y0, x1, y1 = coords
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            problems.append(("bbox", f"object {n}: the box is not inside the {width}x{height} image", rel))
            continue
        classes[name] += 1
    return None if len(problems) > found else classes


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None
