"""pii_guard next to a category: refuses identifiers by place and rule, never by value."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracebloc_ingestor.api import BaseIngestor
from tracebloc_ingestor.cli import main
from tracebloc_ingestor.loader import category_table, installed_plugins, load_plugins, new_plugin_manager
from tracebloc_ingestor.testing.distributions import install_throwaway_distribution
from tracebloc_ingestor.testing.layering import public_api_violations
from tracebloc_ingestor.testing.runs import run_plugin
import tracebloc_ingestor_pii_guard
from tracebloc_ingestor_pii_guard import ALLOW, PiiGuard, identifier_kind, is_iban

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


CONFIG = "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: people\ntable: people\nintent: train\ncsv: people.csv\n"


def ingest(tmp_path, csv_text, *, plugins=(), flags=None, environ=None, batch_size=None):
    """One run of an inline `people` category with a fresh plugin manager."""
    src = tmp_path / "people.csv"
    src.write_text(csv_text, encoding="utf-8")
    environ = {"LABEL_FILE": str(src), "TABLE_NAME": "people", "SRC_PATH": str(tmp_path), **(environ or {})}
    if batch_size:
        environ["BATCH_SIZE"] = str(batch_size)
    db = tmp_path / "ingest.sqlite"
    base = {"category": "people", "database_url": f"sqlite:///{db}", "output_dir": str(tmp_path / "out")}
    report, out, err = run_plugin(BaseIngestor("people"), {**base, **(flags or {})}, environ, plugins=plugins)
    return report, out + err, db


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


@pytest.mark.parametrize("form", ["flag", "environment", "ingest.yaml"])
def test_the_allow_list_is_an_option_in_every_form(tmp_path, form):
    flags, environ = {"plugins": ["pii_guard"]}, {}
    if form == "flag":
        flags["pii_guard_allow"] = "notes,contact"
    elif form == "environment":
        environ["PII_GUARD_ALLOW"] = "notes, contact"
    else:
        (tmp_path / "ingest.yaml").write_text(CONFIG + "spec:\n  pii_guard:\n    allow: [notes, contact]\n", encoding="utf-8")
        flags["config_path"] = str(tmp_path / "ingest.yaml")
    report, text, _ = ingest(tmp_path, PEOPLE, flags=flags, environ=environ)
    assert report.exit_code == 0, text
    assert report.issue_count == 0


def test_the_inline_list_and_the_option_add_up(tmp_path):
    csv_text = PEOPLE.replace("customer_ref,contact", "customer_ref,contact_email")
    only_inline, _, _ = ingest(tmp_path, csv_text, plugins=[PiiGuard(allow=["contact"])])
    assert places(only_inline) == [(0, "contact_email", "pii_column_name")]
    both, text, _ = ingest(tmp_path, csv_text, plugins=[PiiGuard(allow=["contact"])], environ={"PII_GUARD_ALLOW": "contact_email"})
    assert both.exit_code == 0, text


def test_a_bad_allow_list_is_refused_at_start_naming_where_it_came_from(tmp_path):
    (tmp_path / "ingest.yaml").write_text(CONFIG + "spec:\n  pii_guard:\n    allow: 5\n", encoding="utf-8")
    flags = {"plugins": ["pii_guard"], "config_path": str(tmp_path / "ingest.yaml")}
    report, text, db = ingest(tmp_path, PEOPLE, flags=flags)
    assert report.exit_code == 2
    assert "spec.pii_guard.allow" in text and "list of names" in text
    assert not db.exists() or not has_table(db, "people")


def test_help_lists_the_option():
    result = CliRunner().invoke(main, ["--plugin", "pii_guard", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for form in (ALLOW.flag, ALLOW.env, ALLOW.yaml):
        assert form in result.output
    assert ALLOW.help.strip()


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
        module_source="from tracebloc_ingestor.api import BaseIngestor\n\nclass People(BaseIngestor):\n    category = 'people'\n",
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


def test_sources_import_only_the_public_api():
    assert public_api_violations([Path(tracebloc_ingestor_pii_guard.__file__).parent]) == []
