"""The conformance kit over the text family: the four newer categories with texts as files, and every
text category with its texts inline (the first three with files are covered by test_conformance.py)."""

from pathlib import Path

from tracebloc_ingestor.testing.conformance import conformance_suite

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
BAD = ROOT / "tests" / "data" / "family"
README = ROOT / "README.md"


def files(category: str) -> type:
    return conformance_suite(category, sample=TEMPLATES / category / "ingest.yaml", bad_sample=BAD / category / "ingest.yaml",
                             readme=README)


def inline(category: str) -> type:
    return conformance_suite(category, sample=TEMPLATES / category / "inline" / "ingest.yaml",
                             bad_sample=BAD / "inline" / f"{category}.yaml", readme=README)


TestSentencePairs = files("sentence_pair_classification")
TestCausalLanguageModeling = files("causal_language_modeling")
TestSeq2Seq = files("seq2seq")
TestEmbeddings = files("embeddings")

TestTextClassificationInline = inline("text_classification")
TestTokenClassificationInline = inline("token_classification")
TestMaskedLanguageModelingInline = inline("masked_language_modeling")
TestSentencePairsInline = inline("sentence_pair_classification")
TestCausalLanguageModelingInline = inline("causal_language_modeling")
TestSeq2SeqInline = inline("seq2seq")
TestEmbeddingsInline = inline("embeddings")
