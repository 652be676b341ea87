"""The free-space floor (node_api/core/disk.py): below GRAPH_API_MIN_FREE_DISK_MB everything that
writes to the node's volume answers 507 insufficient_storage with Retry-After, and reads go on.

The floor is set above the volume's real free space (statvfs), so the guard meets the condition it
exists for without filling a disk."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.node import PERSON_DDL, create_db, cypher, make_settings, node_client


def _free_mb(path: Path) -> int:
    stats = os.statvfs(path)
    return (stats.f_bavail * stats.f_frsize) >> 20


async def test_below_the_floor_writes_answer_507_and_reads_go_on(tmp_path: Path) -> None:
    base = tmp_path / "dbs"
    async with node_client(make_settings(base)) as client:  # floor off: a graph with a row
        await create_db(client, "g", ddl=PERSON_DDL)
        assert (await cypher(client, "g", "CREATE (:Person {id: 1, name: 'a'})")).status_code == 200
    floor_mb = _free_mb(tmp_path) + 10_240
    async with node_client(make_settings(base, min_free_disk_mb=floor_mb)) as client:
        refused = [
            await cypher(client, "g", "CREATE (:Person {id: 2, name: 'b'})"),
            await client.post("/databases", json={"graph_id": "h", "schema_type": "custom"}),
            await client.post("/databases/g/schema", json={"ddl": "CREATE NODE TABLE X(id INT64, PRIMARY KEY(id))"}),
            await client.post("/databases/g/tables", json={"table_name": "Person", "s3_pattern": "s3://b/x.parquet"}),
            await client.post("/databases/g/backup", json={}),
        ]
        for response in refused:
            assert response.status_code == 507, response.text
            error = response.json()["error"]
            assert error["code"] == "insufficient_storage" and "GRAPH_API_MIN_FREE_DISK_MB" in error["message"]
            assert error["details"]["min_free_disk_mb"] == floor_mb
            assert int(response.headers["Retry-After"]) > 0
        read = await cypher(client, "g", "MATCH (p:Person) RETURN count(p)")
        assert read.status_code == 200 and read.json()["rows"] == [[1]]
        info = (await client.get("/info")).json()
        assert info["min_free_disk_mb"] == floor_mb and 0 < info["disk_free_bytes"] < floor_mb << 20
