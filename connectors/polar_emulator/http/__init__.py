"""Polar's HTTP conventions: errors, faults, rate limit, stats, query validation, headers."""
