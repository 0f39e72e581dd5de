"""The text categories end to end: samples, every failing rule, idempotence, templates, entry points."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tracebloc_ingestor.testing.runs import run_plugin
from tracebloc_ingestor.testing.runs import table_rows as rows_of
from tracebloc_ingestor_text import MaskedLanguageModeling, TextClassification, TokenClassification
from tracebloc_ingestor_text.iob2 import iob2_problem
from tracebloc_ingestor_text.tokenizer import TokenizerProblem, read_tokenizer

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TC, TOK, MLM = "text_classification", "token_classification", "masked_language_modeling"
PLUGINS = {TC: TextClassification, TOK: TokenClassification, MLM: MaskedLanguageModeling}
# Every text written by these tests holds this marker: it must never show up in a message.
SECRET = "Zq7-secret-marker"


# -- helpers -----------------------------------------------------------------------------


def ingest(category, flags, environ=None):
    return run_plugin(PLUGINS[category](), flags, environ)


def flags_for(tmp_path, url, **more):
    base = {"database_url": url, "output_dir": str(tmp_path / "out"), "storage_path": str(tmp_path / "shared")}
    base.update(more)
    return base


def stored(folder: Path) -> list[str]:
    """Visible files of a dataset folder (the store's own dot files left out)."""
    return sorted(n for n in os.listdir(folder) if not n.startswith(".")) if folder.exists() else []


def registration(tmp_path, table) -> dict:
    return json.loads((tmp_path / "out" / f"{table}.registration.json").read_text())["payload"]


def write_tokenizer(path: Path, tokens=("[PAD]", "[UNK]", "[MASK]"), words=("alpha", "beta")) -> Path:
    vocab = {t: i for i, t in enumerate([*tokens, *words])}
    added = [{"id": vocab[t], "content": t, "special": True} for t in tokens]
    path.write_text(json.dumps({"version": "1.0", "added_tokens": added, "model": {"type": "WordLevel", "vocab": vocab}}))
    return path


def folder_of(category) -> str:
    return "sequences" if category == MLM else "texts"


def good_set(root: Path, category: str) -> list[tuple]:
    """Four good records (five words each); returns the manifest rows."""
    folder = root / folder_of(category)
    folder.mkdir(parents=True, exist_ok=True)
    tags = ["B-PER I-PER O O O", "O O O B-LOC O", "O O O O O", "B-ORG O O O O"]
    rows = []
    for i in range(4):
        (folder / f"good_{i}.txt").write_text(f"record {i} {SECRET} plain words\n", encoding="utf-8")
        name = f"good_{i}" if i % 2 else f"good_{i}.txt"
        rows.append((name,) if category == MLM else (name, tags[i] if category == TOK else "ab"[i % 2]))
    if category == MLM:
        write_tokenizer(root / "tokenizer.json")
    return rows


def write_manifest(root: Path, category: str, rows) -> None:
    header = ("filename",) if category == MLM else ("filename", "label")
    with open(root / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def write_text(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(params=["sqlite", "mysql"])
def any_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    return request.getfixturevalue("mysql_url")


# -- the samples -------------------------------------------------------------------------

SAMPLES = {
    TC: ("reviews_sample", 6, {"positive": 3, "negative": 3}),
    TOK: ("entities_sample", 4, None),
    MLM: ("sequences_sample", 5, {}),
}


@pytest.mark.parametrize("category", [TC, TOK, MLM])
def test_sample_lands_rows_and_files(tmp_path, any_url, category):
    table, count, labels = SAMPLES[category]
    template = TEMPLATES / category
    report, out, err = ingest(category, flags_for(tmp_path, any_url, config_path=str(template / "ingest.yaml")))
    assert report.exit_code == 0, out + err
    rows = rows_of(any_url, table, "filename, extension, label, data_intent")
    assert len(rows) == count
    assert {r[1] for r in rows} == {".txt"} and {r[3] for r in rows} == {"train"}
    manifest = list(csv.DictReader(open(next(template.glob("*.csv")), encoding="utf-8")))
    assert sorted(r[0] for r in rows) == sorted(m["filename"].removesuffix(".txt") for m in manifest)
    if category == MLM:
        assert {r[2] for r in rows} == {None}
    else:
        by_stem = {m["filename"].removesuffix(".txt"): m["label"] for m in manifest}
        assert all(by_stem[r[0]] == r[2] for r in rows)
    folder = tmp_path / "shared" / table
    texts = template / folder_of(category)
    expected = sorted(f"{r[0]}.txt" for r in rows) + (["tokenizer.json"] if category == MLM else [])
    assert stored(folder) == sorted(expected)
    for name in stored(folder):
        source = template / name if name == "tokenizer.json" else texts / name
        assert (folder / name).read_bytes() == source.read_bytes()
    payload = registration(tmp_path, table)
    assert payload["data_format"] == "text" and payload["category"] == category and payload["record_count"] == count
    if labels is not None:
        assert payload["labels"] == labels
    else:  # token classification: the whole tag strings, plus tag counts in meta_data
        assert sum(payload["labels"].values()) == count
        assert payload["meta_data"]["token_tags"]["B-PER"] == 2
    meta = payload["meta_data"]
    assert meta["texts"] == count and sum(meta["text_word_buckets"].values()) == count
    assert sum(meta["text_character_buckets"].values()) == count and meta["text_words"]["count"] == count
    assert payload["size_bytes"] >= sum((folder / n).stat().st_size for n in stored(folder))
    sent = json.dumps(payload)
    for name in os.listdir(texts):
        assert Path(name).stem not in sent  # no file names leave
        assert (texts / name).read_text(encoding="utf-8").split()[1] not in sent.split('"')  # nor words


# -- every failing rule ------------------------------------------------------------------


def _bad_utf8(root):
    write_text(root / "texts" / "latin.txt", f"caf\xe9 {SECRET} ole".encode("latin-1"))
    return [("latin", "a")]


def _symlink_out(root):
    write_text(root.parent / "outside.txt", f"{SECRET} out of bounds".encode())
    (root / "texts" / "link.txt").symlink_to(root.parent / "outside.txt")
    return [("link", "a")]


def _dotdot(root):
    write_text(root.parent / "outside.txt", f"{SECRET} out of bounds".encode())
    return [("../outside.txt", "a")]


def _twins(root):
    write_text(root / "texts" / "a" / "twin.txt", f"{SECRET} one".encode())
    write_text(root / "texts" / "b" / "twin.txt", f"{SECRET} two".encode())
    return [("a/twin", "a"), ("b/twin", "b")]


def _tok(label, words=5):
    def make(root):
        write_text(root / "texts" / "bad.txt", " ".join([SECRET] * words).encode())
        return [("bad", label)]

    return make


def _mlm_tokenizer(content):
    def make(root):
        path = root / "tokenizer.json"
        if content is None:
            path.unlink()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            write_tokenizer(path, tokens=content)
        return []

    return make


FAILURES = [
    # id, category, make bad rows, (row, rule, file), extra flags
    ("missing_file", TC, lambda r: [("nope", "a")], (5, "missing_file", "texts/nope.txt"), {}),
    ("dotdot", TC, _dotdot, (5, "path_escape", "texts/../outside.txt"), {}),
    ("absolute", TC, lambda r: [("/etc/hostname", "a")], (5, "path_escape", "texts//etc/hostname"), {}),
    ("symlink_out", TC, _symlink_out, (5, "path_escape", "texts/link.txt"), {}),
    ("invalid_utf8", TC, _bad_utf8, (5, "encoding", "texts/latin.txt"), {}),
    ("empty", TC, lambda r: write_text(r / "texts" / "empty.txt", b"") or [("empty", "a")], (5, "empty_file", "texts/empty.txt"), {}),
    ("blank", TC, lambda r: write_text(r / "texts" / "blank.txt", b" \n\t \n") or [("blank", "a")], (5, "empty_file", "texts/blank.txt"), {}),
    ("binary", TC, lambda r: write_text(r / "texts" / "bin.txt", f"{SECRET}\x00x".encode()) or [("bin", "a")], (5, "binary", "texts/bin.txt"), {}),
    ("too_big", TC, lambda r: write_text(r / "texts" / "big.txt", f"{SECRET} ".encode() * 8) or [("big", "a")], (5, "file_size", "texts/big.txt"),
     {"max_file_size": 100}),
    ("duplicate_name", TC, _twins, (6, "duplicate_name", "texts/b/twin.txt"), {}),
    ("missing_label", TC, lambda r: [("good_1", "")], (5, "required", "manifest.csv"), {}),
    ("iob2_orphan_inside", TOK, _tok("O I-PER O O O"), (5, "iob2", "texts/bad.txt"), {}),
    ("iob2_type_switch", TOK, _tok("B-PER I-LOC O O O"), (5, "iob2", "texts/bad.txt"), {}),
    ("iob2_not_a_tag", TOK, _tok("O O X-FOO O O"), (5, "iob2", "texts/bad.txt"), {}),
    ("token_count", TOK, _tok("O O O O"), (5, "token_count", "texts/bad.txt"), {}),
    ("tags_too_long", TOK, _tok(" ".join(["O"] * 129), words=129), (5, "max_length", "manifest.csv"), {}),
    ("tok_missing_file", TOK, lambda r: [("gone", "O")], (5, "missing_file", "texts/gone.txt"), {}),
    ("no_mask_token", MLM, _mlm_tokenizer(("[PAD]", "[UNK]")), (None, "tokenizer", "tokenizer.json"), {}),
    ("no_tokenizer", MLM, _mlm_tokenizer(None), (None, "tokenizer", "tokenizer.json"), {}),
    ("tokenizer_not_json", MLM, _mlm_tokenizer(b'{"model": {"vocab": '), (None, "tokenizer", "tokenizer.json"), {}),
    ("mlm_invalid_utf8", MLM, lambda r: write_text(r / "sequences" / "s.txt", b"\xff\xfe" + SECRET.encode()) or [("s",)], (5, "encoding", "sequences/s.txt"), {}),
]


@pytest.mark.parametrize("case, category, make, expected, extra", FAILURES, ids=[f[0] for f in FAILURES])
def test_each_failing_rule_names_row_rule_and_path_and_writes_nothing(tmp_path, any_url, case, category, make, expected, extra):
    root = tmp_path / "src"
    rows = good_set(root, category)
    rows += make(root)
    write_manifest(root, category, rows)
    args = flags_for(tmp_path, any_url, src_path=str(root), label_file="manifest.csv", table="texts_bad", **extra)
    report, out, err = ingest(category, args)
    assert report.exit_code == 1, out + err
    found = {(i.row, i.rule, i.file) for i in report.issues}
    assert expected in found, sorted(found, key=str)
    # only the bad row is at fault (the good rows 1-4 are not named)
    assert not {i.row for i in report.issues} & {1, 2, 3, 4}
    row, rule, file = expected
    assert (f"{file}, row {row:,}" if row is not None else file) in err and f"[{rule}]" in err
    assert SECRET not in out + err  # no content in any message
    assert rows_of(any_url, "texts_bad") is None
    assert not (tmp_path / "shared").exists()


def test_text_classification_needs_two_labels_but_token_classification_does_not(tmp_path, sqlite_url):
    root = tmp_path / "tc"
    write_manifest(root, TC, [(name, "same") for name, _ in good_set(root, TC)])
    report, _, _ = ingest(TC, flags_for(tmp_path, sqlite_url, src_path=str(root), label_file="manifest.csv", table="one_label"))
    assert report.exit_code == 1 and [i.rule for i in report.issues] == ["label_diversity"]
    root = tmp_path / "tok"
    write_manifest(root, TOK, [(name, "O O O O O") for name, _ in good_set(root, TOK)])
    report, out, err = ingest(TOK, flags_for(tmp_path, sqlite_url, src_path=str(root), label_file="manifest.csv", table="one_tagging"))
    assert report.exit_code == 0, out + err


def test_a_folder_holding_another_dataset_is_refused(tmp_path, sqlite_url):
    root = tmp_path / "src"
    write_manifest(root, TC, good_set(root, TC))
    folder = tmp_path / "shared" / "texts_taken"
    folder.mkdir(parents=True)
    (folder / "someone_else.txt").write_text("x")
    report, _, _ = ingest(TC, flags_for(tmp_path, sqlite_url, src_path=str(root), label_file="manifest.csv", table="texts_taken"))
    assert report.exit_code == 1 and [i.rule for i in report.issues] == ["destination"]
    assert rows_of(sqlite_url, "texts_taken") is None and os.listdir(folder) == ["someone_else.txt"]


@pytest.mark.parametrize("where", ["flag", "environment"])
def test_texts_folder_option_and_a_file_named_twice_is_stored_once(tmp_path, sqlite_url, where):
    root = tmp_path / "src"
    rows = good_set(root, TC)
    (root / "texts").rename(root / "docs")
    rows.append(("good_0.txt", "b"))  # the same text again, another label: a second record
    write_manifest(root, TC, rows)
    args = flags_for(tmp_path, sqlite_url, src_path=str(root), label_file="manifest.csv", table="docs_set")
    if where == "flag":
        args["texts"] = str(root / "docs")
    environ = {"TEXTS_DIR": "docs"} if where == "environment" else {}  # relative to the source root
    report, out, err = ingest(TC, args, environ)
    assert report.exit_code == 0, out + err
    assert len(rows_of(sqlite_url, "docs_set")) == 5
    assert stored(tmp_path / "shared" / "docs_set") == [f"good_{i}.txt" for i in range(4)]
    assert registration(tmp_path, "docs_set")["meta_data"]["texts"] == 4


# -- options -----------------------------------------------------------------------------

LIMIT_CONFIG = """\
apiVersion: tracebloc.io/v1
kind: IngestConfig
category: text_classification
table: texts_limit
intent: train
csv: manifest.csv
texts: texts
spec:
  file_options:
    max_file_size: {limit}
"""


def limit_source(root: Path, limit) -> Path:
    """Four good texts and one of 144 bytes; an ingest.yaml with ``max_file_size: limit``."""
    rows = good_set(root, TC)
    write_text(root / "texts" / "big.txt", f"{SECRET} ".encode() * 8)
    write_manifest(root, TC, rows + [("big", "a")])
    (root / "ingest.yaml").write_text(LIMIT_CONFIG.format(limit=limit))
    return root / "ingest.yaml"


@pytest.mark.parametrize("where", ["environment", "ingest.yaml"])
def test_max_file_size_from_the_environment_and_from_ingest_yaml(tmp_path, sqlite_url, where):
    config = limit_source(tmp_path / "src", 100 if where == "ingest.yaml" else 1_000)
    environ = {"MAX_FILE_SIZE": "100"} if where == "environment" else {}  # the environment wins over the file
    report, out, err = ingest(TC, flags_for(tmp_path, sqlite_url, config_path=str(config)), environ)
    assert report.exit_code == 1, out + err
    assert [(i.row, i.rule, i.file) for i in report.issues] == [(5, "file_size", "texts/big.txt")]
    assert "more than the limit of 100" in err and SECRET not in out + err


@pytest.mark.parametrize(
    "where, flags, environ, origin",
    [
        ("flag", {"max_file_size": "0"}, {}, "--max-file-size"),
        ("environment", {}, {"MAX_FILE_SIZE": "ten"}, "MAX_FILE_SIZE"),
        ("ingest.yaml", {}, {}, "spec.file_options.max_file_size"),
    ],
)
def test_a_bad_max_file_size_is_refused_at_start(tmp_path, sqlite_url, where, flags, environ, origin):
    config = limit_source(tmp_path / "src", -5 if where == "ingest.yaml" else 100)
    args = flags_for(tmp_path, sqlite_url, config_path=str(config), **flags)
    report, out, err = ingest(TC, args, environ)
    assert report.exit_code == 2 and report.status == "config_error", out + err
    assert origin in err and "at least 1" in err and not report.issues
    assert not (tmp_path / "shared").exists() and rows_of(sqlite_url, "texts_limit") is None


@pytest.mark.parametrize(
    "category, forms",
    [
        (TC, ("--texts", "TEXTS_DIR", "--max-file-size", "MAX_FILE_SIZE", "spec.file_options.max_file_size")),
        (MLM, ("--sequences", "SEQUENCES_DIR", "--max-file-size", "MAX_FILE_SIZE")),
    ],
)
def test_help_lists_the_text_options(category, forms):
    tb_ingest = Path(sys.executable).parent / "tb-ingest"  # the console script of this environment
    proc = subprocess.run([str(tb_ingest), "--plugin", category, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for form in forms:
        assert form in proc.stdout


# -- idempotence -------------------------------------------------------------------------


@pytest.mark.parametrize("category", [TC, TOK, MLM])
def test_rerun_is_idempotent_and_copies_nothing_again(tmp_path, any_url, category):
    table = SAMPLES[category][0]
    args = flags_for(tmp_path, any_url, config_path=str(TEMPLATES / category / "ingest.yaml"))
    first, out, err = ingest(category, args)
    assert first.exit_code == 0, out + err
    columns = "data_id, filename, extension, label, ingestor_id"
    rows = rows_of(any_url, table, columns)
    folder = tmp_path / "shared" / table
    before = {n: (folder / n).stat() for n in stored(folder)}
    ledger = (folder / ".tracebloc-files.jsonl").read_text()
    size = registration(tmp_path, table)["size_bytes"]
    second, out, err = ingest(category, args)
    assert second.exit_code == 0, out + err
    assert second.counters.already_present == len(rows)
    assert rows_of(any_url, table, columns) == rows
    after = {n: (folder / n).stat() for n in stored(folder)}
    assert {n: (s.st_ino, s.st_mtime_ns) for n, s in after.items()} == {n: (s.st_ino, s.st_mtime_ns) for n, s in before.items()}
    assert (folder / ".tracebloc-files.jsonl").read_text() == ledger
    assert registration(tmp_path, table)["size_bytes"] == size


# -- templates and entry points ----------------------------------------------------------


@pytest.mark.parametrize("category", [TC, TOK, MLM])
def test_template_runs_as_copied(tmp_path, category):
    table, count, _ = SAMPLES[category]
    folder = tmp_path / category
    shutil.copytree(TEMPLATES / category, folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "LABEL_FILE", "INGEST_CONFIG", "TABLE_NAME", "STORAGE_PATH", "SRC_PATH"))}
    proc = subprocess.run([sys.executable, "ingestor.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "📊 INGESTION SUMMARY 📊" in proc.stdout and f"💾 Inserted to Database: {count}" in proc.stdout
    assert len(stored(folder / "tracebloc-output" / "shared" / table)) == count + (category == MLM)


def test_entry_points_name_the_three_categories():
    names = {(ep.name, ep.dist.name) for ep in entry_points(group="tracebloc_ingestor")}
    assert {(c, "tracebloc-ingestor-text") for c in (TC, TOK, MLM)} <= names


# -- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    "tags, ok",
    [
        ("O", True),
        ("B-PER I-PER O B-LOC", True),
        ("B-PER B-PER I-PER", True),
        ("B-LOC I-LOC I-LOC O B-ORG I-ORG", True),
        ("I-PER", False),
        ("O I-PER", False),
        ("B-PER O I-PER", False),
        ("B-PER I-LOC", False),
        ("o", False),
        ("B-", False),
        ("B_PER", False),
        ("S-PER", False),
    ],
)
def test_iob2(tags, ok):
    assert (iob2_problem(tags.split()) is None) is ok


def test_vocabulary_reads_dict_unigram_and_added_tokens(tmp_path):
    unigram = tmp_path / "unigram.json"
    unigram.write_text(json.dumps({"model": {"type": "Unigram", "vocab": [["[PAD]", 0.0], ["▁the", -1.2]]}, "added_tokens": [{"content": "[MASK]"}]}))
    assert read_tokenizer(unigram).tokens == {"[PAD]", "▁the", "[MASK]"}
    assert read_tokenizer(write_tokenizer(tmp_path / "wl.json")).tokens >= {"[PAD]", "[MASK]", "alpha"}
    for body in ('["not", "an", "object"]', '{"model": {"vocab": 3}}'):
        (tmp_path / "bad.json").write_text(body)
        with pytest.raises(TokenizerProblem):
            read_tokenizer(tmp_path / "bad.json")


def test_the_local_data_report_has_exact_length_histograms(tmp_path, sqlite_url):
    config = TEMPLATES / "text_classification" / "ingest.yaml"
    report, out, err = ingest("text_classification", flags_for(tmp_path, sqlite_url, config_path=str(config)))
    assert report.exit_code == 0, out + err
    page = Path(report.data_report).read_text(encoding="utf-8")
    texts = sorted((TEMPLATES / "text_classification" / "texts").glob("*.txt"))
    mean = sum(len(p.read_text(encoding="utf-8")) for p in texts) / len(texts)
    assert "Text lengths" in page and f"{len(texts):,} texts; mean {mean:,.0f} characters." in page
    assert "Characters per text" in page and "Words per text" in page
