"""One ``LOAD DATA LOCAL INFILE`` statement fed through a pipe, in one transaction.

MariaDB builds the indexes of an empty InnoDB table by sorting ("bulk insert") when a
single statement inserts the rows with ``unique_checks`` and ``foreign_key_checks`` off;
a chunk-per-statement load loses that after its first chunk. So a first load into an
empty table streams every chunk into one statement whose "file" is the read end of a
pipe: the client library reads it like a file while the write pass keeps rendering.
Nothing is visible before the commit, and any failure rolls the whole load back.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import suppress
from typing import Any

import sqlalchemy as sa

__all__ = ["LoadStream", "bulk_load_capable", "pipe_paths_available"]

# Versions whose InnoDB bulk insert handles LOAD DATA correctly (MDEV-34703 fixed in
# 10.11.11, 11.4.5 and 11.7.2); other series and MySQL keep chunked statements.
_FIXED = ((10, 11, 11), (11, 4, 5), (11, 7, 2))
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_PIPE_BYTES = 1 << 20
_WRITE_SLICE = 1 << 20


def bulk_load_capable(version: str) -> bool:
    """Whether a server ``VERSION()`` string names a MariaDB with a safe InnoDB bulk insert."""
    match = _VERSION.match(version or "")
    if not match or "mariadb" not in version.lower():
        return False
    found = tuple(int(part) for part in match.groups())
    if found >= (11, 7, 2):
        return True
    return any(found[:2] == fixed[:2] and found >= fixed for fixed in _FIXED)


def pipe_paths_available() -> bool:
    """The pipe is handed to the driver as ``/proc/self/fd/N`` (Linux)."""
    return os.path.isdir("/proc/self/fd")


class LoadStream:
    """Feeds one LOAD DATA statement from a pipe; the statement runs on its own thread.

    ``feed`` writes rendered lines into the pipe (blocking while the server is behind,
    which bounds memory); ``finish`` ends the input and returns the statement's row count
    and warning count with the transaction still open; then ``commit`` or ``abort``.
    """

    read_timeout = 86_400  # seconds the server waits for the next part of the stream

    def __init__(self, engine: sa.Engine, statement_for: Any) -> None:
        self._engine = engine
        self._statement_for = statement_for  # path -> SQL text
        self._conn: sa.Connection | None = None
        self._read_fd = -1
        self._write_fd = -1
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.rowcount = -1
        self.warnings = -1
        self.rows_sent = 0

    def start(self) -> None:
        self._read_fd, self._write_fd = os.pipe()
        with suppress(AttributeError, OSError):
            import fcntl

            fcntl.fcntl(self._write_fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)  # fewer wake-ups per chunk
        try:
            self._conn = self._engine.connect()
            # The bulk insert needs both checks off. Between two batches the write pass may spend
            # minutes storing files, and the server gives up on a LOAD DATA whose client sends
            # nothing for net_read_timeout (30 s by default). The connection is discarded afterwards.
            self._conn.exec_driver_sql(
                "SET SESSION unique_checks = 0, foreign_key_checks = 0, net_read_timeout = %s", (self.read_timeout,)
            )
            self._conn.commit()  # the load's own transaction begins with the statement
        except BaseException:
            self._close_conn()
            self._close_fds()
            raise
        sql = self._statement_for(f"/proc/self/fd/{self._read_fd}")
        self._thread = threading.Thread(target=self._execute, args=(sql,), name="tb-load-stream", daemon=True)
        self._thread.start()

    def _execute(self, sql: str) -> None:
        try:
            result = self._conn.exec_driver_sql(sql, execution_options={"no_parameters": True})
            self.rowcount = int(result.rowcount)
            self.warnings = int(
                self._conn.exec_driver_sql("SELECT @@warning_count", execution_options={"no_parameters": True}).scalar()
            )
        except BaseException as exc:  # raised in the feeding thread
            self.error = exc
        finally:
            self._drain()

    def _drain(self) -> None:
        """Read what is left so that a feeder never blocks on a statement that has ended."""
        with suppress(OSError):
            while os.read(self._read_fd, _WRITE_SLICE):
                pass

    def feed(self, data: memoryview, rows: int) -> None:
        if self.error is not None:
            raise self.error
        view = memoryview(data).cast("B")
        while len(view):
            written = os.write(self._write_fd, view[:_WRITE_SLICE])
            view = view[written:]
        self.rows_sent += rows

    def finish(self) -> tuple[int, int]:
        """End the input and wait for the statement: (rows inserted, warnings)."""
        self._end_input()
        if self.error is not None:
            raise self.error
        return self.rowcount, self.warnings

    @property
    def connection(self) -> sa.Connection | None:
        return self._conn

    def commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            self._close_conn()
            self._close_fds()

    def abort(self) -> None:
        """Stop feeding, roll back whatever was loaded, and drop the connection (idempotent)."""
        self._end_input()
        if self._conn is not None:
            with suppress(Exception):
                self._conn.rollback()
        self._close_conn()
        self._close_fds()

    def _end_input(self) -> None:
        if self._write_fd >= 0:
            with suppress(OSError):
                os.close(self._write_fd)
            self._write_fd = -1
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _close_conn(self) -> None:
        if self._conn is not None:
            with suppress(Exception):
                self._conn.invalidate()  # the session variables must not reach the pool
            with suppress(Exception):
                self._conn.close()
            self._conn = None

    def _close_fds(self) -> None:
        for name in ("_write_fd", "_read_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                with suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)
