"""Token classification: the JSON-lines form, explicit tokenisation, tag schemes, tag names and long tag strings."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tracebloc_ingestor_text.checks import count_words, split_words
from tracebloc_ingestor_text.tagging import TagProblem, read_tags, read_tokens, to_iob2

TOK = "token_classification"
SECRET = "Zq8-token-secret"
# Unicode spaces that str.split() would split at; here they stay inside their token
UNICODE_SPACES = ["\u00a0", "\u202f", "\u2009", "\u3000", "\u2007", "\x1c", "\x85", "\u2028"]


def write_lines(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def write_csv(path: Path, header, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


SENTENCES = [
    {"tokens": ["Ada", "Lovelace", "visited", SECRET, "London"], "tags": ["B-PER", "I-PER", "O", "O", "B-LOC"]},
    {"tokens": ["Fares", "rose", "to", "10\u202f000", "euros", "in", "São\u00a0Paulo"], "tags": ["O", "O", "O", "O", "O", "O", "B-LOC"]},
]


def test_the_json_lines_form_lands_tokens_as_text_and_tags_as_label(tmp_path, db_url, run_text):
    source = write_lines(tmp_path / "src" / "sentences.jsonl", SENTENCES)
    ran = run_text(TOK, db_url, src_path=str(source.parent), label_file="sentences.jsonl", table="conll")
    assert ran.report.exit_code == 0, ran.out + ran.err
    rows = ran.rows("filename, label, annotation")
    assert [r[1] for r in rows] == [" ".join(s["tags"]) for s in SENTENCES]  # the tags column is found by name
    assert [r[2] for r in rows] == [None, None]
    stored = ran.stored()
    assert [stored[f"{r[0]}.txt"] for r in rows] == [" ".join(s["tokens"]).encode() for s in SENTENCES]
    meta = ran.registration()["meta_data"]
    assert meta["token_tags"] == {"B-PER": 1, "I-PER": 1, "O": 8, "B-LOC": 2}
    assert meta["text_words"]["count"] == 2 and meta["text_words"]["mean"] == 6.0  # 5 and 7 tokens, not 9 words
    assert SECRET not in json.dumps(ran.registration()) and SECRET not in ran.out + ran.err


@pytest.mark.parametrize("space", UNICODE_SPACES, ids=[f"U+{ord(c):04X}" for c in UNICODE_SPACES])
def test_unicode_spaces_stay_inside_a_token_in_every_form(tmp_path, sqlite_url, run_text, space):
    token = f"New{space}York"
    text = f"{token} is big"
    root = tmp_path / "src"
    (root / "texts").mkdir(parents=True)
    (root / "texts" / "s.txt").write_text(text, encoding="utf-8")
    write_csv(root / "files.csv", ["filename", "label"], [("s", "B-LOC O O")])
    write_lines(root / "inline.jsonl", [{"text": text, "label": "B-LOC O O"}])
    write_lines(root / "tokens.jsonl", [{"tokens": [token, "is", "big"], "tags": ["B-LOC", "O", "O"]}])
    for manifest in ("files.csv", "inline.jsonl", "tokens.jsonl"):
        ran = run_text(TOK, sqlite_url, src_path=str(root), label_file=manifest, table=manifest.split(".")[0])
        assert ran.report.exit_code == 0, (manifest, ran.err)
        assert list(ran.stored().values()) == [text.encode()]


def test_tags_counted_by_str_split_are_refused_not_shifted(tmp_path, sqlite_url, run_text):
    """Four tags for "New<NBSP>York is big" would fit str.split(); here the text has three tokens."""
    root = tmp_path / "src"
    (root / "texts").mkdir(parents=True)
    (root / "texts" / "s.txt").write_text("New\u00a0York is big", encoding="utf-8")
    write_csv(root / "files.csv", ["filename", "label"], [("s", "B-LOC I-LOC O O")])
    ran = run_text(TOK, sqlite_url, src_path=str(root), label_file="files.csv", table="shift")
    assert ran.report.exit_code == 1 and ran.found == {(1, "token_count", "label", "texts/s.txt")}
    assert "3 tokens but the label has 4 tags" in ran.err


@pytest.mark.parametrize(
    "tokens, message",
    [
        (["New York", "is"], "token 1 holds a space, TAB or line break"),
        (["is", "big\tcity"], "token 2 holds a space"),
        (["a", ""], "token 2 is empty"),
        (["a", 3], "token 2 is not text"),
        ([], "there are no tokens"),
        ("New York is", "not a valid JSON array"),
    ],
)
def test_token_lists_that_cannot_be_joined_are_refused(tmp_path, sqlite_url, run_text, tokens, message):
    records = [SENTENCES[0], {"tokens": tokens, "tags": ["O", "O"]}]
    source = write_lines(tmp_path / "src" / "t.jsonl", records)
    ran = run_text(TOK, sqlite_url, src_path=str(source.parent), label_file="t.jsonl", table="bad_tokens")
    assert ran.report.exit_code == 1
    assert (2, "tokens", "tokens", "t.jsonl") in ran.found and message in ran.err
    assert ran.rows() is None


# -- tags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scheme, tags, iob2",
    [
        ("iob1", "I-PER I-PER O I-LOC B-LOC", "B-PER I-PER O B-LOC B-LOC"),
        ("iob1", "I-PER I-LOC", "B-PER B-LOC"),
        ("iob1", "O I-ORG I-ORG", "O B-ORG I-ORG"),
        ("bioes", "B-PER E-PER O S-LOC", "B-PER I-PER O B-LOC"),
        ("bioes", "B-ORG I-ORG I-ORG E-ORG S-ORG", "B-ORG I-ORG I-ORG I-ORG B-ORG"),
        ("bilou", "B-PER L-PER O U-LOC", "B-PER I-PER O B-LOC"),
        ("bilou", "U-MISC U-MISC", "B-MISC B-MISC"),
        ("iob2", "B-PER I-PER", "B-PER I-PER"),
    ],
)
def test_schemes_convert_to_iob2(scheme, tags, iob2):
    assert to_iob2(tags.split(), scheme) == iob2.split()


@pytest.mark.parametrize(
    "scheme, tags, message",
    [
        ("bioes", "B-PER O", "tag 2 comes before the entity begun earlier has ended"),
        ("bioes", "I-PER E-PER", "tag 1 continues an entity"),
        ("bioes", "B-PER E-LOC", "tag 2 continues an entity"),
        ("bioes", "B-PER I-PER", "the last entity is not ended"),
        ("bioes", "S-PER L-PER", "tag 2 is not a BIOES tag"),
        ("bilou", "B-PER E-PER", "tag 2 is not a BILOU tag"),
        ("bilou", "X", "tag 1 is not a BILOU tag"),
    ],
)
def test_sequences_that_break_their_scheme_are_refused(scheme, tags, message):
    with pytest.raises(TagProblem) as caught:
        to_iob2(tags.split(), scheme)
    assert caught.value.rule == "tag_scheme" and message in caught.value.message


def test_tags_are_read_from_text_lists_json_and_numbers():
    assert read_tags("B-PER\u00a0 O") == ["B-PER\u00a0", "O"]  # split at ASCII white space only
    assert read_tags('["B-PER", "O"]') == ["B-PER", "O"]
    assert read_tags(["O", 1], names=("O", "B-PER")) == ["O", "B-PER"]
    assert read_tokens('["a", "b\u00a0c"]') == ["a", "b\u00a0c"]
    assert split_words("a\u00a0b c\td\n") == ["a\u00a0b", "c", "d"] and count_words("a\u00a0b c\td\n".encode()) == 3
    for bad, message in ((["O", 2], "tag 2 is a number; give the tag of each number with tag_names"),
                         (["O", True], "tag 2 is neither text nor a whole number"),
                         ("[" * 100_000, "not a valid JSON array")):
        with pytest.raises(TagProblem) as caught:
            read_tags(bad)
        assert caught.value.rule == "tags" and message in caught.value.message


def test_bioes_converts_on_request_and_is_refused_with_a_hint_otherwise(tmp_path, db_url, run_text):
    records = [{"tokens": ["Ada", "Lovelace", "in", "Paris"], "tags": ["B-PER", "E-PER", "O", "S-LOC"]}]
    source = write_lines(tmp_path / "src" / "b.jsonl", records)
    refused = run_text(TOK, db_url, src_path=str(source.parent), label_file="b.jsonl", table="bioes_raw")
    assert refused.report.exit_code == 1 and refused.found == {(1, "iob2", "tags", "b.jsonl")}
    assert "converted with tag_scheme" in refused.err
    ran = run_text(TOK, db_url, {"TAG_SCHEME": "bioes"}, src_path=str(source.parent), label_file="b.jsonl", table="bioes")
    assert ran.report.exit_code == 0, ran.out + ran.err
    assert ran.rows("label") == [("B-PER I-PER O B-LOC",)]
    broken = write_lines(tmp_path / "src" / "broken.jsonl", [{"tokens": ["Ada", "in"], "tags": ["B-PER", "O"]}])
    bad = run_text(TOK, db_url, {"TAG_SCHEME": "bioes"}, src_path=str(broken.parent), label_file="broken.jsonl", table="bioes_bad")
    assert bad.report.exit_code == 1 and bad.found == {(1, "tag_scheme", "tags", "broken.jsonl")}


def test_numbered_tags_with_tag_names(tmp_path, sqlite_url, run_text):
    records = [{"tokens": ["EU", "rejects", "German", "call"], "ner_tags": [3, 0, 7, 0]}]
    source = write_lines(tmp_path / "src" / "n.jsonl", records)
    names = "O,B-PER,I-PER,B-ORG,I-ORG,B-LOC,I-LOC,B-MISC,I-MISC"
    ran = run_text(TOK, sqlite_url, {"TAG_NAMES": names, "LABEL_COLUMN": "ner_tags"}, src_path=str(source.parent), label_file="n.jsonl", table="numbered")
    assert ran.report.exit_code == 0, ran.out + ran.err
    assert ran.rows("label") == [("B-ORG O B-MISC O",)]
    unnamed = run_text(TOK, sqlite_url, {"LABEL_COLUMN": "ner_tags"}, src_path=str(source.parent), label_file="n.jsonl", table="unnamed")
    assert unnamed.report.exit_code == 1 and unnamed.found == {(1, "tags", "ner_tags", "n.jsonl")}
    short = run_text(TOK, sqlite_url, {"TAG_NAMES": "O,B-ORG", "LABEL_COLUMN": "ner_tags"}, src_path=str(source.parent), label_file="n.jsonl", table="short")
    assert short.report.exit_code == 1 and "outside tag_names (0 to 1)" in short.err
    twice = run_text(TOK, sqlite_url, {"TAG_NAMES": "O,O", "LABEL_COLUMN": "ner_tags"}, src_path=str(source.parent), label_file="n.jsonl", table="twice")
    assert twice.report.exit_code == 2 and "TAG_NAMES" in twice.err


def test_a_tags_column_of_json_arrays_in_a_csv_manifest(tmp_path, sqlite_url, run_text):
    root = tmp_path / "src"
    (root / "texts").mkdir(parents=True)
    (root / "texts" / "a.txt").write_text("Ada in Paris", encoding="utf-8")
    write_csv(root / "m.csv", ["filename", "label"], [("a", '["B-PER", "O", "B-LOC"]')])
    ran = run_text(TOK, sqlite_url, src_path=str(root), label_file="m.csv", table="json_tags")
    assert ran.report.exit_code == 0, ran.out + ran.err
    assert ran.rows("label") == [("B-PER O B-LOC",)]


def test_parquet_lists_of_tokens_and_tags(tmp_path, db_url, run_text):
    root = tmp_path / "src"
    root.mkdir()
    pq.write_table(pa.table({
        "tokens": pa.array([s["tokens"] for s in SENTENCES], pa.list_(pa.string())),
        "tags": pa.array([s["tags"] for s in SENTENCES], pa.large_list(pa.large_string())),
    }), root / "s.parquet")
    ran = run_text(TOK, db_url, src_path=str(root), label_file="s.parquet", table="pq_tokens")
    assert ran.report.exit_code == 0, ran.out + ran.err
    assert sorted(ran.stored().values()) == sorted(" ".join(s["tokens"]).encode() for s in SENTENCES)


# -- tag strings longer than the label column ----------------------------------------------------


def long_source(root: Path) -> Path:
    tokens = [f"w{i}" for i in range(100)]
    tags = ["B-MISC"] + ["I-MISC"] * 99  # 699 characters
    return write_lines(root / "long.jsonl", [{"tokens": tokens, "tags": tags}, {"tokens": ["Ada", "ran"], "tags": ["B-PER", "O"]}])


def test_a_long_tag_string_is_refused_with_the_way_through(tmp_path, sqlite_url, run_text):
    source = long_source(tmp_path / "src")
    ran = run_text(TOK, sqlite_url, src_path=str(source.parent), label_file="long.jsonl", table="long_tags")
    assert ran.report.exit_code == 1 and ran.found == {(1, "max_length", "tags", "long.jsonl")}
    assert "699 characters; label holds 255" in ran.err and "tag_storage: annotation" in ran.err


def test_tag_storage_annotation_keeps_every_tag_string(tmp_path, db_url, run_text):
    source = long_source(tmp_path / "src")
    ran = run_text(TOK, db_url, {"TAG_STORAGE": "annotation"}, src_path=str(source.parent), label_file="long.jsonl", table="long_ok")
    assert ran.report.exit_code == 0, ran.out + ran.err
    (long_label, long_tags), (short_label, short_tags) = ran.rows("label, annotation")
    assert long_label is None and long_tags == " ".join(["B-MISC"] + ["I-MISC"] * 99)
    assert short_label == short_tags == "B-PER O"  # the platform's label where it fits
    payload = ran.registration()
    assert payload["labels"] == {"B-PER O": 1}  # a row without a label counts towards no class
    assert payload["meta_data"]["token_tags"] == {"B-MISC": 1, "I-MISC": 99, "B-PER": 1, "O": 1}


def test_annotation_has_its_own_bound(tmp_path, sqlite_url, run_text):
    tokens = [f"w{i}" for i in range(10_000)]
    tags = ["B-MISC"] + ["I-MISC"] * 9_999  # 69,999 bytes: more than a TEXT column holds
    source = write_lines(tmp_path / "src" / "huge.jsonl", [{"tokens": tokens, "tags": tags}, SENTENCES[0]])
    ran = run_text(TOK, sqlite_url, {"TAG_STORAGE": "annotation"}, src_path=str(source.parent), label_file="huge.jsonl", table="huge")
    assert ran.report.exit_code == 1 and ran.found == {(1, "max_length", "tags", "huge.jsonl")}
    assert "more than 65,535 bytes, the size of annotation" in ran.err
