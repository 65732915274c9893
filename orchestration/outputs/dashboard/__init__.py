"""The revenue dashboard: one self-contained HTML file rendered from the dbt marts."""
