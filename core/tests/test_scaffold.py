"""tb-ingest new and tb-ingest categories, against distributions installed into a folder on sys.path."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from tracebloc_ingestor.cli import main
from tracebloc_ingestor.scaffold import ScaffoldError, installed_categories, template_files, write_template
from tracebloc_ingestor.testing.distributions import install_throwaway_distribution

SOURCE = '''
from tracebloc_ingestor.api import BaseIngestor

class Plugin(BaseIngestor):
    category = "scaffold_demo"
    summary = "A demo table for the scaffold tests."
'''


def _dist_info(site, name, version, entry_points, files=None, direct_url=None):
    """An installed distribution by hand: METADATA, entry points, RECORD of ``files`` and the files."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[tracebloc_ingestor]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    record = [f"{info.name}/METADATA,,", f"{info.name}/entry_points.txt,,"]
    for path, text in (files or {}).items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text)
        record.append(f"{path},,")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    install_throwaway_distribution(
        site, dist_name="tb-scaffold-demo", version="1.2", module_name="tbs_demo", module_source=SOURCE,
        entry_points={"scaffold_demo": "tbs_demo:Plugin"},
    )
    install_throwaway_distribution(
        site, dist_name="tb-scaffold-broken", version="0.1", module_name="tbs_broken",
        module_source="import tbs_not_installed_anywhere\n", entry_points={"scaffold_broken": "tbs_broken:Plugin"},
    )
    _dist_info(
        site, "tb-scaffold-templates", "2.0", {"scaffold_tpl": "tbs_demo:Plugin"},
        files={
            "tbs_tpl/templates/scaffold_tpl/ingest.yaml": "table: demo\n",
            "tbs_tpl/templates/scaffold_tpl/data/sample.csv": "a,label\n1,x\n",
            "tbs_tpl/templates/scaffold_tpl/__pycache__/x.cpython-311.pyc": "",
            "tbs_tpl/templates/other/ingest.yaml": "table: other\n",
        },
    )
    project = tmp_path / "project"
    (project / "templates" / "scaffold_edit").mkdir(parents=True)
    (project / "templates" / "scaffold_edit" / "ingestor.py").write_text("print('hi')\n")
    _dist_info(
        site, "tb-scaffold-editable", "3.0", {"scaffold_edit": "tbs_demo:Plugin"},
        direct_url={"url": project.as_uri(), "dir_info": {"editable": True}},
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [n for n in sys.modules if n.startswith("tbs_")]:
        del sys.modules[name]


def test_categories_lists_summaries_and_names_a_broken_plugin_without_stopping(site):
    found = {info.name: info for info in installed_categories()}
    assert found["scaffold_demo"].summary == "A demo table for the scaffold tests."
    assert found["scaffold_demo"].distribution == "tb-scaffold-demo" and found["scaffold_demo"].version == "1.2"
    assert "ModuleNotFoundError" in found["scaffold_broken"].problem and found["scaffold_broken"].summary == ""
    result = CliRunner().invoke(main, ["categories"])
    assert result.exit_code == 0, result.output
    assert "scaffold_demo" in result.output and "A demo table for the scaffold tests." in result.output
    assert "scaffold_broken" in result.output and "cannot be loaded" in result.output
    listed = json.loads(CliRunner().invoke(main, ["categories", "--json"]).output)
    assert {"name": "scaffold_demo", "distribution": "tb-scaffold-demo", "version": "1.2"}.items() <= next(
        i for i in listed if i["name"] == "scaffold_demo"
    ).items()


def test_new_copies_the_template_the_installed_distribution_lists(site, tmp_path):
    assert list(template_files("scaffold_tpl")) == ["data/sample.csv", "ingest.yaml"]
    result = CliRunner().invoke(main, ["new", "scaffold_tpl", str(tmp_path / "mine")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mine" / "ingest.yaml").read_text() == "table: demo\n"
    assert (tmp_path / "mine" / "data" / "sample.csv").is_file()
    assert "cd " in result.output and "python ingestor.py" in result.output


def test_new_finds_an_editable_installs_templates_in_its_project(site, tmp_path):
    target, files = write_template("scaffold_edit", tmp_path / "edit")
    assert files == ["ingestor.py"] and (target / "ingestor.py").read_text() == "print('hi')\n"


def test_new_refuses_an_unknown_category_and_a_folder_in_use(site, tmp_path):
    result = CliRunner().invoke(main, ["new", "no_such_category"])
    assert result.exit_code == 2
    assert "no installed plugin provides category 'no_such_category'" in result.output and "pip install" in result.output
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists"):
        write_template("scaffold_tpl", tmp_path / "used")
    assert (tmp_path / "used" / "keep.txt").read_text() == "mine"
    with pytest.raises(ScaffoldError, match="ships no template"):
        template_files("scaffold_demo")
