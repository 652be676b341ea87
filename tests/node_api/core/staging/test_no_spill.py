"""A tenant's read-only staging SQL writes nothing to the node's volume (core/disk.py "reads go on").

Found by attacking the free-space floor: DuckDB spills a large GROUP BY to `<staging db>.tmp` beside
the staging database, on the node's volume, and the staging query route is a read the floor lets
through; max_temp_directory_size did not bound the spill (DuckDB 1.5.5)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from node_api.core.staging.manager import StagingDatabase
from node_api.core.staging.settings import StagingSettings


def test_a_query_past_the_memory_limit_fails_instead_of_spilling_to_the_volume(tmp_path: Path) -> None:
    path = tmp_path / "staging.duckdb"
    db = StagingDatabase(path, StagingSettings(GRAPH_API_STAGING_MEMORY_LIMIT="64MB", GRAPH_API_STAGING_THREADS=1))
    try:
        with db.readers.checkout() as cur:
            cur.execute("CREATE TABLE t AS SELECT md5(range::VARCHAR) AS s FROM range(3000000)")
        # ~300 MB of distinct groups: with spilling allowed this ran, writing ~300 MB under staging.duckdb.tmp.
        with pytest.raises(duckdb.OutOfMemoryException):
            db.read_arrow("SELECT count(*) FROM (SELECT s || s || s AS k, count(*) FROM t GROUP BY k)")
        spill = tmp_path / "staging.duckdb.tmp"
        assert not spill.exists() or not any(spill.iterdir())
    finally:
        db.close()
