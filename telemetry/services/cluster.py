"""A standalone Spark cluster on this machine: one master and N workers on 127.0.0.1, started
with `sbin/spark-daemon.sh` from the pyspark install. It lets server mode run on real executor
processes (`telemetry server start --master spark://127.0.0.1:7077`) without a cluster elsewhere.

Pids, logs and each worker's work folder (its executors' logs) live under `<data>/cluster/`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from telemetry.settings import (
    LOOPBACK,
    MASTER_PORT,
    MASTER_UI_PORT,
    Lakehouse,
    LakehouseError,
    port,
)
from telemetry.spark import require_java, spark_home

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


@dataclass(frozen=True)
class Cluster:
    """Where the cluster's processes listen and keep their files."""

    folder: Path
    master_port: int
    master_ui_port: int
    workers: int
    worker_cores: int = 1
    worker_memory: str = "2g"

    @property
    def master_url(self) -> str:
        return f"spark://{LOOPBACK}:{self.master_port}"

    def worker_ui_port(self, instance: int) -> int:
        return self.master_ui_port + instance

    def work_dir(self, instance: int) -> Path:
        return self.folder / f"worker-{instance}"


def cluster_from_env(lake: Lakehouse) -> Cluster:
    """TELEMETRY_MASTER_PORT (7077), TELEMETRY_MASTER_UI_PORT (8090; workers take the next
    ports) and TELEMETRY_WORKERS (2)."""
    workers = os.environ.get("TELEMETRY_WORKERS") or "2"
    if not workers.isdigit() or int(workers) < 1:
        raise LakehouseError(f"TELEMETRY_WORKERS={workers!r} is not a positive whole number")
    return Cluster(lake.data_dir / "cluster", port(MASTER_PORT), port(MASTER_UI_PORT),
                   int(workers))


def _daemon(cluster: Cluster, action: str, cls: str, instance: int, *args: str) -> None:
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": LOOPBACK,
        "SPARK_PID_DIR": str(cluster.folder / "run"),
        "SPARK_LOG_DIR": str(cluster.folder / "logs"),
        "SPARK_IDENT_STRING": "telemetry",
        "SPARK_DAEMON_MEMORY": "512m",
    }
    env.pop("SPARK_NO_DAEMONIZE", None)  # it would keep the daemon in the foreground
    done = subprocess.run(
        [str(spark_home() / "sbin" / "spark-daemon.sh"), action, cls, str(instance), *args],
        env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise LakehouseError(f"spark-daemon.sh {action} {cls} {instance} failed:\n"
                             f"{(done.stdout + done.stderr)[-2000:]}")


def master_state(cluster: Cluster) -> dict | None:
    """The master's own account of the cluster (its web UI's JSON), None when it is down."""
    try:
        with urllib.request.urlopen(
                f"http://{LOOPBACK}:{cluster.master_ui_port}/json/", timeout=2) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def live_workers(state: dict) -> int:
    """How many workers the master's state lists as alive."""
    return sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")


def start_cluster(cluster: Cluster, timeout_s: float = 120.0) -> None:
    """Start the master, then the workers; returns once every worker has registered."""
    require_java()
    if master_state(cluster) is not None:
        raise LakehouseError(f"a Spark master already answers on port {cluster.master_ui_port}")
    _daemon(cluster, "start", MASTER_CLASS, 1, "--host", LOOPBACK,
            "--port", str(cluster.master_port), "--webui-port", str(cluster.master_ui_port))
    for instance in range(1, cluster.workers + 1):
        cluster.work_dir(instance).mkdir(parents=True, exist_ok=True)
        _daemon(cluster, "start", WORKER_CLASS, instance, "--host", LOOPBACK,
                "--webui-port", str(cluster.worker_ui_port(instance)),
                "--cores", str(cluster.worker_cores), "--memory", cluster.worker_memory,
                "--work-dir", str(cluster.work_dir(instance)), cluster.master_url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if live_workers(master_state(cluster) or {}) >= cluster.workers:
            return
        time.sleep(1.0)
    stop_cluster(cluster)
    raise LakehouseError(f"the cluster's {cluster.workers} workers did not register with "
                         f"{cluster.master_url} within {timeout_s:.0f}s; logs in "
                         f"{cluster.folder / 'logs'}")


def stop_cluster(cluster: Cluster) -> None:
    """Stop the workers, then the master (spark-daemon.sh ends only the pids it recorded)."""
    for instance in range(cluster.workers, 0, -1):
        _daemon(cluster, "stop", WORKER_CLASS, instance)
    _daemon(cluster, "stop", MASTER_CLASS, 1)
