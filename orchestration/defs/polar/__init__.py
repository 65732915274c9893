"""Dagster definitions of the Polar source: resources, raw assets, checks, jobs, schedules.

Loaded by `orchestration/definitions.py` with Dagster's defs-folder loading."""
