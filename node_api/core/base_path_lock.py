"""One node per base path: an exclusive lock on `{base_path}/.node.lock`, held while the node runs.

Two nodes on one directory would each empty the other's `.creating/` and `.trash/` at start-up and open
the same database files from two processes (an embedded engine allows one `Database` per path). The
lock is `flock(2)`: the kernel releases it when the process dies however it dies, so a crashed node
never leaves a stale lock. The file holds the holder's pid, for the error message only.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".node.lock"


class BasePathLockError(RuntimeError):
    """The base path's lock cannot be taken; the message says why, in one line."""


class BasePathInUse(BasePathLockError):
    """Another live process holds the base path's lock; the message names the path and its pid."""


@contextmanager
def base_path_lock(base_path: Path) -> Iterator[None]:
    """Holds the lock on `base_path` (created if missing) for the block. Raises BasePathInUse at once,
    without waiting, when another process holds it; BasePathLockError when the lock file cannot be
    opened (a directory, a symbolic link: never followed, so nothing outside is truncated)."""
    base_path.mkdir(parents=True, exist_ok=True)
    lock_file = base_path / LOCK_NAME
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise BasePathLockError(f"cannot open the node's lock file {lock_file}: {exc.strerror} (it must be a "
                                "regular file the node can write; remove whatever is there)") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise BasePathInUse(f"another node (pid {holder}) is serving {base_path}: stop it, or give this "
                                f"node another base path (--base-path or GRAPH_API_DATABASE_PATH)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
