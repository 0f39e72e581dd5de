"""scripts/build-dists, then a fresh virtual environment that installs one plugin from dist/ as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_one_plugin_installs_from_dist_and_its_template_runs(tmp_path):
    dist = tmp_path / "dist"
    built = subprocess.run(["bash", str(ROOT / "scripts" / "build-dists"), str(dist)], capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stdout + built.stderr
    names = {p.name for p in dist.iterdir()}
    for stem in ("tracebloc_ingestor", "tracebloc_ingestor_tabular", "tracebloc_ingestor_image", "tracebloc_ingestor_text",
                 "tracebloc_ingestor_timeseries"):
        assert f"{stem}-1.0.0-py3-none-any.whl" in names and f"{stem}-1.0.0.tar.gz" in names
    assert "PASSED" in built.stdout and "FAILED" not in built.stdout

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    environ = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH") and not k.startswith("TRACEBLOC_")}
    environ["PATH"] = f"{bin_dir}{os.pathsep}{environ.get('PATH', '')}"
    # the public index holds tracebloc-ingestor 0.8.x: the resolver must prefer 1.0.0 from dist/
    pip = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--find-links", str(dist),
         "tracebloc-ingestor-image"],
        capture_output=True, text=True, env=environ, timeout=1200,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    shown = subprocess.run([str(bin_dir / "python"), "-m", "pip", "show", "tracebloc-ingestor"], capture_output=True, text=True, env=environ)
    assert "Version: 1.0.0" in shown.stdout
    work = tmp_path / "work"
    work.mkdir()
    new = subprocess.run([str(bin_dir / "tb-ingest"), "new", "image_classification", "demo"], cwd=work, capture_output=True, text=True, env=environ)
    assert new.returncode == 0, new.stdout + new.stderr
    run = subprocess.run([str(bin_dir / "python"), "ingestor.py"], cwd=work / "demo", capture_output=True, text=True, env=environ, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Status: success" in run.stdout
    assert len(list((work / "demo" / "tracebloc-output" / "shared" / "shapes_sample").glob("*.jpg"))) == 8
