"""The Neo4j backend: graphs on a Bolt server (Neo4j community, or ArcadeDB's Bolt plugin, which is
what the tests run against: docs/neo4j-backend.md), reached through the official async driver.

backend.py (the GraphBackend, and the public seam its collaborators use), session.py (deadlines on
Bolt work, streamed results), admin.py (graph_id -> server database), catalog.py (the graph's record),
ddl.py (table DDL -> constraints), bulk.py (Arrow bulk load), backup.py (JSON-lines backup and
restore), values.py (Bolt values <-> the wire form), errors.py (driver errors -> backend errors).
"""
