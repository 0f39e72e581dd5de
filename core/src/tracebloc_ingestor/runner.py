"""From flags and environment to a finished run: the code shared by ``tb-ingest`` and ``BaseIngestor.ingest()``."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence, TextIO

import attrs

from .summary import EXIT_CONFIG, EXIT_FAILED, Counters, RunReport, summary_block

log = logging.getLogger("tracebloc_ingestor")
MAX_PRINTED_ISSUES = 50


def configure_logging(level: str) -> None:
    root = logging.getLogger("tracebloc_ingestor")
    root.setLevel(getattr(logging, level.upper(), logging.WARNING))
    if not any(getattr(h, "_tracebloc", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._tracebloc = True  # type: ignore[attr-defined]
        root.addHandler(handler)


class StopRequest(threading.Event):
    """Set when the run is asked to stop; ``signum`` says by which signal (SIGTERM, SIGINT)."""

    signum: int = signal.SIGTERM

    def request(self, signum: int) -> None:
        self.signum = signum
        self.set()


@contextlib.contextmanager
def sigterm_stops(stop: threading.Event) -> Iterator[None]:
    """While running, SIGTERM and SIGINT (Ctrl-C) ask the run to stop between batches.

    The run then ends as any other: marked failed, reported to the backend, with its
    summary, and exit code 128 + the signal (143 for SIGTERM, 130 for SIGINT). A second
    Ctrl-C interrupts at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if signum == signal.SIGINT and stop.is_set():
            raise KeyboardInterrupt
        if isinstance(stop, StopRequest):
            stop.request(signum)
        else:
            stop.set()
        if signum == signal.SIGINT:
            log.warning("interrupted: stopping after the current batch (Ctrl-C again to stop at once)")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _refused(message: str, err: TextIO, out: TextIO, *, table: str | None = None) -> RunReport:
    report = RunReport(
        run_id=str(uuid.uuid4()), exit_code=EXIT_CONFIG, status="config_error", message=message, table=table, counters=Counters()
    )
    err.write(f"tb-ingest: configuration refused:\n{message}\n")
    out.write(summary_block(report) + "\n")
    return report


def print_issues(report: RunReport, err: TextIO) -> None:
    if not report.issue_count:
        return
    err.write(f"Validation: {report.error_count:,} errors, {report.warning_count:,} warnings\n")
    for issue in report.issues[:MAX_PRINTED_ISSUES]:
        err.write(f"  {issue.severity.upper():7} {issue}\n")
    rest = report.issue_count - min(len(report.issues), MAX_PRINTED_ISSUES)
    if rest > 0:
        err.write(f"  ... and {rest:,} more")
        err.write(f" (all of them, with values, in the local rejects report {report.rejects_path})\n" if report.rejects_path else "\n")


def print_schema(report: RunReport, err: TextIO) -> None:
    if not report.schema_inferred or not report.schema:
        return
    err.write("Inferred schema; pin it in ingest.yaml to make it explicit:\nschema:\n")
    for name, sql_type in report.schema.items():
        err.write(f"  {name}: {sql_type}\n")


@attrs.frozen
class Selection:
    """Which plugins a run asks for and which category it names, read before the settings.

    The settings can only be checked once the selected plugins' options are known, so
    this looks at the few places that name them (``--plugin``, ``--category``,
    ``CATEGORY``, ``category:`` in ingest.yaml) without checking anything else.
    """

    plugins: tuple[str, ...] = ()
    category: str | None = None


def select(flags: Mapping[str, Any], environ: Mapping[str, str], *, cwd: Path | None = None) -> Selection:
    from .config_file import peek_config

    plugins = tuple(str(p).strip() for p in flags.get("plugins") or () if str(p).strip())
    category = flags.get("category") or _env(environ, "CATEGORY")
    if not category:
        config = flags.get("config_path") or _env(environ, "INGEST_CONFIG")
        if config:
            path = Path(str(config))
            path = path if path.is_absolute() else Path(cwd or Path.cwd()) / path
            value = peek_config(path).get("category")
            category = value if isinstance(value, str) else None
    return Selection(plugins, str(category).strip() if category else None)


