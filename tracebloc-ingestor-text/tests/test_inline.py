"""Texts inline in the table (``text,label``): every text category, checked like files, stored as the platform expects."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tracebloc_ingestor_text.inline import stem_for

SECRET = "Qx9-inline-secret"
BERT_TOKENIZER = {
    "version": "1.0",
    "added_tokens": [{"id": 0, "content": "[PAD]"}, {"id": 1, "content": "[MASK]"}],
    "model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[MASK]": 1, "[UNK]": 2, "the": 3}},
}


def write_csv(path: Path, header, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_lines(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# category -> (columns, rows of cells, labels or None, the stored text of each row)
CASES = {
    "text_classification": (
        ("text",),
        [(f"first {SECRET} review, with a comma",), (f"second {SECRET}\nover two lines",), (f"first {SECRET} review, with a comma",)],
        ["good", "bad", "good"],
        [f"first {SECRET} review, with a comma", f"second {SECRET}\nover two lines", f"first {SECRET} review, with a comma"],
    ),
    "token_classification": (
        ("text",),
        [(f"Ada {SECRET} London",), (f"10\u202f000 {SECRET}",)],
        ["B-PER O B-LOC", "O O"],
        [f"Ada {SECRET} London", f"10\u202f000 {SECRET}"],
    ),
    "masked_language_modeling": (("text",), [(f"the {SECRET} one",), (f"the {SECRET} two",)], None,
                                 [f"the {SECRET} one", f"the {SECRET} two"]),
    "sentence_pair_classification": (
        ("text_a", "text_b"),
        [(f"a {SECRET}", "b one"), (f"a {SECRET}", "b two")],
        ["entailment", "neutral"],
        [f"a {SECRET}\tb one", f"a {SECRET}\tb two"],
    ),
    "causal_language_modeling": (("prompt", "completion"), [(f"ask {SECRET}", "answer"), ("ask again", f"answer {SECRET}")], None,
                                 [f"ask {SECRET}\tanswer", f"ask again\tanswer {SECRET}"]),
    "seq2seq": (("source", "target"), [(f"source {SECRET}", "Ziel eins"), ("source two", f"Ziel {SECRET}")], None,
                [f"source {SECRET}\tZiel eins", f"source two\tZiel {SECRET}"]),
    "embeddings": (
        ("anchor", "positive", "negative"),
        [(f"query {SECRET}", "a match", "no match"), (f"query {SECRET} 2", "a match 2", "")],
        None,
        [f"query {SECRET}\ta match\tno match", f"query {SECRET} 2\ta match 2"],
    ),
}


def inline_source(root: Path, category: str) -> Path:
    columns, rows, labels, _ = CASES[category]
    header = list(columns) + (["label"] if labels else [])
    body = [list(cells) + ([labels[i]] if labels else []) for i, cells in enumerate(rows)]
    if category == "masked_language_modeling":
        (root / "tokenizer.json").parent.mkdir(parents=True, exist_ok=True)
        (root / "tokenizer.json").write_text(json.dumps(BERT_TOKENIZER))
    return write_csv(root / "data.csv", header, body)


@pytest.mark.parametrize("category", list(CASES))
def test_inline_texts_land_as_files_named_by_record_identity(tmp_path, db_url, run_text, category):
    _, _, labels, texts = CASES[category]
    source = inline_source(tmp_path / "src", category)
    first = run_text(category, db_url, src_path=str(source.parent), label_file="data.csv", table="inline_set")
    assert first.report.exit_code == 0, first.out + first.err
    rows = first.rows("data_id, filename, extension, label")
    assert [r[2] for r in rows] == [".txt"] * len(texts)
    assert all(data_id == stem for data_id, stem, _, _ in rows)  # content_hash ids are plain file names
    assert [r[3] for r in rows] == (labels or [None] * len(texts))
    stored = first.stored()
    expected = {f"{stem}.txt": text.encode() for (_, stem, _, _), text in zip(rows, texts)}
    if category == "masked_language_modeling":
        expected["tokenizer.json"] = (source.parent / "tokenizer.json").read_bytes()
    assert stored == expected  # byte for byte, one file per record, repeats included
    payload = first.registration()
    assert payload["meta_data"]["texts"] == len(texts) and payload["record_count"] == len(texts)
    assert payload["size_bytes"] >= sum(len(b) for b in stored.values())
    sent = json.dumps(payload)
    assert SECRET not in sent and not any(stem in sent for _, stem, _, _ in rows)
    assert SECRET not in first.out + first.err
    # a second run of the same input changes nothing
    ledger = (first.folder / ".tracebloc-files.jsonl").read_text()
    times = {n: (first.folder / n).stat().st_mtime_ns for n in stored}
    second = run_text(category, db_url, src_path=str(source.parent), label_file="data.csv", table="inline_set")
    assert second.report.exit_code == 0, second.out + second.err
    assert second.report.counters.already_present == len(texts)
    assert second.rows("data_id, filename, extension, label") == rows
    assert {n: (first.folder / n).stat().st_mtime_ns for n in stored} == times
    assert (first.folder / ".tracebloc-files.jsonl").read_text() == ledger


def test_a_record_named_by_a_column_keeps_its_name_when_its_text_changes(tmp_path, sqlite_url, run_text):
    """The stem comes from the record's identity, never from its text: no content reaches the name."""
    root = tmp_path / "src"
    config = {"data_id_strategy": "column", "data_id_column": "ref", "src_path": str(root), "label_file": "data.csv", "table": "by_ref"}
    write_csv(root / "data.csv", ["ref", "text", "label"], [("r-1", f"one {SECRET}", "a"), ("Doc/2", f"two {SECRET}", "b")])
    first = run_text("text_classification", sqlite_url, **config)
    assert first.report.exit_code == 0, first.out + first.err
    names = [r[0] for r in first.rows("filename")]
    assert names == [stem_for("r-1"), stem_for("Doc/2")]
    assert names == ["id-" + hashlib.sha256(b"r-1").hexdigest(), "id-" + hashlib.sha256(b"Doc/2").hexdigest()]
    write_csv(root / "data.csv", ["ref", "text", "label"], [("r-1", f"changed {SECRET}", "a"), ("Doc/2", f"two {SECRET}", "b")])
    report = run_text("text_classification", sqlite_url, **{**config, "table": "by_ref_2"})
    assert [r[0] for r in report.rows("filename")] == names
    assert report.stored()[f"{names[0]}.txt"] == f"changed {SECRET}".encode()


