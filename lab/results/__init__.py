"""Results: one schema for every sample, a local store, InfluxDB, reports and trends."""
