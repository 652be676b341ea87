"""How the CLI writes rows: a rich table, JSON, NDJSON (streamed) or CSV (streamed).

Rows hold decoded Python values (node_api/models/values.py); JSON and NDJSON write them back in their
wire form, so the CLI prints what the API returns. Table and CSV cells show scalars as text and
structured values as their wire JSON.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from node_api.models.values import TYPE, VALUE, encode_value


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"


def _cell(value: Any) -> str:
    """A row value as text: typed scalars (dates, decimals...) by their text, structures as wire JSON."""
    wire = encode_value(value)
    if isinstance(wire, str):
        return wire
    if isinstance(wire, dict) and isinstance(wire.get(TYPE), str) and isinstance(wire.get(VALUE), str):
        return wire[VALUE]
    return json.dumps(wire)


def _record(columns: list[str], row: list[Any]) -> dict[str, Any]:
    return dict(zip(columns, (encode_value(v) for v in row), strict=False))


def write_rows(fmt: OutputFormat, columns: list[str], rows: Iterable[list[Any]], console: Console) -> int:
    """Write rows as they come (ndjson, csv) or once complete (table, json); returns the row count."""
    count = 0
    if fmt is OutputFormat.NDJSON:
        for row in rows:
            sys.stdout.write(json.dumps(_record(columns, row)) + "\n")
            count += 1
    elif fmt is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")  # not CRLF: `grep '^1$'` must match
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else _cell(v) for v in row])
            count += 1
    elif fmt is OutputFormat.JSON:
        data = [_record(columns, row) for row in rows]
        sys.stdout.write(json.dumps({"columns": columns, "rows": data}, indent=2) + "\n")
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
        table.add_row(key, json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value))
    return table
