"""mypy reads only the CDK modules this repo imports (pyproject.toml, [[tool.mypy.overrides]]): a module
missing from that list would be skipped, its constructs typed Any and never checked."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _imported_cdk_modules() -> set[str]:
    """Every `aws_cdk` module the type-checked CDK code (mypy's `files`) imports."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    sources: list[Path] = []
    for entry in config["files"]:
        path = REPO_ROOT / entry
        sources += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    modules: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                modules |= {a.name for a in node.names if a.name.split(".")[0] == "aws_cdk"}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "aws_cdk":
                modules.add(node.module)
                if node.module == "aws_cdk":  # `from aws_cdk import aws_ec2`: a module, or a name of aws_cdk
                    modules |= {f"aws_cdk.{a.name}" for a in node.names if a.name.startswith("aws_")}
    return modules


def _followed_cdk_modules() -> set[str]:
    overrides = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    return {m for o in overrides if o.get("follow_imports") == "normal" for m in o["module"]
            if m.split(".")[0] == "aws_cdk"}


def test_mypy_follows_every_cdk_module_the_code_imports():
    imported = _imported_cdk_modules()
    assert "aws_cdk.aws_ec2" in imported  # the walk sees the stacks' imports
    assert sorted(imported - _followed_cdk_modules()) == []


def test_mypy_follows_no_cdk_module_the_code_does_not_import():
    assert sorted(_followed_cdk_modules() - _imported_cdk_modules() - {"aws_cdk"}) == []
