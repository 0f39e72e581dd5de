"""What a run shows of itself locally: the progress display and the HTML data report.

The pipeline hands every batch of every pass through :meth:`RunMonitor.watch`, every
issue to :meth:`RunMonitor.issue`, the merged statistics to :meth:`RunMonitor.statistics`
and, before the category's ``finish``, the run's report to :meth:`RunMonitor.write`,
which writes the HTML file; the runner's :meth:`RunMonitor.finish` names it in the report. Nothing here sends anything anywhere, and
nothing here can fail a run: a report that cannot be written is logged and named.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TextIO

import attrs

from .progress import NullProgress, Progress, make_progress

log = logging.getLogger("tracebloc_ingestor")

__all__ = ["RunMonitor", "run_monitor"]


class RunMonitor:
    """Watches one run: progress per pass, and the data report fed from the first pass."""

    def __init__(self, *, progress: Progress | None = None, report_path: Path | None = None, pm=None, category=None) -> None:
        from .report.profile import DataProfile

        self.progress = progress or NullProgress()
        self.report_path = Path(report_path) if report_path is not None else None
        self.profile = DataProfile() if report_path is not None else None
        self.pm = pm
        self.category = category
        self.ctx = None
        self._statistics: dict[str, Any] = {}
        self._passes = 0
        self._records = 0
        self._written = False

    # -- fed by the pipeline ------------------------------------------------------------

    def watch(self, ctx, batches: Iterable) -> Iterator:
        """Yield ``batches`` unchanged, showing progress; the first pass also feeds the profile."""
        self.ctx = ctx
        first = self._passes == 0
        self._passes += 1
        unit = "files" if ctx.category.file_bearing else "rows"
        self.progress.start(ctx.phase, None if first else self._records, unit)
        stored = ctx.stats.stored_files
        try:
            for batch in batches:
                if first:
                    self._records += batch.num_rows
                    if self.profile is not None:
                        self._profile(batch)
                yield batch
                now = ctx.stats.stored_files
                self.progress.advance(batch.num_rows, now - stored)
                stored = now
        finally:
            self.progress.finish()

    def restart(self) -> None:
        """The run starts its pass again from the first record: forget what the lost pass counted."""
        from .report.profile import DataProfile

        self._passes = 0
        self._records = 0
        if self.profile is not None:
            self.profile = DataProfile()

    def _profile(self, batch) -> None:
        # the local report is a by-product: a column it cannot describe must not fail the run
        try:
            self.profile.add(batch)
        except Exception as exc:
            log.warning("the data report stops describing the data: %s (set LOG_LEVEL=DEBUG for the traceback)",
                        type(exc).__name__)
            log.debug("data report profile failed", exc_info=True)
            self.profile = None

    def issue(self, issue) -> None:
        if self.profile is not None:
            self.profile.issues.add(issue)

    def statistics(self, stats: Mapping[str, Any]) -> None:
        """The merged statistics of the write pass (what ``describe`` produced)."""
        self._statistics = dict(stats)

    # -- at the end ---------------------------------------------------------------------

    def write(self, report) -> None:
        """Write the data report (when enabled and data was looked at); a failure is logged, never raised."""
        self._written = False
        if self.report_path is None or self.ctx is None and not (self.profile and self.profile.issues.groups):
            return
        try:
            self._write(report)
        except Exception as exc:  # the run's outcome stands without its report
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            log.warning("the data report could not be written to %s: %s", self.report_path, reason)
            log.debug("data report failed", exc_info=True)
            return
        self._written = True

    def finish(self, report):
        """``report`` naming the data report when one was written."""
        return attrs.evolve(report, data_report=str(self.report_path)) if self._written else report

    def sections(self) -> tuple[list, list[str]]:
        """The category's and the behaviour plugins' report sections, and notes on those that failed."""
        from .report.sections import ReportSection

        found: list = []
        notes: list[str] = []
        statistics = MappingProxyType(self._statistics)
        providers = []
        stage = getattr(getattr(self.category, "implementation", None), "report_sections", None)
        if stage is not None:
            providers.append((f"category {self.category.name}", lambda: stage(self.ctx, statistics)))
        if self.pm is not None:
            for impl in self.pm.hook.tb_report_sections.get_hookimpls():
                if impl.hookwrapper or impl.wrapper:
                    continue
                args = {"ctx": self.ctx, "statistics": statistics}
                providers.append((f"plugin {impl.plugin_name}", lambda impl=impl, args=args: impl.function(*[args[a] for a in impl.argnames])))
        for who, call in providers:
            try:
                result = list(call() or ())
                for section in result:
                    if not isinstance(section, ReportSection):
                        raise TypeError(f"returned a {type(section).__name__}, expected ReportSection")
            except Exception as exc:
                log.warning("data report: %s failed to add its sections: %s", who, type(exc).__name__)
                log.debug("report sections failed", exc_info=True)
                notes.append(f"{who} failed to add its sections ({type(exc).__name__}).")
                continue
            found.extend(result)
        return found, notes

    def _write(self, report) -> None:
        from .report.html import ReportPage, render

        sections, notes = self.sections() if self.ctx is not None else ([], [])
        settings = self.ctx.settings if self.ctx is not None else None
        page = ReportPage(
            table=report.table or "-",
            category=report.category or "-",
            status=report.status,
            message=report.message,
            run_id=report.run_id,
            counters=attrs.asdict(report.counters),
            errors=report.error_count,
            warnings=report.warning_count,
            profile=self.profile,
            statistics=self._statistics,
            sections=sections,
            label_column=settings.label_column if settings is not None else None,
            label_kind=self.category.label_kind if self.category is not None else "none",
            notes=notes,
        )
        text = render(page)
        self.report_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.report_path.with_name(self.report_path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, self.report_path)


def run_monitor(settings, category, pm, stream: TextIO) -> RunMonitor:
    """The monitor a run's settings ask for: progress on ``stream`` unless quiet, the report unless off."""
    path = None
    if settings.data_report:
        from .sharding import shard_suffix

        path = settings.report_html or Path(settings.output_dir) / f"{settings.table}{shard_suffix(settings.shard)}.report.html"
    progress = make_progress(stream, quiet=settings.quiet, interval=settings.progress_interval)
    return RunMonitor(progress=progress, report_path=path, pm=pm, category=category)
