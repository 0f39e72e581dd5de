"""A writer thread fed through a small bounded queue.

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

__all__ = ["BackgroundWriter"]

_DONE = object()


class BackgroundWriter:
    """Calls ``write(*item)`` for each submitted item, in order, on one thread.

    Items dropped after an error or at :meth:`close` are passed to ``discard(*item)``
    (e.g. to delete their temporary files).
    """

    def __init__(self, write: Callable[..., None], *, discard: Callable[..., None] | None = None, depth: int = 2) -> None:
        self._write = write
        self._discard = discard
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _DONE:
                    return
                if self._error is None and not self._closing:
                    self._write(*item)
                elif self._discard is not None:  # after a failure or close: drained, not written
                    self._discard(*item)
            except BaseException as exc:  # re-raised in the submitting thread
                self._error = exc
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, *item: object) -> None:
        try:
            self._raise()
        except BaseException:
            if self._discard is not None:
                self._discard(*item)
            raise
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tb-db-writer", daemon=True)
            self._thread.start()
        self._queue.put(item)

    def flush(self) -> None:
        """Wait until every submitted batch is written; raise the first write error."""
        if self._thread is not None:
            self._queue.join()
        self._raise()

    def close(self) -> None:
        """Stop the thread; batches not yet written are dropped (the run is over), so are errors."""
        if self._thread is not None:
            self._closing = True
            self._queue.put(_DONE)
            self._thread.join()
            self._thread = None
        self._closing = False
        self._error = None
