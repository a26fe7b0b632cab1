"""Simulated fleet telemetry: one JSON Lines file per device per day, with real-world faults.

Signals follow a battery's day: charging from midday solar, discharging into the evening peak,
state of charge that integrates the two, temperature that follows ambient and load. A configurable
share of faults is injected, and next to each day a manifest records exactly what was injected so
the pipeline's counts can be checked against the truth.

Deterministic: each device-day draws from its own random stream, seeded by (seed, day, device), so
the same arguments give byte-identical files whatever range of days is generated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ingest.fleet import Device

SECONDS_PER_DAY = 86_400
MANIFEST_NAME = "_manifest.json"


@dataclass(frozen=True)
class FaultRates:
    """Share of a device-day's readings affected by each fault (disjoint sets of readings)."""

    duplicate: float = 0.004
    negative_power: float = 0.002
    soc_out_of_range: float = 0.002
    temperature_out_of_range: float = 0.002
    status_fault: float = 0.003
    status_offline: float = 0.01
    malformed: float = 0.001
    late: float = 0.002
    gap: float = 0.25  # chance that a device-day has one outage with no readings
    gap_max_share: float = 0.05  # longest outage, as a share of the day


@dataclass
class DeviceDay:
    """What one device-day file holds, counted exactly."""

    lines: int = 0
    readings_on_day: int = 0
    gap_rows_dropped: int = 0
    duplicates: int = 0
    negative_power: int = 0
    soc_out_of_range: int = 0
    temperature_out_of_range: int = 0
    status_fault: int = 0
    status_offline: int = 0
    malformed: int = 0
    late: int = 0


@dataclass
class DayManifest:
    receive_date: str
    seed: int
    rows_per_device: int
    fault_rates: dict[str, float]
    totals: DeviceDay = field(default_factory=DeviceDay)
    files: dict[str, dict[str, object]] = field(default_factory=dict)

    def add(self, relative_path: str, counts: DeviceDay, sha256: str) -> None:
        self.files[relative_path] = {**asdict(counts), "sha256": sha256}
        for name, value in asdict(counts).items():
            setattr(self.totals, name, getattr(self.totals, name) + value)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def day_folder(raw_dir: Path, day: dt.date) -> Path:
    return raw_dir / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


def _timestamps(day: dt.date, seconds: np.ndarray) -> np.ndarray:
    """ISO-8601 UTC strings ('...Z') for second offsets (maybe fractional) from the day's start."""
    base = np.datetime64(day.isoformat(), "ms")
    stamps = base + np.round(seconds * 1000).astype("timedelta64[ms]")
    whole = np.mod(np.round(seconds * 1000), 1000) == 0
    text = np.where(
        whole,
        np.datetime_as_string(stamps, unit="s"),
        np.datetime_as_string(stamps, unit="ms"),
    )
    return np.strings.add(text.astype(np.bytes_), b"Z")


