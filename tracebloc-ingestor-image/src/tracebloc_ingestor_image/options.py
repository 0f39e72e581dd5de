"""The image options of a run, read from the core's settings."""

from __future__ import annotations

import os
from typing import Any

import attrs

DEFAULT_MIN_SIZE = (32, 32)
DEFAULT_MAX_PIXELS = 8192 * 8192


@attrs.frozen
class ImageOptions:
    target_size: tuple[int, int] | None = None
    resize_policy: str = "reject"
    full_decode: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    min_size: tuple[int, int] = DEFAULT_MIN_SIZE
    extension: str | None = None
    workers: int = 4


def image_options(settings: Any) -> ImageOptions:
    """Options from the settings (flags, environment, ``spec.file_options``)."""
    file_options = dict(getattr(settings, "file_options", None) or {})
    ext = file_options.get("extension")
    if isinstance(ext, str) and ext.strip():
        ext = ext.strip()
        ext = ext if ext.startswith(".") else "." + ext
    else:
        ext = None
    return ImageOptions(
        target_size=getattr(settings, "target_size", None),
        resize_policy=getattr(settings, "resize_policy", None) or "reject",
        full_decode=bool(getattr(settings, "full_decode", False)),
        max_pixels=int(getattr(settings, "max_pixels", None) or DEFAULT_MAX_PIXELS),
        min_size=tuple(getattr(settings, "min_size", None) or DEFAULT_MIN_SIZE),
        extension=ext,
        workers=max(2, min(8, 2 * (os.cpu_count() or 1))),
    )
