"""The time-series categories split into shards: what may be split, and how rules over the input still hold."""

from __future__ import annotations

import pytest
from tracebloc_ingestor.testing.runs import run_plugin, table_rows
from tracebloc_ingestor.testing.shards import run_shards, seed_salt
from tracebloc_ingestor_timeseries import TimeSeriesClassification, TimeSeriesForecasting, TimeToEventPrediction

RUN = "56f65c7e-fcf0-4a6a-bbaa-34e54cfdfbf6"
TTE_SCHEMA = {"age": "INT", "time": "DOUBLE"}
TSC_SCHEMA = {"step": "INT", "x": "INT"}


def _flags(tmp_path, url, text, schema, **more):
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    return {"database_url": url, "output_dir": str(tmp_path / "o"), "label_file": str(tmp_path / "d.csv"),
            "table": "t", "schema": schema, **more}


@pytest.mark.parametrize("plugin,schema,message", [
    (TimeSeriesForecasting(), {"timestamp": "DATETIME", "x": "DOUBLE"}, "time order and the period frequency"),
    (TimeToEventPrediction(), {"age": "INT"}, "needs the time column's type in the schema (time: ...)"),
    (TimeToEventPrediction(), None, "needs a declared schema"),
])
def test_what_cannot_be_split_is_refused_before_anything_is_read(tmp_path, plugin, schema, message):
    flags = _flags(tmp_path, "mysql+pymysql://u@db.invalid/d", "age,time,label\n1,2,1\n", schema, shard="0/2")
    report, _out, err = run_plugin(plugin, flags, {"INGESTOR_ID": RUN})
    assert report.exit_code == 2
    assert message in err


def test_both_event_indicators_are_counted_over_every_shard(tmp_path, mysql_url):
    # one event among many censored records: some shard sees only censored ones, and is right to pass
    body = "age,time,label\n" + "".join(f"{20 + i},{i}.5,{'true' if i == 7 else '0'}\n" for i in range(40))
    flags = _flags(tmp_path, mysql_url, body, TTE_SCHEMA)
    results = run_shards(TimeToEventPrediction(), flags, {}, 3)
    assert [r[0].exit_code for r in results] == [0, 0, 0], [r[1] + r[2] for r in results]
    assert len(table_rows(mysql_url, "t")) == 40


def test_one_indicator_in_the_whole_input_fails_every_shard(tmp_path, mysql_url):
    body = "age,time,label\n" + "".join(f"{20 + i},{i},0\n" for i in range(30))
    flags = _flags(tmp_path, mysql_url, body, TTE_SCHEMA)
    results = run_shards(TimeToEventPrediction(), flags, {}, 3)
    for report, _out, _err in results:
        assert report.exit_code == 1
        assert {i.rule for i in report.issues if i.is_error} == {"label_diversity"}
    assert table_rows(mysql_url, "t") is None


SEQUENCES = "sequence_id,step,x,label\n" + "".join(
    f"s{k},{step},{k * 10 + step},{'up' if k % 2 else 'down'}\n" for step in range(1, 6) for k in range(12)
)


def test_a_sequence_stays_in_one_shard_and_the_table_is_one_processes(tmp_path, mysql_url):
    from tracebloc_ingestor.testing.mysql import temporary_database

    (tmp_path / "one").mkdir()
    with temporary_database() as one_url:
        report, out, err = run_plugin(TimeSeriesClassification(),
                                      _flags(tmp_path / "one", one_url, SEQUENCES, TSC_SCHEMA, time_column="step"), {})
        assert report.exit_code == 0, out + err
        seed_salt(one_url, mysql_url, "t")
        expected = sorted(r[4:10] for r in table_rows(one_url, "t"))  # label, intent, data_id, file columns
    flags = _flags(tmp_path, mysql_url, SEQUENCES, TSC_SCHEMA, time_column="step")
    results = run_shards(TimeSeriesClassification(), flags, {}, 3)
    assert [r[0].exit_code for r in results] == [0, 0, 0], [r[1] + r[2] for r in results]
    assert sorted(r[4:10] for r in table_rows(mysql_url, "t")) == expected
    assert len(expected) == 60


def test_a_label_change_inside_a_sequence_is_found_in_its_shard(tmp_path, mysql_url):
    body = SEQUENCES.replace("s3,4,34,up", "s3,4,34,down")
    flags = _flags(tmp_path, mysql_url, body, TSC_SCHEMA, time_column="step")
    results = run_shards(TimeSeriesClassification(), flags, {}, 3)
    assert [r[0].exit_code for r in results] == [1, 1, 1]
    found = [r for r in results if any(i.rule == "label_constant" for i in r[0].issues)]
    assert len(found) == 1  # the shard that holds sequence s3
    assert table_rows(mysql_url, "t") is None

