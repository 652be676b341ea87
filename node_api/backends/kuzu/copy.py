"""Arrow -> Kuzu table with COPY: the one bulk path (bulk_load and rebuild both use it).

`COPY T FROM $data` takes a pyarrow Table as a parameter. With `(ignore_errors=true)` Kuzu skips
bad rows and `CALL show_warnings()` lists them — together with the warnings of earlier statements
on the same connection (kuzu 0.11.3, measured), so only the newest query's are kept. The COPY
result says "N tuples have been copied".
"""

from __future__ import annotations

import re

import kuzu
import pyarrow as pa

_COPIED = re.compile(r"(\d+) tuples have been copied")
MAX_WARNINGS = 100


def copy_arrow(conn: kuzu.Connection, table_name: str, data: pa.Table, *, ignore_errors: bool) -> tuple[int, list[str]]:
    """Returns (rows loaded, warnings for the skipped rows). Raises RuntimeError from the engine."""
    options = " (ignore_errors=true)" if ignore_errors else ""
    result = conn.execute(f"COPY `{table_name}` FROM $data{options}", {"data": data})
    messages = [str(row[0]) for row in result.get_all()]
    result.close()
    loaded = next((int(m.group(1)) for m in map(_COPIED.search, messages) if m), 0)
    warnings: list[str] = []
    if loaded < data.num_rows:
        warn = conn.execute("CALL show_warnings() RETURN query_id, message")
        rows = warn.get_all()
        warn.close()
        newest = max((r[0] for r in rows), default=None)
        warnings = [str(r[1]) for r in rows if r[0] == newest][:MAX_WARNINGS]
    return loaded, warnings