@pytest.mark.parametrize(
    "data_id, stem",
    [
        ("0" * 64, "0" * 64),  # content_hash
        ("2b1c7a9e-0f64-4f0e-9b0a-0c3f1d2e4a5b", "2b1c7a9e-0f64-4f0e-9b0a-0c3f1d2e4a5b"),  # uuid
        ("ABC", "id-" + hashlib.sha256(b"ABC").hexdigest()),  # upper case: not distinct on every volume
        ("abc", "abc"),
        ("../x", "id-" + hashlib.sha256(b"../x").hexdigest()),
        (".hidden", "id-" + hashlib.sha256(b".hidden").hexdigest()),
        ("f" * 129, "id-" + hashlib.sha256(b"f" * 129).hexdigest()),
    ],
)
def test_stems_are_plain_names_or_hashes(data_id, stem):
    assert stem_for(data_id) == stem


# -- the rules, inline -------------------------------------------------------------------------

FAILURES = [
    # id, category, records (JSON lines), extra flags, (row, rule, column)
    ("null_text", "text_classification", [{"text": None, "label": "a"}], {}, (3, "required", "text")),
    ("blank_text", "text_classification", [{"text": " \n\t", "label": "a"}], {}, (3, "empty_file", "text")),
    ("nbsp_only", "text_classification", [{"text": "\u00a0\u2003", "label": "a"}], {}, (3, "empty_file", "text")),
    ("nul", "text_classification", [{"text": f"{SECRET}\u0000x", "label": "a"}], {}, (3, "binary", "text")),
    ("too_big", "text_classification", [{"text": f"{SECRET} " * 20, "label": "a"}], {"max_file_size": 100}, (3, "file_size", "text")),
    ("missing_label", "text_classification", [{"text": f"{SECRET}", "label": ""}], {}, (3, "required", "label")),
    ("pair_tab_in_cell", "sentence_pair_classification", [{"text_a": f"{SECRET}\tx", "text_b": "y", "label": "a"}], {}, (3, "tab_parts", "text_a")),
    ("pair_empty_part", "sentence_pair_classification", [{"text_a": f"{SECRET}", "text_b": " ", "label": "a"}], {}, (3, "empty_part", "text_b")),
    ("pair_no_label", "sentence_pair_classification", [{"text_a": f"{SECRET}", "text_b": "y", "label": None}], {}, (3, "required", "label")),
    ("seq2seq_no_target", "seq2seq", [{"source": f"{SECRET}", "target": None}], {}, (3, "required", "target")),
    ("embeddings_gap", "embeddings", [{"anchor": f"{SECRET}", "positive": "", "negative": "n"}], {}, (3, "empty_part", "positive")),
    ("clm_empty_completion", "causal_language_modeling", [{"prompt": f"{SECRET}", "completion": ""}], {}, (3, "empty_part", "completion")),
]

