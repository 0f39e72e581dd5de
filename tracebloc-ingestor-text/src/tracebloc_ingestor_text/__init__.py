"""Text categories for tracebloc-ingestor.

``text_classification``, ``token_classification`` and ``masked_language_modeling``:
manifests of UTF-8 ``.txt`` files, each checked once (path, size, encoding, content)
and copied once into the dataset's folder on the shared volume.
"""

from .base import TextIngestor
from .classification import TextClassification
from .masked_language_modeling import MaskedLanguageModeling
from .token_classification import TokenClassification

__all__ = ["TextIngestor", "TextClassification", "TokenClassification", "MaskedLanguageModeling"]
