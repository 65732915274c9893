"""What every Dagster area shares, defined once: the warehouse resource, the writer pool, owners."""
