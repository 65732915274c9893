"""The revenue dashboard: one self-contained HTML file rendered from the dbt marts.

Importing this package must stay light (no Dagster, no dbt): `polar-metrics summary` reuses its
value formatting.
"""
