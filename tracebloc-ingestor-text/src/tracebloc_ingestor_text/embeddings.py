"""``embeddings``: texts for contrastive training, an anchor with a positive and optionally a negative; no label."""

from __future__ import annotations

from .base import TextIngestor
from .layout import Layout


class Embeddings(TextIngestor):
    """Each text is ``anchor<TAB>positive`` or ``anchor<TAB>positive<TAB>negative``, every part non-empty.

    Inline, a blank ``negative`` cell leaves the negative out (a pair).
    """

    category = "embeddings"
    label_kind = "none"
    layout = Layout(("anchor", "positive", "negative"), minimum=2, optional_tail=True)
    inline_columns = (("anchor", "positive", "negative"), ("anchor", "positive"))
    summary = "Anchor<TAB>positive[<TAB>negative] texts (files or two or three text columns); no label."
