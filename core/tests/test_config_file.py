"""ingest.yaml reading and schema validation on real files."""

from __future__ import annotations

import textwrap

import pytest

from tracebloc_ingestor.config_file import (
    API_VERSION,
    CONFIG_SCHEMA,
    KIND,
    config_schema,
    read_config,
    usable_part,
    validate_config,
)
from tracebloc_ingestor.options import Choice, Integer, Number, Option, PathValue, Size

HEAD = f"apiVersion: {API_VERSION}\nkind: {KIND}\n"
MINIMAL = HEAD + "category: tabular_classification\ntable: heart\nintent: train\n"


def write(tmp_path, text, name="ingest.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def wheres(problems):
    return [p.where for p in problems]


def test_minimal_config_is_valid(tmp_path):
    doc, problems = read_config(write(tmp_path, MINIMAL))
    assert problems == []
    assert doc == {
        "apiVersion": API_VERSION, "kind": KIND,
        "category": "tabular_classification", "table": "heart", "intent": "train",
    }


def test_every_documented_key_is_accepted(tmp_path):
    text = MINIMAL + textwrap.dedent("""\
        title: Heart study
        csv: data/train.csv
        label: {column: target, policy: bucket}
        schema: {age: INT, name: "VARCHAR(64)"}
        data_id: {strategy: column, column: patient_id}
        spec:
          csv_options:
            delimiter: ";"
            quote_char: "'"
            escape_char: null
            encoding: latin-1
            null_values: ["NA", ""]
            header: false
            skip_rows: 2
        """)
    doc, problems = read_config(write(tmp_path, text))
    assert problems == []
    assert doc["spec"]["csv_options"]["null_values"] == ["NA", ""]
    assert list(doc["schema"]) == ["age", "name"]


def test_missing_required_keys_are_each_named(tmp_path):
    _, problems = read_config(write(tmp_path, "category: tabular_regression\n"))
    assert wheres(problems) == ["ingest.yaml: apiVersion", "ingest.yaml: kind", "ingest.yaml: table"]
    assert all("is required" in p.message for p in problems)
    assert API_VERSION in problems[0].message


def test_unknown_keys_are_rejected_at_every_level(tmp_path):
    text = MINIMAL + "tabel: oops\nspec:\n  csv_options:\n    delimeter: ','\n"
    _, problems = read_config(write(tmp_path, text))
    assert wheres(problems) == ["ingest.yaml: spec.csv_options.delimeter", "ingest.yaml: tabel"]
    assert "unknown key" in problems[1].message and "table" in problems[1].message


def test_wrong_api_version_and_kind(tmp_path):
    text = "apiVersion: v0\nkind: Other\ncategory: x\ntable: t\nintent: train\n"
    _, problems = read_config(write(tmp_path, text))
    assert [str(p) for p in problems] == [
        f"ingest.yaml: apiVersion: is not accepted; must be {API_VERSION}",
        f"ingest.yaml: kind: is not accepted; must be {KIND}",
    ]


def test_all_violations_are_listed_with_their_paths(tmp_path):
    text = HEAD + textwrap.dedent("""\
        category: Tabular-Classification
        table: heart
        intent: training
        csv: a.csv
        json: b.json
        label: {policy: clip}
        schema: {age: 5}
        data_id: {strategy: random}
        spec:
          csv_options: {delimiter: "ab", skip_rows: -1, null_values: [1], header: "yes"}
        """)
    _, problems = read_config(write(tmp_path, text, name="my-ingest.yml"))
    assert wheres(problems) == [
        "my-ingest.yml: category",
        "my-ingest.yml: csv, json, parquet",
        "my-ingest.yml: data_id.strategy",
        "my-ingest.yml: intent",
        "my-ingest.yml: label.column",
        "my-ingest.yml: label.policy",
        "my-ingest.yml: schema.age",
        "my-ingest.yml: spec.csv_options.delimiter",
        "my-ingest.yml: spec.csv_options.header",
        "my-ingest.yml: spec.csv_options.null_values[0]",
        "my-ingest.yml: spec.csv_options.skip_rows",
    ]
    by_where = {p.where.split(": ", 1)[1]: p.message for p in problems}
    assert by_where["intent"] == "is not accepted; must be one of: train, test"
    assert by_where["label.policy"] == "is not accepted; must be one of: passthrough, bucket"
    assert not any("training" in p.message or "clip" in p.message for p in problems)  # values are never quoted
    assert by_where["csv, json, parquet"] == "give only one of csv, json or parquet"
    assert "exactly one character" in by_where["spec.csv_options.delimiter"]
    assert "SQL type" in by_where["schema.age"]


@pytest.mark.parametrize(
    "snippet, where",
    [
        ("label: ''", "label"),
        ("label: [a, b]", "label"),
        ("schema: {}", "schema"),
        ("schema: {1: INT}", "schema"),
        ("spec: {csv_options: {escape_char: 5}}", "spec.csv_options.escape_char"),
        ("spec: {file_options: [1]}", "spec.file_options"),
        ("spec: {other: 1}", "spec.other"),
        ("data_id: {strategy: column, col: x}", "data_id.col"),
    ],
)
def test_single_violations(tmp_path, snippet, where):
    _, problems = read_config(write(tmp_path, MINIMAL + snippet + "\n"))
    assert wheres(problems) == [f"ingest.yaml: {where}"]


def test_intent_may_be_left_out_and_defaults_to_train(tmp_path):
    from tracebloc_ingestor.settings import load_settings

    config = write(tmp_path, HEAD + "category: tabular_classification\ntable: heart\n")
    assert read_config(config)[1] == []
    s = load_settings({"config_path": str(config)}, {}, cwd=tmp_path)
    assert (s.intent, s.origins["intent"]) == ("train", "default")


def test_label_as_plain_string_is_valid(tmp_path):
    doc, problems = read_config(write(tmp_path, MINIMAL + "label: outcome\n"))
    assert problems == [] and doc["label"] == "outcome"


def test_yaml_syntax_error_gives_position_not_content(tmp_path):
    path = write(tmp_path, MINIMAL + "title: s3cr3t-value\nbad: [unclosed, s3cr3t-value\n")
    doc, problems = read_config(path)
    assert doc == {}
    assert len(problems) == 1
    assert problems[0].where == "ingest.yaml"
    assert "line " in problems[0].message and "not valid YAML" in problems[0].message
    assert "s3cr3t" not in str(problems[0])


def test_duplicate_keys_are_refused(tmp_path):
    _, problems = read_config(write(tmp_path, MINIMAL + "table: other\n"))
    assert len(problems) == 1
    assert "duplicate key 'table'" in problems[0].message and "line 6" in problems[0].message


@pytest.mark.parametrize(
    "text, message",
    [("", "is empty"), ("# only a comment\n", "is empty"), ("- a\n- b\n", "mapping")],
)
def test_empty_or_non_mapping_documents(tmp_path, text, message):
    doc, problems = read_config(write(tmp_path, text))
    assert doc == {} and len(problems) == 1 and message in problems[0].message


def test_missing_unreadable_and_non_utf8_files(tmp_path):
    _, missing = read_config(tmp_path / "nope.yaml")
    assert [str(p) for p in missing] == [f"nope.yaml: config file {tmp_path / 'nope.yaml'} does not exist"]
    _, folder = read_config(tmp_path)
    assert "is not a file" in folder[0].message
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"table: \xff\xfe\n")
    _, bad = read_config(binary)
    assert [p.message for p in bad] == ["is not UTF-8 text"]


