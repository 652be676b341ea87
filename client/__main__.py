"""`python -m client`: the graph node CLI (see client/cli.py)."""

from client.cli import app

app(prog_name="python -m client")
