"""Dagster definitions of the dbt project: the models as assets, the `dbt` resource, codegen.

Loaded by `orchestration/definitions.py` with Dagster's defs-folder loading."""
