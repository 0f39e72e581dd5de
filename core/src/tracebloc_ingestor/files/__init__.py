"""The shared file store of file-bearing categories, and the guard on manifest paths.

``member_path`` turns a manifest value into a path inside its folder or says why it
cannot (an absolute path, ``..``, a symbolic link leading out). ``FileStore`` copies the
files rows refer to into ``<storage_path>/<table>/``: each file once, atomically, with
its size and SHA-256 recorded, refusing a folder that holds another dataset.
"""

from .paths import PathProblem, member_path, relative_name
from .store import (
    LEDGER_NAME,
    MARKER_NAME,
    TEMP_PREFIX,
    CopyJob,
    FileStore,
    FileStoreError,
    StoredFile,
)

__all__ = [
    "CopyJob",
    "FileStore",
    "FileStoreError",
    "LEDGER_NAME",
    "MARKER_NAME",
    "PathProblem",
    "StoredFile",
    "TEMP_PREFIX",
    "member_path",
    "relative_name",
]
