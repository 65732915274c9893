"""The Dagster concurrency pool of the DuckDB file, and who owns the assets."""

# Limit 1 (dagster.yaml): DuckDB allows one writing process per file, and a read-only open fails
# while another process writes, so readers of the main file take the pool too.
WAREHOUSE_POOL = "duckdb_warehouse"

OWNERS = ["team:revenue-data"]
