"""The data report as one self-contained HTML file: inline CSS, charts as embedded SVG, no script.

Nothing in the page refers to anything outside it, so it opens the same on a laptop
without network and never makes a request. It is written next to the rejects report and
stays in the cluster; it may show values (top values, examples of rejected cells).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..stats import Numeric, Tally, Total
from . import charts
from .profile import ColumnProfile, DataProfile
from .sections import BarChart, Histogram, ReportSection, Table, Thumbnail

__all__ = ["ReportPage", "render"]

#: columns that get a chart of their own; the rest appear in the overview table only
MAX_CHARTED_COLUMNS = 60
MAX_SHOWN = 80


@attrs.frozen
class ReportPage:
    """Everything the page shows."""

    table: str
    category: str
    status: str
    message: str
    run_id: str
    counters: Mapping[str, int]
    errors: int
    warnings: int
    profile: DataProfile
    statistics: Mapping[str, Any] = attrs.field(factory=dict)
    sections: Sequence[ReportSection] = ()
    label_column: str | None = None
    label_kind: str = "classification"
    notes: Sequence[str] = ()
    generated: str = attrs.field(factory=lambda: dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _short(value: Any) -> str:
    text = "(empty)" if value is None else str(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def _date(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%d") if moment.time() == dt.time(0) else moment.strftime("%Y-%m-%d %H:%M:%S")


class _Page:
    def __init__(self, page: ReportPage) -> None:
        self.page = page
        self.draw = charts.available()
        self.parts: list[str] = []

    # -- items -----------------------------------------------------------------------

    def figure(self, uri_of, chart, caption: str = "") -> str:
        if not self.draw:
            return ""
        try:
            uri = uri_of(chart)
        except Exception as exc:  # a chart that cannot be drawn leaves its numbers in the tables
            return f'<p class="note">chart not drawn ({_e(type(exc).__name__)})</p>'
        alt = _e(caption or getattr(chart, "title", "") or "chart")
        return f'<figure><img src="{uri}" alt="{alt}"></figure>'

    def bar(self, chart: BarChart) -> str:
        table = _table(["value", "count"], [(_short(k), f"{v:,}") for k, v in sorted(chart.counts.items(), key=lambda kv: (-kv[1], kv[0]))[: chart.limit]])
        drawn = self.figure(charts.bar_chart, chart)
        return drawn + (_details("numbers", table) if drawn else _caption(chart) + table)

    def histogram(self, chart: Histogram, *, dates: bool = False) -> str:
        if not chart.counts:
            return '<p class="note">no values</p>'
        show = _date if dates else _number
        rows = [(f"{show(a)} – {show(b)}", f"{n:,}") for a, b, n in zip(chart.edges[:-1], chart.edges[1:], chart.counts)]
        table = _table(["range", "count"], rows)
        drawn = self.figure(lambda c: charts.histogram(c, dates=dates), chart)
        return drawn + (_details("numbers", table) if drawn else _caption(chart) + table)

    def item(self, item) -> str:
        if isinstance(item, BarChart):
            return self.bar(item)
        if isinstance(item, Histogram):
            return self.histogram(item)
        if isinstance(item, Table):
            caption = f"<h4>{_e(item.title)}</h4>" if item.title else ""
            return caption + _table(item.header, item.rows)
        if isinstance(item, Thumbnail):
            return _thumbnails([item])
        return ""

    # -- sections ----------------------------------------------------------------------

    def section(self, anchor: str, title: str, body: str) -> None:
        self.parts.append(f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{body}</section>')

    def header(self) -> str:
        p = self.page
        c = p.counters
        facts = [
            ("records found", f"{c.get('total', 0):,}"),
            ("columns", f"{len(p.profile.columns) + len(p.profile.unprofiled):,}"),
            ("errors", f"{p.errors:,}"),
            ("warnings", f"{p.warnings:,}"),
            ("written", f"{c.get('processed', 0):,}"),
        ]
        tiles = "".join(f'<div class="tile"><span class="n">{_e(v)}</span><span class="k">{_e(k)}</span></div>' for k, v in facts)
        status = "ok" if p.status in ("success", "validated") else "bad"
        return (
            f"<header><h1>Data report: {_e(p.table)}</h1>"
            f'<p class="meta">{_e(p.category)} · run {_e(p.run_id[:8])} · {_e(p.generated)} · '
            f'<span class="status {status}">{_e(p.status)}</span> {_e(p.message)}</p>'
            f'<div class="tiles">{tiles}</div>'
            '<p class="local">This file stays where it was written: it was not sent anywhere. '
            "It may show values of your data (most frequent values, examples of rejected cells).</p>"
            "</header>"
        )

    def labels(self) -> None:
        p = self.page
        if p.label_kind == "none":
            return
        column = p.profile.columns.get(p.label_column or "")
        stat = p.statistics.get("labels")
        body = ""
        if column is not None and column.kind == "numeric":
            edges, counts = column.numbers.edges_and_counts()
            body = self.histogram(Histogram(edges, counts, xlabel=column.name))
        elif column is not None and column.top.distinct:
            counts = dict((str(k), v) for k, v in column.top.top(30))
            note = ' <span class="note">(approximate: many distinct values)</span>' if column.top.approximate else ""
            body = f"<p>{column.top.distinct:,}{'+' if column.top.approximate else ''} distinct labels{note}.</p>" + self.bar(BarChart(counts, limit=30))
        elif isinstance(stat, Tally) and stat.counts and p.label_kind == "classification":
            body = f"<p>{len(stat.counts):,} distinct labels.</p>" + self.bar(BarChart(stat.counts, limit=30))
        if body:
            self.section("labels", "Label distribution", body)

    def columns(self) -> None:
        profile = self.page.profile
        if not profile.columns:
            return
        rows = []
        for column in profile.columns.values():
            share = f"{100 * column.nulls / column.count:.1f}%" if column.count else "—"
            rows.append(
                (
                    f'<a href="#col-{_e(column.name)}">{_e(column.name)}</a>',
                    _e(column.kind.replace("_", " ")),
                    f"{column.present:,}",
                    f"{column.nulls:,}",
                    share,
                    _e(_summary(column)),
                )
            )
        overview = _table(["column", "kind", "values", "nulls", "null share", "summary"], rows, escape=False)
        if profile.unprofiled:
            overview += f'<p class="note">{len(profile.unprofiled):,} more columns are not profiled.</p>'
        if self.draw:
            nulls = {c.name: c.nulls for c in profile.columns.values() if c.nulls}
            if nulls:
                overview += self.figure(charts.bar_chart, BarChart(nulls, title="Nulls per column", limit=40))
        self.section("columns", "Columns", overview)
        cards = []
        for index, column in enumerate(profile.columns.values()):
            if index >= MAX_CHARTED_COLUMNS:
                break
            cards.append(f'<div class="card" id="col-{_e(column.name)}"><h3>{_e(column.name)} <small>{_e(column.kind.replace("_", " "))}</small></h3>{self.column(column)}</div>')
        self.parts.append(f'<section id="column-details"><h2>Column details</h2><div class="cards">{"".join(cards)}</div></section>')

    def column(self, column: ColumnProfile) -> str:
        kind = column.kind
        if kind == "numeric":
            edges, counts = column.numbers.edges_and_counts()
            misfits = f" · {column.not_numbers:,} values are not numbers" if column.not_numbers else ""
            facts = f"<p>min {_number(column.minimum)} · max {_number(column.maximum)} · mean {_number(column.mean)}{misfits}</p>"
            return facts + self.histogram(Histogram(edges, counts))
        if kind == "date":
            edges, counts = column.dates.edges_and_counts()
            facts = f"<p>from {_date(column.first_date)} to {_date(column.last_date)}</p>"
            return facts + self.histogram(Histogram(edges, counts), dates=True)
        if kind == "text" and column.top.distinct == column.present and not column.top.approximate:
            return f"<p>every one of the {column.present:,} values is different (an identifier?)</p>"
        if kind == "text":
            approx = "+" if column.top.approximate else ""
            facts = f"<p>{column.top.distinct:,}{approx} distinct values; the most frequent:</p>"
            return facts + self.bar(BarChart(dict((_short(k), v) for k, v in column.top.top(15)), limit=15))
        if kind == "long_text":
            edges, counts = column.lengths.edges_and_counts()
            facts = f"<p>mean length {column.length_total / max(column.length_count, 1):,.0f} characters</p>"
            return facts + self.histogram(Histogram(edges, counts, xlabel="characters"))
        return '<p class="note">no values</p>'

    def statistics(self) -> None:
        """Every other statistic the category's describe stage produced, drawn generically."""
        stats = {k: v for k, v in self.page.statistics.items() if k != "labels" and not k.startswith("feature.")}
        if not stats:
            return
        totals = [(_title(k), f"{v.n:,}") for k, v in sorted(stats.items()) if isinstance(v, Total)]
        numerics = [
            (_title(k), f"{v.count:,}", f"{v.nulls:,}", _number(v.to_json()["mean"]), _number(v.to_json()["std"]), _number(v.minimum), _number(v.maximum))
            for k, v in sorted(stats.items())
            if isinstance(v, Numeric)
        ]
        body = []
        if totals:
            body.append(_table(["statistic", "value"], totals))
        if numerics:
            body.append(_table(["statistic", "count", "nulls", "mean", "std", "min", "max"], numerics))
        cards = [
            f'<div class="card"><h3>{_e(_title(k))}</h3>{self.bar(BarChart(v.counts))}</div>'
            for k, v in sorted(stats.items())
            if isinstance(v, Tally) and v.counts
        ]
        if cards:
            body.append(f'<div class="cards">{"".join(cards)}</div>')
        self.section("statistics", "Dataset statistics", "".join(body))

    def extra(self) -> None:
        for index, section in enumerate(self.page.sections):
            thumbs = [i for i in section.items if isinstance(i, Thumbnail)]
            others = "".join(self.item(i) for i in section.items if not isinstance(i, Thumbnail))
            text = f"<p>{_e(section.text)}</p>" if section.text else ""
            self.section(f"extra-{index}", section.title, text + others + (_thumbnails(thumbs) if thumbs else ""))

    def issues(self) -> None:
        groups = self.page.profile.issues
        if not groups.groups:
            self.section("issues", "Validation issues", "<p>No issues: every record passed every rule.</p>")
            return
        rows = []
        for (severity, rule, column), group in groups.sorted():
            examples = "; ".join(_example(x) for x in group["examples"])
            rows.append(
                (
                    f'<span class="sev {severity}">{_e(severity)}</span>',
                    _e(rule),
                    _e(column or "—"),
                    f"{group['count']:,}",
                    _e(group["message"]),
                    _e(examples),
                )
            )
        body = _table(["severity", "rule", "column", "count", "message", "examples (row: value)"], rows, escape=False)
        if groups.other:
            body += f'<p class="note">{groups.other:,} more issues in further groups.</p>'
        if self.draw:
            per_rule: dict[str, int] = {}
            for (_severity, rule, column), group in groups.groups.items():
                key = f"{rule} · {column}" if column else rule
                per_rule[key] = per_rule.get(key, 0) + group["count"]
            body = self.figure(charts.bar_chart, BarChart(per_rule, title="Issues by rule and column", limit=25)) + body
        self.section("issues", "Validation issues", body)

    def render(self) -> str:
        self.labels()
        self.columns()
        self.statistics()
        self.extra()
        self.issues()
        notes = list(self.page.notes)
        if not self.draw:
            notes.append('Charts need matplotlib: pip install "tracebloc-ingestor[report]". The numbers are all here as tables.')
        foot = "".join(f"<li>{_e(n)}</li>" for n in notes)
        nav = "".join(
            f'<a href="#{_e(a)}">{_e(t)}</a>'
            for a, t in (("labels", "Labels"), ("columns", "Columns"), ("statistics", "Statistics"), ("issues", "Issues"))
            if f'id="{a}"' in "".join(self.parts)
        )
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Data report: {_e(self.page.table)}</title><style>{CSS}</style></head><body>"
            f"{self.header()}<nav>{nav}</nav><main>{''.join(self.parts)}</main>"
            f"<footer><ul>{foot}</ul><p>Written by tb-ingest (tracebloc-ingestor).</p></footer></body></html>\n"
        )


