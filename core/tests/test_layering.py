"""The layering contract, run over this repository: the core imports no distribution, and
every distribution and example plugin imports only the public API.

The checker reads source text only, so it runs in the core's own environment. The last
tests break the contract on purpose and show that the checker says where.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tracebloc_ingestor.testing.layering import core_violations, main, public_api_violations

REPO = Path(__file__).resolve().parents[2]
CORE_SRC = REPO / "core" / "src" / "tracebloc_ingestor"


def plugin_sources() -> list[Path]:
    found = sorted(REPO.glob("tracebloc-ingestor-*/src")) + sorted(REPO.glob("plugins/*/src"))
    return [p for p in found if p.is_dir()]


def test_the_repository_holds_the_distributions_it_checks():
    names = {p.parent.name for p in plugin_sources()}
    assert {"tracebloc-ingestor-tabular", "tracebloc-ingestor-image", "tracebloc-ingestor-text",
            "tracebloc-ingestor-timeseries", "template", "example-pii-guard"} <= names


def test_the_core_imports_no_distribution():
    assert core_violations([CORE_SRC]) == []


@pytest.mark.parametrize("src", plugin_sources(), ids=lambda p: p.parent.name)
def test_distributions_import_only_the_public_api(src):
    violations = public_api_violations([src])
    assert violations == [], "\n".join(map(str, violations))


def test_a_private_import_is_caught_with_its_file_and_line(tmp_path):
    module = tmp_path / "broken_plugin" / "plugin.py"
    module.parent.mkdir()
    module.write_text(
        "from tracebloc_ingestor.api import Category\n"
        "import tracebloc_ingestor.settings\n"
        "from tracebloc_ingestor.files.store import FileStore\n"
        "from tracebloc_ingestor import Issue, pipeline\n"
        "from tracebloc_ingestor.testing.runs import run_plugin\n",
        encoding="utf-8",
    )
    found = [(v.line, v.module) for v in public_api_violations([tmp_path])]
    assert found == [
        (2, "tracebloc_ingestor.settings"),
        (3, "tracebloc_ingestor.files.store"),
        (4, "tracebloc_ingestor.pipeline"),
        (5, "tracebloc_ingestor.testing.runs"),
    ]
    # in a plugin's tests the testing kit is fine
    assert [v.line for v in public_api_violations([tmp_path], tests=True)] == [2, 3, 4]
    assert main([str(tmp_path)]) == 1 and main([str(CORE_SRC / "api.py")]) == 0


def test_a_core_module_that_imports_a_distribution_is_caught(tmp_path):
    module = tmp_path / "validation.py"
    module.write_text("def f():\n    from tracebloc_ingestor_image.validators import ImageResolutionValidator\n", encoding="utf-8")
    assert [(v.line, v.module) for v in core_violations([tmp_path])] == [(2, "tracebloc_ingestor_image.validators")]


def test_the_package_root_never_raises_import_errors_for_distribution_names():
    import tracebloc_ingestor

    # a name a distribution may export (or not, in a core-only install): never an ImportError
    assert isinstance(hasattr(tracebloc_ingestor, "ImageResolutionValidator"), bool)
    assert not hasattr(tracebloc_ingestor, "NoSuchThingAnywhere")
    namespace: dict = {}
    exec("from tracebloc_ingestor import *", namespace)
    assert {"BaseIngestor", "Category", "Option", "FileTypeValidator", "TableNameValidator"} <= set(namespace)