def _signals(device: Device, seconds: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power (W, >= 0), state of charge (%) and temperature (degC) of a healthy device."""
    hours = seconds / 3600.0
    shift = rng.normal(0.0, 0.4)
    discharge = np.clip(np.sin(np.pi * (hours - 16.0 - shift) / 7.0), 0.0, None)
    discharge = np.where((hours >= 16.0 + shift) & (hours <= 23.0 + shift), discharge, 0.0)
    charge = np.clip(np.sin(np.pi * (hours - 9.0 - shift) / 7.0), 0.0, None)
    charge = np.where((hours >= 9.0 + shift) & (hours <= 16.0 + shift), charge, 0.0)
    # A daily cycle of about 85% of capacity: a small standby draw all day, a discharge into the
    # evening peak, and a midday charge that brings the energy back.
    rated = device.rated_power_w
    capacity_wh = device.capacity_kwh * 1000.0
    peak_hours = 7.0 * 2.0 / np.pi  # integral of the half-sine shapes above, in hours
    base_w = 0.02 * rated
    discharge_w = min(rated, max(0.0, (0.85 * capacity_wh - base_w * 24.0) / peak_hours))
    noise = rng.normal(1.0, 0.03, seconds.size)
    power_w = np.maximum((base_w + discharge_w * discharge) * noise, 0.0)
    charge_w = (base_w * 24.0 + discharge_w * peak_hours) / peak_hours * charge
    step_s = np.diff(seconds, prepend=seconds[:1])
    soc_delta = (charge_w - power_w) * step_s / 3600.0 / capacity_wh * 100.0
    soc_percent = np.clip(40.0 + rng.normal(0.0, 5.0) + np.cumsum(soc_delta), 5.0, 98.0)
    ambient = 22.0 + 6.0 * np.sin(2.0 * np.pi * (hours - 9.0) / 24.0)
    temperature_c = ambient + 14.0 * power_w / rated + rng.normal(0.0, 0.3, seconds.size)
    return power_w, soc_percent, temperature_c


def _format(values: np.ndarray, decimals: int) -> np.ndarray:
    # + 0.0 turns -0.0 into 0.0; numpy prints the shortest repr of each rounded double.
    return (np.round(values, decimals) + 0.0).astype(np.bytes_)


def _lines(device: Device, stamps: np.ndarray, power: np.ndarray, soc: np.ndarray,
           temp: np.ndarray, status: np.ndarray) -> np.ndarray:
    """JSON lines as UTF-8 bytes, built column by column (bytes are ~4x cheaper than str)."""
    add = np.strings.add
    head = f'{{"device_id":"{device.device_id}","site_id":"{device.site_id}","ts":"'
    out = add(head.encode(), stamps)
    out = add(add(out, b'","power_w":'), _format(power, 1))
    out = add(add(out, b',"soc_percent":'), _format(soc, 2))
    out = add(add(out, b',"temperature_c":'), _format(temp, 2))
    out = add(add(out, b',"status":"'), status.astype(np.bytes_))
    return add(out, b'"}')


def generate_device_day(device: Device, device_index: int, day: dt.date, rows_per_device: int,
                        seed: int, rates: FaultRates) -> tuple[bytes, DeviceDay]:
    """The bytes of one device-day file and an exact count of what it holds."""
    rng = np.random.default_rng([seed, day.toordinal(), device_index])
    counts = DeviceDay()
    seconds = np.floor(np.arange(rows_per_device) * (SECONDS_PER_DAY / rows_per_device))

    keep = np.ones(rows_per_device, dtype=bool)
    if rng.random() < rates.gap:
        length = int(rng.integers(1, max(2, int(rows_per_device * rates.gap_max_share) + 1)))
        start = int(rng.integers(0, max(1, rows_per_device - length)))
        keep[start:start + length] = False
    counts.gap_rows_dropped = int((~keep).sum())
    seconds = seconds[keep]
    n = seconds.size

    power, soc, temp = _signals(device, seconds, rng)
    status = np.full(n, "online", dtype="<U7")

    # Disjoint sets of readings for each fault, drawn from one permutation.
    order = rng.permutation(n)
    taken = 0

    def pick(share: float) -> np.ndarray:
        nonlocal taken
        k = min(int(rng.binomial(n, share)), n - taken)
        chosen = np.sort(order[taken:taken + k])
        taken += k
        return chosen

    negative = pick(rates.negative_power)
    power[negative] = -rng.uniform(20.0, 0.02 * device.rated_power_w + 40.0, negative.size)
    soc_bad = pick(rates.soc_out_of_range)
    soc[soc_bad] = np.where(rng.random(soc_bad.size) < 0.5,
                            100.0 + rng.uniform(0.5, 25.0, soc_bad.size),
                            -rng.uniform(0.5, 10.0, soc_bad.size))
    temp_bad = pick(rates.temperature_out_of_range)
    temp[temp_bad] = np.where(rng.random(temp_bad.size) < 0.5,
                              85.0 + rng.uniform(1.0, 60.0, temp_bad.size),
                              -40.0 - rng.uniform(1.0, 30.0, temp_bad.size))
    faulted = pick(rates.status_fault)
    status[faulted] = "fault"
    offline = pick(rates.status_offline)
    status[offline] = "offline"
    power[offline] = 0.0
    malformed = pick(rates.malformed)
    duplicated = pick(rates.duplicate)
    late_sources = pick(rates.late)

    lines = _lines(device, _timestamps(day, seconds), power, soc, temp, status)
    # A malformed line: the reading cut off mid-way, as a truncated write leaves it.
    lines[malformed] = np.strings.slice(lines[malformed], 0, 40 + (np.arange(malformed.size) % 30))

    # Late readings: belong to the previous day, at half-second offsets so that they never
    # collide with that day's own (whole-second) readings.
    late_seconds = np.sort(rng.choice(SECONDS_PER_DAY, size=late_sources.size, replace=False)
                           ).astype(float) + 0.5
    prev_day = day - dt.timedelta(days=1)
    late_power, late_soc, late_temp = _signals(device, late_seconds, rng)
    late_lines = _lines(device, _timestamps(prev_day, late_seconds), late_power, late_soc,
                        late_temp, np.full(late_sources.size, "online"))

    # Exact copies of healthy readings, sent again at the end of the file.
    body = np.concatenate([lines, lines[duplicated], late_lines])

    counts.lines = int(body.size)
    counts.readings_on_day = n - malformed.size
    counts.duplicates = int(duplicated.size)
    counts.negative_power = int(negative.size)
    counts.soc_out_of_range = int(soc_bad.size)
    counts.temperature_out_of_range = int(temp_bad.size)
    counts.status_fault = int(faulted.size)
    counts.status_offline = int(offline.size)
    counts.malformed = int(malformed.size)
    counts.late = int(late_sources.size)
    data = b"\n".join(body.tolist()) + b"\n" if body.size else b""
    return data, counts


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_device_day(raw_dir: Path, device: Device, index: int, day: dt.date,
                      rows_per_device: int, seed: int, rates: FaultRates
                      ) -> tuple[str, DeviceDay, str]:
    data, counts = generate_device_day(device, index, day, rows_per_device, seed, rates)
    target = day_folder(raw_dir, day) / device.site_id / f"{device.device_id}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(target, data)
    return target.relative_to(raw_dir).as_posix(), counts, hashlib.sha256(data).hexdigest()


def generate(raw_dir: Path, devices: Sequence[Device], start: dt.date, days: int = 1,
             rows_per_device: int = 1440, seed: int = 42, rates: FaultRates | None = None,
             progress: bool | None = None, workers: int | None = None) -> list[DayManifest]:
    """Write `days` days of telemetry from `start` under raw_dir; returns each day's manifest.

    Large runs spread the device files over the machine's cores; every device-day has its own
    random stream, so the files are the same however the work is spread."""
    if not 1 <= rows_per_device <= SECONDS_PER_DAY:
        raise ValueError(f"rows per device must be between 1 and {SECONDS_PER_DAY}, "
                         f"got {rows_per_device}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    rates = rates or FaultRates()
    total = days * len(devices)
    show = progress if progress is not None else total * rows_per_device >= 2_000_000
    bar = tqdm(total=total, unit="file", desc="generate", disable=not show)
    if workers is None:
        big = len(devices) * rows_per_device >= 500_000
        workers = min(os.cpu_count() or 1, 8) if big else 1
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            if workers > 1 else None)
    manifests = []
    try:
        for offset in range(days):
            day = start + dt.timedelta(days=offset)
            folder = day_folder(raw_dir, day)
            manifest = DayManifest(day.isoformat(), seed, rows_per_device, asdict(rates))
            jobs = [(raw_dir, device, index, day, rows_per_device, seed, rates)
                    for index, device in enumerate(devices)]
            results = (pool.map(_write_device_day, *zip(*jobs, strict=True)) if pool
                       else (_write_device_day(*job) for job in jobs))
            for relative_path, counts, sha256 in results:
                manifest.add(relative_path, counts, sha256)
                bar.update(1)
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(folder / MANIFEST_NAME, manifest.to_json().encode("utf-8"))
            manifests.append(manifest)
    finally:
        if pool:
            pool.shutdown()
        bar.close()
    return manifests
