"""The dbt docs site: `dbt docs generate`, then a static file server on 127.0.0.1."""

from __future__ import annotations

import os
import sys

from telemetry.pipeline.dbt import dbt_target_dir, run_dbt
from telemetry.services.process import Service, http_ok, require_free_port
from telemetry.settings import DOCS_PORT, LOOPBACK, Lakehouse
from telemetry.settings import port as configured_port


def docs_service(lake: Lakehouse) -> Service:
    return Service("dbt-docs", lake.run_dir, marker="http.server")


def start_docs(lake: Lakehouse, port: int | None = None) -> str:
    """`dbt docs generate` (in this process: it needs Spark for the catalog), then serve the site
    on 127.0.0.1 from its own process."""
    port = port or configured_port(DOCS_PORT)
    require_free_port(port, DOCS_PORT[0])
    run_dbt(lake, ["docs", "generate"])
    target = dbt_target_dir(lake)
    url = f"http://{LOOPBACK}:{port}/index.html"
    docs_service(lake).start(
        [sys.executable, "-m", "http.server", str(port), "--bind", LOOPBACK,
         "--directory", str(target)],
        dict(os.environ), lambda: http_ok(url), url, timeout_s=30,
    )
    return url
