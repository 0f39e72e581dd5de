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
from typing import TYPE_CHECKING, Iterable, Iterator

import pyarrow as pa

from tracebloc_ingestor.api import FILE, FILENAME, LABEL, MAX_LABEL_LENGTH, ROW, WARNING, Companion, FileCheck, Issue, Tally, set_column

from .base import ImageIngestor
from .options import ANNOTATIONS, COMMON

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext

MAX_XML_BYTES = 1 << 20
_CLASS = re.compile(r"^[^\s:]{1,64}$")


class ObjectDetection(ImageIngestor):
    """One record per image; its boxes stay in the XML, its class histogram is the label."""

    category = "object_detection"
    summary = "Images with Pascal VOC XML boxes under annotations/ (one record per image)."
    options = (*COMMON, ANNOTATIONS)
    resizable = False
    manifest_label = False
    one_record_per_file = True

    def label_column(self, ctx: "RunContext") -> str:
        return LABEL

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        # a manifest's own label column (one class per box in older layouts) is not a feature
        return super().excluded_columns(ctx) | {LABEL, "image_label"}

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        issues = list(super().start(ctx))
        if ctx.settings.label_file is None and not self.folder(ctx, "annotations").is_dir():
            issues.append(Issue("missing_folder", "the annotations folder does not exist", file=self.folder_rel(ctx, "annotations")))
        return issues

    def discover(self, ctx: "RunContext") -> Iterator[pa.RecordBatch]:
        """The manifest's rows when there is one, else one record per ``annotations/*.xml`` (sorted)."""
        if ctx.settings.label_file is not None:
            yield from super().discover(ctx)
            return
        folder = self.folder(ctx, "annotations")
        if not folder.is_dir():
            return  # reported by start
        names = sorted(e.name for e in os.scandir(folder) if e.name.lower().endswith(".xml"))
        size = min(ctx.settings.batch_size, self.max_batch_rows)
        for start in range(0, len(names), size):
            chunk = names[start : start + size]
            batch = pa.record_batch(
                {
                    FILENAME: pa.array([n[: -len(".xml")] for n in chunk], pa.string()),
                    ROW: pa.array(range(start + 1, start + 1 + len(chunk)), pa.int64()),
                }
            )
            yield self.with_paths(ctx, batch)

    def validate_end(self, ctx: "RunContext") -> Iterable[Issue]:
        issues = list(super().validate_end(ctx))
        if ctx.settings.label_file is None:
            issues.extend(self._images_without_annotation(ctx))
        return issues

    def _images_without_annotation(self, ctx: "RunContext") -> Iterator[Issue]:
        """Without a manifest the records are the XML files: say which images have none (not ingested)."""
        images, annotations = self.folder(ctx), self.folder(ctx, "annotations")
        if not images.is_dir() or not annotations.is_dir():
            return
        described = {e.name[: -len(".xml")] for e in os.scandir(annotations) if e.name.lower().endswith(".xml")}
        prefix = self.folder_rel(ctx)
        for entry in sorted(os.scandir(images), key=lambda e: e.name):
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() in self.extensions and stem not in described and entry.is_file():
                yield Issue(
                    "no_annotation",
                    "the image has no annotation (<stem>.xml) and is not ingested; add one, or list the images in a manifest",
                    file=f"{prefix}/{entry.name}",
                    severity="warning",
                )

    def companions(self, ctx: "RunContext", batch: pa.RecordBatch, index: int, member: str) -> list[Companion]:
        xml = str(PurePosixPath(member.replace("\\", "/")).with_suffix(".xml"))
        return [self.companion(ctx, "annotations", xml)]

    def check_companions(self, ctx: "RunContext", check: FileCheck, companions: list[tuple[Companion, Path]]) -> None:
        """Parse the XML against the image; its class histogram becomes ``check.extra``."""
        facts = check.facts
        for comp, path in companions:
            classes = _boxes(path, comp.rel, facts.width, facts.height, check.problems)
            if classes is None:
                continue
            label = " ".join(f"{name}:{count}" for name, count in sorted(classes.items()))
            if len(label) > MAX_LABEL_LENGTH:
                check.problems.append(("max_length", f"the class histogram is longer than {MAX_LABEL_LENGTH} characters", comp.rel))
                continue
            check.extra = (label, dict(classes))

    def check_row(self, ctx, batch, index, row, rel, facts) -> Iterable[Issue]:
        extra = self.file_extra(ctx, rel)
        if extra is not None and not extra[1]:
            yield Issue("no_objects", "the annotation holds no object; the image is stored with an empty label", row=row, file=rel, severity=WARNING)

    def add_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        labels = [self.file_extra(ctx, rel)[0] for rel in batch.column(FILE).to_pylist()]
        return set_column(batch, LABEL, pa.array(labels, pa.string()))

    def file_statistics(self, ctx: "RunContext", described: list) -> dict:
        out = super().file_statistics(ctx, described)
        boxes: Counter = Counter()
        for rel, _facts in described:
            boxes.update((self.file_extra(ctx, rel) or ("", {}))[1])
        out["boxes"] = Tally(dict(boxes))
        return out


def _boxes(path: Path, rel: str, width: int, height: int, problems: list) -> Counter | None:
    """Class counts of a VOC file, or None after adding what is wrong to ``problems``."""
    # imported here: only object detection parses XML, and not before its first file
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

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
