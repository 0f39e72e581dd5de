"""Fixtures of the audio tests: real WAV files in tmp_path, real databases (SQLite and MariaDB/MySQL)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from tracebloc_ingestor.testing.fixtures import *  # noqa: F401,F403
from tracebloc_ingestor.testing.runs import run_plugin
from tracebloc_ingestor_audio import AudioClassification

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "audio_classification"
BAD = ROOT / "tests" / "data" / "bad"


def _samples_module():
    # the generator of the committed samples, reused to write clips in tests
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "templates" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Kit:
    """Helpers shared by the test modules."""

    template = TEMPLATE
    bad = BAD
    samples = _samples_module()

    def clip(self, path: Path, seconds: float = 0.25, *, rate: int = 8_000, channels: int = 1) -> Path:
        """A 16-bit WAV tone of ``seconds`` at ``path`` (the same samples on every channel)."""
        mono = self.samples.pcm16(self.samples.tone(440, seconds, rate))
        frames = b"".join(mono[i : i + 2] * channels for i in range(0, len(mono), 2))
        self.samples.write_wav(path, frames, rate=rate, channels=channels)
        return path

    def copy_template(self, dest: Path) -> Path:
        """A copy of the template sample; returns its ingest.yaml."""
        shutil.copytree(TEMPLATE, dest)
        return dest / "ingest.yaml"

    def ingest(self, tmp_path: Path, flags: dict, environ: dict | None = None):
        """One run of the category registered inline: (report, stdout + stderr)."""
        base = {"database_url": f"sqlite:///{tmp_path / 'ingest.sqlite'}", "output_dir": str(tmp_path / "out"),
                "storage_path": str(tmp_path / "shared")}
        report, out, err = run_plugin(AudioClassification(), {**base, **flags}, environ)
        return report, out + err


@pytest.fixture
def kit():
    return Kit()
