"""The statement policy's second phase runs on every query: the engine's own plan, judged by the node."""

from __future__ import annotations

import dataclasses

from node_api.backends.embedded.backend import EmbeddedBackend
from tests.support.node import PERSON_DDL, create_db, cypher, node_client


async def test_an_operator_the_policy_does_not_list_is_refused_from_the_plan(settings_factory) -> None:
    async with node_client(settings_factory()) as client:
        await create_db(client, "g", ddl=PERSON_DDL)
        assert (await cypher(client, "g", "MATCH (p:Person) RETURN count(p)")).status_code == 200
        backend: EmbeddedBackend = client.app.state.node.backend
        # The same policy, as an engine version whose SCAN_NODE_TABLE nobody reviewed would see it.
        operators = {k: v for k, v in backend.policy.operators.items() if k != "SCAN_NODE_TABLE"}
        backend.policy = dataclasses.replace(backend.policy, operators=operators)
        # A scan on both engines (LadybugDB plans `p.id = $id` as QUERY_PRIMARY_KEY_LOOKUP).
        refused = await cypher(client, "g", "MATCH (p:Person) WHERE p.name = $name RETURN p.id", name="x")
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden_statement"
        assert "SCAN_NODE_TABLE" in refused.json()["error"]["message"]
        # A statement whose plan has no such operator still runs.
        assert (await cypher(client, "g", "RETURN 1 AS one")).json()["rows"] == [[1]]

