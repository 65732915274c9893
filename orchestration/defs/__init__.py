"""Dagster definitions, one package per area (`polar`, `dbt`, `outputs`), each exporting `defs`."""
