"""The local data report: per-batch aggregation (:mod:`.profile`), the extension types plugins
return (:mod:`.sections`), charts (:mod:`.charts`, matplotlib, optional) and the HTML page
(:mod:`.html`). :mod:`tracebloc_ingestor.monitor` feeds it from the run."""

from .sections import BarChart, Histogram, ReportItem, ReportSection, Table, Thumbnail

__all__ = ["BarChart", "Histogram", "ReportItem", "ReportSection", "Table", "Thumbnail"]