def _env(environ: Mapping[str, str], name: str) -> str | None:
    for key in (f"TRACEBLOC_{name}", name):
        value = environ.get(key)
        if value and value.strip():
            return value.strip()
    return None


def plugin_options(pm, spec) -> list[tuple[Any, str]]:
    """The options of the selected category and of every behaviour plugin, with their owners."""
    from .loader import BrokenPluginError, PluginError, provider_of
    from .options import Option

    found: list[tuple[Any, str]] = []
    if spec is not None:
        owner = f"category {spec.name}"
        found.extend((option, owner) for option in spec.options)
    for impl in pm.hook.tb_options.get_hookimpls():
        if impl.hookwrapper or impl.wrapper:
            continue
        owner = f"plugin {impl.plugin_name!r} ({provider_of(pm, impl.plugin)})"
        try:
            result = impl.function()
        except Exception as exc:
            raise BrokenPluginError(f"{owner} failed in tb_options: {type(exc).__name__}: {exc}") from exc
        for option in result or ():
            if not isinstance(option, Option):
                raise PluginError(f"{owner}: tb_options returned a {type(option).__name__}, expected Option")
            found.append((option, owner))
    return found


def prepare_plugins(pm, selection: Selection, plugins: Sequence[object] = ()):
    """Register ``plugins`` inline, load the selected entry points; return (categories, spec or None).

    Raises PluginError when a selected plugin cannot be loaded or combined.
    """
    from .loader import category_table, check_hooks, load_plugins, register_builtin

    for plugin in plugins:
        register_builtin(pm, plugin, f"inline:{type(plugin).__module__}.{type(plugin).__qualname__}")
    categories = category_table(pm)
    names = list(selection.plugins)
    if not names and selection.category and selection.category not in categories:
        names = [selection.category]  # a named category loads the plugin of that name
    load_plugins(pm, names)
    check_hooks(pm)
    categories = category_table(pm)
    return categories, _chosen(categories, selection)


def _chosen(categories, selection: Selection):
    name = selection.category
    if name is None:
        loaded = [n for n in categories if n in set(selection.plugins)] or list(categories)
        name = loaded[0] if len(loaded) == 1 else None
    found = categories.get(name) if name else None
    return found[0] if found else None


def run_ingestion(
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    plugins: Sequence[object] = (),
    pm=None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stop: threading.Event | None = None,
) -> RunReport:
    """Configure, run and report one ingestion; never raises for an input or config problem."""
    from .loader import PluginError, new_plugin_manager, provider_of
    from .settings import ConfigError, load_settings, require_table

    out = out or sys.stdout
    err = err or sys.stderr
    pm = pm or new_plugin_manager()
    selection = select(flags, environ)
    plugin_error: PluginError | None = None
    categories: dict = {}
    spec = None
    options: list = []
    try:
        categories, spec = prepare_plugins(pm, selection, plugins)
        options = plugin_options(pm, spec)
    except PluginError as exc:
        plugin_error = exc
    try:
        settings = load_settings(flags, environ, options=options)
        require_table(settings)
    except ConfigError as exc:
        # a plugin that did not load declared no options: its keys would only add noise
        message = str(plugin_error or exc)
        if plugin_error is None and _nothing_given(flags, environ):
            message += "\n\n" + usage()
        return _refused(message, err, out, table=flags.get("table"))
    if plugin_error is not None:
        return _refused(str(plugin_error), err, out, table=settings.table)
    configure_logging(settings.log_level)
    log.debug("settings: %s", settings.describe())

    chosen = settings.category
    if chosen is None:
        loaded = [name for name in categories if name in set(settings.plugins)] or list(categories)
        if len(loaded) != 1:
            return _refused(
                "say which category to run with --category or `category` in ingest.yaml; loaded: "
                + (", ".join(sorted(categories)) or "none (use --plugin NAME; `tb-ingest plugins` lists them)"),
                err,
                out,
                table=settings.table,
            )
        chosen = loaded[0]
    if chosen not in categories:
        return _refused(
            f"no loaded plugin provides category {chosen!r}; loaded: {', '.join(sorted(categories)) or 'none'}",
            err,
            out,
            table=settings.table,
        )
    category, provider = categories[chosen]
    if category.implementation is None:
        return _refused(f"category {chosen!r} ({provider}) was declared without an implementation", err, out, table=settings.table)
    problems = _option_problems(category, settings)
    if problems:
        return _refused(problems, err, out, table=settings.table)
    problem = _shard_problem(category, settings)
    if problem:
        return _refused(problem, err, out, table=settings.table)

    stop = stop or StopRequest()
    database = sink = None
    try:
        from .pipeline import Pipeline
        from .sinks.database import Database

        database = Database(settings.database_url_or_default(), retry_deadline=settings.db_retry_deadline)
        sink = _metadata_sink(settings)
        from .monitor import run_monitor

        monitor = run_monitor(settings, category, pm, err)  # progress display and the local HTML data report
        with sigterm_stops(stop):
            report = Pipeline(pm, settings, category, database=database, metadata_sink=sink, stop=stop, monitor=monitor).run()
        report = monitor.finish(report)
    except Exception as exc:  # an unexpected failure still ends with a summary and exit 1
        log.debug("run failed", exc_info=True)
        report = RunReport(
            run_id=str(uuid.uuid4()),
            exit_code=EXIT_FAILED,
            status="failed",
            message=f"{type(exc).__name__}: {_safe_text(exc)}",
            table=settings.table,
            category=chosen,
        )
    finally:
        for closable in (sink, database):
            if closable is not None:
                with contextlib.suppress(Exception):
                    closable.close()
    print_issues(report, err)
    print_schema(report, err)
    out.write(summary_block(report) + "\n")
    out.flush()
    if settings.report_path:
        report.write_json(settings.report_path)
    return report


