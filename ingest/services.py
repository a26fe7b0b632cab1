"""Long-running local services the project starts for its users: Airflow (`airflow standalone`)
and the dbt docs site. Each runs in a process group of its own, bound to 127.0.0.1, with its pid
and log under the data folder, so that `stop` ends it and every process it started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.airflow_tasks import EMBEDDED_SPARK_POOL
from ingest.dbt_build import dbt_target_dir
from ingest.lakehouse import Lakehouse, LakehouseError

AIRFLOW_PORT = int(os.environ.get("TELEMETRY_AIRFLOW_PORT", "8080"))
DOCS_PORT = int(os.environ.get("TELEMETRY_DOCS_PORT", "8081"))


@dataclass(frozen=True)
class Service:
    name: str
    run_dir: Path
    # A word of the service's command line: a pid file naming a process without it is stale
    # (the pid was reused), and that process is never signalled.
    marker: str | None = None

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The service's pid when its process is alive, else None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return None
        if self.marker and not _command_line_has(pid, self.marker):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def require_stopped(self) -> None:
        if (pid := self.pid()) is not None:
            raise LakehouseError(f"{self.name} is already running (pid {pid}); "
                                 f"stop it first")

    def start(self, command: list[str], env: dict[str, str], ready: Callable[[], bool],
              where: str, timeout_s: float, pass_fds: tuple[int, ...] = ()) -> int:
        """Start the service in a process group of its own; return its pid once `ready()`
        holds, or stop it and fail with its log's last lines."""
        self.require_stopped()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       pass_fds=pass_fds)
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise LakehouseError(f"{self.name} exited with code {process.returncode}; "
                                     f"last lines of {self.log_file}:\n{self.tail()}")
            if ready():
                return process.pid
            time.sleep(1.0)
        self.stop()
        raise LakehouseError(f"{self.name} did not answer at {where} within {timeout_s:.0f}s;"
                             f" last lines of {self.log_file}:\n{self.tail()}")

    def stop(self, timeout_s: float = 30.0) -> bool:
        """End the service's whole process group; False when it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and _group_alive(pid):
                time.sleep(0.2)
            if not _group_alive(pid):
                break
        self.pid_file.unlink(missing_ok=True)
        return True

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _command_line_has(pid: int, word: str) -> bool:
    """Whether the process's command line holds `word` (true where /proc cannot tell)."""
    try:
        return word.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # A zombie leader still counts until reaped; reap it if it is our child.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    return True


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 400
    except (OSError, ValueError):
        return False


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def require_free_port(port: int, setting: str) -> None:
    """Fail, naming the setting that moves it, when something listens on 127.0.0.1:`port`."""
    if not port_free(port):
        raise LakehouseError(f"port {port} on 127.0.0.1 is taken; set {setting} to another port")


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def airflow_env(lake: Lakehouse, port: int = AIRFLOW_PORT) -> dict[str, str]:
    """Airflow's home inside the data folder, the project's DAGs, loopback, no telemetry.

    Airflow 3.3 binds its log servers (ports 8793 and 8794) to every interface, with no setting
    to change it; they answer only requests signed with the installation's secret."""
    home = lake.data_dir / "airflow"
    return {
        **os.environ,
        # airflow standalone starts its components as `airflow ...` from PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(lake.home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "SCARF_NO_ANALYTICS": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "TELEMETRY_HOME": str(lake.home),
        "TELEMETRY_DATA_DIR": str(lake.data_dir),
        "TELEMETRY_DBT_MANIFEST": str(dbt_target_dir(lake) / "manifest.json"),
    }


def airflow_setup(lake: Lakehouse, port: int = AIRFLOW_PORT) -> dict[str, str]:
    """What the DAG needs before Airflow starts: dbt's manifest (Cosmos renders from it, offline
    and fast), Airflow's database, and the one-slot pool for tasks that open Spark."""
    from ingest.dbt_build import run_dbt

    env = airflow_env(lake, port)
    run_dbt(lake, ["parse"])
    for args in (["db", "migrate"],
                 ["pools", "set", EMBEDDED_SPARK_POOL, "1", "Spark on the embedded metastore"]):
        done = subprocess.run([_bin("airflow"), *args], env=env, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0:
            raise LakehouseError(f"airflow {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return env


def airflow_service(lake: Lakehouse) -> Service:
    return Service("airflow", lake.data_dir / "run", marker="airflow")


def start_airflow(lake: Lakehouse, port: int = AIRFLOW_PORT) -> str:
    require_free_port(port, "TELEMETRY_AIRFLOW_PORT")
    env = airflow_setup(lake, port)
    health = f"http://127.0.0.1:{port}/api/v2/monitor/health"
    airflow_service(lake).start([_bin("airflow"), "standalone"], env,
                                lambda: http_ok(health), health, timeout_s=300)
    return f"http://127.0.0.1:{port}"


def docs_service(lake: Lakehouse) -> Service:
    return Service("dbt-docs", lake.data_dir / "run", marker="http.server")


def start_docs(lake: Lakehouse, port: int = DOCS_PORT) -> str:
    """`dbt docs generate` (in this process: it needs Spark for the catalog), then serve the site
    on 127.0.0.1 from its own process."""
    from ingest.dbt_build import run_dbt

    require_free_port(port, "TELEMETRY_DOCS_PORT")
    run_dbt(lake, ["docs", "generate"])
    target = dbt_target_dir(lake)
    url = f"http://127.0.0.1:{port}/index.html"
    docs_service(lake).start(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(target)],
        dict(os.environ), lambda: http_ok(url), url, timeout_s=30,
    )
    return url
