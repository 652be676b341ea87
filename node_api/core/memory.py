"""Returning freed memory to the operating system.

A closed Kuzu Database frees its ~6-7 MB of heap (measured: the per-Database catalog and function
tables), but glibc keeps freed heap in the process unless asked, so RSS would not fall when idle
databases are closed. malloc_trim(0) hands it back. No-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_free_memory() -> bool:
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
