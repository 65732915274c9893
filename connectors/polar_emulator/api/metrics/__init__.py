"""`GET /v1/metrics/`: parameters, buckets, per-organization components, series and totals."""