def test_oversized_file_is_refused_without_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(MINIMAL + "#" * (1024 * 1024) + "\n")
    doc, problems = read_config(path)
    assert doc == {} and "at most" in problems[0].message


def test_usable_part_drops_only_broken_keys():
    doc = {
        "apiVersion": API_VERSION, "kind": KIND, "category": "x", "table": "t", "intent": "maybe",
        "csv": "a.csv", "target_size": [1, 2], "spec": {"csv_options": {"delimiter": "ab"}},
    }
    assert usable_part(doc) == {
        "apiVersion": API_VERSION, "kind": KIND, "category": "x", "table": "t",
        "csv": "a.csv", "target_size": [1, 2],
    }
    both = {**doc, "intent": "train", "json": "b.json"}
    assert "csv" not in usable_part(both) and "json" not in usable_part(both)


def test_validate_config_on_a_document_and_schema_is_draft_2020_12():
    assert CONFIG_SCHEMA["$schema"].endswith("2020-12/schema")
    assert validate_config({"apiVersion": API_VERSION, "kind": KIND, "category": "a", "table": "t", "intent": "test"}) == []
    assert [str(p) for p in validate_config([], "x.yaml")] == ["x.yaml: must be a mapping of keys to values"]


# -- keys the selected plugins declare -----------------------------------------------------

