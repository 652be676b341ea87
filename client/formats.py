"""How the CLI writes rows: a rich table, JSON, NDJSON (streamed) or CSV (streamed)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"


def _cell(value: Any) -> str:
    return json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)


def write_rows(fmt: OutputFormat, columns: list[str], rows: Iterable[list[Any]], console: Console) -> int:
    """Write rows as they come (ndjson, csv) or once complete (table, json); returns the row count."""
    count = 0
    if fmt is OutputFormat.NDJSON:
        for row in rows:
            sys.stdout.write(json.dumps(dict(zip(columns, row, strict=False)), default=str) + "\n")
            count += 1
    elif fmt is OutputFormat.CSV:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(v) if isinstance(v, (dict, list)) else v for v in row])
            count += 1
    elif fmt is OutputFormat.JSON:
        data = [dict(zip(columns, row, strict=False)) for row in rows]
        sys.stdout.write(json.dumps({"columns": columns, "rows": data}, default=str, indent=2) + "\n")
        count = len(data)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
            count += 1
        console.print(table)
    sys.stdout.flush()
    return count


def key_values(title: str, values: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False)
    for key, value in values.items():
        table.add_row(key, _cell(value))
    return table
