"""Whole runs into SQLite: rows, stored clips, statistics, size_bytes; the template script; data_format."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tracebloc_ingestor.api import CategoryError, CategorySpec
from tracebloc_ingestor.testing.runs import run_plugin, table_rows
from tracebloc_ingestor_audio import AudioClassification

CLIPS = {f"{kind}_{i:02d}.wav" for kind in ("tone", "noise") for i in range(1, 5)}


def stored(folder):
    """Stored file name -> bytes (the store's own dot files left out)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")} if folder.is_dir() else {}


def registration(tmp_path, table):
    return json.loads((tmp_path / "out" / f"{table}.registration.json").read_text(encoding="utf-8"))["payload"]


def test_the_sample_lands_with_its_clips_and_statistics(tmp_path, kit, sqlite_url):
    report, output = kit.ingest(tmp_path, {"config_path": str(kit.template / "ingest.yaml"), "database_url": sqlite_url})
    assert report.exit_code == 0, output
    rows = table_rows(sqlite_url, "audio_sample", "filename, extension, label")
    assert sorted(rows) == sorted((name[:-4], ".wav", name.split("_")[0]) for name in CLIPS)
    files = stored(tmp_path / "shared" / "audio_sample")
    assert files == {name: (kit.template / "audio" / name).read_bytes() for name in CLIPS}  # copied as they are
    payload = registration(tmp_path, "audio_sample")
    assert (payload["category"], payload["data_format"], payload["record_count"]) == ("audio_classification", "tabular", 8)
    assert payload["labels"] == {"noise": 4, "tone": 4}
    manifest = (kit.template / "labels.csv").stat().st_size
    assert payload["size_bytes"] == manifest + sum(len(data) for data in files.values())
    meta = payload["meta_data"]
    assert meta["audio_clips"] == 8
    assert meta["audio_duration_seconds"] == {"count": 8, "nulls": 0, "mean": 0.3125, "std": pytest.approx(0.108253, rel=1e-5)}
    assert meta["audio_sample_rates"] == {"8000": 8}
    assert meta["audio_channels"] == {"1": 8}
    assert meta["audio_bits_per_sample"] == {"16": 8}
    assert meta["audio_duration_buckets"] == {"<1s": 8}
    # aggregates only: no file name, stem or duration extreme leaves
    text = json.dumps(payload)
    assert not any(name[:-4] in text for name in CLIPS)


def test_a_clip_named_twice_is_stored_and_described_once(tmp_path, kit, sqlite_url):
    root = tmp_path / "src"
    kit.clip(root / "audio" / "a" / "bell.wav", 2.0, rate=16_000, channels=2)
    kit.clip(root / "audio" / "hum.wav", 45.0, rate=1_000)
    (root / "labels.csv").write_text("filename,label\na/bell,ring\nhum.wav,drone\na/bell.wav,ring\n", encoding="utf-8")
    flags = {"src_path": str(root), "label_file": "labels.csv", "table": "clips", "database_url": sqlite_url}
    report, output = kit.ingest(tmp_path, flags)
    assert report.exit_code == 0, output
    assert sorted(table_rows(sqlite_url, "clips", "filename, label")) == [("bell", "ring"), ("bell", "ring"), ("hum", "drone")]
    files = stored(tmp_path / "shared" / "clips")
    assert sorted(files) == ["bell.wav", "hum.wav"]
    meta = registration(tmp_path, "clips")["meta_data"]
    assert meta["audio_clips"] == 2
    assert meta["audio_sample_rates"] == {"1000": 1, "16000": 1}
    assert meta["audio_channels"] == {"1": 1, "2": 1}
    assert meta["audio_duration_buckets"] == {"1-5s": 1, "30s-2min": 1}
    assert meta["audio_duration_seconds"]["mean"] == 23.5


def test_the_template_script_runs_as_copied(tmp_path, kit):
    work = tmp_path / "work"
    kit.copy_template(work)
    cleared = ("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "LABEL_FILE", "INGEST_CONFIG", "TABLE_NAME", "STORAGE_PATH", "SRC_PATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(cleared)}
    proc = subprocess.run([sys.executable, "ingestor.py"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(stored(work / "tracebloc-output" / "shared" / "audio_sample")) == CLIPS


def test_an_audio_data_format_is_refused_naming_the_allowed_ones(tmp_path):
    class Audio(AudioClassification):
        data_format = "audio"

    allowed = "data_format 'audio' is not one the tracebloc backend knows; use one of: image, tabular, text"
    with pytest.raises(CategoryError, match=allowed):
        Audio().spec()
    with pytest.raises(CategoryError, match=allowed):
        CategorySpec(name="audio_classification", data_format="audio")
    report, _, err = run_plugin(Audio(), {"table": "clips", "output_dir": str(tmp_path / "out")})
    assert report.exit_code == 2 and allowed in err
    assert AudioClassification().spec().data_format == "tabular"


def test_tb_ingest_runs_the_installed_plugin_into_mariadb(tmp_path, kit, mysql_url):
    """The plugin as a third party ships it: pip-installed next to the core, run by ``tb-ingest --plugin``."""
    tb_ingest = os.path.join(os.path.dirname(sys.executable), "tb-ingest")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DB_", "CLIENT_", "BACKEND_"))}
    env.update(DATABASE_URL=mysql_url, STORAGE_PATH=str(tmp_path / "shared"), TRACEBLOC_OUTPUT_DIR=str(tmp_path / "out"),
               MAX_DURATION="1.5")
    command = [tb_ingest, "--plugin", "audio_classification", "--config", str(kit.template / "ingest.yaml"), "--sample-rates", "8000"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Inserted to Database: 8" in proc.stdout
    rows = table_rows(mysql_url, "audio_sample", "filename, extension, label")
    assert len(rows) == 8 and {r[1] for r in rows} == {".wav"}
    files = stored(tmp_path / "shared" / "audio_sample")
    assert set(files) == CLIPS
    payload = registration(tmp_path, "audio_sample")
    assert payload["size_bytes"] == (kit.template / "labels.csv").stat().st_size + sum(len(d) for d in files.values())
    # the same plugin option refuses what it should, from the command line
    strict = subprocess.run([*command[:-1], "44100"], env=env, capture_output=True, text=True, timeout=300)
    assert strict.returncode == 1 and "[sample_rate]" in strict.stderr
