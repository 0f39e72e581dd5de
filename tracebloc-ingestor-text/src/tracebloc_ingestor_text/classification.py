"""``text_classification``: a manifest (``filename``, label) and the UTF-8 texts it names."""

from __future__ import annotations

from .base import TextIngestor


class TextClassification(TextIngestor):
    """One row per manifest row; each referenced text is stored once as ``<stem>.txt``.

    The label is required and the input needs at least two distinct labels.
    """

    category = "text_classification"
    summary = "UTF-8 texts under texts/ with a class label per text (manifest: filename, label)."
