"""Where the httpfs extension comes from: the `duckdb-extension-httpfs` wheel, never the network.

The wheel ships `extensions/v<duckdb version>/httpfs.duckdb_extension`; DuckDB LOADs it by path.
Auto-install/auto-load stay off everywhere, so a missing file is an error, not a download.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

# A `duckdb.connect(config=...)` mapping, as the duckdb stubs type it.
DuckDBConfig = dict[str, str | bool | int | float | list[str]]

# Every DuckDB instance this package opens starts from these.
BASE_CONFIG: dict[str, str] = {
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
    "allow_community_extensions": "false",
    "allow_unsigned_extensions": "false",
}


@cache
def httpfs_extension_path() -> Path:
    import duckdb_extension_httpfs

    root = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    wanted = root / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if wanted.is_file():
        return wanted
    found = sorted(root.glob("*/httpfs.duckdb_extension"))
    raise RuntimeError(
        f"httpfs extension for duckdb {duckdb.__version__} not found in {root} "
        f"(found: {[str(p) for p in found]}); pin duckdb-extension-httpfs to the duckdb version"
    )
