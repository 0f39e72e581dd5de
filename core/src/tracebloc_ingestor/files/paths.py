"""Manifest values are untrusted: they must name a file inside their folder, nothing else."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

ESCAPE = "path_escape"
_DRIVE = re.compile(r"^[A-Za-z]:")


class PathProblem(ValueError):
    """A manifest value that cannot be used as a path; ``rule`` names the check."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def relative_name(value: str) -> PurePosixPath:
    """The value as a relative POSIX path, or PathProblem when it is absolute or climbs up.

    Backslashes count as separators so that a Windows-made manifest cannot slip ``..\\``
    past the check.
    """
    if value is None or not str(value).strip():
        raise PathProblem("required", "a file name is required")
    text = str(value).strip()
    if "\x00" in text:
        raise PathProblem(ESCAPE, "a file name must not contain NUL")
    text = text.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise PathProblem(ESCAPE, "an absolute path; manifest paths must be relative to their folder")
    pure = PurePosixPath(text)
    if ".." in pure.parts:
        raise PathProblem(ESCAPE, "'..' is not allowed in a manifest path")
    if not pure.parts or pure.name in ("", "."):
        raise PathProblem("required", "a file name is required")
    return pure


def member_path(folder: Path, value: str | PurePosixPath) -> Path:
    """The real path of ``value`` inside ``folder``, following symbolic links.

    Raises PathProblem when the value is absolute, holds ``..``, or leads (through a
    symbolic link anywhere on the way) outside ``folder``.
    """
    pure = value if isinstance(value, PurePosixPath) else relative_name(value)
    base = Path(folder).resolve()
    real = (base / pure).resolve()
    if real != base and base not in real.parents:
        raise PathProblem(ESCAPE, "a symbolic link leads outside the source folder")
    return real
