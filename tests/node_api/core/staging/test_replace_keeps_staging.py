"""Replacing a graph's database (restore, rebuild) keeps its staging tables; deleting drops them."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from tests.node_api.core.helpers import backup, restore
from tests.node_api.core.staging.helpers import create_graph, stage


async def _staged_rows(client, graph_id: str) -> list[list[int]]:
    response = await client.post(f"/databases/{graph_id}/tables/query", json={"sql": "SELECT k FROM Keep ORDER BY k"})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


async def test_restore_in_place_keeps_staging_tables(client, staging_settings):
    await create_graph(client, "g_keep")
    local = staging_settings.local_root / "keep.parquet"
    pq.write_table(pa.table({"k": [1, 2, 3]}), local)
    assert (await stage(client, "g_keep", "Keep", f"file://{local}")).status_code == 200
    assert await _staged_rows(client, "g_keep") == [[1], [2], [3]]  # the staging database is open

    snapshot = await backup(client, "g_keep")
    restored = await restore(client, "g_keep", snapshot["location"])
    assert restored["status"] == "succeeded", restored

    tables = (await client.get("/databases/g_keep/tables")).json()
    assert [t["table_name"] for t in tables] == ["Keep"] and tables[0]["row_count"] == 3
    assert await _staged_rows(client, "g_keep") == [[1], [2], [3]]

    assert (await client.delete("/databases/g_keep")).status_code == 200
    await create_graph(client, "g_keep")
    assert (await client.get("/databases/g_keep/tables")).json() == []
