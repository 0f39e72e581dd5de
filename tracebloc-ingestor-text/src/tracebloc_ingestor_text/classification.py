"""``text_classification``: texts (files named by a manifest, or a text column) with a class each."""

from __future__ import annotations

from .base import TextIngestor


class TextClassification(TextIngestor):
    """One row per manifest row; each text is stored once as ``<stem>.txt``.

    The label is required and the input needs at least two distinct labels.
    """

    category = "text_classification"
    summary = "UTF-8 texts (files under texts/ or a text column) with a class label per text."
