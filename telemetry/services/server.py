"""Server mode: one JVM running Spark's Thrift server (dbt connects to it) with the Spark Connect
plugin (the ingest job and the metrics connect to it), sharing one metastore and one warehouse.

`telemetry server start` launches it with `spark-submit` from the pyspark install, with the same
Spark settings as the embedded engine (the `local` target of `profiles/profiles.yml`), bound to
127.0.0.1. It opens the same Iceberg catalog as the embedded engine, which other processes (an
embedded run, a reader) may open at the same time.
"""

from __future__ import annotations

import dataclasses
import os

from telemetry.services.process import Service, require_free_port
from telemetry.settings import CONNECT_PORT, LOOPBACK, THRIFT_PORT, Lakehouse
from telemetry.spark import (
    ServerAddress,
    connect_session,
    require_jars,
    require_java,
    server_address,
    spark_conf,
    spark_home,
)

THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
START_TIMEOUT_S = 240.0


def server_service(lake: Lakehouse) -> Service:
    return Service("spark-server", lake.run_dir, marker=THRIFT_SERVER_CLASS)


def server_command(lake: Lakehouse, address: ServerAddress, master: str | None = None
                   ) -> list[str]:
    """spark-submit of the Thrift server with the Connect plugin, configured like the embedded
    engine; `master` (e.g. spark://host:7077) replaces the profile's spark.master."""
    conf = spark_conf(lake, "local")
    if master:
        conf["spark.master"] = master
    conf.update({
        "spark.app.name": "energy-telemetry-server",
        "spark.plugins": CONNECT_PLUGIN,
        "spark.connect.grpc.binding.address": LOOPBACK,
        "spark.connect.grpc.binding.port": str(address.connect_port),
        # Spark Connect loads the catalog's classes from the driver's class path (with the
        # profile's: the local file system's jar).
        "spark.driver.extraClassPath": ":".join(
            [*(str(path) for path in require_jars(lake)),
             *filter(None, [conf.get("spark.driver.extraClassPath")])]),
    })
    command = [str(spark_home() / "bin" / "spark-submit"), "--class", THRIFT_SERVER_CLASS]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return [
        *command,
        "--hiveconf", f"hive.server2.thrift.bind.host={LOOPBACK}",
        "--hiveconf", f"hive.server2.thrift.port={address.thrift_port}",
    ]


def local_address() -> ServerAddress:
    """Where the server this project starts listens: the configured ports, on 127.0.0.1."""
    return dataclasses.replace(server_address(), host=LOOPBACK)


def start_server(lake: Lakehouse, master: str | None = None) -> ServerAddress:
    """Start the server on 127.0.0.1; returns once both ports accept connections."""
    require_java()
    address = local_address()
    service = server_service(lake)
    service.require_stopped()
    require_free_port(address.thrift_port, THRIFT_PORT[0])
    require_free_port(address.connect_port, CONNECT_PORT[0])
    lake.catalog_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": LOOPBACK}
    service.start(
        server_command(lake, address, master), env,
        ready=lambda: address.answers(address.thrift_port) and address.answers(
            address.connect_port),
        where=f"{LOOPBACK}:{address.thrift_port} (Thrift) and {address.connect_url}",
        timeout_s=START_TIMEOUT_S,
    )
    # dbt's Thrift client starts every connection with `use default`.
    connect_session(address).sql("create namespace if not exists default").collect()
    return address


def stop_server(lake: Lakehouse) -> bool:
    return server_service(lake).stop()


def server_status(lake: Lakehouse) -> str:
    """What is true now: stopped, running and answering, or running but not answering."""
    pid = server_service(lake).pid()
    if pid is None:
        return "the Spark server is stopped"
    address = local_address()
    ports = {"Thrift": (address.thrift_port, f"{LOOPBACK}:{address.thrift_port}"),
             "Spark Connect": (address.connect_port, address.connect_url)}
    states = [f"{name} at {where} {'answers' if address.answers(port) else 'does not answer'}"
              for name, (port, where) in ports.items()]
    return f"the Spark server is running (pid {pid}); " + "; ".join(states)
