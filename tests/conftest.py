"""Shared fixtures: one lakehouse folder and one SparkSession for the whole test run.

JVM start-up is the most expensive thing in this project, so every Spark test shares one session
(and therefore one lakehouse: the warehouse and metastore are fixed when the JVM starts). Tests
keep out of each other's way by using their own receive days.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory):
    from telemetry.settings import lakehouse

    root = tmp_path_factory.mktemp("lakehouse")
    os.environ["TELEMETRY_DATA_DIR"] = str(root / "data")
    os.environ["DBT_TARGET_PATH"] = str(root / "dbt-target")
    os.environ["DBT_LOG_PATH"] = str(root / "dbt-logs")
    return lakehouse()


@pytest.fixture(scope="session")
def spark(lake) -> Iterator[object]:
    from telemetry.spark import spark_session

    session = spark_session(lake)
    yield session
    session.stop()


def table_rows(spark, query: str) -> list[tuple]:
    """The rows of a query as sorted tuples (None sorts first), for exact comparisons."""
    rows = [tuple(row) for row in spark.sql(query).collect()]
    return sorted(rows, key=lambda r: tuple((v is not None, v) for v in r))


def files_under(folder: Path) -> dict[str, float]:
    """Data files below a folder with their modification times."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
        for p in folder.rglob("*.parquet")
    }


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_gold_row(row: dict[str, object], want: dict[str, object], where: object) -> None:
    """A Gold row equals the reference's values: counts and nulls exactly, sums and means to
    floating-point rounding."""
    for column, value in want.items():
        if value is None or isinstance(value, int):
            assert row[column] == value, (where, column)
        else:
            assert row[column] == pytest.approx(value, rel=1e-9, abs=1e-6), (where, column)
