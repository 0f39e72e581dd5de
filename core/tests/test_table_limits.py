"""Too many or too wide columns for the database are refused before anything is written.

``Database.schema_problem`` computes the dialect's limits without touching the database;
these tests hold it against what the real MariaDB/MySQL and SQLite do with CREATE TABLE,
on both sides of each limit, and run the pipeline on such a schema.
"""

from __future__ import annotations

import json
import secrets

import pytest
import sqlalchemy as sa

from tracebloc_ingestor.api import BaseIngestor
from tracebloc_ingestor.schema import FRAMEWORK_COLUMNS, TableSchema
from tracebloc_ingestor.sinks.database import Database, DatabaseError
from tracebloc_ingestor.sinks.db.limits import sqlite_max_columns
from tracebloc_ingestor.testing.runs import has_table, run_plugin

SALT = bytes(range(32))


def creates(db: Database, schema: TableSchema) -> bool:
    """Whether the database really creates the table (dropped again)."""
    try:
        db.prepare("wide", schema, run_id=f"run-{secrets.token_hex(4)}", category="c", salt=SALT)
    except DatabaseError:
        return False
    engine = sa.create_engine(db._dialect.url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {db._dialect.quote('wide')}")
    engine.dispose()
    return True


def columns(**counts: int) -> TableSchema:
    """``VARCHAR(255)=3`` -> three columns of that type (names c0, c1, ...)."""
    mapping, n = {}, 0
    for sql_type, count in counts.items():
        for _ in range(count):
            mapping[f"c{n}"] = sql_type.replace("_", ",")
            n += 1
    return TableSchema.from_mapping(mapping)


# (schema, which limit refuses it or None): each pair straddles a limit of MariaDB/MySQL
MYSQL_CASES = [
    (columns(**{"VARCHAR(255)": 59}), None),
    (columns(**{"VARCHAR(255)": 60}), "65,535"),
    (columns(**{"VARCHAR(255)": 100}), "65,535"),
    (columns(**{"VARCHAR(255)": 59, "VARCHAR(165)": 1}), None),
    (columns(**{"VARCHAR(255)": 59, "VARCHAR(166)": 1}), "65,535"),
    (columns(**{"CHAR(255)": 59, "TEXT": 40}), None),
    (columns(**{"VARCHAR(63)": 31}), None),
    (columns(**{"VARCHAR(63)": 32}), "InnoDB page"),
    (columns(**{"VARCHAR(64)": 32}), None),  # longer text lives off the page
    (columns(**{"BIGINT": 974}), None),
    (columns(**{"BIGINT": 974, "TINYINT": 3}), "InnoDB page"),
    (columns(**{"DECIMAL(38_10)": 436}), None),
    (columns(**{"DECIMAL(38_10)": 437}), "InnoDB page"),
    (columns(**{"DATETIME": 500, "TIME": 300}), None),
    (columns(**{"INT": 1006}), None),
    (columns(**{"INT": 1007}), "1,017"),
]


@pytest.mark.parametrize("schema, limit", MYSQL_CASES, ids=[str(i) for i in range(len(MYSQL_CASES))])
def test_mysql_limits_agree_with_the_server(mysql_url, schema, limit):
    db = Database(mysql_url)
    problem = db.schema_problem(schema)
    assert (problem is None) == (limit is None), problem
    if limit is not None:
        assert limit in problem
    assert creates(db, schema) == (limit is None)
    db.close()


def test_sqlite_limit_agrees_with_the_library(sqlite_url):
    db = Database(sqlite_url)
    most = sqlite_max_columns() - len(FRAMEWORK_COLUMNS)
    assert db.schema_problem(columns(INT=most)) is None and creates(db, columns(INT=most))
    problem = db.schema_problem(columns(INT=most + 1))
    assert f"at most {sqlite_max_columns():,}" in problem and "drop 1 column" in problem
    assert not creates(db, columns(INT=most + 1))
    db.close()


def test_the_message_names_the_limit_and_the_widest_columns():
    schema = TableSchema.from_mapping({"note": "VARCHAR(16000)", "code": "CHAR(2)", **{f"v{i}": "VARCHAR(255)" for i in range(10)}})
    # no server listens there: the check needs none
    problem = Database("mysql+pymysql://nobody@127.0.0.1:9/none").schema_problem(schema)
    assert problem.startswith("a row of the table could take ") and "at most 65,535" in problem
    assert "the widest columns: note VARCHAR(16000) (64,002 bytes), v0 VARCHAR(255) (1,022 bytes)" in problem
    assert "label" not in problem  # the framework's columns are not the user's to change
    assert "and 4 more" in problem


@pytest.fixture(params=["sqlite", "mysql"])
def url(request):
    return request.getfixturevalue(f"{request.param}_url")


class Demo(BaseIngestor):
    category = "demo_classification"


@pytest.mark.parametrize("validate_only", [False, True])
def test_a_run_with_too_many_columns_is_refused_and_writes_nothing(tmp_path, url, validate_only):
    count = 100 if url.startswith("mysql") else sqlite_max_columns()  # too wide, or too many
    names = [f"c{i}" for i in range(count)]
    (tmp_path / "data.csv").write_text(",".join([*names, "label"]) + "\n" + ",".join(["x"] * count + ["yes"]) + "\n"
                                       + ",".join(["y"] * count + ["no"]) + "\n")
    config = {"apiVersion": "tracebloc.io/v1", "kind": "IngestConfig", "category": "demo_classification",
              "table": "wide", "intent": "train", "csv": "data.csv", "schema": {n: "VARCHAR(255)" for n in names}}
    (tmp_path / "ingest.yaml").write_text(json.dumps(config))
    flags = {"config_path": str(tmp_path / "ingest.yaml"), "database_url": url, "output_dir": str(tmp_path / "out"),
             "validate_only": validate_only}
    report, out, err = run_plugin(Demo(), flags)
    assert report.exit_code == 1 and report.status == "invalid"
    (issue,) = report.issues
    assert issue.rule == "table_limits" and ("65,535" in issue.message or f"{sqlite_max_columns():,}" in issue.message)
    assert "[table_limits]" in err
    assert not has_table(url, "wide") and not has_table(url, "tracebloc_ingest_runs")
