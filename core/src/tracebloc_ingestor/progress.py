"""How far a run is: a bar on a terminal, plain lines in a log, or nothing.

The run calls one :class:`Progress` per pass: ``start(phase, total)``, then
``advance(rows, files)`` after every batch, then ``finish()``. On a terminal the
display is a tqdm bar (count, rate and, once the total is known, ETA); anywhere else
(a Kubernetes Job's log, a pipe) it is a plain line every ``interval`` seconds and one
at the end of each pass, so that a long run never looks hung. Counts only: never a
value, a file name or a path.
"""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["BarProgress", "LogProgress", "NullProgress", "Progress", "make_progress"]

#: what a pass is called on screen, by ``ctx.phase``
PHASES = {"validate": "validating", "write": "writing"}


class Progress:
    """The interface the run calls; this base shows nothing."""

    def start(self, phase: str, total: int | None = None, unit: str = "rows") -> None:
        """A pass begins; ``total`` is the number of records when known (after the first pass)."""

    def advance(self, rows: int, files: int = 0) -> None:
        """``rows`` more records went through the pass; ``files`` more files were stored."""

    def finish(self) -> None:
        """The pass ended (or stopped); close what ``start`` opened."""


NullProgress = Progress


class LogProgress(Progress):
    """Plain lines for logs: one every ``interval`` seconds (0: every batch) and one per finished pass."""

    def __init__(self, stream: TextIO, interval: float = 10.0, clock=time.monotonic) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self._phase: str | None = None

    def start(self, phase: str, total: int | None = None, unit: str = "rows") -> None:
        self._phase, self._total, self._unit = PHASES.get(phase, phase), total, unit
        self._rows = self._files = 0
        self._began = self._last = self.clock()
        of = f" of {total:,} {unit}" if total is not None else ""
        self._line(f"{self._phase}{of}")

    def advance(self, rows: int, files: int = 0) -> None:
        if self._phase is None:
            return
        self._rows += rows
        self._files += files
        now = self.clock()
        if now - self._last >= self.interval:
            self._last = now
            self._line(self._status(now))

    def finish(self) -> None:
        if self._phase is None:
            return
        self._line(self._status(self.clock(), done=True))
        self._phase = None

    def _status(self, now: float, done: bool = False) -> str:
        elapsed = max(now - self._began, 1e-9)
        rate = self._rows / elapsed
        count = f"{self._rows:,}"
        if self._total is not None:
            count += f"/{self._total:,}"
        parts = [f"{self._phase}: {'done, ' if done else ''}{count} {self._unit}"]
        if self._total and not done:
            parts[0] += f" ({100 * self._rows / self._total:.0f}%)"
        if self._files:
            parts.append(f"{self._files:,} files stored")
        parts.append(f"{rate:,.0f} {self._unit}/s")
        if done:
            parts.append(f"{elapsed:,.1f} s")
        elif self._total and rate > 0 and self._rows < self._total:
            parts.append(f"ETA {_clock((self._total - self._rows) / rate)}")
        return " · ".join(parts)

    def _line(self, text: str) -> None:
        self.stream.write(f"tb-ingest: {text}\n")
        self.stream.flush()


class BarProgress(Progress):
    """A tqdm bar per pass on a terminal (tqdm: rate, ETA and terminal width handled for us)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._bar = None

    def start(self, phase: str, total: int | None = None, unit: str = "rows") -> None:
        from tqdm import tqdm  # only a terminal needs it

        self.finish()
        self._files = 0
        self._bar = tqdm(
            total=total,
            desc=PHASES.get(phase, phase),
            unit=f" {unit}",
            unit_scale=False,
            file=self.stream,
            dynamic_ncols=True,
            mininterval=0.2,
            leave=True,
        )

    def advance(self, rows: int, files: int = 0) -> None:
        if self._bar is None:
            return
        if files:
            self._files += files
            self._bar.set_postfix_str(f"{self._files:,} files stored", refresh=False)
        self._bar.update(rows)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def make_progress(stream: TextIO, *, quiet: bool = False, interval: float = 10.0) -> Progress:
    """The display that fits ``stream``: nothing when quiet, a bar on a terminal, else log lines."""
    if quiet:
        return NullProgress()
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return BarProgress(stream)
    return LogProgress(stream, interval)


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
