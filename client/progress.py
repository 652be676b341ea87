"""A background task's progress as the CLI shows it: one rich progress line per task.

    stage Person: staging ━━━━━━━━━━━━━━━━━━━━━━━━━╸━━━━━━━━━━━━━━  62% 62,000/100,000 rows 41,230 rows/s ETA 0:00:01 0:00:02

Everything but the elapsed time comes from the node's task body (node_api/models/tasks.py): `phase`,
`progress` (percent of the whole task), `rows_done` / `rows_total` (rows of the current phase),
`rows_per_second` (the phase's rate while running; rows over the whole run once finished) and
`eta_seconds` (rows left over that rate, while both are known). The node measures them where the rows
move, so the CLI neither guesses rates nor smooths them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from client.models import Task


def rows_text(task: Task) -> str:
    """`1,234/10,000 rows`, `1,234 rows` when the total is not known, '' before any row."""
    if task.rows_total is not None:
        return f"{task.rows_done:,}/{task.rows_total:,} rows"
    return f"{task.rows_done:,} rows" if task.rows_done else ""


def rate_text(task: Task) -> str:
    return f"{task.rows_per_second:,.0f} rows/s" if task.rows_per_second else ""


def eta_text(task: Task) -> str:
    """`ETA 0:01:05` while the node knows it; nothing once the task ended."""
    if task.done or task.eta_seconds is None:
        return ""
    return f"ETA {timedelta(seconds=round(task.eta_seconds))}"


def fields(task: Task, label: str) -> dict[str, Any]:
    """What Progress.update takes for one task body."""
    doing = task.status if task.done else (task.phase or task.status)
    return {
        "completed": task.progress,
        "description": f"{label}: {doing}",
        "rows": rows_text(task),
        "rate": rate_text(task),
        "eta": eta_text(task),
    }


def follow_progress(updates: Iterable[Task], label: str, console: Console) -> Task | None:
    """Draws one progress line fed by `updates` (the task's SSE stream); returns the last body."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]}"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[eta]}"),
        TimeElapsedColumn(),
    )
    last: Task | None = None
    with Progress(*columns, console=console, transient=False) as progress:
        line = progress.add_task(label, total=100, rows="", rate="", eta="")
        for task in updates:
            progress.update(line, **fields(task, label))
            last = task
    return last
