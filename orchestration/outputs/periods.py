"""The standard periods: the short names people type, the marts' names, the labels shown."""

# Short name (CLI `--period`, alert rules, switcher keys) -> `period` in marts.polar_period_summary.
PERIODS = {
    "today": "today",
    "yesterday": "yesterday",
    "7d": "last_7_days",
    "30d": "last_30_days",
    "90d": "last_90_days",
    "mtd": "month_to_date",
}
PERIOD_LABELS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "last_7_days": "7 days",
    "last_30_days": "30 days",
    "last_90_days": "90 days",
    "month_to_date": "Month to date",
}
DEFAULT_PERIOD = "30d"
