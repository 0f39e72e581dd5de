"""The rest of the text family: sentence pairs, causal language modelling, seq2seq and embeddings (file form),
the templates of every category in both forms, entry points and --help."""

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

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
FAMILY = ("sentence_pair_classification", "causal_language_modeling", "seq2seq", "embeddings")
ALL = ("text_classification", "token_classification", "masked_language_modeling", *FAMILY)
SECRET = "Wv5-family-secret"


def texts_source(root: Path, texts: dict[str, bytes], labels: dict[str, str] | None = None) -> Path:
    """texts/<name>.txt and manifest.csv (filename[, label])."""
    (root / "texts").mkdir(parents=True, exist_ok=True)
    for name, data in texts.items():
        (root / "texts" / f"{name}.txt").write_bytes(data)
    with open(root / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["filename", "label"] if labels else ["filename"])
        writer.writerows([(name, labels[name]) if labels else (name,) for name in texts])
    return root


GOOD = {
    "sentence_pair_classification": {"g1": f"{SECRET} a\tb one\n".encode(), "g2": b"a two\tb two"},
    "causal_language_modeling": {"g1": f"prompt {SECRET}\tcompletion\n".encode(), "g2": b"prompt\tcompletion"},
    "seq2seq": {"g1": f"source {SECRET}\ttarget\n".encode(), "g2": b"source two\ttarget two"},
    "embeddings": {"g1": f"anchor {SECRET}\tpositive".encode(), "g2": b"anchor\tpositive\tnegative\n"},
}
LABELS = {"g1": "yes", "g2": "no", "bad": "yes"}

FAILURES = [
    # category, the bad text, rule, a phrase of the message, extra environment
    ("sentence_pair_classification", b"no tab here", "tab_parts", "one part (no TAB); it must be text_a<TAB>text_b", {}),
    ("sentence_pair_classification", b"a\tb\tc", "tab_parts", "3 TAB-separated parts", {}),
    ("sentence_pair_classification", b"\t b", "empty_part", "part 1 (text_a) is empty", {}),
    ("seq2seq", b"source only\n", "tab_parts", "it must be source<TAB>target", {}),
    ("seq2seq", b"source\t\n", "empty_part", "part 2 (target) is empty", {}),
    ("embeddings", b"anchor only", "tab_parts", "it must be anchor<TAB>positive[<TAB>negative]", {}),
    ("embeddings", b"a\tp\tn\tx", "tab_parts", "4 TAB-separated parts", {}),
    ("embeddings", b"a\tp\t", "empty_part", "part 3 (negative) is empty", {}),
    ("causal_language_modeling", b"code:\n\tif x:\n\t\treturn", "tab_parts", "plain text without a TAB, or prompt<TAB>completion", {}),
    ("causal_language_modeling", b"prompt\t ", "empty_part", "part 2 (completion) is empty", {}),
    ("causal_language_modeling", b"no tab", "tab_parts", "it must be prompt<TAB>completion", {"TEXT_LAYOUT": "prompt_completion"}),
]


@pytest.mark.parametrize("category, data, rule, phrase, environ", FAILURES, ids=[f"{f[0]}-{f[2]}-{i}" for i, f in enumerate(FAILURES)])
def test_each_layout_rule_names_row_file_and_rule_and_writes_nothing(tmp_path, db_url, run_text, category, data, rule, phrase, environ):
    labels = LABELS if category == "sentence_pair_classification" else None
    root = texts_source(tmp_path / "src", {**GOOD[category], "bad": data}, labels)
    ran = run_text(category, db_url, environ, src_path=str(root), label_file="manifest.csv", table="family_bad")
    assert ran.report.exit_code == 1, ran.out + ran.err
    assert ran.found == {(3, rule, "filename", "texts/bad.txt")}
    assert phrase in ran.err and SECRET not in ran.out + ran.err
    assert ran.rows() is None and not (tmp_path / "shared").exists()


def test_plain_layout_takes_texts_with_tabs(tmp_path, sqlite_url, run_text):
    code = b"def f(x):\n\tif x:\n\t\treturn x\n"
    root = texts_source(tmp_path / "src", {"code": code, "more": b"a\tb\tc"})
    ran = run_text("causal_language_modeling", sqlite_url, {"TEXT_LAYOUT": "plain"}, src_path=str(root), label_file="manifest.csv", table="code")
    assert ran.report.exit_code == 0, ran.out + ran.err
    assert sorted(ran.stored().values()) == sorted([code, b"a\tb\tc"])
    assert "text_layouts" not in ran.registration()["meta_data"]  # one plain text each


