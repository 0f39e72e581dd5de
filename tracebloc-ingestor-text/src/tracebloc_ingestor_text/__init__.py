"""Text categories for tracebloc-ingestor.

``text_classification``, ``token_classification``, ``masked_language_modeling``,
``sentence_pair_classification``, ``causal_language_modeling``, ``seq2seq`` and
``embeddings``: UTF-8 texts, as ``.txt`` files named by a manifest or inline in its
columns, each checked (size, encoding, content, layout) and stored once as ``<stem>.txt``
in the dataset's folder on the shared volume.
"""

from .base import TextIngestor
from .causal_language_modeling import CausalLanguageModeling
from .classification import TextClassification
from .embeddings import Embeddings
from .masked_language_modeling import MaskedLanguageModeling
from .sentence_pair_classification import SentencePairClassification
from .seq2seq import Seq2Seq
from .token_classification import TokenClassification

__all__ = [
    "TextIngestor",
    "TextClassification",
    "TokenClassification",
    "MaskedLanguageModeling",
    "SentencePairClassification",
    "CausalLanguageModeling",
    "Seq2Seq",
    "Embeddings",
]