def _summary(column: ColumnProfile) -> str:
    kind = column.kind
    if kind == "numeric":
        return f"{_number(column.minimum)} to {_number(column.maximum)}, mean {_number(column.mean)}"
    if kind == "date":
        return f"{_date(column.first_date)} to {_date(column.last_date)}"
    if kind in ("text", "long_text"):
        approx = "+" if column.top.approximate else ""
        return f"{column.top.distinct:,}{approx} distinct, mean length {column.length_total / max(column.length_count, 1):,.0f}"
    return ""


def _caption(chart) -> str:
    """The chart's title above its table, when there is no drawing to carry it."""
    return f"<h4>{_e(chart.title)}</h4>" if chart.title else ""


def _example(example: Mapping[str, Any]) -> str:
    where = f"row {example['row']:,}" if example.get("row") is not None else (example.get("file") or "")
    value = example.get("value")
    return f"{where}: {value!r}" if value is not None else str(where)


def _title(key: str) -> str:
    text = key.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, escape: bool = True) -> str:
    cell = _e if escape else str
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _details(summary: str, content: str) -> str:
    return f"<details><summary>{_e(summary)}</summary>{content}</details>"


def _thumbnails(items: Sequence[Thumbnail]) -> str:
    import base64

    cells = "".join(
        f'<figure class="thumb"><img src="data:{t.mime};base64,{base64.b64encode(t.data).decode("ascii")}" '
        f'alt="{_e(t.caption)}"><figcaption>{_e(t.caption)}</figcaption></figure>'
        for t in items
    )
    return f'<div class="thumbs">{cells}</div>'


