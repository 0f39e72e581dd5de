"""``tb-ingest new`` and ``tb-ingest categories``: start from a category's template, see what is installed.

Every data-type distribution ships its templates inside its wheel
(``<package>/templates/<category>/``: ``ingestor.py``, ``ingest.yaml``, sample data and
a README). They are found through the installed distribution's own file list, so they
work from a plain ``pip install``; an editable install (PEP 660) lists no package
files, and its templates are read from the project folder its ``direct_url.json``
names.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import shutil
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import attrs

__all__ = ["CategoryInfo", "ScaffoldError", "installed_categories", "template_files", "write_template"]


class ScaffoldError(Exception):
    """The template cannot be written; the message says why and what to do."""


@attrs.frozen
class CategoryInfo:
    """One installed entry point as ``tb-ingest categories`` lists it."""

    name: str
    distribution: str
    version: str
    summary: str = ""
    problem: str | None = None  # why the plugin could not be loaded
    is_category: bool = True


def installed_categories() -> list[CategoryInfo]:
    """Every installed entry point with its category's summary, each plugin loaded on its own.

    A plugin that fails to load is listed with the reason and does not stop the listing.
    """
    from .loader import category_table, installed_plugins, load_plugins, new_plugin_manager

    found = []
    for info in installed_plugins():
        pm = new_plugin_manager()
        try:
            load_plugins(pm, [info.name])
            spec = category_table(pm).get(info.name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is named, the others still listed
            found.append(CategoryInfo(info.name, info.distribution, info.version, problem=f"{type(exc).__name__}: {exc}"))
            continue
        if spec is None:
            found.append(CategoryInfo(info.name, info.distribution, info.version, is_category=False))
        else:
            found.append(CategoryInfo(info.name, info.distribution, info.version, spec[0].summary))
    return found


def _provider(category: str) -> metadata.Distribution:
    from .loader import installed_plugins

    names = [info for info in installed_plugins() if info.name == category]
    if not names:
        known = sorted({info.name for info in installed_plugins()})
        hint = f"installed: {', '.join(known)}" if known else "no plugin is installed"
        raise ScaffoldError(
            f"no installed plugin provides category {category!r} ({hint}); "
            "install its distribution, e.g. pip install tracebloc-ingestor-image, and see: tb-ingest categories"
        )
    return metadata.distribution(names[0].distribution)


def template_files(category: str) -> dict[str, Path]:
    """The files of ``category``'s template: path inside the template folder -> installed file."""
    dist = _provider(category)
    found: dict[str, Path] = {}
    for entry in dist.files or ():
        parts = PurePosixPath(str(entry)).parts
        for i in range(len(parts) - 2):
            if parts[i] == "templates" and parts[i + 1] == category:
                inner = parts[i + 2 :]
                if "__pycache__" not in inner and not inner[-1].endswith(".pyc"):
                    found["/".join(inner)] = Path(str(dist.locate_file(entry)))
                break
    if not found:
        found = _editable_templates(dist, category)
    if not found:
        raise ScaffoldError(f"{dist.metadata['Name']} {dist.version} provides {category!r} but ships no template for it")
    return dict(sorted(found.items()))


def _editable_templates(dist: metadata.Distribution, category: str) -> dict[str, Path]:
    """An editable install's templates, from the project folder its direct_url.json names."""
    try:
        origin = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return {}
    if not origin.get("dir_info", {}).get("editable"):
        return {}
    url = urlsplit(origin.get("url", ""))
    if url.scheme != "file":
        return {}
    folder = Path(unquote(url.path)) / "templates" / category
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def write_template(category: str, directory: Path | None = None) -> tuple[Path, list[str]]:
    """Copy ``category``'s template into ``directory`` (default ``./<category>``); returns it and the files written."""
    files = template_files(category)
    target = Path(directory) if directory is not None else Path(category)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} already exists and is not an empty folder; choose another DIR")
    for inner, source in files.items():
        destination = target / inner
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    return target, list(files)
