"""tokenizer.json for masked language modelling: BERT and RoBERTa/XLM-R styles, hostile and malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracebloc_ingestor_text.tokenizer import TokenizerProblem, read_tokenizer

MLM = "masked_language_modeling"


def tokenizer(vocab, added=None, model="WordPiece") -> dict:
    doc = {"version": "1.0", "model": {"type": model, "vocab": vocab}}
    if added is not None:
        doc["added_tokens"] = added
    return doc


def source(root: Path, body: bytes | dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tokenizer.json").write_bytes(body if isinstance(body, bytes) else json.dumps(body).encode())
    (root / "data.csv").write_text("text\nthe first sequence\nthe second sequence\n", encoding="utf-8")
    return root


STYLES = {
    "bert": tokenizer({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "the": 5}),
    "roberta": tokenizer({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "the": 4}, [{"id": 5, "content": "<mask>", "special": True}], "BPE"),
    "xlm_r": tokenizer([["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁the", -3.5], ["<mask>", 0]], model="Unigram"),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_bert_and_roberta_style_tokenizers_are_accepted_and_stored(tmp_path, db_url, run_text, style):
    root = source(tmp_path / "src", STYLES[style])
    ran = run_text(MLM, db_url, src_path=str(root), label_file="data.csv", table=f"mlm_{style}")
    assert ran.report.exit_code == 0, ran.out + ran.err
    assert ran.stored()["tokenizer.json"] == (root / "tokenizer.json").read_bytes()
    meta = ran.registration()["meta_data"]
    assert meta["tokenizer_tokens"] == 6 and meta["tokenizer_model"] == {STYLES[style]["model"]["type"]: 1}


DEEP = b'{"model": {"vocab": {"[MASK]": 0, "[PAD]": 1}}, "normalizer": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"

BROKEN = [
    ("nested_200000_levels", DEEP, "nests more than 64 levels deep"),
    ("nested_objects", b'{"model": {"vocab": {"[MASK]": 0, "[PAD]": 1}}, "x": ' + b'{"a": ' * 100 + b"1" + b"}" * 100 + b"}",
     "nests more than 64 levels deep"),
    ("vocab_list_of_strings", tokenizer(["[MASK]", "[PAD]"]), "model.vocab is a list whose entries are not [token, score] pairs"),
    ("added_tokens_a_string", tokenizer({"[MASK]": 0, "[PAD]": 1}, "[MASK]"), "added_tokens is not a list"),
    ("added_token_without_content", tokenizer({"[MASK]": 0}, [{"id": 1, "special": True}]), "not an object with a string content"),
    ("added_token_content_a_list", tokenizer({"[MASK]": 0}, [{"content": ["[PAD]"]}]), "not an object with a string content"),
    ("vocab_id_text", tokenizer({"[MASK]": "0", "[PAD]": 1}), "something other than a whole-number id"),
    ("vocab_id_negative", tokenizer({"[MASK]": -1, "[PAD]": 1}), "something other than a whole-number id"),
    ("vocab_a_number", tokenizer(3), "model.vocab is neither a mapping"),
    ("model_a_list", {"model": [1, 2]}, "model is not an object"),
    ("no_model", {"added_tokens": [{"content": "[MASK]"}]}, "the file has no model"),
    ("no_vocab", {"model": {"type": "BPE"}}, "model has no vocab"),
    ("empty_vocabulary", tokenizer({}), "the file has no vocabulary"),
    ("an_array", b"[1, 2]", "not a JSON object"),
    ("truncated", b'{"model": {"vocab": {"[MASK]": 0', "not valid JSON"),
    ("trailing_data", b'{"model": {"vocab": {"[MASK]": 0, "[PAD]": 1}}} {}', "not valid JSON"),
    ("latin_1", b'{"model": {"vocab": {"[MASK]": 0, "[PAD]": 1, "caf\xe9": 2}}}', "not valid JSON (or not UTF-8)"),
    ("no_pad", tokenizer({"[MASK]": 0, "the": 1}), "the vocabulary has no pad token ([PAD] or <pad>)"),
    ("no_mask", tokenizer({"<pad>": 0, "the": 1}), "the vocabulary has no mask token ([MASK] or <mask>)"),
]


@pytest.mark.parametrize("name, body, message", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_hostile_or_malformed_tokenizer_is_refused_naming_file_and_rule(tmp_path, sqlite_url, run_text, name, body, message):
    root = source(tmp_path / "src", body)
    ran = run_text(MLM, sqlite_url, src_path=str(root), label_file="data.csv", table="mlm_bad")
    assert ran.report.exit_code == 1 and ran.report.status == "invalid", ran.out + ran.err
    assert ran.found == {(None, "tokenizer", None, "tokenizer.json")}
    assert message in ran.err and "tokenizer.json: [tokenizer]" in ran.err
    assert "Error" not in ran.report.message  # a rule, not a Python exception
    assert ran.rows() is None and not (tmp_path / "shared").exists()


def test_the_size_bound_and_a_missing_file(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(STYLES["bert"]))
    with pytest.raises(TokenizerProblem, match="more than the limit of 100"):
        read_tokenizer(path, max_size=100)
    with pytest.raises(TokenizerProblem, match="does not exist"):
        read_tokenizer(tmp_path / "nope.json")
    with pytest.raises(TokenizerProblem, match="a folder"):
        read_tokenizer(tmp_path)


def test_a_large_vocabulary_is_read_without_building_the_document(tmp_path):
    vocab = [[f"▁piece{i}", -float(i) / 1000] for i in range(250_000)] + [["<mask>", 0.0], ["<pad>", 0.0]]
    merges = [f"a{i} b{i}" for i in range(100_000)]
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({"model": {"type": "Unigram", "vocab": vocab, "merges": merges}}))
    found = read_tokenizer(path)
    assert len(found.tokens) == 250_002 and found.model == "Unigram" and found.missing() == []


def test_mask_and_pad_tokens_named_in_the_configuration(tmp_path, sqlite_url, run_text):
    root = source(tmp_path / "src", tokenizer({"[MSK]": 0, "<blank>": 1, "the": 2}))
    ran = run_text(MLM, sqlite_url, {"MASK_TOKEN": "[MSK]", "PAD_TOKEN": "<blank>"}, src_path=str(root), label_file="data.csv", table="custom")
    assert ran.report.exit_code == 0, ran.out + ran.err
    absent = run_text(MLM, sqlite_url, {"MASK_TOKEN": "[ZQ-ABSENT]"}, src_path=str(root), label_file="data.csv", table="absent")
    assert absent.report.exit_code == 1
    assert {i.message for i in absent.report.issues} == {
        "the vocabulary has no mask token given by mask_token",
        "the vocabulary has no pad token ([PAD] or <pad>)",
    }
    assert "ZQ-ABSENT" not in absent.out + absent.err  # a configured value is not repeated
