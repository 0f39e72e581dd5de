"""``tb-ingest``: the command line of tracebloc-ingestor."""

from __future__ import annotations

import json
import os
import sys

import click

ENVIRONMENT_HELP = """
\b
Environment (each also accepted with a TRACEBLOC_ prefix, which wins;
command-line options win over both, and both win over ingest.yaml):
  TABLE_NAME          destination table (and dataset folder) name
  LABEL_FILE          the labels/manifest file (CSV, JSON, JSON lines, Parquet)
  SRC_PATH            where the raw data is mounted (default: current folder)
  TITLE               dataset title (default: "<table> - <run id prefix>")
  INGEST_CONFIG       path of an ingest.yaml
  LOG_LEVEL           DEBUG, INFO, WARNING (default) or ERROR
  BATCH_SIZE          rows per batch (default 50000)
  DATA_INTENT         train (default) or test
  LABEL_COLUMN        the target column of the source (default: label)
  CATEGORY            the category to run
  TIME_COLUMN         time column of time-series categories
  MYSQL_HOST          database host; unset: an embedded SQLite file
  MYSQL_PORT          database port (default 3306)
  DB_USER, DB_PASSWORD, DB_NAME (default training_test_datasets)
  DATABASE_URL        a full SQLAlchemy URL; overrides the MYSQL_*/DB_* variables
  STORAGE_PATH        root of the shared volume for files (default /data/shared)
  CLIENT_PVC          name of the PVC shared with the client (default client-pvc)
  RESIZE_POLICY       images not of target_size: reject (default), resize or pad
  FULL_DECODE         true: decode every image's pixels while validating
  MAX_PIXELS          pixel budget per image (default 67108864 = 8192x8192)
  MIN_SIZE            smallest accepted image as WxH (image categories default to 32x32)
  CLIENT_ID, CLIENT_PASSWORD   client credentials, exchanged for a token
  BACKEND_TOKEN       a ready backend token (preferred over the pair above)
  CLIENT_ENV          prod (default), stg or dev
  TRACEBLOC_API_URL   explicit backend base URL (overrides CLIENT_ENV)
  TRACEBLOC_API_DEADLINE  seconds a backend call may keep retrying (default 300)
  TRACEBLOC_AUTH_SCHEME   Token (default) or Bearer
  TRACEBLOC_OUTPUT_DIR    local folder for the SQLite file, offline metadata
                          and rejects report (default ./tracebloc-output)

\b
Without backend credentials the registration is written to a local JSON file
instead of being sent. Exit codes: 0 every record landed and the dataset is
registered; 1 ingestion failed or a record failed; 2 configuration refused
before any data was read; 143 stopped by SIGTERM.
"""


def _options(f):
    opts = [
        click.option("--plugin", "plugins", multiple=True, metavar="NAME", help="Load the plugin (entry point) NAME; repeatable."),
        click.option("--category", help="The category to run (default: the one category the loaded plugins provide)."),
        click.option("--config", "config_path", metavar="PATH", help="An ingest.yaml (env INGEST_CONFIG)."),
        click.option("--table", help="Destination table name (env TABLE_NAME)."),
        click.option("--title", help="Dataset title (env TITLE)."),
        click.option("--intent", help="train or test (env DATA_INTENT)."),
        click.option("--src-path", "src_path", metavar="PATH", help="Root of the raw data (env SRC_PATH)."),
        click.option("--label-file", "label_file", metavar="PATH", help="Labels/manifest file, relative to the source root (env LABEL_FILE)."),
        click.option("--label-column", "label_column", help="Target column of the source (default: label)."),
        click.option("--label-policy", "label_policy", help="passthrough or bucket: how labels leave the cluster."),
        click.option("--time-column", "time_column", help="The time column of time-series categories (env TIME_COLUMN)."),
        click.option("--data-id", "data_id_strategy", help="content_hash (default), column or uuid."),
        click.option("--data-id-column", "data_id_column", help="The id column for --data-id column."),
        click.option("--batch-size", "batch_size", help="Rows per batch (env BATCH_SIZE)."),
        click.option("--log-level", "log_level", help="DEBUG, INFO, WARNING or ERROR (env LOG_LEVEL)."),
        click.option("--database-url", "database_url", metavar="URL", help="SQLAlchemy URL of the database (env DATABASE_URL)."),
        click.option("--storage-path", "storage_path", metavar="PATH", help="Root for stored files (env STORAGE_PATH)."),
        click.option("--output-dir", "output_dir", metavar="PATH", help="Local output folder (env TRACEBLOC_OUTPUT_DIR)."),
        click.option("--metadata-out", "metadata_out", metavar="PATH", help="Where the offline registration JSON goes."),
        click.option("--report", "report_path", metavar="PATH", help="Write a machine-readable JSON report here."),
        click.option("--rejects", "rejects_path", metavar="PATH", help="Local rejects report (JSON lines, with values)."),
        click.option("--api-url", "api_url", metavar="URL", help="Backend base URL (env TRACEBLOC_API_URL)."),
        click.option("--client-env", "client_env", help="prod, stg or dev (env CLIENT_ENV)."),
        click.option("--auth-scheme", "auth_scheme", help="Token (default) or Bearer."),
        click.option("--resize-policy", "resize_policy", help="Images not of target_size: reject (default), resize or pad (env RESIZE_POLICY)."),
        click.option("--full-decode", "full_decode", is_flag=True, help="Decode every image's pixels while validating (env FULL_DECODE)."),
        click.option("--max-pixels", "max_pixels", help="Pixel budget per image (env MAX_PIXELS; default 67108864)."),
        click.option("--min-size", "min_size", metavar="WxH", help="Smallest accepted image, e.g. 32x32 (env MIN_SIZE)."),
        click.option("--validate-only", "validate_only", is_flag=True, help="Validate the whole input, write nothing, exit."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


@click.group(invoke_without_command=True, epilog=ENVIRONMENT_HELP, context_settings={"max_content_width": 100})
@_options
@click.version_option(package_name="tracebloc-ingestor")
@click.pass_context
def main(ctx: click.Context, **flags) -> None:
    """Validate data, load it into the cluster's database and register its metadata.

    \b
    Examples:
      tb-ingest --plugin tabular_classification --label-file Xy_train.csv --table my_data
      tb-ingest --config ingest.yaml
      tb-ingest plugins
    """
    if ctx.invoked_subcommand is not None:
        return
    from .runner import run_ingestion

    report = run_ingestion(flags, os.environ)
    ctx.exit(report.exit_code)


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
