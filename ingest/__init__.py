"""The Bronze ingest job: every line of a receive day's raw files lands in `bronze.raw_telemetry`.

`ingest.layout` is where raw files live and which of them belong to a day; `ingest.bronze` is the
PySpark job (extract -> a pure transform -> load). Nothing here imports the rest of the project:
the pipeline calls `ingest_days`, and `spark-submit ingest/bronze.py` runs it on its own.
"""
