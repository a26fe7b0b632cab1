"""Reading the lakehouse without Spark: the same Iceberg catalog through pyiceberg, into pyarrow
(and from there pandas, Polars or DuckDB). What a dashboard or a notebook uses."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from telemetry.settings import CATALOG_NAME, Lakehouse, LakehouseError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog


def iceberg_catalog(lake: Lakehouse) -> SqlCatalog:
    """The lakehouse's Iceberg catalog, opened by pyiceberg (its name must be Spark's: `lake`)."""
    from pyiceberg.catalog.sql import SqlCatalog

    if not lake.catalog_file.is_file():
        raise LakehouseError(f"no Iceberg catalog at {lake.catalog_file}: run a day first")
    return SqlCatalog(CATALOG_NAME, uri=f"sqlite:///{lake.catalog_file}",
                      warehouse=lake.warehouse_dir.as_uri())


def read_event_dates(lake: Lakehouse, table: str, event_dates: list[dt.date]) -> pa.Table:
    """A table's rows for some event dates, as Arrow, read through pyiceberg."""
    from pyiceberg.expressions import In

    scan = iceberg_catalog(lake).load_table(table).scan(
        row_filter=In("event_date", {d.isoformat() for d in event_dates}))
    return scan.to_arrow()
