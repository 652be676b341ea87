"""Which parts of this repository go into which asset (Lambda zip, node API bundle).

Assets are staged straight from the repository with an exclude list that keeps only the named
paths, so the deployed code is exactly the code the tests ran. No Docker bundling: third-party
packages come from the Powertools layer (Lambdas) or from pip on the node (node API).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Never packaged, whatever is kept.
_ALWAYS_EXCLUDED = ("**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.ruff_cache")


def keep_only(*paths: str) -> list[str]:
    """Asset exclude patterns (CDK glob mode) that drop everything at the root but `paths`."""
    kept = [pattern for path in paths for pattern in (f"!{path}", f"!{path}/**")]
    return ["*", *kept, *_ALWAYS_EXCLUDED]


LAMBDA_PACKAGE = "lambdas"
LAMBDA_EXCLUDES = keep_only(LAMBDA_PACKAGE)
# The node API is installed on each node with pip from this bundle (pyproject + lock + package).
NODE_API_EXCLUDES = keep_only("node_api", "pyproject.toml", "requirements.lock")
