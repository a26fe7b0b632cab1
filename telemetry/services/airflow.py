"""Airflow on this machine: `airflow standalone` with the project's DAGs, bound to 127.0.0.1, its
home inside the data folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from telemetry.pipeline.dbt import dbt_target_dir, run_dbt
from telemetry.services.process import Service, http_ok, require_free_port, venv_bin
from telemetry.settings import (
    AIRFLOW_PORT,
    EMBEDDED_SPARK_POOL,
    LOOPBACK,
    NO_USAGE_TELEMETRY,
    Lakehouse,
    LakehouseError,
)
from telemetry.settings import (
    port as configured_port,
)

DOCS_SLUG = "energy_telemetry"


def airflow_settings(lake: Lakehouse) -> dict[str, str]:
    """The project's Airflow settings, as environment variables: its DAGs, OpenLineage events
    written to a file in the data folder (no network), and the dbt docs site the DAG regenerates,
    shown in Airflow's UI by Cosmos (Browse > dbt docs)."""
    lake.lineage_file.parent.mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW__CORE__DAGS_FOLDER": str(lake.home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": DOCS_SLUG,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(lake.lineage_file), "append": True}),
        "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS": json.dumps(
            {DOCS_SLUG: {"dir": str(lake.docs_dir), "index": "index.html",
                         "name": "dbt docs"}}),
    }


def airflow_env(lake: Lakehouse, port: int | None = None) -> dict[str, str]:
    """Airflow's home inside the data folder, the project's DAGs, loopback, no telemetry.

    Airflow 3.3 binds its log servers (ports 8793 and 8794) to every interface, with no setting
    to change it; they answer only requests signed with the installation's secret."""
    port = port or configured_port(AIRFLOW_PORT)
    home = lake.data_dir / "airflow"
    return {
        **os.environ,
        # airflow standalone starts its components as `airflow ...` from PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        **airflow_settings(lake),
        "AIRFLOW__API__HOST": LOOPBACK,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://{LOOPBACK}:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{LOOPBACK}:{port}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        **NO_USAGE_TELEMETRY,
        "SPARK_LOCAL_IP": LOOPBACK,
        "TELEMETRY_HOME": str(lake.home),
        "TELEMETRY_DATA_DIR": str(lake.data_dir),
        "TELEMETRY_DBT_MANIFEST": str(dbt_target_dir(lake) / "manifest.json"),
    }


def airflow_setup(lake: Lakehouse, port: int | None = None) -> dict[str, str]:
    """What the DAG needs before Airflow starts: dbt's manifest (Cosmos renders from it, offline
    and fast), the dbt docs site until a run regenerates it, Airflow's database, and the one-slot
    pool for tasks that open Spark."""
    env = airflow_env(lake, port)
    run_dbt(lake, ["parse"])
    if not (lake.docs_dir / "index.html").is_file():
        # The project's lineage, without Spark: the manifest just parsed and an empty catalog.
        lake.docs_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dbt_target_dir(lake) / "manifest.json", lake.docs_dir / "manifest.json")
        run_dbt(lake, ["docs", "generate", "--no-compile", "--empty-catalog", "--target-path",
                       str(lake.docs_dir)])
    for args in (["db", "migrate"],
                 ["pools", "set", EMBEDDED_SPARK_POOL, "1", "Spark on the embedded metastore"]):
        done = subprocess.run([venv_bin("airflow"), *args], env=env, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise LakehouseError(f"airflow {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return env


def airflow_service(lake: Lakehouse) -> Service:
    return Service("airflow", lake.run_dir, marker="airflow")


def airflow_password_file(lake: Lakehouse) -> Path:
    """Where `airflow standalone` writes the generated password of the user `admin`."""
    return lake.data_dir / "airflow" / "simple_auth_manager_passwords.json.generated"


def start_airflow(lake: Lakehouse, port: int | None = None) -> str:
    port = port or configured_port(AIRFLOW_PORT)
    require_free_port(port, AIRFLOW_PORT[0])
    env = airflow_setup(lake, port)
    health = f"http://{LOOPBACK}:{port}/api/v2/monitor/health"
    airflow_service(lake).start([venv_bin("airflow"), "standalone"], env,
                                lambda: http_ok(health), health, timeout_s=300)
    return f"http://{LOOPBACK}:{port}"
