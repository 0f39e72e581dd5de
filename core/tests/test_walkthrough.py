"""The "your own data type" walkthrough works as written: its code is taken from the page,
installed as a real distribution and run by ``tb-ingest --plugin`` and the conformance kit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracebloc_ingestor.cli import main
from tracebloc_ingestor.testing.backend_double import BackendDouble
from tracebloc_ingestor.testing.conformance import conformance_suite
from tracebloc_ingestor.testing.distributions import install_throwaway_distribution

PAGE = Path(__file__).resolve().parents[2] / "plugins" / "your-own-data-type.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def block(language: str, first_line: str) -> str:
    for lang, body in BLOCK.findall(PAGE.read_text(encoding="utf-8")):
        if lang == language and body.startswith(first_line):
            return body
    raise AssertionError(f"no {language} block starting with {first_line!r} in {PAGE.name}")


def pdf(pages: int, *, version: str = "1.4", tail: bool = True) -> bytes:
    objects = "".join(f"{n} 0 obj << /Type /Page /Parent 1 0 R >> endobj\n" for n in range(2, pages + 2))
    body = f"%PDF-{version}\n1 0 obj << /Type /Pages /Count {pages} >> endobj\n{objects}"
    return (body + ("trailer << /Root 1 0 R >>\n%%EOF\n" if tail else "")).encode()


def write_sample(folder: Path, files: dict[str, bytes], manifest: str, config: str) -> Path:
    (folder / "documents").mkdir(parents=True)
    for name, data in files.items():
        (folder / "documents" / name).write_bytes(data)
    (folder / "labels.csv").write_text(manifest, encoding="utf-8")
    (folder / "ingest.yaml").write_text(config, encoding="utf-8")
    return folder / "ingest.yaml"


@pytest.fixture
def walkthrough(tmp_path_factory, monkeypatch):
    """The page's plugin, installed from a wheel built of its code, and its two samples."""
    code = block("python", "# src/tracebloc_ingestor_pdf/plugin.py")
    toml = block("toml", "[build-system]")
    entry = re.search(r'^(\w+) = "([\w.:]+)"$', toml.split("[project.entry-points.tracebloc_ingestor]")[1], re.M)
    site = tmp_path_factory.mktemp("site")
    install_throwaway_distribution(
        site, dist_name="tracebloc-ingestor-pdf", version="0.1.0", module_name="tracebloc_ingestor_pdf.plugin",
        module_source=code, entry_points={entry.group(1): entry.group(2)},
    )
    monkeypatch.syspath_prepend(str(site))
    config = block("yaml", "# tests/data/good/ingest.yaml")
    data = tmp_path_factory.mktemp("data")
    good = write_sample(
        data / "good",
        {"invoice_2024_03.pdf": pdf(2), "invoice_2024_04.pdf": pdf(3), "letter_to_smith.pdf": pdf(1, version="1.7"),
         "letter_to_jones.pdf": pdf(1)},
        "filename,label\ninvoice_2024_03,invoice\ninvoice_2024_04.pdf,invoice\nletter_to_smith,letter\nletter_to_jones,letter\n",
        config,
    )
    bad = write_sample(
        data / "bad",
        {"notes.pdf": b"just some private notes, not a pdf at all\n", "cut.pdf": pdf(2, tail=False), "long.pdf": pdf(40),
         "fine.pdf": pdf(1)},
        "filename,label\nnotes,a\ncut,b\nlong,a\nfine,b\n",
        config.replace("documents_sample", "documents_bad"),
    )
    return entry.group(1), good, bad


def test_the_walkthrough_plugin_runs_with_tb_ingest(walkthrough, tmp_path):
    category, good, _bad = walkthrough
    env = {"STORAGE_PATH": str(tmp_path / "shared"), "TRACEBLOC_OUTPUT_DIR": str(tmp_path / "out"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    help_text = CliRunner().invoke(main, ["--plugin", category, "--help"], env={"COLUMNS": "200"}).output
    assert "--max-pages" in help_text and "DOCUMENTS_DIR" in help_text
    result = CliRunner().invoke(main, ["--plugin", category, "--config", str(good)], env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "out" / "documents_sample.registration.json").read_text())["payload"]
    meta = payload["meta_data"]
    assert (meta["documents"], meta["pdf_versions"], meta["document_pages"]["mean"]) == (4, {"1.4": 3, "1.7": 1}, 1.75)
    stored = sorted((tmp_path / "shared" / "documents_sample").glob("*.pdf"))
    assert len(stored) == 4
    assert payload["size_bytes"] == (good.parent / "labels.csv").stat().st_size + sum(p.stat().st_size for p in stored)
    # the page's option, from the environment
    strict = CliRunner().invoke(main, ["--plugin", category, "--config", str(good)], env={**env, "MAX_PAGES": "2"})
    assert strict.exit_code == 1 and "[max_pages]" in strict.output


def test_the_walkthrough_plugin_passes_the_conformance_kit(walkthrough, tmp_path, mysql_url):
    category, good, bad = walkthrough
    kit = conformance_suite(category, sample=good, bad_sample=bad)()
    kit.test_entry_point_is_installed_and_declares_the_category()
    kit.test_sample_ingests_into_sqlite(tmp_path / "a")
    kit.test_sample_ingests_into_mysql(tmp_path / "g", mysql_url)
    kit.test_second_run_changes_nothing(tmp_path / "b")
    kit.test_messages_carry_no_values(tmp_path / "c")
    kit.test_every_option_is_documented()
    kit.test_sources_import_only_the_public_api()
    with BackendDouble() as double:
        kit.test_nothing_raw_reaches_the_backend(tmp_path / "d", double)
    with BackendDouble() as double:
        kit.test_bad_sample_is_refused_and_nothing_is_written(tmp_path / "e", double)
    rules = {i.rule for i in kit.run(tmp_path / "f", bad).report.issues}
    assert rules == {"pdf", "max_pages"}
