"""A read-only FUSE passthrough that waits a fixed time on every open and every read.

It stands in for a network volume (NFS, CephFS, a cloud file share), where each open and
each read costs a round trip of milliseconds: what is slow there is latency, not bytes.
Requests are served by many threads at once (as a network volume serves many requests
in flight), so a reader that keeps several opens and reads going is not held to one
round trip at a time; the delay is a sleep, which takes no CPU. Lookups and attributes
are answered at once (the kernel caches them on a real network volume too).

    python bench/slow_volume.py SOURCE MOUNTPOINT [--delay-ms 2]   # foreground; Ctrl-C or fusermount3 -u

Needs libfuse 3 (Debian: ``apt-get install fuse3``) and ``mfusepy`` from PyPI.
"""

from __future__ import annotations

import argparse
import errno
import os
import time

import mfusepy as fuse


class SlowPassthrough(fuse.Operations):
    """Serves ``root`` read-only; every open and read first sleeps ``delay`` seconds."""

    use_ns = True

    def __init__(self, root: str, delay: float) -> None:
        self.root = os.path.realpath(root)
        self.delay = delay

    def _full(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def getattr(self, path, fh=None):
        st = os.lstat(self._full(path))
        keys = ("st_atime_ns", "st_ctime_ns", "st_mtime_ns", "st_gid", "st_mode", "st_nlink", "st_size", "st_uid")
        out = {key: getattr(st, key) for key in keys}
        for key in ("st_atime", "st_ctime", "st_mtime"):
            out[key] = out.pop(f"{key}_ns")
        return out

    def readdir(self, path, fh):
        return [".", "..", *os.listdir(self._full(path))]

    def readlink(self, path):
        return os.readlink(self._full(path))

    def access(self, path, amode):
        if amode & os.W_OK:
            raise fuse.FuseOSError(errno.EROFS)
        if not os.access(self._full(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def statfs(self, path):
        st = os.statvfs(self._full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")
        return {key: getattr(st, key) for key in keys}

    def open(self, path, flags):
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise fuse.FuseOSError(errno.EROFS)
        time.sleep(self.delay)
        return os.open(self._full(path), os.O_RDONLY)

    def read(self, path, size, offset, fh):
        time.sleep(self.delay)
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        os.close(fh)
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("mountpoint")
    parser.add_argument("--delay-ms", type=float, default=2.0, help="wait on every open and every read (default 2)")
    args = parser.parse_args()
    fuse.FUSE(SlowPassthrough(args.source, args.delay_ms / 1000.0), args.mountpoint, foreground=True, ro=True, fsname="tb-slow", max_threads=64)


if __name__ == "__main__":
    main()
