"""Manifest values are untrusted: they must name a file inside their folder, nothing else."""

from __future__ import annotations

import os
import re
import stat
from functools import lru_cache
from pathlib import Path, PurePosixPath

ESCAPE = "path_escape"
_DRIVE = re.compile(r"^[A-Za-z]:")
# relative, no "..", "." or empty parts, no backslash, NUL or drive: nothing to normalise or refuse
_SIMPLE = re.compile(r"^(?![A-Za-z]:)(?:(?!\.\.?(?:/|$))[^/\\\x00]+/)*(?!\.\.?$)[^/\\\x00]+$")


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
    if _SIMPLE.match(text):  # the common case, without the cost of parsing a path object
        return PurePosixPath(text)
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
    base = _real_folder(str(folder))
    # Fast path: no component below the (already real) folder is a link, so the
    # lexical path is the real one; one lstat per component instead of a full resolve.
    current = base
    for part in pure.parts:
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return Path(base, *pure.parts)  # missing: the caller reports it
        if stat.S_ISLNK(mode):
            break
    else:
        return Path(current)
    real = os.path.realpath(os.path.join(base, *pure.parts))
    if real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
        raise PathProblem(ESCAPE, "a symbolic link leads outside the source folder")
    return Path(real)


@lru_cache(maxsize=64)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)
