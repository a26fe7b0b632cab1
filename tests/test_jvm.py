"""How the project's JVMs start: the class archive recorded at install, mapped by every session,
the local file system the tables are written with,
and the client compiler alone for a small run."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from telemetry.settings import CLIENT_COMPILER_ONLY, SMALL_RUN_RAW_BYTES, run_java_options


@pytest.mark.spark
def test_the_session_maps_the_class_archive_recorded_at_install(spark, lake):
    # `make install` recorded the archive; the session's JVM (started from the profile) has the
    # file mapped into its memory, as the kernel lists it.
    assert lake.class_archive.is_file()
    pid = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getPid()
    mapped = {line.split(maxsplit=5)[5] for line in
              Path(f"/proc/{pid}/maps").read_text().splitlines() if len(line.split()) == 6}
    assert str(lake.class_archive) in mapped


@pytest.mark.spark
def test_the_session_collects_garbage_with_the_parallel_collector(spark):
    beans = spark._jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    assert sorted(bean.getName() for bean in beans) == ["PS MarkSweep", "PS Scavenge"]


def test_the_archive_is_recorded_again_only_when_java_pyspark_or_the_jars_change(lake):
    from telemetry.jobs import record_class_archive

    recorded = lake.class_archive.stat().st_mtime_ns
    assert record_class_archive(lake) == lake.class_archive
    assert lake.class_archive.stat().st_mtime_ns == recorded


def test_a_small_run_uses_the_client_compiler_alone(tmp_path, monkeypatch):
    from telemetry.jobs import generate_days, raw_bytes
    from telemetry.settings import lakehouse

    monkeypatch.setenv("TELEMETRY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TELEMETRY_SMALL_RUN_RAW_BYTES", raising=False)
    lake = lakehouse()
    day = dt.date(2025, 8, 1)
    generate_days(lake, day, rows_per_device=1440)
    on_disk = sum(os.path.getsize(Path(folder) / name)
                  for folder, _, names in os.walk(tmp_path / "raw")
                  for name in names if ".jsonl" in name)
    assert raw_bytes(lake, [day]) == on_disk
    assert run_java_options(on_disk) == CLIENT_COMPILER_ONLY
    assert run_java_options(SMALL_RUN_RAW_BYTES + 1) == ""
    monkeypatch.setenv("TELEMETRY_SMALL_RUN_RAW_BYTES", "0")
    assert run_java_options(on_disk) == ""


@pytest.mark.spark
def test_the_tables_are_written_with_the_projects_local_file_system(spark, lake, tmp_path):
    # `make install` builds the project's file system when a JDK's javac is at hand (it is on
    # the machines the suite runs on); Spark then resolves file: paths to it.
    import shutil

    from telemetry.settings import FILE_SYSTEM_CLASS, HADOOP_FILE_SYSTEM_CLASS

    jvm = spark._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    uri = jvm.java.net.URI(f"file://{tmp_path}")
    session_fs = jvm.org.apache.hadoop.fs.FileSystem.get(uri, conf)
    expected = FILE_SYSTEM_CLASS if shutil.which("javac") else HADOOP_FILE_SYSTEM_CLASS
    assert lake.file_system_jar.is_file() == (expected == FILE_SYSTEM_CLASS)
    assert session_fs.getClass().getName() == expected
    # Hadoop's own local file system, the reference: the same operations in a folder of its
    # own leave the same permission bits.
    hadoop_fs = jvm.org.apache.hadoop.fs.LocalFileSystem()
    hadoop_fs.initialize(uri, conf)
    Path_ = jvm.org.apache.hadoop.fs.Path
    FsPermission = jvm.org.apache.hadoop.fs.permission.FsPermission
    explicit = {"0640": 0o640, "0751": 0o751, "0600": 0o600, "1777": 0o1777}
    modes = {}
    for name, fs in [("session", session_fs), ("hadoop", hadoop_fs)]:
        root = tmp_path / name
        fs.mkdirs(Path_(f"file://{root}/a/b"))
        fs.create(Path_(f"file://{root}/a/b/part.parquet")).close()
        for leaf, mode in explicit.items():
            target = Path_(f"file://{root}/{leaf}")
            fs.mkdirs(target)
            fs.setPermission(target, FsPermission.createImmutable(mode))
        modes[name] = {path.relative_to(root).as_posix(): path.stat().st_mode & 0o7777
                       for path in sorted(root.rglob("*"))}
    assert modes["session"] == modes["hadoop"]
    for leaf, mode in explicit.items():
        assert modes["session"][leaf] == mode
    # New folders and files: Hadoop's defaults (777 and 666) less its umask (022).
    assert modes["session"]["a/b"] == 0o755
    assert modes["session"]["a/b/part.parquet"] == 0o644
    assert modes["session"]["a/b/.part.parquet.crc"] == 0o644


def test_the_file_system_jar_is_built_again_only_when_its_source_changes(lake):
    import shutil

    from telemetry.spark import build_file_system_jar

    if not shutil.which("javac"):
        assert build_file_system_jar(lake) is None
        return
    built = lake.file_system_jar.stat().st_mtime_ns
    assert build_file_system_jar(lake) == lake.file_system_jar
    assert lake.file_system_jar.stat().st_mtime_ns == built
