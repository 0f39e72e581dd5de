"""The layering contract: the core imports no distribution; plugins import only the public API.

Both rules are checked on source text (``ast``), so nothing is imported and nothing
needs to be installed: ``public_api_violations(folder)`` lists every import in a
plugin's sources that reaches past ``tracebloc_ingestor.api`` (and the package root's
public names); ``core_violations(folder)`` every import of a ``tracebloc_ingestor_*``
package in the core. Each violation names the file, the line and the import. Run it as
``python -m tracebloc_ingestor.testing.layering <plugin src folder>...``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Iterable, Iterator

import attrs

CORE = "tracebloc_ingestor"
#: modules of the core a plugin may import from
PUBLIC_MODULES = frozenset({"tracebloc_ingestor", "tracebloc_ingestor.api"})
#: what a plugin's tests may import besides (fixtures, the conformance kit, the backend double)
TEST_MODULES = frozenset({"tracebloc_ingestor.testing"})


@attrs.frozen
class Violation:
    file: str
    line: int
    module: str
    rule: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: imports {self.module} ({self.rule})"


def _imports(path: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names imported from it) for every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, tuple(alias.name for alias in node.names)


def _sources(folders: Iterable[Path]) -> Iterator[Path]:
    for folder in folders:
        folder = Path(folder)
        yield from ([folder] if folder.is_file() else sorted(folder.rglob("*.py")))


def _private_submodules() -> frozenset[str]:
    # every module or package of the core but the public ones, by its file name
    root = Path(__file__).resolve().parents[1]
    names = {p.stem for p in root.glob("*.py")} | {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    return frozenset(names - {"__init__", "api", "testing"})


def public_api_violations(folders: Iterable[Path], *, tests: bool = False) -> list[Violation]:
    """Imports of the core's private modules in a plugin's sources (``tests``: allow the testing kit too)."""
    allowed = PUBLIC_MODULES | (TEST_MODULES if tests else frozenset())
    private = _private_submodules()
    found = []
    for path in _sources(folders):
        for line, module, names in _imports(path):
            if module != CORE and not module.startswith(CORE + "."):
                continue
            ok = module in allowed or any(module.startswith(a + ".") for a in allowed if a != CORE)
            if ok and module == CORE:
                bad = [n for n in names if n in private]
                if bad:
                    found.append(Violation(str(path), line, f"{CORE}.{bad[0]}", "a private module of the core"))
                continue
            if not ok:
                found.append(Violation(str(path), line, module, "plugins import only tracebloc_ingestor.api"))
    return found


def core_violations(folders: Iterable[Path]) -> list[Violation]:
    """Imports of any ``tracebloc_ingestor_*`` distribution in the core's sources."""
    found = []
    for path in _sources(folders):
        for line, module, _names in _imports(path):
            if module.split(".")[0].startswith(CORE + "_"):
                found.append(Violation(str(path), line, module, "the core imports no distribution"))
    return found


def main(argv: list[str] | None = None) -> int:
    folders = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    violations = public_api_violations(folders)
    for violation in violations:
        print(violation)
    return 1 if violations else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
