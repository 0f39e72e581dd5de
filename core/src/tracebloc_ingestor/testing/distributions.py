"""Build and install a throwaway plugin distribution, for tests of discovery and loading.

The wheel is real (METADATA, WHEEL, entry_points.txt and a RECORD with sha256 hashes) and
is installed into a folder by a real installer, so a test sees exactly what an installed
plugin looks like: put the folder on ``sys.path`` (``monkeypatch.syspath_prepend``) and
pass it as ``path=[...]`` to discovery.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Mapping

from ..markers import ENTRY_POINT_GROUP

__all__ = ["install_throwaway_distribution", "build_wheel", "default_installer"]

log = logging.getLogger(__name__)

INSTALLERS = ("pip", "uv", "unzip")


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def build_wheel(
    folder: Path,
    *,
    dist_name: str,
    version: str,
    module_name: str,
    module_source: str,
    entry_points: Mapping[str, str],
    group: str = ENTRY_POINT_GROUP,
) -> Path:
    """Write a pure-Python wheel into ``folder`` and return its path.

    A dotted ``module_name`` becomes a package path with empty ``__init__.py`` files.
    """
    stem = re.sub(r"[-_.]+", "_", dist_name).lower()
    info = f"{stem}-{version}.dist-info"
    parts = module_name.split(".")
    files: dict[str, str] = {}
    for i in range(1, len(parts)):
        files["/".join(parts[:i]) + "/__init__.py"] = ""
    files["/".join(parts) + ".py"] = module_source
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n"
    files[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: tracebloc_ingestor.testing\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = f"[{group}]\n" + "".join(
        f"{name} = {value}\n" for name, value in entry_points.items()
    )
    record = []
    wheel = folder / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            data = text.encode("utf-8")
            zf.writestr(name, data)
            record.append(f"{name},{_record_hash(data)},{len(data)}\n")
        record.append(f"{info}/RECORD,,\n")
        zf.writestr(f"{info}/RECORD", "".join(record))
    return wheel


def default_installer() -> str:
    """The installer :func:`install_throwaway_distribution` uses when none is named."""
    if importlib.util.find_spec("pip") is not None:
        return "pip"
    if shutil.which("uv") is not None:
        return "uv"
    return "unzip"


def _install(wheel: Path, target: Path, installer: str) -> None:
    if installer == "unzip":
        # Installing a pure-Python wheel is unpacking it (no scripts, no data folders).
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(target)
        return
    if installer == "pip":
        cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
    elif installer == "uv":
        uv = shutil.which("uv")
        if uv is None:
            raise RuntimeError("installer 'uv' requested but uv is not on PATH")
        cmd = [uv, "pip", "install", "--python", sys.executable, "--no-cache", "--quiet"]
        cmd += ["--no-deps", "--no-index"]
    else:
        raise ValueError(f"unknown installer {installer!r}; use one of {', '.join(INSTALLERS)}")
    cmd += ["--target", str(target), str(wheel)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{installer} could not install {wheel.name} (exit {done.returncode}): {done.stderr.strip()}"
        )


def install_throwaway_distribution(
    target: Path,
    *,
    dist_name: str,
    version: str,
    module_name: str,
    module_source: str,
    entry_points: Mapping[str, str],
    group: str = ENTRY_POINT_GROUP,
    installer: str | None = None,
) -> Path:
    """Build a wheel of one module and install it into ``target``; return ``target``.

    ``entry_points`` maps entry-point names to ``"module:attr"`` values in ``group``.
    ``installer`` is ``"pip"`` (``python -m pip`` of ``sys.executable``), ``"uv"``
    (``uv pip install --python sys.executable``) or ``"unzip"``; by default the first one
    available, in that order (see :func:`default_installer`). The choice is logged.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    chosen = installer or default_installer()
    with tempfile.TemporaryDirectory(prefix="tb-wheel-") as tmp:
        wheel = build_wheel(
            Path(tmp),
            dist_name=dist_name,
            version=version,
            module_name=module_name,
            module_source=module_source,
            entry_points=entry_points,
            group=group,
        )
        _install(wheel, target, chosen)
    log.info("installed %s %s into %s with %s", dist_name, version, target, chosen)
    return target
