"""The CLI's progress line (client/progress.py) from task bodies as the node sends them."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from client.models import Task
from client.progress import fields, follow_progress

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def task(**changes: Any) -> Task:
    body = {"task_id": "task_0123456789abcdef0123", "kind": "ingest", "graph_id": "g", "status": "running",
            "progress": 0.0, "rows_done": 0, "result": None, "error": None, "created_at": NOW,
            "started_at": NOW, "finished_at": None}
    return Task.model_validate({**body, **changes})


def test_a_running_phase_shows_rows_rate_and_eta() -> None:
    running = task(phase="reading", progress=25.0, rows_done=250_000, rows_total=1_000_000,
                   rows_per_second=50_000.0, eta_seconds=15.0)
    assert fields(running, "ingest Person") == {
        "completed": 25.0, "description": "ingest Person: reading", "rows": "250,000/1,000,000 rows",
        "rate": "50,000 rows/s", "eta": "ETA 0:00:15",
    }
    # Before the node knows a total or a rate, only what it knows.
    early = fields(task(phase="listing", rows_done=0), "copy")
    assert (early["rows"], early["rate"], early["eta"]) == ("", "", "")
    assert fields(task(rows_done=42), "copy")["rows"] == "42 rows"


def test_a_finished_task_shows_its_rate_and_no_eta() -> None:
    done = task(status="succeeded", progress=100.0, rows_done=1_000_000, rows_total=1_000_000,
                rows_per_second=40_000.0, eta_seconds=3.0, finished_at=NOW)
    assert fields(done, "ingest Person")["description"] == "ingest Person: succeeded"
    assert fields(done, "ingest Person")["eta"] == ""


def test_the_line_follows_the_updates_to_the_last() -> None:
    out = io.StringIO()
    updates = [
        task(phase="staging", progress=40.0, rows_done=400, rows_total=1000, rows_per_second=800.0, eta_seconds=0.75),
        task(status="succeeded", progress=100.0, rows_done=1000, rows_total=1000, rows_per_second=900.0,
             finished_at=NOW),
    ]
    last = follow_progress(updates, "stage Person", Console(file=out, width=150))
    assert last is updates[-1]
    line = out.getvalue().strip().splitlines()[-1]
    assert line.startswith("stage Person: succeeded") and "100%" in line
    assert "1,000/1,000 rows" in line and "900 rows/s" in line and "ETA" not in line