def render(page: ReportPage) -> str:
    """The report page as HTML text."""
    return _Page(page).render()


CSS = """
:root { --fg:#1d2a30; --muted:#5f6f76; --line:#dde4e6; --bg:#f6f8f8; --card:#fff; --accent:#2f7d8c; --bad:#c8553d; --ok:#3a8a4f; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color:var(--fg); background:var(--bg); }
header { background:var(--card); border-bottom:1px solid var(--line); padding:20px 32px 12px; }
h1 { margin:0 0 4px; font-size:22px; }
h2 { font-size:18px; margin:28px 0 10px; border-bottom:2px solid var(--accent); padding-bottom:4px; }
h3 { font-size:14px; margin:0 0 6px; } h3 small { color:var(--muted); font-weight:normal; }
h4 { font-size:13px; margin:10px 0 4px; }
.meta { color:var(--muted); margin:0 0 12px; }
.status { padding:1px 8px; border-radius:10px; color:#fff; font-weight:600; }
.status.ok { background:var(--ok); } .status.bad { background:var(--bad); }
.tiles { display:flex; flex-wrap:wrap; gap:10px; }
.tile { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:8px 14px; min-width:110px; }
.tile .n { display:block; font-size:20px; font-weight:700; } .tile .k { color:var(--muted); font-size:12px; }
.local { color:var(--muted); font-size:12px; margin:10px 0 0; }
nav { padding:8px 32px; background:var(--card); border-bottom:1px solid var(--line); position:sticky; top:0; }
nav a { margin-right:18px; color:var(--accent); text-decoration:none; font-weight:600; }
main { padding:0 32px 24px; max-width:1400px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(420px, 1fr)); gap:14px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; overflow:hidden; }
figure { margin:6px 0; } figure img { max-width:100%; height:auto; }
table { border-collapse:collapse; background:var(--card); font-size:13px; }
th, td { border:1px solid var(--line); padding:4px 8px; text-align:left; vertical-align:top; }
th { background:#eef3f4; }
td:nth-child(n+3) { font-variant-numeric: tabular-nums; }
.scroll { overflow-x:auto; max-width:100%; }
.note { color:var(--muted); font-size:12px; }
.sev { font-weight:700; } .sev.error { color:var(--bad); } .sev.warning { color:#b7791f; }
details summary { cursor:pointer; color:var(--muted); font-size:12px; }
.thumbs { display:flex; flex-wrap:wrap; gap:10px; }
.thumb { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:6px; text-align:center; }
.thumb img { display:block; max-width:128px; max-height:128px; margin:0 auto; image-rendering:auto; }
.thumb figcaption { font-size:11px; color:var(--muted); max-width:128px; overflow-wrap:anywhere; }
footer { padding:12px 32px 32px; color:var(--muted); font-size:12px; }
"""
