"""The text options of a run, read from the core's settings (``spec.file_options``)."""

from __future__ import annotations

import os
from typing import Any

import attrs

from .checks import DEFAULT_MAX_FILE_SIZE


@attrs.frozen
class TextOptions:
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    workers: int = 4
    #: why an option was refused (reported as an issue at the start of the run), or None
    problem: str | None = None


def text_options(settings: Any) -> TextOptions:
    """Options from ``spec.file_options`` in ingest.yaml (``max_file_size`` in bytes)."""
    file_options = dict(getattr(settings, "file_options", None) or {})
    workers = max(2, min(8, 2 * (os.cpu_count() or 1)))
    raw = file_options.get("max_file_size")
    if raw is None:
        return TextOptions(workers=workers)
    try:
        value = int(str(raw).strip()) if not isinstance(raw, bool) else -1
    except ValueError:
        value = -1
    if value < 1:
        return TextOptions(workers=workers, problem="spec.file_options.max_file_size must be a whole number of bytes above 0")
    return TextOptions(max_file_size=value, workers=workers)
