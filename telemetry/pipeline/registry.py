"""The device registry, `seeds/devices.csv`: the fleet the generator simulates and dbt
enriches from."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from telemetry.settings import PROJECT_DIR, LakehouseError, project_home

REGISTRY_PATH = PROJECT_DIR / "seeds" / "devices.csv"
REGISTRY_COLUMNS = ["device_id", "site_id", "device_type", "capacity_kwh", "rated_power_w"]
# Ids become folder and file names: letters, digits, dot, dash and underscore only, no leading dot.
SAFE_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def registry_path() -> Path:
    """The registry of the project named by TELEMETRY_HOME (default: this checkout)."""
    return project_home() / "seeds" / "devices.csv"


@dataclass(frozen=True)
class Device:
    device_id: str
    site_id: str
    device_type: str
    capacity_kwh: float
    rated_power_w: float


def check_id(kind: str, value: str, where: str) -> str:
    """An id that is safe as one path segment, or a LakehouseError naming it and where from."""
    if not SAFE_ID.match(value) or value in {".", ".."}:
        raise LakehouseError(
            f"{where}: {kind} {value!r} is not a safe name (letters, digits, '.', '-', '_'; "
            "no '/', no leading '.')"
        )
    return value


def load_registry(path: Path | None = None) -> list[Device]:
    """The registered devices, in file order; a clear error for a malformed registry."""
    path = path or registry_path()
    if not path.is_file():
        raise LakehouseError(f"{path} does not exist: the device registry is seeds/devices.csv "
                             "of the project that TELEMETRY_HOME names")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != REGISTRY_COLUMNS:
            raise LakehouseError(
                f"{path}: header must be {','.join(REGISTRY_COLUMNS)}, got {reader.fieldnames}"
            )
        devices: list[Device] = []
        seen: set[str] = set()
        for number, row in enumerate(reader, start=2):
            where = f"{path}:{number}"
            device_id = check_id("device_id", row["device_id"], where)
            if device_id in seen:
                raise LakehouseError(f"{where}: device_id {device_id!r} is registered twice")
            seen.add(device_id)
            try:
                capacity, rated = float(row["capacity_kwh"]), float(row["rated_power_w"])
            except ValueError:
                raise LakehouseError(f"{where}: capacity_kwh and rated_power_w must be numbers")\
                    from None
            if capacity <= 0 or rated <= 0:
                raise LakehouseError(f"{where}: capacity_kwh and rated_power_w must be positive")
            devices.append(Device(device_id, check_id("site_id", row["site_id"], where),
                                  row["device_type"], capacity, rated))
    if not devices:
        raise LakehouseError(f"{path}: the registry lists no devices")
    return devices
