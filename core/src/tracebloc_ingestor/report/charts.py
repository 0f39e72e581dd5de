"""Charts of the data report, drawn by matplotlib as SVG and embedded in the HTML file.

matplotlib is an optional dependency (``pip install "tracebloc-ingestor[report]"``): it
pulls Pillow, which a tabular-only install must not. Without it the report has the same
numbers as tables. It is imported here only, when a report is written, so start-up and
``tb-ingest --help`` stay fast. Figures are built with ``matplotlib.figure.Figure``
(no pyplot: no global state, no GUI backend) and saved as SVG with text kept as text.
"""

from __future__ import annotations

import base64
import importlib.util
import io
from typing import Sequence

from .sections import BarChart, Histogram

__all__ = ["available", "bar_chart", "histogram"]

COLOR = "#2f7d8c"
ACCENT = "#c8553d"
_STYLE = {
    "svg.fonttype": "none",  # text as text: smaller files, selectable
    "svg.hashsalt": "tracebloc-report",  # the same data gives the same file
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#888888",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}


def available() -> bool:
    """Whether matplotlib is installed (the report then has charts)."""
    return importlib.util.find_spec("matplotlib") is not None


def _data_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg")
    # an <img> of its own keeps each SVG's ids and styles apart from the page's
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float, *, left: float = 0.6, title: bool = False):
    """A figure with margins in inches (a layout engine would cost twice the drawing)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96)
    top = 0.35 if title else 0.12
    fig.subplots_adjust(left=left / width, right=1 - 0.45 / width, bottom=0.5 / height, top=1 - top / height)
    return fig


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(chart: BarChart) -> str:
    """A data URI of horizontal bars, largest first, at most ``chart.limit`` of them."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    items = sorted(chart.counts.items(), key=lambda kv: (-kv[1], kv[0]))[: chart.limit]
    items.reverse()  # barh draws bottom-up: largest on top
    with matplotlib.rc_context(_STYLE):
        labels = [_short(k) for k, _ in items]
        # about 0.075 in per character of a 9 pt label
        left = 0.2 + 0.075 * max((len(label) for label in labels), default=1)
        fig = _figure(5.6, 0.95 + 0.26 * max(len(items), 2) + (0.25 if chart.title else 0), left=left, title=bool(chart.title))
        ax = fig.add_subplot()
        values = [v for _, v in items]
        bars = ax.barh(range(len(items)), values, color=COLOR)
        ax.set_yticks(range(len(items)), labels)
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(chart.xlabel or "count")
        ax.margins(x=0.15)
        if chart.title:
            ax.set_title(chart.title, loc="left")
        return _data_uri(fig)


def histogram(chart: Histogram, *, dates: bool = False) -> str:
    """A data URI of the histogram's bars (``dates``: edges are seconds since the epoch)."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    edges: Sequence[float] = chart.edges
    with matplotlib.rc_context(_STYLE):
        fig = _figure(5.6, 2.6, left=0.65, title=bool(chart.title))
        ax = fig.add_subplot()
        lefts = list(edges[:-1])
        widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
        if dates:
            import matplotlib.dates as mdates

            # matplotlib's dates are days since 1970-01-01
            lefts = [x / 86400.0 for x in lefts]
            widths = [w / 86400.0 for w in widths]
            locator = mdates.AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.bar(lefts, chart.counts, width=widths, align="edge", color=COLOR, edgecolor="white", linewidth=0.5)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("count")
        if chart.xlabel:
            ax.set_xlabel(chart.xlabel)
        if chart.title:
            ax.set_title(chart.title, loc="left")
        return _data_uri(fig)
