"""Energy telemetry lakehouse: simulated fleet telemetry, Bronze ingest, and the `telemetry` CLI."""
