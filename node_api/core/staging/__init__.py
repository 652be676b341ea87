"""Per-graph DuckDB staging: tables built from Parquet in S3 (or a local dev root), queried read-only
by tenants, and moved into the graph through Arrow + the backend's bulk_load."""
