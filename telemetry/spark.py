"""How Spark is opened: the profile's Spark settings, the Java check, the embedded metastore's
lock, and sessions (embedded, or Spark Connect to the server).

`profiles/profiles.yml` is the one definition: dbt reads it as its profile, and this module renders
the same file (with dbt's `env_var` semantics) so that the ingest job, the tests and the DAG open a
SparkSession configured exactly like dbt's.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml

from telemetry.settings import (
    CONNECT_PORT,
    LOCAL_TARGET,
    LOOPBACK,
    PROFILE_NAME,
    THRIFT_PORT,
    Lakehouse,
    LakehouseError,
    lakehouse,
    port,
    server_mode,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MIN_JAVA = 17


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise LakehouseError(f"environment variable {name} is required by profiles/profiles.yml")
    return value


def spark_conf(lake: Lakehouse, target: str = LOCAL_TARGET) -> dict[str, str]:
    """The Spark settings of a dbt target in `profiles/profiles.yml`, rendered."""
    output = profile_target(lake, target)
    return {str(k): str(v) for k, v in output.get("server_side_parameters", {}).items()}


def profile_target(lake: Lakehouse, target: str) -> dict[str, Any]:
    """One output of the project's dbt profile, rendered the way dbt renders it."""
    text = (lake.profiles_dir / "profiles.yml").read_text(encoding="utf-8")
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters.update(as_number=_as_number, as_text=str)
    profile = yaml.safe_load(environment.from_string(text).render(env_var=_env_var))
    try:
        return profile[PROFILE_NAME]["outputs"][target]
    except KeyError:
        raise LakehouseError(f"profiles/profiles.yml has no target named {target!r}") from None


def _as_number(value: str) -> int | float:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            raise LakehouseError(f"profiles/profiles.yml: {value!r} is not a number") from None


def java_major_version() -> int | None:
    """The major version of the `java` on PATH (or JAVA_HOME), None when there is none."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def require_java() -> None:
    version = java_major_version()
    if version is None or version < MIN_JAVA:
        found = "no Java" if version is None else f"Java {version}"
        raise LakehouseError(
            f"Spark 4 needs Java {MIN_JAVA} or newer, and this machine has {found}. "
            "Install one, e.g. 'sudo apt-get install openjdk-17-jre-headless' (Debian/Ubuntu) "
            "or 'brew install openjdk@17' (macOS), then try again."
        )


_held_locks: dict[Path, int] = {}
SERVER_HOLDER = "server"


def lock_lakehouse(lake: Lakehouse) -> int:
    """Hold the lakehouse's lock for the life of this process, or fail at once; returns the lock
    file's descriptor.

    The embedded Derby metastore admits one process; a second one would wait ~30 s and fail with
    a stack trace. This lock turns that into an immediate, clear message. The Spark server holds
    it too, for as long as its JVM lives (it inherits the descriptor).
    """
    path = lake.data_dir / ".lakehouse.lock"
    if path in _held_locks:
        return _held_locks[path]
    lake.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid, _, holder = os.pread(fd, 64, 0).decode(errors="replace").strip().partition(" ")
        os.close(fd)
        if holder == SERVER_HOLDER:
            raise LakehouseError(
                f"the Spark server (pid {pid}) is serving the lakehouse at {lake.data_dir}; "
                "run in server mode (TELEMETRY_DBT_TARGET=server), or stop the server with "
                "'telemetry server stop'."
            ) from None
        raise LakehouseError(
            f"another run (pid {pid or 'unknown'}) is using the embedded lakehouse at "
            f"{lake.data_dir}; its Derby metastore admits one process at a time. Wait for it to "
            "finish, or use server mode for concurrent runs."
        ) from None
    _write_holder(fd, f"{os.getpid()}")
    _held_locks[path] = fd
    return fd


def hand_over_lock(lake: Lakehouse, pid: int) -> None:
    """Record the server's `pid` as the lock's holder and let go of this process's descriptor;
    the server's JVM, which inherited it, keeps the lock until it exits."""
    fd = _held_locks.pop(lake.data_dir / ".lakehouse.lock")
    _write_holder(fd, f"{pid} {SERVER_HOLDER}")
    os.close(fd)


def _write_holder(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def spark_session(lake: Lakehouse | None = None, extra_conf: dict[str, Any] | None = None
                  ) -> SparkSession:
    """The process's SparkSession, created once, then reused.

    Embedded (the `local` target): configured from the profile; dbt's session adapter calls
    `SparkSession.builder.getOrCreate()` with the same settings, so a dbt run in this process
    reuses this session and its JVM. Server mode: a Spark Connect session to the server.
    """
    lake = lake or lakehouse()
    if server_mode():
        return connect_session()
    require_java()
    os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    lake.data_dir.mkdir(parents=True, exist_ok=True)

    from pyspark.sql import SparkSession

    # py4j announces every connection at INFO; keep the console to what matters.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    conf = {**spark_conf(lake), **(extra_conf or {})}
    if conf.get("spark.hadoop.javax.jdo.option.ConnectionURL", "").startswith("jdbc:derby:"):
        lock_lakehouse(lake)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in conf.items():
        builder = builder.config(key, str(value))
    return builder.getOrCreate()


@dataclass(frozen=True)
class ServerAddress:
    """Where the Spark server listens: Thrift (HiveServer2 protocol, for dbt) and Spark Connect."""

    host: str
    thrift_port: int
    connect_port: int

    @property
    def connect_url(self) -> str:
        return f"sc://{self.host}:{self.connect_port}"

    def answers(self, port_number: int, timeout_s: float = 2.0) -> bool:
        try:
            with socket.create_connection((self.host, port_number), timeout=timeout_s):
                return True
        except OSError:
            return False


def server_address() -> ServerAddress:
    """The server named by the environment (defaults: 127.0.0.1, ports 10000 and 15002)."""
    return ServerAddress(os.environ.get("TELEMETRY_SERVER_HOST") or LOOPBACK,
                         port(THRIFT_PORT), port(CONNECT_PORT))


def connect_session() -> SparkSession:
    """A Spark Connect session to the server, or a clear error when none answers."""
    address = server_address()
    for number, what in ((address.connect_port, "Spark Connect"),
                         (address.thrift_port, "Thrift")):
        if not address.answers(number):
            raise LakehouseError(
                f"no Spark server answers at {address.host}:{number} ({what}); start one with "
                "'telemetry server start', or set TELEMETRY_SERVER_HOST and the ports, or leave "
                "server mode (unset TELEMETRY_DBT_TARGET)."
            )
    from pyspark.sql import SparkSession

    return SparkSession.builder.remote(address.connect_url).getOrCreate()


def spark_home() -> Path:
    """The Spark that pyspark installed (its wheel carries bin/spark-submit and sbin/)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent
