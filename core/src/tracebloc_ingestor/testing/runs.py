"""Whole runs in tests: run plugins in-process and read back what landed.

``run_plugin`` runs one ingestion with a fresh plugin manager (no installed plugin takes
part) and returns the report with what it printed; ``table_rows``, ``typed_rows``,
``table_columns`` and ``has_table`` read the database afterwards. ``demo_input``/``run_demo`` are a tiny
tabular dataset (``ref,age,label``) of an inline ``demo_classification`` category.
"""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path
from typing import Iterable, Sequence

from ..markers import hookimpl

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


class StopAfterBatches:
    """A behaviour plugin that sends SIGTERM to this process once ``batches`` batches were loaded.

    For tests of a run stopped mid-way (run it in the main thread: the run's SIGTERM
    handler then stops it between batches).
    """

    def __init__(self, batches: int) -> None:
        self.batches = batches
        self.seen = 0

    @hookimpl
    def tb_load(self, ctx, batch) -> None:
        self.seen += 1
        if self.seen == self.batches:
            os.kill(os.getpid(), signal.SIGTERM)


def run_plugin(plugin: object, flags: dict, environ: dict | None = None, *, plugins: Sequence[object] = ()):
    """Run an ingestion with ``plugin`` (and ``plugins``) registered inline: (report, stdout, stderr)."""
    from ..loader import new_plugin_manager
    from ..runner import run_ingestion

    out, err = io.StringIO(), io.StringIO()
    report = run_ingestion(flags, environ or {}, plugins=[plugin, *plugins], pm=new_plugin_manager(), out=out, err=err)
    return report, out.getvalue(), err.getvalue()


def table_flags(folder: Path, source: str = "data.csv", **flags) -> dict:
    """Flags of a run of ``folder/source`` into table ``demo`` of an SQLite file in ``folder`` (``flags`` override)."""
    folder = Path(folder)
    base = {
        "label_file": str(folder / source),
        "table": "demo",
        "database_url": f"sqlite:///{folder / 'db.sqlite'}",
        "output_dir": str(folder / "out"),
    }
    return {**base, **flags}


def table_rows(url: str, table: str, columns: str = "*") -> list[tuple] | None:
    """The table's rows in ``id`` order (``columns`` as SQL), or None when there is no such table."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(table):
                return None
            return [tuple(r) for r in conn.execute(sa.text(f"SELECT {columns} FROM {table} ORDER BY id")).all()]
    finally:
        engine.dispose()


def typed_rows(url: str, table: str) -> list[dict]:
    """Every row in ``id`` order as a dict, typed by SQLAlchemy's reflection of the table.

    Independent of the sink: MySQL's DOUBLE and FLOAT come back as floats, and a DECIMAL
    column of SQLite (declared ``DECIMAL_TEXT(p,s)``, which keeps its exact text) as Decimal.
    """
    from decimal import Decimal

    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
        for column in reflected.columns:
            if isinstance(column.type, sa.Float):
                column.type.asdecimal = False  # MySQL's DOUBLE reflects as Decimal otherwise
        with engine.connect() as conn:
            exact = set()
            if engine.dialect.name == "sqlite":
                declared = conn.exec_driver_sql("SELECT name, type FROM pragma_table_info(?)", (table,)).all()
                exact = {name for name, kind in declared if kind.upper().startswith("DECIMAL_TEXT")}
            rows = [dict(row._mapping) for row in conn.execute(sa.select(reflected).order_by(reflected.c.id))]
    finally:
        engine.dispose()
    for row in rows:
        for name in exact:
            if row[name] is not None:
                row[name] = Decimal(row[name])
    return rows


def table_columns(url: str, table: str) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return [c["name"] for c in sa.inspect(engine).get_columns(table)]
    finally:
        engine.dispose()


def has_table(url: str, table: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table(table)
    finally:
        engine.dispose()


def demo_input(folder: Path, rows: Iterable[str]) -> Path:
    """Write ``data.csv`` (header ``ref,age,label``) and ``ingest.yaml``; returns the config path."""
    folder = Path(folder)
    (folder / "data.csv").write_text("ref,age,label\n" + "".join(rows), encoding="utf-8")
    (folder / "ingest.yaml").write_text(DEMO_CONFIG, encoding="utf-8")
    return folder / "ingest.yaml"


def run_demo(folder: Path, url: str, config: Path, *, batch_size: int = 2, plugins: Sequence[object] = ()):
    """Ingest ``config`` into ``url`` with a fresh plugin manager; returns the RunReport."""
    from .. import BaseIngestor

    class Demo(BaseIngestor):
        category = "demo_classification"

    flags = {
        "config_path": str(config), "database_url": url,
        "output_dir": str(Path(folder) / "out"), "batch_size": batch_size,
    }
    return run_plugin(Demo(), flags, plugins=plugins)[0]
