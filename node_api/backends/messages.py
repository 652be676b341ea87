"""Engine error text -> a message in the API's words (interim: the first line, no internals)."""

from __future__ import annotations


def public_message(engine_text: str) -> str:
    first = (engine_text or "").strip().splitlines()[0] if (engine_text or "").strip() else ""
    return first[:500] or "the engine refused the statement"
