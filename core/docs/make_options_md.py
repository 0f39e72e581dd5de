"""Write core/docs/options.md from the core's option declarations (CORE_OPTIONS).

Run after changing an option: ``python core/docs/make_options_md.py``. A test fails when the
page and the declarations differ.
"""

from pathlib import Path

from tracebloc_ingestor.options import options_reference
from tracebloc_ingestor.settings import CORE_OPTIONS

HEAD = "# Options of the core\n\nEvery setting of a run, in the order `tb-ingest --help` lists them. Each is given as a\ncommand-line flag, an environment variable (also with a `TRACEBLOC_` prefix, which wins)\nor an `ingest.yaml` key, where it has that form; flags win over the environment, the\nenvironment over `ingest.yaml`, and `ingest.yaml` over the default. A bad value stops\nthe run before any data is read (exit code 2), together with every other problem, each\nnamed with where it came from. Secrets (`DB_PASSWORD`, `CLIENT_PASSWORD`,\n`BACKEND_TOKEN`, `DATABASE_URL`) are never printed.\n\nTwo switches have no other form: `--plugin NAME` (repeatable) loads the plugin of that\nentry point, and `--validate-only` validates the whole input and writes nothing. The\noptions of a category are listed by `tb-ingest --plugin <category> --help` and in its\ndistribution's README.\n\n`ingest.yaml` keys that hold more than one value: `label` is a column name or\n`{column, policy}`; `data_id` is `{strategy, column}`; `csv`/`json` name the source table\n(and its format); `schema` maps column names to SQL types; `spec.csv_options` holds\n`delimiter`, `quote_char`, `escape_char`, `encoding`, `null_values`, `header` and\n`skip_rows`.\n\n"


def render() -> str:
    return HEAD + options_reference(CORE_OPTIONS, heading="##")


if __name__ == "__main__":
    Path(__file__).with_name("options.md").write_text(render(), encoding="utf-8")