GOOD = {
    "text_classification": [{"text": "good one", "label": "a"}, {"text": "good two", "label": "b"}],
    "sentence_pair_classification": [{"text_a": "x", "text_b": "y", "label": "a"}, {"text_a": "x2", "text_b": "y2", "label": "b"}],
    "seq2seq": [{"source": "x", "target": "y"}, {"source": "x2", "target": "y2"}],
    "embeddings": [{"anchor": "x", "positive": "y", "negative": "z"}, {"anchor": "x2", "positive": "y2", "negative": None}],
    "causal_language_modeling": [{"prompt": "x", "completion": "y"}, {"prompt": "x2", "completion": "y2"}],
}


@pytest.mark.parametrize("case, category, bad, extra, expected", FAILURES, ids=[f[0] for f in FAILURES])
def test_each_inline_rule_names_row_column_and_manifest_and_writes_nothing(tmp_path, db_url, run_text, case, category, bad, extra, expected):
    source = write_lines(tmp_path / "src" / "data.jsonl", GOOD[category] + bad)
    ran = run_text(category, db_url, src_path=str(source.parent), label_file="data.jsonl", table="inline_bad", **extra)
    assert ran.report.exit_code == 1, ran.out + ran.err
    row, rule, column = expected
    assert (row, rule, column, "data.jsonl") in ran.found, sorted(ran.found, key=str)
    assert {i.row for i in ran.report.issues} == {row}  # the good rows are not named
    assert f"[{rule}]" in ran.err and SECRET not in ran.out + ran.err
    assert ran.rows() is None and not (tmp_path / "shared").exists()


@pytest.mark.parametrize(
    "category, columns, message",
    [
        ("sentence_pair_classification", "premise", "takes 2 text columns"),
        ("embeddings", "a,b,c,d", "takes 2 to 3 text columns"),
        ("causal_language_modeling", "a,b,c", "takes 1 to 2 text columns"),
        ("text_classification", "a,b", "takes 1 text columns"),
    ],
)
def test_text_columns_that_do_not_fit_the_layout_are_refused_before_reading(tmp_path, sqlite_url, run_text, category, columns, message):
    source = write_lines(tmp_path / "src" / "data.jsonl", GOOD.get(category, GOOD["text_classification"]))
    ran = run_text(category, sqlite_url, {"TEXT_COLUMNS": columns}, src_path=str(source.parent), label_file="data.jsonl", table="t")
    assert ran.report.exit_code == 2 and ran.report.status == "config_error", ran.out + ran.err
    assert "TEXT_COLUMNS" in ran.err and message in ran.err and ran.rows() is None


