"""Run settings: precedence, origins, resolution of paths, and refusal of bad values."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import attrs
import pytest
from sqlalchemy.engine import make_url

from tracebloc_ingestor.config_file import API_VERSION, KIND
from tracebloc_ingestor.options import Choice, Integer, Option, OptionError, PathValue, Size
from tracebloc_ingestor.settings import (
    ConfigError,
    Problem,
    Settings,
    load_settings,
    require_table,
    table_name_problem,
)

SECRETS = {
    "DB_PASSWORD": "pw-Zq8@/x#1",
    "CLIENT_PASSWORD": "client-Secret-77",
    "BACKEND_TOKEN": "tok-0123456789abcdef",
    "DATABASE_URL": "mysql+pymysql://app:Db-Secret-55@db:3306/training_test_datasets",
}


def write_config(folder: Path, body: str = "", *, name: str = "ingest.yaml", table: str = "heart") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    head = f"apiVersion: {API_VERSION}\nkind: {KIND}\ncategory: tabular_classification\ntable: {table}\nintent: train\n"
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return path


def problems_of(flags, environ, cwd, options=()):
    with pytest.raises(ConfigError) as caught:
        load_settings(flags, environ, cwd=cwd, options=options)
    return caught.value.problems


def test_defaults_without_any_input(tmp_path):
    s = load_settings({}, {}, cwd=tmp_path)
    assert (s.table, s.category, s.plugins, s.intent) == (None, None, (), "train")
    assert s.src_path == tmp_path and s.output_dir == tmp_path / "tracebloc-output"
    assert (s.batch_size, s.log_level, s.data_id_strategy, s.label_column) == (50_000, "WARNING", "content_hash", "label")
    assert (s.mysql_port, s.db_name, s.client_pvc, s.client_env) == (3306, "training_test_datasets", "client-pvc", "prod")
    assert (s.storage_path, s.api_deadline, s.auth_scheme) == (tmp_path / "tracebloc-output" / "shared", 300.0, "Token")
    assert s.origins["storage_path"] == "default (outside a cluster)" and not s.in_cluster
    assert s.label_file is None and s.source_format is None and s.schema is None
    assert dict(s.csv_options) == {} and dict(s.options) == {}
    assert s.origins["table"] == "default" and s.origins["batch_size"] == "default"
    assert s.database_url_or_default() == f"sqlite:///{tmp_path}/tracebloc-output/ingest.sqlite"
    assert s.api_base_url() == "https://api.tracebloc.io/"
    assert not s.has_backend_credentials
    # loading settings writes nothing
    assert list(tmp_path.iterdir()) == []


def test_precedence_flags_over_environment_over_yaml_over_defaults(tmp_path):
    config = write_config(tmp_path / "cfg", "label: from_yaml\n", table="yaml_table")
    environ = {"INGEST_CONFIG": str(config), "TABLE_NAME": "env_table", "BATCH_SIZE": "10", "DATA_INTENT": "test"}
    flags = {"table": "flag_table", "batch_size": 7}

    s = load_settings(flags, environ, cwd=tmp_path)
    assert (s.table, s.origins["table"]) == ("flag_table", "--table")
    assert (s.batch_size, s.origins["batch_size"]) == (7, "--batch-size")
    assert (s.intent, s.origins["intent"]) == ("test", "environment DATA_INTENT")
    assert (s.label_column, s.origins["label_column"]) == ("from_yaml", "ingest.yaml: label")
    assert (s.category, s.origins["category"]) == ("tabular_classification", "ingest.yaml: category")
    assert (s.log_level, s.origins["log_level"]) == ("WARNING", "default")
    assert s.origins["config_path"] == "environment INGEST_CONFIG"

    s = load_settings({}, environ, cwd=tmp_path)
    assert (s.table, s.origins["table"]) == ("env_table", "environment TABLE_NAME")
    assert (s.batch_size, s.origins["batch_size"]) == (10, "environment BATCH_SIZE")

    s = load_settings({}, {"INGEST_CONFIG": str(config)}, cwd=tmp_path)
    assert (s.table, s.origins["table"]) == ("yaml_table", "ingest.yaml: table")
    assert (s.intent, s.origins["intent"]) == ("train", "ingest.yaml: intent")


def test_prefixed_variables_win_and_empty_values_count_as_unset(tmp_path):
    environ = {
        "TABLE_NAME": "plain", "TRACEBLOC_TABLE_NAME": "prefixed",
        "BATCH_SIZE": "5", "TRACEBLOC_BATCH_SIZE": "6",
        "TRACEBLOC_LOG_LEVEL": "", "LOG_LEVEL": "info",
        "CLIENT_ENV": "   ",
    }
    s = load_settings({}, environ, cwd=tmp_path)
    assert (s.table, s.origins["table"]) == ("prefixed", "environment TRACEBLOC_TABLE_NAME")
    assert s.batch_size == 6
    assert (s.log_level, s.origins["log_level"]) == ("INFO", "environment LOG_LEVEL")
    assert (s.client_env, s.origins["client_env"]) == ("prod", "default")


def test_names_already_in_the_tracebloc_namespace_are_not_double_prefixed(tmp_path):
    s = load_settings({}, {"API_URL": "http://ignored", "TRACEBLOC_TRACEBLOC_API_URL": "http://ignored"}, cwd=tmp_path)
    assert s.api_url is None
    s = load_settings({}, {"TRACEBLOC_API_URL": "http://127.0.0.1:8123/api", "TRACEBLOC_API_DEADLINE": "2.5"}, cwd=tmp_path)
    assert s.api_base_url() == "http://127.0.0.1:8123/api/"
    assert s.api_deadline == 2.5


def test_env_only_seed_form(tmp_path):
    environ = {"SRC_PATH": "/mnt/raw", "LABEL_FILE": "labels/Xy_train.csv", "TABLE_NAME": "Xy_train_2024"}
    s = load_settings({}, environ, cwd=tmp_path)
    assert s.src_path == Path("/mnt/raw")
    assert s.label_file == Path("/mnt/raw/labels/Xy_train.csv")
    assert s.source_format is None  # read by content and extension when the run starts (reading/formats.py)
    assert s.table == "Xy_train_2024"
    # relative SRC_PATH is taken from the working directory; absolute LABEL_FILE stays as given
    s = load_settings({}, {"SRC_PATH": "data", "LABEL_FILE": "/abs/x.parquet"}, cwd=tmp_path)
    assert s.src_path == tmp_path / "data"
    assert s.label_file == Path("/abs/x.parquet")


@pytest.mark.parametrize("key", ["csv", "json", "parquet"])
def test_the_yaml_key_declares_a_format(tmp_path, key):
    write_config(tmp_path, f"{key}: data.bin\n")
    s = load_settings({"config_path": str(tmp_path / "ingest.yaml")}, {}, cwd=tmp_path)
    assert (s.source_format, s.origins["source_format"]) == (key, f"ingest.yaml: {key}")
    assert s.label_file == tmp_path / "data.bin"


def test_a_relative_label_file_must_not_climb_out_of_the_source_root(tmp_path):
    problems = problems_of({}, {"SRC_PATH": str(tmp_path / "src"), "LABEL_FILE": "../outside.csv"}, tmp_path)
    assert [p.where for p in problems] == ["environment LABEL_FILE"]
    assert "outside the source root" in problems[0].message and "outside.csv" not in problems[0].message
    # inside, and absolute paths (the operator's explicit choice), are accepted
    assert load_settings({}, {"SRC_PATH": str(tmp_path), "LABEL_FILE": "a/../b.csv"}, cwd=tmp_path).label_file == tmp_path / "b.csv"
    assert load_settings({}, {"SRC_PATH": str(tmp_path), "LABEL_FILE": "/elsewhere/b.csv"}, cwd=tmp_path).label_file == Path("/elsewhere/b.csv")


def test_yaml_paths_resolve_against_the_yaml_folder(tmp_path):
    folder = tmp_path / "project" / "conf"
    write_config(folder, "json: ../data/records.txt\nimages: imgs\nmasks: /abs/masks\n")
    folders = [Option("images", PathValue(), help="Images."), Option("masks", PathValue(), help="Masks.")]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    s = load_settings({"config_path": "../project/conf/ingest.yaml"}, {}, cwd=elsewhere, options=folders)
    assert s.config_path == folder / "ingest.yaml"
    assert s.src_path == folder  # default source root: the config's folder
    assert s.label_file == tmp_path / "project" / "data" / "records.txt"
    assert (s.source_format, s.origins["source_format"]) == ("json", "ingest.yaml: json")
    assert s.options.images == folder / "imgs" and s.options.masks == Path("/abs/masks")
    # a flag path overrides the yaml one and resolves against the source root instead
    flags = {"config_path": str(folder / "ingest.yaml"), "label_file": "x.csv", "src_path": "/src", "masks": "m"}
    s = load_settings(flags, {"IMAGES": "pics"}, cwd=elsewhere, options=folders)
    assert (s.label_file, s.source_format, s.origins["label_file"]) == (Path("/src/x.csv"), None, "--label-file")
    # option paths given outside the yaml resolve against the source root too
    assert s.options.images == Path("/src/pics") and s.options.masks == Path("/src/m")
    assert s.options.origin("images") == "environment IMAGES" and s.options.origin("masks") == "--masks"


def test_explicit_source_format_flag(tmp_path):
    s = load_settings({"label_file": "data.dat", "source_format": "JSON"}, {}, cwd=tmp_path)
    assert (s.source_format, s.origins["source_format"]) == ("json", "--source-format")
    problems = problems_of({"source_format": "xml"}, {}, tmp_path)
    assert [p.where for p in problems] == ["--source-format"]


def test_every_problem_is_reported_at_once(tmp_path):
    environ = {"BATCH_SIZE": "lots", "CLIENT_ENV": "production", "TABLE_NAME": "2fast"}
    problems = problems_of({}, environ, tmp_path)
    assert sorted(p.where for p in problems) == [
        "environment BATCH_SIZE", "environment CLIENT_ENV", "environment TABLE_NAME",
    ]
    text = {p.where: p.message for p in problems}
    assert "whole number" in text["environment BATCH_SIZE"]
    assert "prod, stg, dev" in text["environment CLIENT_ENV"]
    assert "must not start with a digit" in text["environment TABLE_NAME"]


@pytest.mark.parametrize("env, api", [("prod", "https://api.tracebloc.io/"), ("STG", "https://stg-api.tracebloc.io/"),
                                      ("dev", "https://dev-api.tracebloc.io/")])
def test_client_env_picks_the_backend(tmp_path, env, api):
    assert load_settings({}, {"CLIENT_ENV": env}, cwd=tmp_path).api_base_url() == api


def test_unknown_client_env_is_an_error_not_a_fallback(tmp_path):
    problems = problems_of({}, {"TRACEBLOC_CLIENT_ENV": "staging"}, tmp_path)
    assert [str(p) for p in problems] == [
        "environment TRACEBLOC_CLIENT_ENV: is not accepted; use one of: prod, stg, dev"
    ]


@pytest.mark.parametrize(
    "environ, where",
    [
        ({"BATCH_SIZE": "0"}, "environment BATCH_SIZE"),
        ({"BATCH_SIZE": "1.5"}, "environment BATCH_SIZE"),
        ({"MYSQL_PORT": "70000"}, "environment MYSQL_PORT"),
        ({"LOG_LEVEL": "verbose"}, "environment LOG_LEVEL"),
        ({"DATA_INTENT": "validate"}, "environment DATA_INTENT"),
        ({"TRACEBLOC_API_DEADLINE": "-1"}, "environment TRACEBLOC_API_DEADLINE"),
        ({"TRACEBLOC_API_DEADLINE": "nan"}, "environment TRACEBLOC_API_DEADLINE"),
        ({"TRACEBLOC_AUTH_SCHEME": "Basic"}, "environment TRACEBLOC_AUTH_SCHEME"),
        ({"TRACEBLOC_API_URL": "ftp://host/"}, "environment TRACEBLOC_API_URL"),
        ({"CATEGORY": "Image-Classification"}, "environment CATEGORY"),
        ({"CLIENT_PVC": "Client_PVC"}, "environment CLIENT_PVC"),
        ({"INGEST_CONFIG": "missing.yaml"}, "environment INGEST_CONFIG"),
        ({"MYSQL_HOST": "db"}, "DB_USER"),
        ({"CLIENT_ID": "abc"}, "CLIENT_PASSWORD"),
    ],
)
def test_bad_values_name_their_source(tmp_path, environ, where):
    assert [p.where for p in problems_of({}, environ, tmp_path)] == [where]


def test_normalised_enums_and_numbers(tmp_path):
    environ = {"LOG_LEVEL": "debug", "TRACEBLOC_AUTH_SCHEME": "bearer", "DATA_INTENT": "Test", "MYSQL_PORT": " 3307 "}
    s = load_settings({}, environ, cwd=tmp_path)
    assert (s.log_level, s.auth_scheme, s.intent, s.mysql_port) == ("DEBUG", "Bearer", "test", 3307)


def test_secrets_stay_out_of_repr_errors_and_describe(tmp_path):
    environ = {**SECRETS, "CLIENT_ID": "client-1", "MYSQL_HOST": "db", "DB_USER": "app", "TABLE_NAME": "ok"}
    s = load_settings({}, environ, cwd=tmp_path)
    described = json.dumps(s.describe())
    for secret in ("pw-Zq8", "client-Secret-77", "tok-0123456789abcdef", "Db-Secret-55"):
        assert secret not in repr(s)
        assert secret not in described
    assert s.describe()["db_password"] == "set" and s.describe()["backend_token"] == "set"
    assert s.describe()["database_url"] == "mysql+pymysql://app:***@db:3306/training_test_datasets"
    assert s.has_backend_credentials

    broken = {**environ, "BATCH_SIZE": "x", "DATABASE_URL": "not a url Db-Secret-55 ::"}
    error = pytest.raises(ConfigError, load_settings, {}, broken, cwd=tmp_path).value
    assert len(error.problems) == 2
    for secret in ("pw-Zq8", "client-Secret-77", "tok-0123456789abcdef", "Db-Secret-55"):
        assert secret not in str(error)
        assert all(secret not in repr(p) for p in error.problems)


def test_database_url_default_is_embedded_sqlite(tmp_path):
    s = load_settings({"output_dir": "out"}, {}, cwd=tmp_path)
    assert s.output_dir == tmp_path / "out"
    assert s.database_url_or_default() == f"sqlite:///{tmp_path}/out/ingest.sqlite"
    assert make_url(s.database_url_or_default()).database == f"{tmp_path}/out/ingest.sqlite"


def test_database_url_from_mysql_variables_escapes_the_password(tmp_path):
    environ = {"MYSQL_HOST": "mysql-client", "MYSQL_PORT": "3307", "DB_USER": "ingest", "DB_PASSWORD": "p@ss/w:rd?#"}
    url = make_url(load_settings({}, environ, cwd=tmp_path).database_url_or_default())
    assert (url.drivername, url.host, url.port, url.username) == ("mysql+pymysql", "mysql-client", 3307, "ingest")
    assert url.password == "p@ss/w:rd?#"
    assert url.database == "training_test_datasets"
    assert url.query == {"charset": "utf8mb4"}


def test_database_url_overrides_mysql_variables(tmp_path):
    environ = {"MYSQL_HOST": "ignored", "DATABASE_URL": f"sqlite:///{tmp_path}/own.db"}
    s = load_settings({}, environ, cwd=tmp_path)
    assert s.database_url_or_default() == f"sqlite:///{tmp_path}/own.db"
    # a MySQL URL without a charset gets utf8mb4, everything else is kept
    s = load_settings({"database_url": "mysql+pymysql://u:p%40w@h/db"}, {}, cwd=tmp_path)
    url = make_url(s.database_url_or_default())
    assert (url.password, url.host, url.database, url.query["charset"]) == ("p@w", "h", "db", "utf8mb4")
    assert s.origins["database_url"] == "--database-url"


def test_yaml_violations_and_environment_problems_come_together(tmp_path):
    config = write_config(tmp_path, "intent: nope\nspec: {csv_options: {quote_char: ''}}\ntabel: x\n")
    config.write_text(config.read_text().replace("intent: train\n", ""))
    problems = problems_of({}, {"INGEST_CONFIG": str(config), "BATCH_SIZE": "-3"}, tmp_path)
    assert sorted(p.where for p in problems) == [
        "environment BATCH_SIZE", "ingest.yaml: intent", "ingest.yaml: spec.csv_options.quote_char", "ingest.yaml: tabel",
    ]


def test_schema_is_parsed_in_order_and_errors_name_the_column(tmp_path):
    config = write_config(tmp_path, "schema:\n  zeta: integer\n  alpha: varchar(20)\n  price: DECIMAL(10,2)\n")
    s = load_settings({"config_path": str(config)}, {}, cwd=tmp_path)
    assert list(s.schema.items()) == [("zeta", "INT"), ("alpha", "VARCHAR(20)"), ("price", "DECIMAL(10,2)")]
    assert s.origins["schema"] == "ingest.yaml: schema"

    config = write_config(tmp_path, "schema:\n  age: INTEGR\n  data_id: INT\n  Name: TEXT\n  name: TEXT\n  ok: VARCHAR\n")
    problems = problems_of({"config_path": str(config)}, {}, tmp_path)
    assert [p.where for p in problems] == [
        "ingest.yaml: schema.age", "ingest.yaml: schema.data_id", "ingest.yaml: schema.name", "ingest.yaml: schema.ok",
    ]
    assert "unsupported SQL type 'INTEGR'" in problems[0].message
    assert "framework column" in problems[1].message
    assert "ignore case" in problems[2].message
    assert "needs one length" in problems[3].message


def test_label_object_form_and_overrides(tmp_path):
    config = write_config(tmp_path, "label: {column: price, policy: bucket}\n")
    s = load_settings({"config_path": str(config)}, {}, cwd=tmp_path)
    assert (s.label_column, s.label_policy) == ("price", "bucket")
    assert (s.origins["label_column"], s.origins["label_policy"]) == ("ingest.yaml: label.column", "ingest.yaml: label.policy")
    s = load_settings({"config_path": str(config)}, {"LABEL_COLUMN": "target"}, cwd=tmp_path)
    assert (s.label_column, s.label_policy) == ("target", "bucket")
    problems = problems_of({"label_policy": "clip"}, {}, tmp_path)
    assert [p.where for p in problems] == ["--label-policy"]


def test_data_id_column_strategy_requires_a_column(tmp_path):
    config = write_config(tmp_path, "data_id: {strategy: column}\n")
    problems = problems_of({"config_path": str(config)}, {}, tmp_path)
    assert [p.where for p in problems] == ["ingest.yaml: data_id.column"]
    assert [p.where for p in problems_of({"data_id_strategy": "column"}, {}, tmp_path)] == ["--data-id"]
    assert [p.where for p in problems_of({"data_id_column": "pid"}, {}, tmp_path)] == ["--data-id-column"]
    assert [p.where for p in problems_of({"data_id_strategy": "random", "data_id_column": "pid"}, {}, tmp_path)] == ["--data-id"]

    config = write_config(tmp_path, "data_id: {strategy: column, column: patient_id}\n")
    s = load_settings({"config_path": str(config)}, {}, cwd=tmp_path)
    assert (s.data_id_strategy, s.data_id_column) == ("column", "patient_id")
    assert load_settings({"data_id_strategy": "uuid"}, {}, cwd=tmp_path).data_id_strategy == "uuid"


def test_csv_options_from_yaml(tmp_path):
    config = write_config(tmp_path, textwrap.dedent("""\
        spec:
          csv_options: {delimiter: "\\t", encoding: cp1252, null_values: [NA]}
        """))
    s = load_settings({"config_path": str(config)}, {}, cwd=tmp_path)
    assert dict(s.csv_options) == {"delimiter": "\t", "encoding": "cp1252", "null_values": ["NA"]}
    assert s.origins["csv_options"] == "ingest.yaml: spec.csv_options"
    config = write_config(tmp_path, "spec: {csv_options: {encoding: klingon-8}}\n")
    problems = problems_of({"config_path": str(config)}, {}, tmp_path)
    assert [p.where for p in problems] == ["ingest.yaml: spec.csv_options.encoding"]


def test_plugins_validate_only_and_output_paths(tmp_path):
    flags = {"plugins": ("tabular", "my_pkg"), "validate_only": True, "report_path": "r.json",
             "rejects_path": "/tmp/rej.csv", "metadata_out": "meta.json"}
    s = load_settings(flags, {"TRACEBLOC_OUTPUT_DIR": "/var/out", "STORAGE_PATH": "store"}, cwd=tmp_path)
    assert s.plugins == ("tabular", "my_pkg") and s.origins["plugins"] == "--plugin"
    assert s.validate_only and s.origins["validate_only"] == "--validate-only"
    assert (s.report_path, s.rejects_path, s.metadata_out) == (tmp_path / "r.json", Path("/tmp/rej.csv"), tmp_path / "meta.json")
    assert s.origins["report_path"] == "--report"
    assert s.output_dir == Path("/var/out") and s.storage_path == tmp_path / "store"
    s = load_settings({"plugins": (), "validate_only": False, "table": None}, {}, cwd=tmp_path)
    assert (s.plugins, s.validate_only, s.origins["validate_only"]) == ((), False, "default")


def test_unknown_flag_keys_are_a_programming_error(tmp_path):
    with pytest.raises(TypeError, match="tabel"):
        load_settings({"tabel": "x"}, {}, cwd=tmp_path)


@pytest.mark.parametrize(
    "name, ok",
    [("heart_disease", True), ("_t1", True), ("A" * 63, True), ("A" * 64, False), ("1abc", False),
     ("my-table", False), ("", False), ("select", False), ("ORDER", False), ("user", False),
     ("tracebloc_ingest_runs", False), ("Tracebloc_Ingest_Meta", False), ("täble", False)],
)
def test_table_name_rule(name, ok):
    assert (table_name_problem(name) is None) is ok


def test_require_table(tmp_path):
    require_table(load_settings({"table": "t"}, {}, cwd=tmp_path))
    with pytest.raises(ConfigError) as caught:
        require_table(load_settings({}, {}, cwd=tmp_path))
    assert [p.where for p in caught.value.problems] == ["TABLE_NAME"]
    assert str(caught.value).startswith("TABLE_NAME: no destination table")


def test_settings_are_frozen_and_problems_print_plainly(tmp_path):
    s = load_settings({}, {}, cwd=tmp_path)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        s.table = "x"
    with pytest.raises(TypeError):
        s.csv_options["delimiter"] = ","
    error = ConfigError([Problem("a", "one"), Problem("b", "two")])
    assert str(error) == "a: one\nb: two"


def test_backend_credentials(tmp_path):
    assert load_settings({}, {"BACKEND_TOKEN": "t"}, cwd=tmp_path).has_backend_credentials
    assert load_settings({}, {"CLIENT_ID": "i", "CLIENT_PASSWORD": "p"}, cwd=tmp_path).has_backend_credentials
    # half a pair is fine next to a token (the token is preferred)
    assert load_settings({}, {"CLIENT_ID": "i", "BACKEND_TOKEN": "t"}, cwd=tmp_path).has_backend_credentials


def test_settings_can_be_built_directly_with_defaults(tmp_path):
    s = Settings(src_path=tmp_path, output_dir=tmp_path / "out", table="t", schema={"b": "INT", "a": "TEXT"})
    assert (s.batch_size, s.intent, s.client_env, s.db_name) == (50_000, "train", "prod", "training_test_datasets")
    assert list(s.schema) == ["b", "a"] and dict(s.origins) == {}
    assert s.describe()["effective_database_url"] == f"sqlite:///{tmp_path}/out/ingest.sqlite"


# -- options declared by plugins ----------------------------------------------------------------

IMAGE_LIKE = (
    Option("target_size", Size(), help="[width, height]."),
    Option("resize_policy", Choice("reject", "resize", "pad"), default="reject", yaml="spec.file_options.resize_policy", help="How."),
    Option("full_decode", bool, default=False, yaml="spec.file_options.full_decode", help="Decode every pixel."),
    Option("max_pixels", Integer(minimum=1), default=8192 * 8192, yaml="spec.file_options.max_pixels", help="Budget."),
    Option("min_size", Size(), yaml="spec.file_options.min_size", help="Smallest."),
    Option("api_key", secret=True, env="MY_API_KEY", flag=None, yaml=None, help="A credential."),
)


def test_plugin_options_default_and_come_from_flags_env_and_yaml(tmp_path):
    s = load_settings({}, {}, cwd=tmp_path, options=IMAGE_LIKE)
    assert dict(s.options) == {"target_size": None, "resize_policy": "reject", "full_decode": False,
                               "max_pixels": 8192 * 8192, "min_size": None, "api_key": None}
    config = write_config(
        tmp_path,
        """
        target_size: [64, 48]
        spec:
          file_options: {resize_policy: pad, full_decode: true, max_pixels: 1000000, min_size: [16, 8]}
        """,
    )
    s = load_settings({"config_path": str(config)}, {}, cwd=tmp_path, options=IMAGE_LIKE)
    o = s.options
    assert (o.target_size, o.resize_policy, o.full_decode, o.max_pixels, o.min_size) == ((64, 48), "pad", True, 1_000_000, (16, 8))
    assert o.origin("resize_policy") == "ingest.yaml: spec.file_options.resize_policy"
    s = load_settings(
        {"config_path": str(config), "resize_policy": "Resize"},
        {"TRACEBLOC_MAX_PIXELS": "500", "MIN_SIZE": "32x32", "FULL_DECODE": "no", "TARGET_SIZE": "10x20"},
        cwd=tmp_path,
        options=IMAGE_LIKE,
    )
    o = s.options
    assert (o.target_size, o.resize_policy, o.full_decode, o.max_pixels, o.min_size) == ((10, 20), "resize", False, 500, (32, 32))
    assert o.origin("max_pixels") == "environment TRACEBLOC_MAX_PIXELS" and o.origin("resize_policy") == "--resize-policy"
    assert s.describe()["options"]["target_size"] == [10, 20]


def test_bad_plugin_option_values_are_refused_with_the_core_problems_naming_their_source(tmp_path):
    config = write_config(tmp_path, "spec: {file_options: {max_pixels: 0}}\n")
    found = problems_of(
        {"resize_policy": "stretch", "config_path": str(config)},
        {"MIN_SIZE": "32", "FULL_DECODE": "maybe", "BATCH_SIZE": "x", "MY_API_KEY": "sk-Secret-Value-123"},
        tmp_path,
        options=IMAGE_LIKE,
    )
    assert sorted(p.where for p in found) == [
        "--resize-policy", "environment BATCH_SIZE", "environment FULL_DECODE", "environment MIN_SIZE",
        "ingest.yaml: spec.file_options.max_pixels",
    ]


def test_secret_options_never_show(tmp_path):
    s = load_settings({}, {"MY_API_KEY": "sk-Secret-Value-123"}, cwd=tmp_path, options=IMAGE_LIKE)
    assert s.options.api_key == "sk-Secret-Value-123"
    assert "sk-Secret" not in repr(s.options) and "sk-Secret" not in json.dumps(s.describe())
    assert s.describe()["options"]["api_key"] == "set"


def test_plugin_options_that_clash_with_the_core_or_each_other_are_refused(tmp_path):
    clashing = [
        (Option("batch", env="BATCH_SIZE", help="x"), "category demo"),
        (Option("mode", help="x"), "category demo"),
        (Option("mode", yaml="spec.mode", env="OTHER_MODE", flag="--other-mode", help="y"), "plugin 'other'"),
    ]
    found = problems_of({}, {}, tmp_path, options=clashing)
    messages = sorted(p.message for p in found)
    assert messages == [
        "environment variable 'BATCH_SIZE' is declared by both tracebloc-ingestor and category demo",
        "name 'mode' is declared by both category demo and plugin 'other'",
    ]


def test_option_declarations_are_checked_when_made():
    with pytest.raises(OptionError, match="option name 'Max'"):
        Option("Max", help="x")
    with pytest.raises(OptionError, match="environment variable 'max'"):
        Option("max", env="max", help="x")
    with pytest.raises(TypeError, match="an option's type"):
        Option("max", type=list, help="x")
    assert Option("max_duration", float, help="x").forms() == ["--max-duration", "environment MAX_DURATION", "ingest.yaml max_duration"]


def test_options_are_frozen_and_say_which_exist(tmp_path):
    s = load_settings({}, {}, cwd=tmp_path, options=IMAGE_LIKE)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        s.options.target_size = (1, 1)
    with pytest.raises(AttributeError, match="no option 'target' in this run"):
        s.options.target  # noqa: B018


def test_unknown_flags_may_be_plugin_options(tmp_path):
    s = load_settings({"full_decode": True}, {}, cwd=tmp_path, options=IMAGE_LIKE)
    assert s.options.full_decode is True
    with pytest.raises(TypeError, match="full_decode"):
        load_settings({"full_decode": True}, {}, cwd=tmp_path)


def test_a_relative_path_default_is_under_the_source_root(tmp_path):
    folder = Option("images", PathValue(), default=Path("images"), help="Images.")
    s = load_settings({"src_path": "/data/raw"}, {}, cwd=tmp_path, options=[folder])
    assert s.options.images == Path("/data/raw/images") and s.options.origin("images") == "default"


def test_storage_defaults_to_the_shared_volume_only_in_a_pod(tmp_path):
    pod = load_settings({}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, cwd=tmp_path)
    assert pod.in_cluster and pod.storage_path == Path("/data/shared")
    assert pod.origins["storage_path"] == "default (in a Kubernetes pod)"
    laptop = load_settings({"output_dir": "out"}, {}, cwd=tmp_path)
    assert not laptop.in_cluster and laptop.storage_path == tmp_path / "out" / "shared"
    given = load_settings({}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "STORAGE_PATH": "/mnt/x"}, cwd=tmp_path)
    assert given.storage_path == Path("/mnt/x")
