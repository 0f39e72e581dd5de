"""Entry points (group ``tracebloc_ingestor``): the loader instantiates these classes."""

from .causal_language_modeling import CausalLanguageModeling
from .classification import TextClassification
from .embeddings import Embeddings
from .masked_language_modeling import MaskedLanguageModeling
from .sentence_pair_classification import SentencePairClassification
from .seq2seq import Seq2Seq
from .token_classification import TokenClassification

text_classification = TextClassification
token_classification = TokenClassification
masked_language_modeling = MaskedLanguageModeling
sentence_pair_classification = SentencePairClassification
causal_language_modeling = CausalLanguageModeling
seq2seq = Seq2Seq
embeddings = Embeddings
