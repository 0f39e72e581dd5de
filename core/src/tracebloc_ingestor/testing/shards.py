"""Scaled-out runs in tests and benchmarks: N real ``tb-ingest`` processes, one per shard.

``start_shards`` starts one process per shard with the environment an Indexed Job gives
its pods (``SHARDS``, ``JOB_COMPLETION_INDEX`` and one run id), and ``finish`` waits for
them; ``run_shards`` runs the shards of a category plugin in threads of this process
(quicker, for a plugin's own tests); ``seed_salt`` gives a fresh database the data_id salt
of another, so that the ``data_id``s of two runs into two databases can be compared.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Mapping, Sequence

import attrs

__all__ = ["ShardProcess", "finish", "run_shards", "seed_salt", "shard_env", "start_shards", "tb_ingest"]


def tb_ingest() -> str:
    """The ``tb-ingest`` of the running interpreter's environment."""
    return os.path.join(os.path.dirname(sys.executable), "tb-ingest")


@attrs.define
class ShardProcess:
    index: int
    process: subprocess.Popen
    out: Path
    err: Path
    returncode: int | None = None

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")


def shard_env(base: Mapping[str, str], index: int, count: int, run_id: str) -> dict[str, str]:
    """``base`` plus what the pod of index ``index`` of an Indexed Job of ``count`` sees."""
    return {**base, "SHARDS": str(count), "JOB_COMPLETION_INDEX": str(index), "INGESTOR_ID": run_id}


def start_shards(args: Sequence[str], env: Mapping[str, str], count: int, folder: Path, *,
                 run_id: str | None = None, indices: Sequence[int] | None = None) -> list[ShardProcess]:
    """Start ``tb-ingest ARGS`` once per shard (all of them, or ``indices``); output goes to files in ``folder``."""
    run_id = run_id or str(uuid.uuid4())
    folder.mkdir(parents=True, exist_ok=True)
    started = []
    for index in range(count) if indices is None else indices:
        out, err = folder / f"shard-{index}.out", folder / f"shard-{index}.err"
        with open(out, "wb") as fo, open(err, "wb") as fe:
            proc = subprocess.Popen([tb_ingest(), *args], env=shard_env(env, index, count, run_id), stdout=fo, stderr=fe)
        started.append(ShardProcess(index, proc, out, err))
    return started


def finish(shards: Sequence[ShardProcess], timeout: float = 300) -> list[ShardProcess]:
    """Wait for every shard process (killing them all past ``timeout`` seconds)."""
    try:
        for shard in shards:
            shard.returncode = shard.process.wait(timeout=timeout)
    finally:
        for shard in shards:
            if shard.process.poll() is None:
                shard.process.kill()
                shard.process.wait()
            shard.returncode = shard.process.returncode
    return list(shards)


def run_shards(plugin: object, flags: Mapping, environ: Mapping[str, str], count: int, *,
               run_id: str | None = None, timeout: float = 300) -> list[tuple]:
    """Run ``count`` shards of one run of ``plugin`` in threads: [(report, stdout, stderr)] by shard index.

    ``flags`` must name a MySQL/MariaDB database (``database_url``): shards meet there.
    """
    import threading

    from .runs import run_plugin

    run_id = run_id or str(uuid.uuid4())
    results: list = [None] * count

    def shard(index: int) -> None:
        try:
            results[index] = run_plugin(plugin, {**flags, "shard": f"{index}/{count}"}, {**environ, "INGESTOR_ID": run_id})
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            results[index] = exc

    threads = [threading.Thread(target=shard, args=(i,), name=f"shard-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def seed_salt(source_url: str, target_url: str, table: str) -> bytes:
    """Give ``table`` in the database of ``target_url`` the data_id salt it has in ``source_url``."""
    import sqlalchemy as sa

    from ..sinks.db.dialects import dialect_for
    from ..sinks.db.engine import Connector
    from ..sinks.db.ledger import META_TABLE, SALT_KEY, RunLedger

    src = sa.create_engine(source_url)
    try:
        with src.connect() as conn:
            salt = conn.exec_driver_sql(
                f"SELECT meta_value FROM {META_TABLE} WHERE table_name = %s AND meta_key = %s", (table, SALT_KEY)
            ).scalar()
    finally:
        src.dispose()
    if salt is None:
        raise ValueError(f"table {table!r} has no salt in the source database")
    connector = Connector(dialect_for(target_url))
    try:
        connector.run("creating the bookkeeping tables for", table, RunLedger(connector).create_tables, write=True)
        connector.run("seeding the salt of", table, lambda conn: conn.exec_driver_sql(
            f"INSERT INTO {META_TABLE} (table_name, meta_key, meta_value) VALUES (%s, %s, %s)", (table, SALT_KEY, salt)
        ), write=True)
    finally:
        connector.close()
    return bytes.fromhex(salt)
