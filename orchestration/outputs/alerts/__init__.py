"""Revenue alerts: rules from a small YAML file, evaluated on the marts after every refresh.

A triggered rule is a failed Dagster asset check (severity WARN or ERROR), a notice on the
dashboard and, when `POLAR_METRICS_ALERT_WEBHOOK` is set, one Slack-compatible POST per rule,
scope and day. No Dagster import in this package; `orchestration.defs.outputs` wires it.
"""
