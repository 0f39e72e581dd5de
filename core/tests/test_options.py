"""Declared options: every core option works in each of its forms and is documented; the CLI
and ingest.yaml are built from the declarations plus the selected plugin's."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tracebloc_ingestor.api import BaseIngestor, Choice, Number, Option, PathValue, Size, options_reference
from tracebloc_ingestor.cli import main
from tracebloc_ingestor.options import OptionValues
from tracebloc_ingestor.settings import CORE_OPTIONS, load_settings
from tracebloc_ingestor.testing.runs import run_plugin

DOCS = Path(__file__).resolve().parents[1] / "docs" / "options.md"
# a value each option accepts (as text, as a flag or variable would give it) and what it becomes
SAMPLES = {
    "category": ("my_category", "my_category"),
    "table": ("heart", "heart"),
    "title": ("Heart study", "Heart study"),
    "intent": ("TEST", "test"),
    "label_column": ("target", "target"),
    "label_policy": ("bucket", "bucket"),
    "data_id_strategy": ("uuid", "uuid"),
    "batch_size": ("25", 25),
    "log_level": ("info", "INFO"),
    "database_url": ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
    "mysql_host": ("db", "db"),
    "mysql_port": ("3307", 3307),
    "db_user": ("ingest", "ingest"),
    "db_password": ("pw", "pw"),
    "db_name": ("other_db", "other_db"),
    "client_pvc": ("my-pvc", "my-pvc"),
    "client_id": ("client", "client"),
    "client_password": ("secret", "secret"),
    "backend_token": ("tok", "tok"),
    "client_env": ("stg", "stg"),
    "api_url": ("http://127.0.0.1:9/api", "http://127.0.0.1:9/api/"),
    "api_deadline": ("2.5", 2.5),
    "db_retry_deadline": ("7.5", 7.5),
    "auth_scheme": ("bearer", "Bearer"),
    "columns": ("age, city", ("age", "city")),
    "json_nested": ("FLATTEN", "flatten"),
    "data_report": ("false", False),
    "quiet": ("yes", True),
    "progress_interval": ("2.5", 2.5),
    "ingestor_id": ("56F65C7E-FCF0-4A6A-BBAA-34E54CFDFBF6", "56f65c7e-fcf0-4a6a-bbaa-34e54cfdfbf6"),
    "job_uid": ("0b9c2f1e-6c1d-4a8e-9a55-3f0e7f6b2d11", "0b9c2f1e-6c1d-4a8e-9a55-3f0e7f6b2d11"),
    "shard": ("1/4", (1, 4)),
    "shards": ("4", 4),
    "job_completion_index": ("3", 3),
    "shard_wait": ("90", 90.0),
}
# a sharded run needs a run id and a database every shard reaches
_SHARDED = {"INGESTOR_ID": "56f65c7e-fcf0-4a6a-bbaa-34e54cfdfbf6", "DATABASE_URL": "mysql+pymysql://u@db/d"}
# options whose value is a path, and options that need a partner to be valid
PATHS = {o.name for o in CORE_OPTIONS if isinstance(o.type, PathValue)}
PARTNERS = {
    "mysql_host": {"DB_USER": "u"}, "client_id": {"CLIENT_PASSWORD": "p"}, "client_password": {"CLIENT_ID": "i"},
    "data_id_column": {"DATA_ID_STRATEGY_UNUSED": ""},
    "shard": _SHARDED, "shards": {"JOB_COMPLETION_INDEX": "0", **_SHARDED}, "job_completion_index": {"SHARDS": "8", **_SHARDED},
}


def _expected(option, tmp_path):
    if option.name in PATHS:
        return "x/y", lambda value: Path(value).as_posix().endswith("x/y")
    text, typed = SAMPLES[option.name]
    return text, lambda value: value == typed


@pytest.mark.parametrize("option", [o for o in CORE_OPTIONS if o.env and o.name != "data_id_column"], ids=lambda o: o.env)
def test_every_core_variable_sets_its_option(option, tmp_path):
    text, check = _expected(option, tmp_path)
    environ = {option.env: text, **PARTNERS.get(option.name, {})}
    if option.name == "config_path":
        (tmp_path / "x").mkdir()
        (tmp_path / "x" / "y").write_text("apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: c\ntable: t\nintent: train\n")
    s = load_settings({}, environ, cwd=tmp_path)
    assert check(getattr(s, option.name)), getattr(s, option.name)
    assert s.origins[option.name] == f"environment {option.env}"


@pytest.mark.parametrize("option", [o for o in CORE_OPTIONS if o.flag], ids=lambda o: o.flag)
def test_every_core_flag_sets_its_option(option, tmp_path):
    if option.name == "data_id_column":
        s = load_settings({"data_id_column": "pid", "data_id_strategy": "column"}, {}, cwd=tmp_path)
        assert s.data_id_column == "pid" and s.origins["data_id_column"] == "--data-id-column"
        return
    text, check = _expected(option, tmp_path)
    if option.name == "config_path":
        (tmp_path / "x").mkdir()
        (tmp_path / "x" / "y").write_text("apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: c\ntable: t\nintent: train\n")
    s = load_settings({option.name: text}, PARTNERS.get(option.name, {}), cwd=tmp_path)
    assert check(getattr(s, option.name)), getattr(s, option.name)
    assert s.origins[option.name] == option.flag


def test_every_core_option_has_help_and_a_heading_in_the_options_page():
    import importlib.util

    for option in CORE_OPTIONS:
        assert option.help.strip(), option.name
    spec = importlib.util.spec_from_file_location("make_options_md", DOCS.with_name("make_options_md.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert DOCS.read_text(encoding="utf-8") == module.render(), (
        "core/docs/options.md is out of date: run python core/docs/make_options_md.py"
    )
    assert all(f"## `{option.name}`" in module.render() for option in CORE_OPTIONS)


def test_help_lists_the_core_options_and_every_variable():
    result = CliRunner().invoke(main, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in CORE_OPTIONS:
        if option.flag:
            assert option.flag in result.output
        if option.env:
            assert option.env in result.output
    assert "tb-ingest --plugin NAME --help" in result.output


class Sized(BaseIngestor):
    category = "sized_demo"
    options = (
        Option("target_size", Size(), help="[width, height] every record is brought to."),
        Option("policy", Choice("keep", "drop"), default="keep", yaml="spec.file_options.policy", help="What to do."),
        Option("ratio", Number(above=0), default=1.0, env="SIZED_RATIO", flag=None, help="A ratio."),
    )

    def validate(self, ctx, batch):
        self.seen = dict(ctx.options)
        return super().validate(ctx, batch)


def test_a_plugins_options_arrive_typed_from_every_form(tmp_path):
    (tmp_path / "data.csv").write_text("x,label\n1,a\n2,b\n", encoding="utf-8")
    (tmp_path / "ingest.yaml").write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: sized_demo\ntable: sized\nintent: train\n"
        "csv: data.csv\ntarget_size: [4, 3]\nspec: {file_options: {policy: drop}}\n",
        encoding="utf-8",
    )
    plugin = Sized()
    flags = {"config_path": str(tmp_path / "ingest.yaml"), "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
             "output_dir": str(tmp_path / "out")}
    report, _, err = run_plugin(plugin, flags, {"SIZED_RATIO": "0.5"})
    assert report.exit_code == 0, err
    assert plugin.seen == {"target_size": (4, 3), "policy": "drop", "ratio": 0.5}
    report, _, err = run_plugin(plugin, {**flags, "target_size": "8x6"}, {"TRACEBLOC_TARGET_SIZE": "2x2"})
    assert plugin.seen["target_size"] == (8, 6)


def test_bad_plugin_option_values_exit_2_before_reading(tmp_path):
    (tmp_path / "data.csv").write_text("x,label\n1,a\n2,b\n", encoding="utf-8")
    flags = {"label_file": str(tmp_path / "data.csv"), "table": "sized", "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
             "output_dir": str(tmp_path / "out"), "target_size": "big"}
    report, out, err = run_plugin(Sized(), flags, {"SIZED_RATIO": "-1", "POLICY": "sideways"})
    assert report.exit_code == 2
    assert "--target-size: must be [width, height]" in err
    assert "environment SIZED_RATIO: must be a number above 0" in err
    assert "environment POLICY: is not accepted; use one of: keep, drop" in err
    assert not (tmp_path / "db.sqlite").exists()


def test_an_unknown_key_in_file_options_names_what_is_allowed(tmp_path):
    (tmp_path / "ingest.yaml").write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: sized_demo\ntable: sized\nintent: train\n"
        "csv: data.csv\nspec: {file_options: {polcy: drop}}\n",
        encoding="utf-8",
    )
    report, _, err = run_plugin(Sized(), {"config_path": str(tmp_path / "ingest.yaml"), "output_dir": str(tmp_path / "o")})
    assert report.exit_code == 2
    assert "ingest.yaml: spec.file_options.polcy: unknown key; allowed here: policy" in err


def test_option_values_describe_themselves_without_secrets():
    values = OptionValues({"token": "abc123456", "size": (1, 2)}, {"token": "environment T"}, secret=["token"])
    assert values.describe() == {"token": "set", "size": [1, 2]}
    assert "abc123456" not in repr(values) and values.origin("token") == "environment T" and values.origin("size") == "default"


PLUGIN_SOURCE = '''
from tracebloc_ingestor.api import BaseIngestor, Integer, Issue, Option


class Rated(BaseIngestor):
    category = "rated_items"
    data_format = "tabular"
    options = (Option("max_rating", Integer(minimum=1), default=5, help="Highest rating accepted."),)

    def validate(self, ctx, batch):
        issues = list(super().validate(ctx, batch))
        for row, value in zip(batch.column("_tb_row").to_pylist(), batch.column("rating").to_pylist()):
            if int(value) > ctx.options.max_rating:
                issues.append(Issue("max_rating", "above max_rating", row=row, column="rating", value=str(value)))
        return issues
'''


@pytest.fixture
def installed_rated(tmp_path_factory, monkeypatch):
    from tracebloc_ingestor.testing.distributions import install_throwaway_distribution

    folder = tmp_path_factory.mktemp("site")
    try:
        install_throwaway_distribution(
            folder, dist_name="tb-test-rated", version="1.0", module_name="tbt_rated", module_source=PLUGIN_SOURCE,
            entry_points={"rated_items": "tbt_rated:Rated"},
        )
    except (RuntimeError, FileNotFoundError) as exc:  # pragma: no cover - no installer at all
        pytest.skip(f"no installer: {exc}")
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_help_of_a_selected_plugin_lists_its_options(installed_rated):
    result = CliRunner().invoke(main, ["--plugin", "rated_items", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--max-rating" in result.output and "MAX_RATING" in result.output and "[rated_items]" in result.output
    assert "Highest rating accepted" in result.output


def test_an_installed_plugins_option_works_as_a_flag_and_a_variable(installed_rated, tmp_path):
    (tmp_path / "items.csv").write_text("rating,label\n3,a\n7,b\n", encoding="utf-8")
    base = ["--plugin", "rated_items", "--label-file", str(tmp_path / "items.csv"), "--table", "items",
            "--database-url", f"sqlite:///{tmp_path / 'db.sqlite'}", "--output-dir", str(tmp_path / "out")]
    refused = CliRunner().invoke(main, base)
    assert refused.exit_code == 1 and "[max_rating] above max_rating" in refused.output
    assert CliRunner().invoke(main, [*base, "--max-rating", "10"]).exit_code == 0
    assert CliRunner().invoke(main, base, env={"MAX_RATING": "10"}).exit_code == 0
    bad = CliRunner().invoke(main, [*base, "--max-rating", "zero"])
    assert bad.exit_code == 2 and "--max-rating: is not a number" in bad.output


def test_choices_ignore_case_in_every_form(tmp_path):
    (tmp_path / "ingest.yaml").write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: sized_demo\ntable: sized\nintent: train\n"
        "spec: {file_options: {policy: DROP}}\n",
        encoding="utf-8",
    )
    s = load_settings({"config_path": str(tmp_path / "ingest.yaml")}, {}, cwd=tmp_path, options=Sized.options)
    assert s.options.policy == "drop"


def test_a_true_false_option_can_be_switched_off_on_the_command_line(installed_rated, tmp_path):
    flag = Option("strict", bool, default=True, help="Be strict.")
    s = load_settings({"strict": False}, {"STRICT": "true"}, cwd=tmp_path, options=[flag])
    assert s.options.strict is False and s.options.origin("strict") == "--strict"
    from tracebloc_ingestor.cli import _click_option

    assert _click_option(flag).secondary_opts == ["--no-strict"]
