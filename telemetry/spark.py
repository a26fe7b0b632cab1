"""How Spark is opened: the profile's Spark settings, the Java check, the Iceberg jars (fetched
once), and sessions (embedded, or Spark Connect to the server).

`profiles/profiles.yml` is the one definition: dbt reads it as its profile, and this module renders
the same file (with dbt's `env_var` semantics) so that the ingest job, the tests and the DAG open a
SparkSession configured exactly like dbt's.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml

from telemetry.settings import (
    CONNECT_PORT,
    FILE_SYSTEM_SOURCE,
    LOCAL_TARGET,
    LOOPBACK,
    PROFILE_NAME,
    SPARK_PACKAGES,
    THRIFT_PORT,
    Lakehouse,
    LakehouseError,
    file_system_env,
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
    """The Spark settings of a dbt target in `profiles/profiles.yml`, rendered (for this lake's
    local file system: file_system_env, set in the environment too, where dbt renders the same
    profile)."""
    os.environ.update(file_system_env(lake))
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


def java_version_text() -> str | None:
    """What the `java` on PATH (or JAVA_HOME) says of its version, None when there is none."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    return subprocess.run([java, "-version"], capture_output=True, text=True,
                          check=False).stderr


def java_major_version() -> int | None:
    """The major version of the `java` on PATH (or JAVA_HOME), None when there is none."""
    out = java_version_text()
    if out is None:
        return None
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


def missing_jars(lake: Lakehouse) -> list[Path]:
    return [path for path in lake.jar_files() if not path.is_file()]


def require_jars(lake: Lakehouse) -> list[Path]:
    """The jars the lakehouse's Spark needs, or a clear error naming the missing ones."""
    missing = missing_jars(lake)
    if missing:
        raise LakehouseError(
            "the Iceberg jars are missing: " + ", ".join(p.name for p in missing)
            + f" (in {lake.jars_dir}); fetch them with 'make install' or 'telemetry jars'."
        )
    return lake.jar_files()


# Resolves the packages with Spark's own resolver (Ivy, Maven Central) in a throw-away JVM.
_RESOLVE = """
import sys
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.jars.packages", sys.argv[1]).config("spark.jars.ivy", sys.argv[2])
         .getOrCreate())
spark.stop()
"""


def build_file_system_jar(lake: Lakehouse) -> Path | None:
    """Compile FILE_SYSTEM_SOURCE against pyspark's Hadoop into lake.file_system_jar, unless the
    jar is newer than the source; the jar, or None, saying why, when no JDK's javac is at hand
    (Spark then uses Hadoop's own local file system)."""
    source = lake.home / FILE_SYSTEM_SOURCE
    jar = lake.file_system_jar
    if jar.is_file() and jar.stat().st_mtime >= source.stat().st_mtime:
        return jar
    java_home = os.environ.get("JAVA_HOME")
    javac = (shutil.which("javac", path=str(Path(java_home) / "bin")) if java_home else None
             ) or shutil.which("javac")
    if javac is None:
        print(f"note: no javac (a JDK) found: {jar.name} is not built, and Spark sets file "
              "permissions with Hadoop's chmod process per file", file=sys.stderr)
        return None
    import pyspark

    classpath = str(Path(pyspark.__file__).parent / "jars" / "*")
    with tempfile.TemporaryDirectory(prefix="telemetry-hadoop-") as scratch:
        classes = Path(scratch) / "classes"
        done = subprocess.run([javac, "--release", str(MIN_JAVA), "-nowarn", "-d", str(classes),
                               "-cp", classpath, str(source)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LakehouseError(f"could not compile {FILE_SYSTEM_SOURCE}:\n"
                                 + (done.stdout + done.stderr).strip())
        partial = jar.with_suffix(".partial")
        jar.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(classes.rglob("*.class")):
                archive.write(path, path.relative_to(classes).as_posix())
        os.replace(partial, jar)
    return jar


def fetch_jars(lake: Lakehouse) -> list[Path]:
    """Fetch SPARK_PACKAGES from Maven Central into the jars folder, once; their paths."""
    if not missing_jars(lake):
        return lake.jar_files()
    require_java()
    ivy = lake.jars_dir / "ivy"
    env = {**os.environ, "SPARK_LOCAL_IP": LOOPBACK}
    env.pop("SPARK_HOME", None)
    done = subprocess.run([sys.executable, "-c", _RESOLVE, ",".join(SPARK_PACKAGES), str(ivy)],
                          env=env, capture_output=True, text=True, check=False)
    for path in missing_jars(lake):
        resolved = ivy / "jars" / f"{_ivy_name(path.name)}"
        if resolved.is_file():
            shutil.copyfile(resolved, path)
    if missing_jars(lake):
        raise LakehouseError(
            "could not fetch the Iceberg jars from Maven Central with Spark's resolver "
            f"({', '.join(SPARK_PACKAGES)}); its last lines:\n"
            + "\n".join((done.stdout + done.stderr).splitlines()[-15:]))
    return lake.jar_files()


def _ivy_name(jar_name: str) -> str:
    """The name Ivy gives a Maven jar in its `jars/` folder: `<group>_<artifact>-<version>.jar`."""
    for coordinate in SPARK_PACKAGES:
        group, artifact, version = coordinate.split(":")
        if jar_name == f"{artifact}-{version}.jar":
            return f"{group}_{jar_name}"
    raise ValueError(jar_name)


def spark_session(lake: Lakehouse | None = None, extra_conf: dict[str, Any] | None = None,
                  java_options: str = "") -> SparkSession:
    """The process's SparkSession, created once, then reused.

    Embedded (the `local` target): configured from the profile, its driver JVM given
    `java_options` besides the profile's; dbt's session adapter calls
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
    require_jars(lake)
    lake.catalog_file.parent.mkdir(parents=True, exist_ok=True)
    conf = {**spark_conf(lake), **(extra_conf or {})}
    if java_options:
        options = conf.get("spark.driver.extraJavaOptions", "")
        conf["spark.driver.extraJavaOptions"] = f"{options} {java_options}".strip()
    builder = SparkSession.builder
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


def connect_session(address: ServerAddress | None = None) -> SparkSession:
    """A Spark Connect session to the server, or a clear error when none answers."""
    address = address or server_address()
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
