"""``sentence_pair_classification``: two texts and a class (entailment, paraphrase, similarity class)."""

from __future__ import annotations

from .base import TextIngestor
from .layout import Layout


class SentencePairClassification(TextIngestor):
    """Each text is exactly ``text_a<TAB>text_b``, both non-empty; the label is required (two classes at least)."""

    category = "sentence_pair_classification"
    layout = Layout(("text_a", "text_b"))
    inline_columns = (("text_a", "text_b"),)
    summary = "Pairs of texts, text_a<TAB>text_b (files or two text columns), with a class label."
