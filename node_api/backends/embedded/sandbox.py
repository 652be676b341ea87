"""The second wall around an engine worker: Linux Landlock confines its file system access.

The statement policy (node_api/security/policy.py) is the first wall: tenants may not send
statements that read or write files. Engines add file functions with new versions, and a parser
bug may let one through; so each worker also confines itself, before it opens its database, to:

- read and write: its own database's directory (the database file, its WAL, the engine's temporary
  files), or the build directory of a scratch worker;
- read and execute: the interpreter, the node's code and its installed packages, the system's
  libraries, and the few system files a process reads (time zones, the loader's cache, /dev/null,
  /dev/urandom, /proc/self);
- nothing else: another tenant's graph, the node's settings (/etc/graph-node/node.env), its backups,
  its logs and every other file answer "Permission denied", whatever the engine is asked to do.

Landlock (kernel 5.13+, unprivileged, per process, irreversible) is applied with raw system calls:
there is no maintained Python binding. Where the kernel lacks it, `confine` reports "unavailable"
and the node logs that the second wall is missing (docs/architecture.md).
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from pathlib import Path

# x86_64 and aarch64 share these numbers (the syscalls were added after the unified table).
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_ABI1_ALL = (1 << 13) - 1  # execute .. make_sym
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_READ = _EXECUTE | _READ_FILE | _READ_DIR

_SYSTEM_READ_ONLY = ("/usr", "/lib", "/lib64", "/etc/localtime", "/etc/ld.so.cache", "/usr/share/zoneinfo",
                     "/dev/null", "/dev/urandom", "/proc/self", "/sys/devices/system/cpu")


def _handled_access(abi: int) -> int:
    access = _ABI1_ALL
    if abi >= 2:
        access |= _REFER
    if abi >= 3:
        access |= _TRUNCATE
    if abi >= 5:
        access |= _IOCTL_DEV
    return access


def code_paths() -> list[Path]:
    """Where the interpreter, its packages and the node's own code live."""
    import node_api

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(os.path.realpath(sys.executable)).parent.parent, Path(node_api.__file__).resolve().parents[1]}
    # Not "/": `python -m` puts the working directory first on sys.path, and workers run in "/" (a
    # read rule for "/" would open the whole file system to the engine).
    paths.update(Path(p) for p in sys.path if p and Path(p).is_dir() and Path(p).resolve() != Path("/"))
    return sorted(paths)


def confine(read_write: list[Path], read_only: list[Path]) -> str:
    """Restricts this process (and its future threads and children) to the given paths.

    Returns "landlock abi N" when in force, "unavailable" where the kernel has no Landlock.
    Raises OSError if Landlock exists but the restriction could not be applied (never run
    unconfined by accident where confinement is possible)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    if abi < 0:
        return "unavailable"
    handled = _handled_access(abi)
    attr = ctypes.create_string_buffer(struct.pack("=Q", handled))
    ruleset = libc.syscall(_SYS_CREATE_RULESET, attr, ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules = [(p, handled) for p in read_write] + [(p, _READ) for p in read_only]
        rules += [(Path(p), _READ) for p in _SYSTEM_READ_ONLY]
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a path this system does not have
            try:
                if not os.path.isdir(path):
                    access &= _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV  # file rights only
                beneath = ctypes.create_string_buffer(struct.pack("=Qi", access & handled, fd))
                if libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), beneath,
                                ctypes.c_uint32(0)) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return f"landlock abi {abi}"
