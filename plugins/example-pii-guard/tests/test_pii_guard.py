"""pii_guard next to a category: refuses identifiers by place and rule, never by value."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tracebloc_ingestor import BaseIngestor
from tracebloc_ingestor.loader import category_table, installed_plugins, load_plugins, new_plugin_manager
from tracebloc_ingestor.runner import run_ingestion
from tracebloc_ingestor.testing.distributions import install_throwaway_distribution
from tracebloc_ingestor_pii_guard import PiiGuard, identifier_kind, is_iban

ADDRESS = "jane.roe@example.org"
IBAN = "DE89 3704 0044 0532 0130 00"
PEOPLE = (
    "customer_ref,contact,age,label\n"
    "C1,call back,34,yes\n"
    f"C2,{ADDRESS},51,no\n"
    "C3,,29,yes\n"
    "C4,no answer,47,no\n"
)
CLEAN = "customer_ref,age,city,label\nC1,34,Berlin,yes\nC2,51,Paris,no\nC3,29,Rome,yes\n"


def ingest(tmp_path, csv_text, *, plugins=(), flags=None, batch_size=None):
    """One run of an inline `people` category with a fresh plugin manager."""
    src = tmp_path / "people.csv"
    src.write_text(csv_text, encoding="utf-8")
    environ = {"LABEL_FILE": str(src), "TABLE_NAME": "people", "SRC_PATH": str(tmp_path)}
    if batch_size:
        environ["BATCH_SIZE"] = str(batch_size)
    db = tmp_path / "ingest.sqlite"
    base = {"category": "people", "database_url": f"sqlite:///{db}", "output_dir": str(tmp_path / "out")}
    out, err = io.StringIO(), io.StringIO()
    report = run_ingestion(
        {**base, **(flags or {})},
        environ,
        plugins=[BaseIngestor("people"), *plugins],
        pm=new_plugin_manager(),
        out=out,
        err=err,
    )
    return report, out.getvalue() + err.getvalue(), db


def places(report):
    return sorted(((i.row or 0), i.column, i.rule) for i in report.issues)


def has_table(db, name):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


# -- the rules on their own -------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["email", "E-Mail", "customerEmail", "email_address", "phone_number", "Telephone", "mobile_no", "SSN",
     "national_id", "IBAN", "bank_account", "passport_no", "full_name", "firstName", "Surname", "date_of_birth",
     "street_address", "ip_address"],
)  # fmt: skip
def test_identifier_names_are_recognised(name):
    assert identifier_kind(name) is not None


@pytest.mark.parametrize(
    "name", ["age", "city", "product_name", "email_verified", "phone_calls_count", "hotel", "label", "account_type"]
)
def test_ordinary_names_pass(name):
    assert identifier_kind(name) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (IBAN, True),
        ("GB29NWBK60161331926819", True),
        ("gb29 nwbk 6016 1331 9268 19", True),
        ("DE89370400440532013001", False),  # check digits do not fit
        ("DE8937040044053201300", False),  # one character short for Germany
        ("ZZ89370400440532013000", False),  # no such country
    ],
)
def test_iban_check(text, expected):
    assert is_iban(text) is expected


# -- discovery ----------------------------------------------------------------------------


def test_entry_point_is_discoverable_and_adds_no_category():
    found = {(p.name, p.distribution) for p in installed_plugins()}
    assert ("pii_guard", "tracebloc-ingestor-pii-guard") in found
    pm = new_plugin_manager()
    load_plugins(pm, ["pii_guard"])
    assert pm.get_plugin("tracebloc-ingestor-pii-guard:pii_guard") is not None
    assert category_table(pm) == {}


# -- runs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["inline", "entry point"])
def test_an_address_fails_the_run_by_place_not_value(tmp_path, how):
    kwargs = {"plugins": [PiiGuard()]} if how == "inline" else {"flags": {"plugins": ["pii_guard"]}}
    report, text, db = ingest(tmp_path, PEOPLE, **kwargs)
    assert report.exit_code == 1
    assert places(report) == [(2, "contact", "pii_email")]
    assert "people.csv, row 2, column 'contact': [pii_email]" in text
    assert ADDRESS not in text and "jane" not in text
    assert not has_table(db, "people")
    # The value is kept only in the local rejects report.
    assert ADDRESS in Path(report.rejects_path).read_text(encoding="utf-8")


def test_identifier_columns_and_ibans_are_refused(tmp_path):
    csv_text = f"ref,E-Mail,payout,age,label\nC1,x,{IBAN},30,yes\nC2,y,none,40,no\nC3,z,DE89370400440532013001,50,yes\n"
    report, text, _ = ingest(tmp_path, csv_text, plugins=[PiiGuard()])
    assert report.exit_code == 1
    assert places(report) == [(0, "E-Mail", "pii_column_name"), (1, "payout", "pii_iban")]
    assert "e-mail address" in text and "[pii_column_name]" in text
    assert "3704" not in text


def test_an_allowed_column_passes(tmp_path):
    report, text, db = ingest(tmp_path, PEOPLE, plugins=[PiiGuard(allow=["contact"])])
    assert report.exit_code == 0, text
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM people").fetchone() == (4,)


def test_clean_data_passes(tmp_path):
    report, text, _ = ingest(tmp_path, CLEAN, flags={"plugins": ["pii_guard"]})
    assert report.exit_code == 0, text
    assert report.issue_count == 0


def test_many_matches_are_listed_up_to_a_limit_and_counted(tmp_path):
    rows = "".join(f"C{i},user{i}@example.com,{'yes' if i % 2 else 'no'}\n" for i in range(1, 31))
    report, text, _ = ingest(tmp_path, "ref,contact,label\n" + rows, plugins=[PiiGuard()], batch_size=7)
    assert report.exit_code == 1
    listed = [i.row for i in report.issues if i.row is not None]
    assert listed == list(range(1, 11))  # across batches of 7 rows
    closing = [i for i in report.issues if i.row is None]
    assert len(closing) == 1 and closing[0].column == "contact" and "20 more rows" in closing[0].message
    assert "@example.com" not in text


# -- the command line, as documented ------------------------------------------------------


def test_tb_ingest_with_a_category_plugin_and_the_allow_list(tmp_path):
    tb = shutil.which("tb-ingest", path=os.path.dirname(sys.executable))
    assert tb, "tb-ingest is installed next to this Python"
    # A throwaway installed distribution provides the category, as a real one would.
    site = install_throwaway_distribution(
        tmp_path / "site",
        dist_name="tracebloc-ingestor-people",
        version="0.1",
        module_name="tb_people_category",
        module_source="from tracebloc_ingestor import BaseIngestor\n\nclass People(BaseIngestor):\n    category = 'people'\n",
        entry_points={"people": "tb_people_category:People"},
    )
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DB_", "PII_GUARD"))}
    env.pop("DATABASE_URL", None)
    env.update(
        PYTHONPATH=str(site),
        SRC_PATH=str(tmp_path),
        LABEL_FILE="people.csv",
        TABLE_NAME="people",
        DATABASE_URL=f"sqlite:///{tmp_path / 'ingest.sqlite'}",
        TRACEBLOC_OUTPUT_DIR=str(tmp_path / "out"),
    )
    cmd = [tb, "--plugin", "people", "--plugin", "pii_guard"]
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "people.csv, row 2, column 'contact': [pii_email]" in refused.stderr
    assert ADDRESS not in refused.stdout + refused.stderr

    allowed = subprocess.run(cmd, env={**env, "PII_GUARD_ALLOW": "notes, contact"}, capture_output=True, text=True, timeout=120)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "Inserted to Database: 4" in allowed.stdout
