"""Embedded engines (Kuzu, LadybugDB): one supervised worker process per open database.

Node side: backend.py (the GraphBackend), pool.py (one open database: its worker, channels and
write lane), process.py (spawning and talking to a worker), supervisor.py (memory budgets),
catalog.py (the on-disk layout), backup.py and rebuild.py. Worker side: worker.py and engine_ops.py,
the only modules that import an engine. protocol.py is shared. See docs/architecture.md.
"""
