"""What people read, from the marts only: periods, formatting, summaries, dashboard, alerts.

No Dagster, dbt or pandas here, so `polar-metrics summary` answers fast.
"""