PLUGIN_OPTIONS = (
    Option("images", PathValue(), help="Folder of the images."),
    Option("target_size", Size(), help="[width, height]."),
    Option("number_of_keypoints", Integer(minimum=1), help="Joints per record."),
    Option("resize_policy", Choice("reject", "resize", "pad"), yaml="spec.file_options.resize_policy", help="How."),
    Option("full_decode", bool, yaml="spec.file_options.full_decode", help="Decode all."),
)


def test_declared_option_keys_are_accepted_where_their_path_says(tmp_path):
    text = MINIMAL + textwrap.dedent("""\
        images: imgs
        target_size: [224, 160]
        number_of_keypoints: 17
        spec:
          file_options: {resize_policy: pad, full_decode: true}
        """)
    doc, problems = read_config(write(tmp_path, text), PLUGIN_OPTIONS)
    assert problems == [] and doc["spec"]["file_options"]["resize_policy"] == "pad"
    # without the plugin the same keys are unknown, each named with what is allowed there
    _, problems = read_config(write(tmp_path, text))
    assert wheres(problems) == [
        "ingest.yaml: images", "ingest.yaml: number_of_keypoints",
        "ingest.yaml: spec.file_options.full_decode", "ingest.yaml: spec.file_options.resize_policy",
        "ingest.yaml: target_size",
    ]
    assert "none (the selected plugins declare no keys here)" in problems[2].message


@pytest.mark.parametrize(
    "snippet, where",
    [
        ("target_size: [224]", "target_size"),
        ("target_size: [224, 224, 3]", "target_size"),
        ("target_size: [true, 5]", "target_size[0]"),
        ("number_of_keypoints: 0", "number_of_keypoints"),
        ("images: ''", "images"),
        ("spec: {file_options: {resize_policy: stretch}}", "spec.file_options.resize_policy"),
        ("spec: {file_options: {resize_polcy: pad}}", "spec.file_options.resize_polcy"),
        ("spec: {file_options: {full_decode: maybe}}", "spec.file_options.full_decode"),
    ],
)
def test_declared_option_values_are_checked_by_their_type(tmp_path, snippet, where):
    _, problems = read_config(write(tmp_path, MINIMAL + snippet + "\n"), PLUGIN_OPTIONS)
    assert wheres(problems) == [f"ingest.yaml: {where}"]


def test_a_new_option_under_a_new_mapping_builds_that_mapping():
    option = Option("max_duration", Number(above=0), yaml="spec.audio.max_duration", help="Seconds.")
    schema = config_schema([option])
    audio = schema["properties"]["spec"]["properties"]["audio"]
    assert audio["additionalProperties"] is False and audio["properties"]["max_duration"]["exclusiveMinimum"] == 0
    assert "audio" not in CONFIG_SCHEMA["properties"]["spec"]["properties"]  # the core's schema is not changed


def test_new_source_keys_are_checked(tmp_path):
    text = textwrap.dedent("""\
        apiVersion: tracebloc.io/v1
        kind: IngestConfig
        category: tabular_classification
        table: t
        intent: train
        parquet: a.parquet
        columns: [a, b]
        rename: {id: source_id}
        spec:
          csv_options: {max_field_bytes: 1048576}
          json_options: {nested: flatten}
        """)
    doc, problems = read_config(write(tmp_path, text))
    assert problems == [] and doc["parquet"] == "a.parquet"
    bad = text.replace("nested: flatten", "nested: deep").replace("max_field_bytes: 1048576", "max_field_bytes: 0")
    bad = bad.replace("columns: [a, b]", "columns: []") + "csv: a.csv\n"
    _, problems = read_config(write(tmp_path, bad))
    assert wheres(problems) == [
        "ingest.yaml: columns",
        "ingest.yaml: csv, json, parquet",
        "ingest.yaml: spec.csv_options.max_field_bytes",
        "ingest.yaml: spec.json_options.nested",
    ]
    assert not any("deep" in p.message for p in problems)


def test_deep_nesting_is_refused_without_a_recursion_error(tmp_path):
    path = tmp_path / "ingest.yaml"
    path.write_text("schema: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    _, problems = read_config(path)
    assert [p.message for p in problems] == ["nests values too deeply to be an ingest config"]