def _nothing_given(flags: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    given = [v for k, v in flags.items() if v not in (None, False, (), "") and k != "validate_only"]
    return not given and not any(_env(environ, n) for n in ("TABLE_NAME", "LABEL_FILE", "INGEST_CONFIG", "CATEGORY"))


def usage() -> str:
    """How to start, and the categories installed here (from package metadata only)."""
    from .loader import installed_plugins

    names = sorted({info.name for info in installed_plugins()})
    installed = ", ".join(names) if names else "none yet (pip install tracebloc-ingestor-tabular, for example)"
    return (
        "Usage: tb-ingest --plugin CATEGORY --label-file FILE --table NAME\n"
        "   or: tb-ingest --config ingest.yaml\n"
        "   or: the same settings as environment variables (TABLE_NAME, LABEL_FILE, SRC_PATH, ...)\n"
        "tb-ingest --help lists every option; tb-ingest --plugin CATEGORY --help adds the category's own.\n"
        f"Installed plugins: {installed}"
    )


def _option_problems(category, settings) -> str:
    """What the category finds wrong with its options taken together, one line each (empty: nothing)."""
    check = getattr(category.implementation, "check_options", None)
    if check is None:
        return ""
    lines = []
    for name, message in check(settings.options) or ():
        lines.append(f"{settings.options.origin(name)} ({name}): {message}")
    return "\n".join(lines)


def _shard_problem(category, settings) -> str:
    """Why this category cannot run split into shards with these settings (empty: it can, or no shards)."""
    shard = getattr(settings, "shard", None)
    check = getattr(category.implementation, "shard_problem", None)
    if shard is None or check is None:
        return ""
    problem = check(settings)
    return f"{settings.origins.get('shard', 'shard')}: category {category.name}: {problem}" if problem else ""


def _safe_text(exc: Exception) -> str:
    # Our own errors are written without values; anything else is named by type only.
    from .loader import PluginError

    safe = (PluginError,)
    try:
        from .sinks.database import DatabaseError

        safe += (DatabaseError,)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(exc, safe):
        return str(exc)
    return "unexpected error (set LOG_LEVEL=DEBUG for the traceback)"


def _metadata_sink(settings):
    if settings.has_backend_credentials:
        from .sinks.backend import APIClient

        return APIClient.from_settings(settings)
    from .sinks.metadata_file import MetadataFile

    path = settings.metadata_out or settings.output_dir / f"{settings.table}.registration.json"
    return MetadataFile(path)
