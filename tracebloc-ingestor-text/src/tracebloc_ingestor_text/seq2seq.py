"""``seq2seq``: a source text and its target (translation, summarisation); no label."""

from __future__ import annotations

from .base import TextIngestor
from .layout import Layout


class Seq2Seq(TextIngestor):
    """Each text is exactly ``source<TAB>target``, both non-empty."""

    category = "seq2seq"
    label_kind = "none"
    layout = Layout(("source", "target"))
    inline_columns = (("source", "target"),)
    summary = "Source and target texts, source<TAB>target (files or two text columns); no label."
