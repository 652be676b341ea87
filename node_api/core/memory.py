"""Returning freed memory to the operating system.

A closed Kuzu Database frees its ~6-7 MB of heap (measured: the per-Database catalog and function
tables), but glibc keeps freed heap in the process unless asked, so RSS would not fall when idle
databases are closed. malloc_trim(0) hands it back. No-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
from functools import cache


@cache
def _libc() -> ctypes.CDLL | None:
    # The process's own symbols (glibc's where it is linked against it), not ctypes.util.find_library:
    # that runs ldconfig or gcc and makes a temporary file, which an engine worker's sandbox forbids, so
    # every result chunk past 64 MB failed its query with "No usable temporary directory found"
    # (found by attacking).
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def release_free_memory() -> bool:
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
