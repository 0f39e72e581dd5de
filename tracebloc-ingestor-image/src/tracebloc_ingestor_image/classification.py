"""``image_classification``: a manifest (``filename``, label) and the images it names."""

from __future__ import annotations

from .base import ImageIngestor


class ImageClassification(ImageIngestor):
    """One row per manifest row; each referenced image is stored once under its own name."""

    category = "image_classification"
    summary = "Images under images/ with a class label per image (manifest: filename, label)."
