"""A database writer thread fed through a small bounded queue.

The run's main thread reads, casts and hashes the next batch while this thread renders
the previous one as text and waits for the database (socket I/O and most Arrow compute
release the GIL), so on two cores reading and writing overlap. The queue holds at most
``depth`` batches, which bounds memory. A write error stops the thread and is raised in
the main thread at the next ``submit`` or at ``flush``.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable

import pyarrow as pa

__all__ = ["BackgroundWriter"]

_DONE = object()


class BackgroundWriter:
    """Calls ``write(table, batch)`` for each submitted batch, in order, on one thread."""

    def __init__(self, write: Callable[[str, pa.RecordBatch], None], *, depth: int = 2) -> None:
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _DONE:
                    return
                if self._error is None:  # after a failure the rest is drained, not written
                    self._write(*item)
            except BaseException as exc:  # re-raised in the submitting thread
                self._error = exc
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, table: str, batch: pa.RecordBatch) -> None:
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tb-db-writer", daemon=True)
            self._thread.start()
        self._queue.put((table, batch))

    def flush(self) -> None:
        """Wait until every submitted batch is written; raise the first write error."""
        if self._thread is not None:
            self._queue.join()
        self._raise()

    def close(self) -> None:
        """Stop the thread (after the queued batches); errors not yet raised are dropped."""
        if self._thread is not None:
            self._queue.put(_DONE)
            self._thread.join()
            self._thread = None
        self._error = None
