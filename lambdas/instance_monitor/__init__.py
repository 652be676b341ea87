"""Instance monitor: heartbeat/health-check driven instance status, graph flags, terminated cleanup."""
