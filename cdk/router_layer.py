"""The router API's dependency layer: FastAPI, Mangum and what they need, copied from the very
distributions the tests ran (this interpreter's site-packages), so synth stays offline, needs no
Docker, and deploys exactly the tested versions.

Only pure-Python distributions qualify (a compiled one would be built for this machine, not Lambda's
arm64): synth fails naming any that is not. pydantic (and its compiled core) come from the Powertools
layer and boto3 from the Lambda runtime, so they are left out (PROVIDED).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import shutil
import tempfile
from pathlib import Path

from packaging.requirements import Requirement

ROOTS = ("fastapi", "mangum")
# Provided at run time: the Powertools layer (pydantic and its dependencies) and the Python runtime (boto3).
PROVIDED = frozenset({
    "pydantic", "pydantic-core", "typing-extensions", "annotated-types", "typing-inspection",
    "boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six",
    "aws-lambda-powertools",
})
_COMPILED = (".so", ".pyd", ".dylib")


def _name(value: str) -> str:
    return value.lower().replace("_", "-")


def closure(roots: tuple[str, ...] = ROOTS) -> list[metadata.Distribution]:
    """The installed distributions `roots` need on Python 3.12 (markers evaluated), minus PROVIDED."""
    seen: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = _name(pending.pop())
        if name in seen or name in PROVIDED:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            env = {"python_version": "3.12", "python_full_version": "3.12.0", "extra": ""}
            if requirement.marker is None or requirement.marker.evaluate(env):
                pending.append(requirement.name)
    return sorted(seen.values(), key=lambda d: _name(d.metadata["Name"]))


def build(roots: tuple[str, ...] = ROOTS) -> Path:
    """A layer directory (`python/` inside) holding the closure's files; cached by name and version."""
    dists = closure(roots)
    compiled = [d.metadata["Name"] for d in dists if any(str(f).endswith(_COMPILED) for f in d.files or [])]
    if compiled:
        raise RuntimeError(f"the router layer needs pure-Python distributions; compiled: {', '.join(compiled)}")
    key = hashlib.sha256(" ".join(f"{d.metadata['Name']}=={d.version}" for d in dists).encode()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"graph-cluster-router-layer-{key}"
    if target.exists():
        return target
    staging = Path(tempfile.mkdtemp(prefix="graph-cluster-router-layer-"))
    for dist in dists:
        for file in dist.files or []:
            relative = Path(str(file))
            if relative.is_absolute() or ".." in relative.parts or relative.suffix == ".pyc":
                continue  # scripts installed outside site-packages, caches
            source = Path(str(dist.locate_file(file)))
            if source.is_file():
                destination = staging / "python" / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)
    try:
        staging.rename(target)
    except OSError:  # a concurrent synth built it first
        shutil.rmtree(staging, ignore_errors=True)
    return target
