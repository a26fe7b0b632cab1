"""The `telemetry` application around the Bronze ingest job: settings, Spark sessions, the pipeline
(dbt, metrics, registry), the simulator, the jobs both front ends call, the local services and the
front ends themselves (`telemetry.cli`, `telemetry.airflow_tasks`). Imports point one way; the
README's architecture section gives the rule and `tests/test_layout.py` enforces it."""
