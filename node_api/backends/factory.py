"""Backend factory: GRAPH_BACKEND_TYPE picks the engine behind the node API."""

from __future__ import annotations

from node_api.backends.base import GraphBackend
from node_api.settings import BackendType, NodeSettings


def create_backend(settings: NodeSettings) -> GraphBackend:
    if settings.backend_type in (BackendType.KUZU, BackendType.LADYBUG):
        from node_api.backends.embedded.backend import EmbeddedBackend
        from node_api.backends.embedded.profiles import profile_for

        return EmbeddedBackend(settings, profile_for(settings.backend_type.value))
    if settings.backend_type is BackendType.NEO4J_ENTERPRISE:
        raise SystemExit(
            "GRAPH_BACKEND_TYPE=neo4j_enterprise is not implemented: multi-database clustering is a "
            "documented TODO (docs/neo4j-backend.md). Use neo4j_community, ladybug or kuzu."
        )
    from node_api.backends.neo4j.admin import ArcadeDBHttpAdmin, DatabaseAdmin, SingleDatabase
    from node_api.backends.neo4j.backend import Neo4jBackend

    admin: DatabaseAdmin
    if settings.neo4j_admin_url:
        admin = ArcadeDBHttpAdmin(settings.neo4j_admin_url, settings.neo4j_username,
                                  settings.neo4j_password.get_secret_value())
    else:
        admin = SingleDatabase(settings.neo4j_database)
    return Neo4jBackend(settings, admin=admin)
