"""Entry points (group ``tracebloc_ingestor``): the loader instantiates these classes."""

from .classification import TextClassification
from .masked_language_modeling import MaskedLanguageModeling
from .token_classification import TokenClassification

text_classification = TextClassification
token_classification = TokenClassification
masked_language_modeling = MaskedLanguageModeling
