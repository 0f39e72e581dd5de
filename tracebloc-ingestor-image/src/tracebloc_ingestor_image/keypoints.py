"""``keypoint_detection``: images with keypoint annotations in the manifest.

Manifest columns: ``filename``, ``Annotation`` (a JSON object ``{joint: [x, y]}`` or
``{joint: {"x": .., "y": ..}}`` with exactly ``number_of_keypoints`` joints, each inside
the image), ``Visibility`` (a JSON object ``{joint: 0|1|2}`` over the same joints) and the
label. The Annotation text is stored in ``annotation``; ``Visibility`` is stored when the
schema declares it (e.g. ``Visibility: TEXT``). ``target_size`` and
``number_of_keypoints`` are required.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Iterable

import pyarrow as pa

from tracebloc_ingestor.api import ANNOTATION, FILENAME, Issue, set_column

from .base import ImageIngestor
from .options import COMMON, NUMBER_OF_KEYPOINTS

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext

KEYPOINTS = "Annotation"
VISIBILITY = "Visibility"
MAX_JSON_CHARS = 65_535  # what a TEXT column holds
VISIBILITY_VALUES = (0, 1, 2)


class KeypointDetection(ImageIngestor):
    """One record per manifest row; the keypoints go to ``annotation`` as JSON text."""

    category = "keypoint_detection"
    summary = "Images with keypoint JSON per row (manifest: filename, Annotation, Visibility, label)."
    options = (*COMMON, NUMBER_OF_KEYPOINTS)
    resizable = False

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        out = super().excluded_columns(ctx) | {KEYPOINTS}
        if VISIBILITY not in (ctx.settings.schema or {}):
            out.add(VISIBILITY)
        return out

    def required_columns(self, ctx: "RunContext") -> tuple[str, ...]:
        return (FILENAME, KEYPOINTS)

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        issues = list(super().start(ctx))
        if ctx.options.number_of_keypoints is None:
            issues.append(Issue("number_of_keypoints", "keypoint_detection needs number_of_keypoints (ingest.yaml)"))
        if ctx.options.target_size is None:
            issues.append(Issue("target_size", "keypoint_detection needs target_size [width, height] (ingest.yaml)"))
        return issues

    def check_row(self, ctx, batch, index, row, rel, facts) -> Iterable[Issue]:
        names = batch.schema.names
        if KEYPOINTS not in names:
            return
        expected = ctx.options.number_of_keypoints
        text = batch.column(KEYPOINTS)[index].as_py()
        joints = _json_object(text)
        if isinstance(joints, str):
            yield Issue("annotation", f"Annotation {joints}", row=row, column=KEYPOINTS, file=rel)
            return
        if expected is not None and len(joints) != expected:
            yield Issue("keypoint_count", f"Annotation has {len(joints)} keypoints; number_of_keypoints is {expected}", row=row, column=KEYPOINTS, file=rel)
        for n, (joint, value) in enumerate(joints.items(), start=1):
            point = _point(value)
            if point is None:
                yield Issue("keypoint", f"keypoint {n} is not [x, y] or {{x, y}} with finite numbers", row=row, column=KEYPOINTS, file=rel)
            elif not (0 <= point[0] < facts.width and 0 <= point[1] < facts.height):
                yield Issue("keypoint_bounds", f"keypoint {n} is outside the {facts.width}x{facts.height} image", row=row, column=KEYPOINTS, file=rel)
        if VISIBILITY not in names:
            return
        raw = batch.column(VISIBILITY)[index].as_py()
        if raw is None or not str(raw).strip():
            return
        flags = _json_object(raw)
        if isinstance(flags, str):
            yield Issue("visibility", f"Visibility {flags}", row=row, column=VISIBILITY, file=rel)
            return
        if set(flags) != set(joints):
            yield Issue("visibility", "Visibility must name exactly the joints of Annotation", row=row, column=VISIBILITY, file=rel)
        if any(isinstance(v, bool) or v not in VISIBILITY_VALUES for v in flags.values()):
            yield Issue("visibility", "Visibility values are 0, 1 or 2", row=row, column=VISIBILITY, file=rel)

    def add_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        texts = [None if t is None else str(t).strip() for t in batch.column(KEYPOINTS).to_pylist()]
        return set_column(batch, ANNOTATION, pa.array(texts, pa.string()))


def _json_object(text: Any) -> dict | str:
    """The parsed JSON object, or why the text is not one (without quoting it)."""
    if text is None or not str(text).strip():
        return "is required"
    text = str(text)
    if len(text) > MAX_JSON_CHARS:
        return f"is longer than {MAX_JSON_CHARS:,} characters"
    try:
        value = json.loads(text)
    except ValueError:
        return "is not valid JSON"
    if not isinstance(value, dict) or not value:
        return "must be a non-empty JSON object {joint: ...}"
    return value


def _point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, dict):
        value = [value.get("x"), value.get("y")]
    if not isinstance(value, list) or len(value) != 2:
        return None
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in value):
        return None
    return float(value[0]), float(value[1])
