"""The one place for what the rest of the project looks up: where the project and the lakehouse
live, the dbt target (and so the engine), the loopback address and the ports of the local
services, the Airflow pools, and the usage-telemetry opt-outs.

Everything here is plain Python (no Spark, dbt or Airflow import), so any module may read it.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROFILE_NAME = "energy_telemetry"
LOCAL_TARGET = "local"
SERVER_TARGET = "server"

# Every service the project starts binds here, and the embedded engine's driver too.
LOOPBACK = "127.0.0.1"

# Where each local service listens unless its setting says otherwise: (setting, default port).
THRIFT_PORT = ("TELEMETRY_THRIFT_PORT", 10000)
CONNECT_PORT = ("TELEMETRY_CONNECT_PORT", 15002)
AIRFLOW_PORT = ("TELEMETRY_AIRFLOW_PORT", 8080)
DOCS_PORT = ("TELEMETRY_DOCS_PORT", 8081)
MASTER_PORT = ("TELEMETRY_MASTER_PORT", 7077)
MASTER_UI_PORT = ("TELEMETRY_MASTER_UI_PORT", 8090)

# The Airflow pool of the tasks that open Spark: one slot on the embedded engine, whose metastore
# admits one process; Airflow's default pool in server mode.
EMBEDDED_SPARK_POOL = "embedded_spark"
DEFAULT_POOL = "default_pool"

# Which engine the tasks use and where the server is (see profiles/profiles.yml): what a child
# process (a dbt task of the DAG) must inherit.
SERVER_SETTINGS = ("TELEMETRY_DBT_TARGET", "TELEMETRY_SERVER_HOST", "TELEMETRY_THRIFT_PORT",
                   "TELEMETRY_CONNECT_PORT", "TELEMETRY_SERVER_USER")

# dbt's, Cosmos's, Airflow's and the Python packages' usage telemetry: off.
NO_USAGE_TELEMETRY = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "1",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}

DBT_RUNS_DIR = "dbt-runs"

# The jars the lakehouse's Spark needs beyond pyspark, from Maven Central: Iceberg's Spark runtime
# (for this pyspark's minor version) and the SQLite driver of the Iceberg catalog. Fetched once
# into JARS_DIR (`make install`, or `telemetry jars`); profiles/profiles.yml names the same files.
SPARK_PACKAGES = (
    "org.apache.iceberg:iceberg-spark-runtime-4.1_2.13:1.12.0",
    "org.xerial:sqlite-jdbc:3.54.1.0",
)
JARS_DIR = ".jars"
# The classes a run's JVM loads, recorded once into an archive in JARS_DIR (`telemetry jars`) and
# mapped by every later JVM (class-data sharing); profiles/profiles.yml names the same file.
CLASS_ARCHIVE = "spark-classes.jsa"
# Hadoop's local file system with permissions set through java.nio, not a `chmod` process per
# file and directory (Hadoop's way without its native library): compiled from FILE_SYSTEM_SOURCE
# into FILE_SYSTEM_JAR by `telemetry jars` when a JDK's javac is at hand. profiles/profiles.yml
# puts the jar on the JVM's class path and names the class in TELEMETRY_FILE_SYSTEM, which
# `file_system_env` sets when the jar is there (Hadoop's own file system otherwise).
FILE_SYSTEM_SOURCE = "jvm/energytelemetry/hadoop/LocalFileSystem.java"
FILE_SYSTEM_JAR = "telemetry-hadoop.jar"
FILE_SYSTEM_CLASS = "energytelemetry.hadoop.LocalFileSystem"
HADOOP_FILE_SYSTEM_CLASS = "org.apache.hadoop.fs.LocalFileSystem"

# The Iceberg catalog every engine of the project uses (Spark, the server, pyiceberg).
CATALOG_NAME = "lake"


class LakehouseError(RuntimeError):
    """A problem the user can fix; printed as one clear message, without a stack trace."""


@dataclass(frozen=True)
class Lakehouse:
    """The folders of one lakehouse; everything is absolute."""

    home: Path
    data_dir: Path

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def catalog_file(self) -> Path:
        """The Iceberg catalog (a SQLite database that several processes can open at once)."""
        return self.data_dir / "catalog" / "iceberg.db"

    @property
    def jars_dir(self) -> Path:
        return self.home / JARS_DIR

    @property
    def class_archive(self) -> Path:
        return self.jars_dir / CLASS_ARCHIVE

    @property
    def file_system_jar(self) -> Path:
        return self.jars_dir / FILE_SYSTEM_JAR

    def jar_files(self) -> list[Path]:
        """The jars of SPARK_PACKAGES, as Maven names them, in the jars folder."""
        return [self.jars_dir / f"{artifact}-{version}.jar"
                for _, artifact, version in (c.split(":") for c in SPARK_PACKAGES)]

    @property
    def metrics_dir(self) -> Path:
        return self.data_dir / "metrics"

    @property
    def docs_dir(self) -> Path:
        """The dbt docs site the DAG regenerates after each published run (Airflow shows it)."""
        return self.data_dir / "dbt-docs"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def lineage_file(self) -> Path:
        """The OpenLineage events of the DAGs' tasks, one JSON document a line."""
        return self.data_dir / "lineage" / "events.jsonl"

    @property
    def run_dir(self) -> Path:
        """Pids and logs of the local services."""
        return self.data_dir / "run"

    @property
    def profiles_dir(self) -> Path:
        return self.home / "profiles"

    def table_dir(self, table: str) -> Path:
        """Where an Iceberg table keeps its data files (its `data/` folder)."""
        schema, name = table.split(".")
        return self.warehouse_dir / schema / name / "data"


