"""Engine profiles: what differs between the embedded engines behind one implementation.

Kuzu 0.11.3 (archived upstream on 2025-10-10, no more fixes) and its maintained fork LadybugDB
(`ladybug` 0.22.0, `import ladybug`) share the Python API (Database, Connection, QueryResult), the
Cypher dialect and the storage design; they differ in module name, storage file names and the facts
measured in docs/engine-facts.md. The two cannot be imported into one process (their pybind11 modules
register the same type names: "generic_type: type "Database" is already registered!", then a
segfault), which worker processes make moot: the node itself imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import version


@dataclass(frozen=True)
class EngineProfile:
    name: str  # the backend kind: GRAPH_BACKEND_TYPE, `backend` in /info, manifests
    module: str  # imported by the worker process only
    distribution: str  # the package on the index, for its version without importing it
    graph_file: str  # the database file inside a graph's directory
    policy: str  # the statement policy (node_api/security/policy.py) for this engine
    # Extensions compiled into the engine (Kuzu 0.11.3: `CALL show_loaded_extensions()` says STATIC LINK).
    static_extensions: frozenset[str] = frozenset()
    # The suffix of loadable extension files (`lib<name><suffix>`), None: the engine loads none here.
    extension_suffix: str | None = None

    @property
    def wal_file(self) -> str:
        return self.graph_file + ".wal"

    @property
    def engine_files(self) -> frozenset[str]:
        """Files the engine owns in a graph's directory; everything else there is the node's."""
        return frozenset({self.graph_file, self.wal_file})

    @cached_property
    def version(self) -> str:
        return version(self.distribution)


KUZU = EngineProfile(name="kuzu", module="kuzu", distribution="kuzu", graph_file="graph.kuzu", policy="kuzu",
                     static_extensions=frozenset({"algo", "fts", "json", "vector"}))
# LadybugDB's wheel links no extension in; `INSTALL` downloads them (never at run time on a node): an
# operator places lib<name>.lbug_extension files in LADYBUG_EXTENSION_DIR and workers LOAD them.
LADYBUG = EngineProfile(name="ladybug", module="ladybug", distribution="ladybug", graph_file="graph.lbug",
                        policy="ladybug", extension_suffix=".lbug_extension")
PROFILES = {p.name: p for p in (KUZU, LADYBUG)}


def profile_for(name: str) -> EngineProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"no embedded engine named {name!r}; known: {', '.join(PROFILES)}") from None
