"""One run per table at a time.

A run removes the rows of earlier runs that never finished; without a lock it would also
remove the rows of a run that is still going (a Job started twice, a retried pod). MySQL
and MariaDB: a named lock (``GET_LOCK``) held on its own connection for the whole run,
released by the server if the process dies. SQLite: an exclusive ``flock`` on a file
beside the database.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from contextlib import suppress
from pathlib import Path

import sqlalchemy as sa

__all__ = ["TableBusy", "TableLock"]

_POLL_SECONDS = 0.2
_IDLE_SECONDS = 7 * 86_400


class TableBusy(Exception):
    """Another run holds the table."""


class TableLock:
    """Held from :meth:`acquire` to :meth:`release` (idempotent); a context manager too."""

    def __init__(self, *, engine: sa.Engine | None = None, sqlite_path: Path | None = None, name: str) -> None:
        self._engine = engine
        self._sqlite_path = sqlite_path
        self.name = self.hashed(name)
        self._conn: sa.Connection | None = None
        self._fd = -1
        self._held = False
        self._guard = threading.Lock()  # reassert() may come from the writer thread too

    @staticmethod
    def hashed(name: str) -> str:
        """The server-wide name of the lock called ``name``."""
        # MySQL lock names are at most 64 characters, and shared by every database on the server
        return "tracebloc_ingest:" + hashlib.sha256(name.encode()).hexdigest()[:40]

    def acquire(self, wait: float) -> None:
        """Take the lock, waiting up to ``wait`` seconds; TableBusy when another run keeps it."""
        if self._engine is not None:
            self._acquire_named(wait)
        elif self._sqlite_path is not None:
            self._acquire_file(wait)

    def _acquire_named(self, wait: float) -> None:
        conn = self._engine.connect()
        try:
            # the connection idles for the whole run; the server would close it (and drop the lock) after wait_timeout
            conn.exec_driver_sql("SET SESSION wait_timeout = %s", (_IDLE_SECONDS,))
            got = conn.exec_driver_sql("SELECT GET_LOCK(%s, %s)", (self.name, max(0, int(round(wait))))).scalar()
            conn.commit()
        except BaseException:
            conn.close()
            raise
        if got != 1:
            conn.close()
            raise TableBusy
        self._conn = conn
        self._held = True

    def reassert(self) -> None:
        """Hold the named lock again once the server answers after it was lost.

        A restarted server has forgotten the lock, and another run may have taken it: then
        TableBusy. While the server is still unreachable the driver's error is raised.
        """
        if self._engine is None:
            return
        with self._guard:
            if not self._held:
                return
            if self._conn is not None:
                try:
                    mine = self._conn.exec_driver_sql("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (self.name,)).scalar()
                    self._conn.rollback()
                    if mine == 1:
                        return
                except sa.exc.DBAPIError:
                    pass  # the connection died with the server
                with suppress(Exception):
                    self._conn.close()
                self._conn = None
            self._acquire_named(0)

    def _acquire_file(self, wait: float) -> None:
        import fcntl

        path = self._sqlite_path.with_name(self._sqlite_path.name + ".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise TableBusy from None
                time.sleep(_POLL_SECONDS)

    def release(self) -> None:
        self._held = False
        if self._conn is not None:
            with suppress(Exception):
                self._conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (self.name,))
            with suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._fd >= 0:
            with suppress(OSError):
                os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1

    def __enter__(self) -> "TableLock":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
