"""Polar -> rows: scopes, organizations, metrics windows, drift, backfill, custom ranges.

No Dagster here: the assets in `orchestration.defs` and the CLI call these functions alike.
"""