def test_named_text_columns_and_a_manifest_of_neither_form(tmp_path, sqlite_url, run_text):
    root = tmp_path / "src"
    write_csv(root / "pairs.csv", ["premise", "hypothesis", "label"], [("p one", "h one", "yes"), ("p two", "h two", "no")])
    ran = run_text("sentence_pair_classification", sqlite_url, {"TEXT_COLUMNS": "premise,hypothesis"},
                   src_path=str(root), label_file="pairs.csv", table="named")
    assert ran.report.exit_code == 0, ran.out + ran.err
    assert sorted(ran.stored().values()) == [b"p one\th one", b"p two\th two"]
    missing = run_text("sentence_pair_classification", sqlite_url, {"TEXT_COLUMNS": "premise,claim"},
                       src_path=str(root), label_file="pairs.csv", table="named_2")
    assert missing.report.exit_code == 1 and missing.report.error_count == 1
    assert (None, "missing_column", "claim", "pairs.csv") in missing.found
    neither = run_text("sentence_pair_classification", sqlite_url, src_path=str(root), label_file="pairs.csv", table="named_3")
    assert neither.report.exit_code == 1
    assert (None, "missing_column", "filename", "pairs.csv") in neither.found
    assert "text_a,text_b (texts inline" in neither.err and not neither.folder.exists()


def test_an_inline_manifest_needs_no_texts_folder_but_a_file_manifest_does(tmp_path, sqlite_url, run_text):
    root = tmp_path / "src"
    write_csv(root / "inline.csv", ["text", "label"], [("one", "a"), ("two", "b")])
    write_csv(root / "files.csv", ["filename", "label"], [("one", "a"), ("two", "b")])
    assert run_text("text_classification", sqlite_url, src_path=str(root), label_file="inline.csv", table="t1").report.exit_code == 0
    ran = run_text("text_classification", sqlite_url, src_path=str(root), label_file="files.csv", table="t2")
    assert ran.report.exit_code == 1 and ran.found == {(None, "missing_folder", None, "texts")}  # once, not per row


def test_parquet_text_columns_large_strings_and_binary(tmp_path, db_url, run_text):
    root = tmp_path / "src"
    root.mkdir()
    table = pa.table({
        "text": pa.array([f"one {SECRET}", "two \u00e9"], pa.large_string()),  # pandas 3 / polars strings
        "label": ["a", "b"],
    })
    pq.write_table(table, root / "data.parquet")
    ran = run_text("text_classification", db_url, src_path=str(root), label_file="data.parquet", table="pq_texts")
    assert ran.report.exit_code == 0, ran.out + ran.err
    assert sorted(ran.stored().values()) == [f"one {SECRET}".encode(), "two \u00e9".encode()]
    binary = pa.table({"text": pa.array([b"fine", b"caf\xe9 " + SECRET.encode()], pa.binary()), "label": ["a", "b"]})
    pq.write_table(binary, root / "bytes.parquet")
    bad = run_text("text_classification", db_url, src_path=str(root), label_file="bytes.parquet", table="pq_bytes")
    assert bad.report.exit_code == 1 and bad.found == {(2, "encoding", "text", "bytes.parquet")}
    assert SECRET not in bad.out + bad.err and bad.rows() is None


# -- the same rules for both forms -----------------------------------------------------------------

SAME = [
    ("empty", b"", "empty_file"),
    ("blank", b" \r\n\t", "empty_file"),
    ("unicode_spaces", "\u00a0\u3000".encode(), "empty_file"),
    ("nul", b"a\x00b", "binary"),
    ("too_big", b"x" * 101, "file_size"),
]


@pytest.mark.parametrize("name, data, rule", SAME, ids=[s[0] for s in SAME])
def test_a_text_breaks_the_same_rule_as_a_file_and_inline(tmp_path, sqlite_url, run_text, name, data, rule):
    root = tmp_path / "src"
    (root / "texts").mkdir(parents=True)
    (root / "texts" / "bad.txt").write_bytes(data)
    (root / "texts" / "good.txt").write_bytes(b"fine")
    write_csv(root / "files.csv", ["filename", "label"], [("good", "x"), ("bad", "y")])
    write_lines(root / "inline.jsonl", [{"text": "fine", "label": "x"}, {"text": data.decode(), "label": "y"}])
    for manifest, table in (("files.csv", "as_files"), ("inline.jsonl", "inline")):
        ran = run_text("text_classification", sqlite_url, src_path=str(root), label_file=manifest, table=table, max_file_size=100)
        assert {(i.row, i.rule) for i in ran.report.issues} == {(2, rule)}, manifest
