"""The limit for the query-path benchmark: a bare uvicorn endpoint that runs a Cypher query on one
embedded database (Kuzu or LadybugDB) in its own process, with the same engine settings, a pool of
connections, a worker thread per call and orjson output — and nothing else (no auth, admission,
validation, statement policy, worker process or logging).

    python bench/bare_endpoint.py ENGINE DB_FILE PORT
"""

from __future__ import annotations

import asyncio
import importlib
import queue
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import uvicorn

engine = importlib.import_module(sys.argv[1])
DB_FILE, PORT = sys.argv[2], int(sys.argv[3])
database = engine.Database(DB_FILE, buffer_pool_size=256 << 20, max_num_threads=2, max_db_size=64 << 30)
connections: queue.SimpleQueue[Any] = queue.SimpleQueue()
for _ in range(10):
    connections.put(engine.Connection(database))
executor = ThreadPoolExecutor(20)


def run(cypher: str, params: dict) -> bytes:
    conn = connections.get()
    try:
        result = conn.execute(cypher, params)
        body = {"columns": result.get_column_names(), "rows": result.get_all()}
        result.close()
    finally:
        connections.put(conn)
    body["row_count"] = len(body["rows"])
    return orjson.dumps(body)


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    request = orjson.loads(b"".join(chunks) or b"{}")
    if "cypher" not in request:
        payload, status = b"{}", 200
    else:
        payload = await asyncio.get_running_loop().run_in_executor(
            executor, run, request["cypher"], request.get("parameters", {}))
        status = 200
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning", access_log=False)
