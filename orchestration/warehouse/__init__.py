"""The DuckDB file: schema and migrations, opening it (one writer at a time), writes and
serving copies.

No Dagster here. Readers import `schema` and `files` only (no pandas), so they start fast.
"""
