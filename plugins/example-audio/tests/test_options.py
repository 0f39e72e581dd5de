"""The audio options in their three forms: flags, environment variables and ingest.yaml keys."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from tracebloc_ingestor.api import OptionError
from tracebloc_ingestor.cli import main
from tracebloc_ingestor_audio import AUDIO, MAX_DURATION, MIN_DURATION, SAMPLE_RATES, SampleRates

OPTIONS = (AUDIO, MAX_DURATION, MIN_DURATION, SAMPLE_RATES)
# option -> (value as text, as YAML, the sample rows it refuses, their rule); the sample's
# clips last 0.25 s but tone_03 and noise_02 (rows 5 and 4), all at 8 kHz
LIMITS = {
    "max_duration": ("0.3", "0.3", {4, 5}, "max_duration"),
    "min_duration": ("0.3", "0.3", {1, 2, 3, 6, 7, 8}, "min_duration"),
    "sample_rates": ("16000,44100", "[16000, 44100]", set(range(1, 9)), "sample_rate"),
}


def given(kit, tmp_path, form, name, text, yaml_value):
    """(flags, environment) giving option ``name`` in ``form``, for a copy of the template."""
    config = kit.copy_template(tmp_path / "src")
    flags, environ = {"config_path": str(config), "validate_only": True}, {}
    option = next(o for o in OPTIONS if o.name == name)
    if form == "flag":
        flags[name] = text
    elif form == "environment":
        environ[option.env] = text
    else:
        *parents, key = option.yaml.split(".")
        lines = [f"{'  ' * depth}{part}:" for depth, part in enumerate(parents)] + [f"{'  ' * len(parents)}{key}: {yaml_value}"]
        config.write_text(config.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")
    return flags, environ


@pytest.mark.parametrize("form", ["flag", "environment", "ingest.yaml"])
@pytest.mark.parametrize("name", sorted(LIMITS))
def test_every_limit_is_read_in_every_form(tmp_path, kit, form, name):
    text, yaml_value, rows, rule = LIMITS[name]
    flags, environ = given(kit, tmp_path, form, name, text, yaml_value)
    report, output = kit.ingest(tmp_path, flags, environ)
    assert report.exit_code == 1, output
    assert {(i.row, i.rule) for i in report.issues} == {(row, rule) for row in rows}


@pytest.mark.parametrize("form", ["flag", "environment", "ingest.yaml"])
def test_the_audio_folder_is_read_in_every_form(tmp_path, kit, form):
    config = kit.copy_template(tmp_path / "src")
    (tmp_path / "src" / "audio").rename(tmp_path / "src" / "clips")
    text = config.read_text(encoding="utf-8")
    flags, environ = {"config_path": str(config), "validate_only": True}, {}
    if form == "flag":
        flags["audio"] = "clips"
    elif form == "environment":
        environ["AUDIO_DIR"] = "clips"
    config.write_text(text.replace("\naudio: audio", "\naudio: clips" if form == "ingest.yaml" else ""), encoding="utf-8")
    report, output = kit.ingest(tmp_path, flags, environ)
    assert report.exit_code == 0, output
    config.write_text(text.replace("\naudio: audio", ""), encoding="utf-8")
    missing, _ = kit.ingest(tmp_path, {"config_path": str(config), "validate_only": True})
    assert ("missing_folder", "audio") in {(i.rule, i.file) for i in missing.issues}


@pytest.mark.parametrize(("raw", "rates"), [("16000, 44100,16000", (16_000, 44_100)), ([8000], (8_000,)), (8000, (8_000,))])
def test_sample_rates_parse(raw, rates):
    assert SampleRates().parse(raw) == rates


@pytest.mark.parametrize("raw", ["", "0", "fast", "\u00b2", "8000,", [True], [1.5], [], None])
def test_sample_rates_refuse_what_is_no_rate(raw):
    with pytest.raises(OptionError, match="whole numbers above 0"):
        SampleRates().parse(raw)


def test_one_sample_rate_may_be_a_number_in_ingest_yaml(tmp_path, kit):
    flags, environ = given(kit, tmp_path, "ingest.yaml", "sample_rates", "", "8000")
    report, output = kit.ingest(tmp_path, flags, environ)
    assert report.exit_code == 0, output


def test_bad_values_are_refused_at_start_naming_where_they_came_from(tmp_path, kit):
    config = kit.copy_template(tmp_path / "src")
    config.write_text(config.read_text(encoding="utf-8") + "spec:\n  file_options:\n    sample_rates: [8000, 0]\n", encoding="utf-8")
    environ = {"MAX_DURATION": "0", "MIN_DURATION": "-1"}
    report, output = kit.ingest(tmp_path, {"config_path": str(config), "sample_rates": "fast"}, environ)
    assert report.exit_code == 2
    for where in ("environment MAX_DURATION", "environment MIN_DURATION", "--sample-rates"):
        assert where in output
    assert "fast" not in output
    # the flag hides the ingest.yaml value, which is still checked against the schema
    assert "spec.file_options.sample_rates" in output
    assert not (tmp_path / "shared").exists()


def test_min_duration_above_max_duration_is_refused_before_reading(tmp_path, kit):
    config = kit.copy_template(tmp_path / "src")
    report, output = kit.ingest(tmp_path, {"config_path": str(config), "min_duration": "5", "max_duration": "2"})
    assert report.exit_code == 2
    assert "--min-duration (min_duration): is above max_duration: no clip could pass" in output
    assert not (tmp_path / "shared" / "audio_sample").exists()


def test_unknown_file_options_are_refused(tmp_path, kit):
    config = kit.copy_template(tmp_path / "src")
    config.write_text(config.read_text(encoding="utf-8") + "spec:\n  file_options:\n    max_durations: 5\n", encoding="utf-8")
    report, output = kit.ingest(tmp_path, {"config_path": str(config)})
    assert report.exit_code == 2
    assert "spec.file_options.max_durations: unknown key" in output


def test_help_lists_every_option_in_its_forms():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEBLOC_")}
    result = CliRunner().invoke(main, ["--plugin", "audio_classification", "--help"], env={**env, "COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for option in OPTIONS:
        assert option.help
        for form in (option.flag, option.env, option.yaml):
            assert form in result.output
    assert "default 600" in result.output
