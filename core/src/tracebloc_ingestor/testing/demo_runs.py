"""A tiny tabular dataset and a one-call run of it, for tests of whole runs.

The ``demo_classification`` category is defined inline (a BaseIngestor subclass), so no
installed plugin takes part; rows are CSV lines of ``ref,age,label``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable, Sequence

DEMO_CONFIG = """\
apiVersion: tracebloc.io/v1
kind: IngestConfig
category: demo_classification
table: demo
intent: train
csv: data.csv
schema:
  ref: VARCHAR(8)
  age: INT
"""


def demo_input(folder: Path, rows: Iterable[str]) -> Path:
    """Write ``data.csv`` (header ``ref,age,label``) and ``ingest.yaml``; returns the config path."""
    folder = Path(folder)
    (folder / "data.csv").write_text("ref,age,label\n" + "".join(rows), encoding="utf-8")
    (folder / "ingest.yaml").write_text(DEMO_CONFIG, encoding="utf-8")
    return folder / "ingest.yaml"


def run_demo(folder: Path, url: str, config: Path, *, batch_size: int = 2, plugins: Sequence[object] = ()):
    """Ingest ``config`` into ``url`` with a fresh plugin manager; returns the RunReport."""
    from .. import BaseIngestor
    from ..loader import new_plugin_manager
    from ..runner import run_ingestion

    class Demo(BaseIngestor):
        category = "demo_classification"

    flags = {
        "config_path": str(config), "database_url": url,
        "output_dir": str(Path(folder) / "out"), "batch_size": batch_size,
    }
    return run_ingestion(flags, {}, plugins=[Demo(), *plugins], pm=new_plugin_manager(), out=io.StringIO(), err=io.StringIO())
