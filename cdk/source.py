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
# The shared contracts travel with every piece of code that imports them.
CONTRACTS_PACKAGE = "contracts"
LAMBDA_EXCLUDES = keep_only(LAMBDA_PACKAGE, CONTRACTS_PACKAGE)
# The node API is installed on each node with pip from this bundle (pyproject + lock + packages); the
# client comes along so operators on a node have `graph-cli` (routed through GRAPH_ROUTER_URL).
NODE_API_EXCLUDES = keep_only("node_api", CONTRACTS_PACKAGE, "client", "pyproject.toml", "requirements.lock")
