"""What went wrong, in words: a failure's cause for the summary, without values or credentials.

A run that fails on something unexpected must say what happened at the default log
level: the operating system's reason and the path (relative to the source root or the
store), the database's host and error code. Exception texts of unknown types are not
shown, because a plugin's message may quote data; their type is named and the traceback
stays at DEBUG.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Iterable

# reasons the backend receives for a failed run (short slugs)
_OS_REASONS = {errno.ENOSPC: "no_space", errno.EDQUOT: "no_space", errno.EROFS: "read_only", errno.EACCES: "permission_denied",
               errno.EPERM: "permission_denied", errno.ENOENT: "file_missing"}


def shown_path(path: str | os.PathLike | None, roots: Iterable[tuple[str, Path]]) -> str | None:
    """``path`` relative to the innermost root that holds it (``"store t/x.jpg"``), else its name only."""
    if path is None:
        return None
    p = Path(os.fsdecode(path)).resolve()
    found = []
    for label, root in roots:
        try:
            found.append((len(Path(root).resolve().parts), label, p.relative_to(Path(root).resolve()).as_posix()))
        except (ValueError, OSError):
            continue
    if not found:
        return p.name
    _depth, label, rel = max(found)  # the innermost root: a store inside the source root is the store
    return f"{label} {rel}" if label else rel


def describe_failure(exc: BaseException, roots: Iterable[tuple[str, Path]] = ()) -> tuple[str, str]:
    """(message, reason slug) for an unexpected failure; no cell value, no credential."""
    roots = list(roots)
    if isinstance(exc, OSError) and exc.errno is not None:
        words = exc.strerror or os.strerror(exc.errno)
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        where = shown_path(exc.filename, roots)
        where = f" at {where}" if where else ""
        return f"{words} ({name}){where}", _OS_REASONS.get(exc.errno, "io_error")
    if isinstance(exc, MemoryError):
        return "out of memory (MemoryError); lower BATCH_SIZE or give the pod more memory", "out_of_memory"
    if isinstance(exc, RecursionError):
        return "the input nests too deeply to be read (RecursionError)", "input_too_deep"
    if isinstance(exc, UnicodeError):
        encoding = getattr(exc, "encoding", None)
        return f"text that is not valid {encoding or 'in its encoding'} ({type(exc).__name__})", "encoding"
    return f"{type(exc).__name__} during the run (set LOG_LEVEL=DEBUG for the traceback)", "internal_error"