@pytest.mark.parametrize("category", FAMILY)
def test_the_file_form_lands_and_leaves_only_aggregates(tmp_path, db_url, run_text, category):
    labels = LABELS if category == "sentence_pair_classification" else None
    root = texts_source(tmp_path / "src", GOOD[category], labels)
    ran = run_text(category, db_url, src_path=str(root), label_file="manifest.csv", table="family")
    assert ran.report.exit_code == 0, ran.out + ran.err
    assert ran.stored() == {f"{name}.txt": data for name, data in GOOD[category].items()}
    rows = ran.rows("filename, extension, label")
    assert sorted(rows) == sorted((name, ".txt", labels[name] if labels else None) for name in GOOD[category])
    payload = ran.registration()
    meta = payload["meta_data"]
    assert payload["labels"] == ({"yes": 1, "no": 1} if labels else {}) and meta["texts"] == 2
    assert sum(meta["text_layouts"].values()) == 2
    sent = json.dumps(payload)
    assert SECRET not in sent and "g1" not in sent and "two" not in sent


def test_sentence_pairs_need_a_label_and_two_classes(tmp_path, sqlite_url, run_text):
    root = texts_source(tmp_path / "src", GOOD["sentence_pair_classification"], {"g1": "same", "g2": "same"})
    ran = run_text("sentence_pair_classification", sqlite_url, src_path=str(root), label_file="manifest.csv", table="one_class")
    assert ran.report.exit_code == 1 and [i.rule for i in ran.report.issues] == ["label_diversity"]
    root = texts_source(tmp_path / "nolabel", GOOD["sentence_pair_classification"])
    ran = run_text("sentence_pair_classification", sqlite_url, src_path=str(root), label_file="manifest.csv", table="no_label")
    assert ran.report.exit_code == 1 and "label_column" in {i.rule for i in ran.report.issues}


# -- templates, entry points, --help ---------------------------------------------------------------


def run_template(folder: Path, config: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "LABEL_FILE", "INGEST_CONFIG",
                                                                     "TABLE_NAME", "STORAGE_PATH", "SRC_PATH"))}
    if config:
        env["INGEST_CONFIG"] = config
    return subprocess.run([sys.executable, "ingestor.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("category, config", [(c, None) for c in FAMILY] + [(c, "inline/ingest.yaml") for c in ALL])
def test_templates_run_as_copied_in_both_forms(tmp_path, category, config):
    folder = tmp_path / category
    shutil.copytree(TEMPLATES / category, folder)
    proc = run_template(folder, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "📊 INGESTION SUMMARY 📊" in proc.stdout
    inserted = int(proc.stdout.split("💾 Inserted to Database: ")[1].split()[0])
    stored = [p for p in (folder / "tracebloc-output" / "shared").rglob("*.txt")]
    assert inserted > 0 and len(stored) == inserted


def test_entry_points_name_the_seven_categories():
    names = {(ep.name, ep.dist.name) for ep in entry_points(group="tracebloc_ingestor")}
    assert {(c, "tracebloc-ingestor-text") for c in ALL} <= names


@pytest.mark.parametrize(
    "category, forms",
    [
        ("token_classification", ("--tag-scheme", "TAG_SCHEME", "--tag-storage", "TAG_STORAGE", "--tag-names", "--tokens-column", "--text-columns")),
        ("masked_language_modeling", ("--mask-token", "MASK_TOKEN", "--pad-token", "PAD_TOKEN", "--text-columns")),
        ("causal_language_modeling", ("--text-layout", "TEXT_LAYOUT", "--texts", "--text-columns", "TEXT_COLUMNS")),
        ("embeddings", ("--texts", "TEXTS_DIR", "--text-columns", "--max-file-size")),
    ],
)
def test_help_lists_the_family_options(category, forms):
    tb_ingest = Path(sys.executable).parent / "tb-ingest"
    proc = subprocess.run([str(tb_ingest), "--plugin", category, "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for form in forms:
        assert form in proc.stdout
