"""Validation of identifiers that become paths or engine names.

graph_id names a directory under the node's base path (and a Neo4j database), so it is held to a
strict pattern: no separators, no dots, no leading digit, bounded length. Anything else is refused
before it reaches the file system.
"""

from __future__ import annotations

import re
from pathlib import Path

GRAPH_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,62}$"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
_GRAPH_ID = re.compile(GRAPH_ID_PATTERN)
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)

# Names the engines or the node reserve for themselves.
RESERVED_GRAPH_IDS = frozenset({"system", "neo4j", "default", "tasks", "admin"})


class InvalidIdentifier(ValueError):
    pass


def validate_graph_id(graph_id: str) -> str:
    if not isinstance(graph_id, str) or not _GRAPH_ID.fullmatch(graph_id):
        raise InvalidIdentifier(
            f"invalid graph_id {graph_id!r}: 1-63 characters, a letter first, then letters, digits, '_' or '-'"
        )
    if graph_id.lower() in RESERVED_GRAPH_IDS:
        raise InvalidIdentifier(f"graph_id {graph_id!r} is reserved")
    return graph_id


def validate_identifier(name: str, what: str = "name") -> str:
    """Table and column names: plain identifiers only, never quoted into SQL/Cypher otherwise."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise InvalidIdentifier(f"invalid {what} {name!r}: letters, digits and '_' only, 1-63 characters")
    return name


def graph_dir(base_path: Path, graph_id: str) -> Path:
    """The directory of one graph; re-checks containment as a second line of defence."""
    validate_graph_id(graph_id)
    base = base_path.resolve()
    path = (base / graph_id).resolve()
    if path.parent != base:
        raise InvalidIdentifier(f"graph_id {graph_id!r} escapes the base path")
    return path
