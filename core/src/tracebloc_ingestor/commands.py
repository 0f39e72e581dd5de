"""The ``tb-ingest new`` and ``tb-ingest categories`` subcommands (registered in :mod:`.cli`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import attrs
import click

__all__ = ["categories_command", "new_command"]


@click.command("new")
@click.argument("category")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def new_command(category: str, directory: Path | None) -> None:
    """Write CATEGORY's template into DIRECTORY (default ./CATEGORY): ingestor.py,
    ingest.yaml, sample data and a README, ready to run with `python ingestor.py`."""
    from .scaffold import ScaffoldError, write_template

    try:
        target, files = write_template(category, directory)
    except (ScaffoldError, OSError) as exc:
        reason = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        click.echo(f"tb-ingest new: {reason}", err=True)
        sys.exit(2)
    click.echo(f"Wrote the {category} template to {target}/ ({len(files)} files):")
    for name in files:
        click.echo(f"  {name}")
    click.echo(f"\nRun it:  cd {target} && python ingestor.py")


@click.command("categories")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def categories_command(as_json: bool) -> None:
    """List the installed categories with a one-line description each
    (loads each plugin on its own; a broken one is named and skipped)."""
    from .scaffold import installed_categories

    found = installed_categories()
    if as_json:
        click.echo(json.dumps([attrs.asdict(info) for info in found], indent=2))
        return
    if not found:
        click.echo("No categories installed. Install a distribution, e.g.: pip install tracebloc-ingestor-tabular")
        return
    width = max(len(info.name) for info in found)
    for info in found:
        if info.problem:
            text = f"cannot be loaded ({info.problem})"
        elif not info.is_category:
            text = "(a behaviour plugin: adds to every run, no category)"
        else:
            text = info.summary or "(no summary)"
        click.echo(f"{info.name:{width}}  {text}  [{info.distribution} {info.version}]")
    click.echo("\nStart from a template: tb-ingest new <category> [DIR]")
