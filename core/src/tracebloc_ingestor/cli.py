"""``tb-ingest``: the command line of tracebloc-ingestor.

The options are built from declarations: the core's (:data:`~tracebloc_ingestor.settings.CORE_OPTIONS`)
plus those of the selected category and behaviour plugins, so ``tb-ingest --plugin X --help``
documents X's flags and variables too. The plugin is found before the command line is
parsed, from ``--plugin``/``--category``/``--config`` and ``CATEGORY``/``INGEST_CONFIG``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Sequence

import click

from .options import Option

FOOTER = """
\b
Without backend credentials the registration is written to a local JSON file
instead of being sent. Exit codes: 0 every record landed and the dataset is
registered; 1 ingestion failed or a record failed; 2 configuration refused
before any data was read; 143 stopped by SIGTERM.
"""


def _click_option(option: Option, owner: str | None = None) -> click.Option:
    help_text = option.help_text() if owner is None else f"[{owner}] {option.help_text()}"
    if option.type.is_flag:
        # --x turns it on, --no-x off; neither leaves the environment or ingest.yaml to decide
        off = "--no-" + option.flag[2:]
        return click.Option([f"{option.flag}/{off}", option.name], default=None, help=help_text)
    return click.Option(
        [option.flag, option.name],
        metavar=option.metavar or option.type.metavar,
        help=help_text,
    )


def environment_help(options: Sequence[tuple[Option, str | None]], note: str = "") -> str:
    """The epilog of ``--help``: every variable the run reads, from the declarations."""
    lines = [
        "\b",
        "Environment (each also accepted with a TRACEBLOC_ prefix, which wins;",
        "command-line options win over both, and both win over ingest.yaml):",
    ]
    for option, owner in options:
        if not option.env:
            continue
        text = option.help.rstrip(".") if option.help else ""
        if owner:
            text = f"[{owner}] {text}"
        if option.default not in (None, False, ()) and not option.secret:
            text += f" (default {option.default})"
        lines.append(f"  {option.env:22} {text}")
    if note:
        lines += ["", "\b", note]
    return "\n".join(lines) + "\n" + FOOTER


def _scan(args: Sequence[str]) -> dict[str, Any]:
    """--plugin, --category and --config as given on the command line (not yet parsed)."""
    wanted = {"--plugin": "plugins", "--category": "category", "--config": "config_path"}
    found: dict[str, Any] = {"plugins": []}
    items = list(args)
    for i, arg in enumerate(items):
        name, eq, value = arg.partition("=")
        key = wanted.get(name)
        if key is None:
            continue
        if not eq:
            if i + 1 >= len(items):
                continue
            value = items[i + 1]
        if key == "plugins":
            found["plugins"].append(value)
        else:
            found[key] = value
    return found


def plugin_params(args: Sequence[str], environ) -> tuple[list[tuple[Option, str]], str]:
    """The selected plugins' options with their owners' names, and a note for --help."""
    from .loader import PluginError, new_plugin_manager
    from .runner import plugin_options, prepare_plugins, select

    selection = select(_scan(args), environ)
    if not selection.plugins and not selection.category:
        return [], "The options of a category are listed by: tb-ingest --plugin NAME --help"
    pm = new_plugin_manager()
    try:
        _categories, spec = prepare_plugins(pm, selection)
        found = plugin_options(pm, spec)
    except PluginError:
        # the run reports the problem itself, with its exit code 2; --help still works
        return [], "The selected plugin could not be loaded; run without --help to see why."
    owned = [(option, owner.split(" (")[0].replace("category ", "")) for option, owner in found]
    return owned, ""


class IngestCommand(click.Group):
    """The ``tb-ingest`` group, whose options grow by the selected plugins' declarations."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from .settings import CORE_OPTIONS

        if args and args[0] in self.commands:
            extra: list[tuple[Option, str]] = []
            note = ""
        else:
            extra, note = plugin_params(args, os.environ)
        core = [(option, None) for option in CORE_OPTIONS if option.flag]
        self.params = [
            *_fixed_params(),
            *(_click_option(option) for option, _ in core),
            *(_click_option(option, owner) for option, owner in extra if option.flag),
            *self._version,
        ]
        self.epilog = environment_help([(o, None) for o in CORE_OPTIONS] + extra, note)
        return super().parse_args(ctx, args)


def _fixed_params() -> list[click.Parameter]:
    return [
        click.Option(["--plugin", "plugins"], multiple=True, metavar="NAME", help="Load the plugin (entry point) NAME; repeatable."),
        click.Option(["--validate-only", "validate_only"], is_flag=True, help="Validate the whole input, write nothing, exit."),
    ]


@click.group(cls=IngestCommand, invoke_without_command=True, context_settings={"max_content_width": 100})
@click.version_option(package_name="tracebloc-ingestor")
@click.pass_context
def main(ctx: click.Context, **flags) -> None:
    """Validate data, load it into the cluster's database and register its metadata.

    \b
    Examples:
      tb-ingest --plugin tabular_classification --label-file Xy_train.csv --table my_data
      tb-ingest --config ingest.yaml
      tb-ingest --plugin image_classification --help     (the category's own options too)
      tb-ingest plugins
    """
    if ctx.invoked_subcommand is not None:
        return
    from .runner import run_ingestion

    flags = {name: value for name, value in flags.items() if value is not None}
    report = run_ingestion(flags, os.environ)
    ctx.exit(report.exit_code)


# the --version option click attached: kept when the params are rebuilt per invocation
main._version = [p for p in main.params if p.name == "version"]  # type: ignore[attr-defined]


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_plugins(as_json: bool) -> None:
    """List installed plugins: entry-point name (the category, for a category plugin),
    distribution and version. Reads package metadata only; imports nothing."""
    from .loader import installed_plugins

    infos = installed_plugins()
    rows: dict[tuple[str, str], list[str]] = {}
    for info in infos:
        rows.setdefault((info.distribution, info.version), []).append(info.name)
    if as_json:
        click.echo(
            json.dumps(
                [{"distribution": d, "version": v, "entry_points": sorted(c)} for (d, v), c in sorted(rows.items())], indent=2
            )
        )
        return
    if not infos:
        click.echo("No plugins installed. Install one, e.g.: pip install tracebloc-ingestor-tabular")
        return
    click.echo(f"{'NAME':32} {'DISTRIBUTION':34} VERSION")
    for info in infos:
        click.echo(f"{info.name:32} {info.distribution:34} {info.version}")
    click.echo("\nEntry points by distribution (a category's entry point carries its name):")
    for (dist, version), names in sorted(rows.items()):
        click.echo(f"  {dist} {version}: {', '.join(sorted(names))}")


# tb-ingest new / tb-ingest categories
from .commands import categories_command, new_command  # noqa: E402

main.add_command(new_command)
main.add_command(categories_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
