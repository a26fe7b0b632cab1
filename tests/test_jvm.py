"""How the project's JVMs start: the class archive recorded at install, mapped by every session,
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
