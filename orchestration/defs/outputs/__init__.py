"""Dagster definitions of what people see: dashboard, serving copy, revenue alert checks.

Loaded by `orchestration/definitions.py` with Dagster's defs-folder loading."""
