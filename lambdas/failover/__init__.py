"""Failover: a dead node's graphs come back on the node that adopts its data volume."""