def project_home() -> Path:
    """The project folder: TELEMETRY_HOME, or this checkout."""
    return Path(os.environ.get("TELEMETRY_HOME") or PROJECT_DIR).resolve()


def lakehouse() -> Lakehouse:
    """The lakehouse named by the environment, defaulting to `<project>/data`.

    Sets TELEMETRY_HOME and TELEMETRY_DATA_DIR in the environment so that dbt, run in this process
    or in a child, renders the same paths.
    """
    home = project_home()
    data_dir = Path(os.environ.get("TELEMETRY_DATA_DIR") or home / "data").resolve()
    os.environ["TELEMETRY_HOME"] = str(home)
    os.environ["TELEMETRY_DATA_DIR"] = str(data_dir)
    # The profile falls back on PWD, which a shell started without an environment may not set.
    os.environ.setdefault("PWD", os.getcwd())
    lake = Lakehouse(home=home, data_dir=data_dir)
    os.environ.update(file_system_env(lake))
    return lake


def file_system_env(lake: Lakehouse) -> dict[str, str]:
    """TELEMETRY_FILE_SYSTEM, the local file system the profile names: the project's
    (FILE_SYSTEM_CLASS) when its jar is built in this project, else Hadoop's own."""
    built = lake.file_system_jar.is_file()
    return {"TELEMETRY_FILE_SYSTEM": FILE_SYSTEM_CLASS if built else HADOOP_FILE_SYSTEM_CLASS}


def dbt_target() -> str:
    """The dbt target, and so the engine: `local` (embedded Spark, the default) or `server`."""
    return os.environ.get("TELEMETRY_DBT_TARGET") or LOCAL_TARGET


# The embedded engine builds two dbt nodes at a time (the profile's `threads: 2`: on a 2-million-
# line day four at once ran the 1.5 GiB driver out of memory), except for a run of at most this
# many Bronze lines, whose nodes are small Spark jobs that cost mostly fixed time: it runs
# SMALL_RUN_THREADS side by side (TELEMETRY_SMALL_RUN_LINES=0 turns this off).
SMALL_RUN_LINES = 600_000
SMALL_RUN_THREADS = 4


def build_threads(bronze_lines: int) -> int | None:
    """The dbt threads of a run on the embedded engine with this many Bronze lines; None: the
    profile's (always in server mode, where the server runs nodes side by side)."""
    if server_mode():
        return None
    limit = int(os.environ.get("TELEMETRY_SMALL_RUN_LINES") or SMALL_RUN_LINES)
    return SMALL_RUN_THREADS if bronze_lines <= limit else None


# A run on the embedded engine whose raw files hold at most this many bytes (a seed-rate day is
# about 6 MB) starts its JVM with the client compiler alone: on such a run the optimizing compiler
# took nearly half of the JVM's CPU compiling code that ran too briefly to repay it (a seed-rate
# day: 42 s against 37 s); at a tenth of the 1 Hz rate (34 MB) both took the same time, and past
# that the optimized code wins (TELEMETRY_SMALL_RUN_RAW_BYTES=0 turns this off).
SMALL_RUN_RAW_BYTES = 24 * 2**20
# With the client compiler alone the JVM reserves 48 MB for compiled code, not 240 MB; a new
# lakehouse's first run filled that ("Out of space in CodeCache"), so it keeps the usual size.
CLIENT_COMPILER_ONLY = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"


def run_java_options(raw_bytes: int) -> str:
    """The JVM options a run adds to the profile's for raw files of this many bytes."""
    limit = int(os.environ.get("TELEMETRY_SMALL_RUN_RAW_BYTES") or SMALL_RUN_RAW_BYTES)
    return CLIENT_COMPILER_ONLY if raw_bytes <= limit else ""


# Where the daily DAG's raw files come from, a deployment setting: real devices' uploads (the
# default: the DAG waits for each day's completion marker) or the simulator (the demo lakehouse).
RAW_SOURCE = "TELEMETRY_RAW_SOURCE"
RAW_SOURCES = ("files", "simulated")


def raw_source() -> str:
    """`files` (wait for the producer's files; the default) or `simulated` (generate them)."""
    value = os.environ.get(RAW_SOURCE) or RAW_SOURCES[0]
    if value not in RAW_SOURCES:
        raise LakehouseError(f"{RAW_SOURCE}={value!r} is not one of {', '.join(RAW_SOURCES)}")
    return value


def server_mode() -> bool:
    return dbt_target() == SERVER_TARGET


def port(setting: tuple[str, int]) -> int:
    """A port from its setting (e.g. THRIFT_PORT), or a clear error for one that is not a port."""
    name, default = setting
    text = os.environ.get(name) or str(default)
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise LakehouseError(f"{name}={text!r} is not a port number")
    return int(text)


def spark_pool() -> str:
    """The Airflow pool of the tasks that use Spark (TELEMETRY_SPARK_POOL overrides it)."""
    if os.environ.get("TELEMETRY_SPARK_POOL"):
        return os.environ["TELEMETRY_SPARK_POOL"]
    return DEFAULT_POOL if server_mode() else EMBEDDED_SPARK_POOL


def disable_usage_telemetry(environ: MutableMapping[str, str] | None = None) -> None:
    """Turn usage telemetry off in `environ` (default: this process's), unless set already."""
    environ = os.environ if environ is None else environ
    for name, value in NO_USAGE_TELEMETRY.items():
        environ.setdefault(name, value)
