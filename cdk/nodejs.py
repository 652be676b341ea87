"""The Node.js that runs the CDK: the LTS pinned in package.json (the npm package `node`, installed
into ./node_modules by scripts/bootstrap-cdk), not whatever `node` the machine has.

Both halves of the CDK run on Node.js: the CLI (`npx cdk ...`, whose node_modules/.bin comes first on
PATH, so it finds the pinned `node`) and, inside the Python app, jsii's kernel, which starts `node` from
PATH unless JSII_NODE names another. On a Node.js jsii no longer supports (20: end-of-life 2026-04-30,
dropped by jsii 2026-10-30; Node.js's schedule: https://nodejs.org/en/about/previous-releases) jsii
prints a boxed banner on every run, which Python shows as `b'!!  Node 20 is end-of-life ...'` lines
on stderr.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from cdk.source import REPO_ROOT

PINNED_NODE = REPO_ROOT / "node_modules" / ".bin" / "node"


def pinned_node() -> Path | None:
    """The pinned Node.js binary, or None before scripts/bootstrap-cdk has installed it."""
    return PINNED_NODE if os.access(PINNED_NODE, os.X_OK) else None


def use_pinned_node(environ: MutableMapping[str, str] = os.environ) -> Path | None:
    """Point jsii at the pinned Node.js (JSII_NODE) unless JSII_NODE is set already; returns the
    Node.js jsii will use (None: the first `node` on PATH). Call it before `aws_cdk` is imported:
    jsii starts its kernel process at that import."""
    if "JSII_NODE" in environ:
        return Path(environ["JSII_NODE"])
    node = pinned_node()
    if node is not None:
        environ["JSII_NODE"] = str(node)
    return node
