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

from ingest.layout import COMPLETE_MARKER, complete_marker, day_folder, mark_complete
from telemetry.pipeline.registry import Device
from telemetry.settings import LakehouseError

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


# Two-digit and millisecond texts, looked up by number instead of formatted row by row, and the
# time of day of each whole second of a day ("00:00:00" to "23:59:59"), looked up by second.
_TWO_DIGITS = np.array([f"{i:02d}".encode() for i in range(100)])
_MILLIS = np.array([b""] + [f".{i:03d}".encode() for i in range(1, 1000)])


def _times_of_day() -> np.ndarray:
    hours, rest = np.divmod(np.arange(SECONDS_PER_DAY), 3600)
    minutes, seconds = np.divmod(rest, 60)
    text = np.empty(SECONDS_PER_DAY, dtype=[("h", "S2"), ("c1", "S1"), ("m", "S2"), ("c2", "S1"),
                                            ("s", "S2")])
    text["h"], text["c1"], text["m"] = _TWO_DIGITS[hours], b":", _TWO_DIGITS[minutes]
    text["c2"], text["s"] = b":", _TWO_DIGITS[seconds]
    return text.view("S8")


_TIME_OF_DAY = _times_of_day()


def _timestamp_fields(day: dt.date, seconds: np.ndarray) -> list[np.ndarray]:
    """ISO-8601 UTC text ('2025-08-01T00:00:00Z', '...T00:00:00.500Z' with a fraction) of second
    offsets (maybe fractional) from the day's start, as the pieces of a line."""
    millis = np.round(seconds * 1000).astype(np.int64)
    whole, fraction = np.divmod(millis, 1000)
    return [np.array(f"{day.isoformat()}T".encode()), _TIME_OF_DAY[whole], _MILLIS[fraction],
            np.array(b"Z")]


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


# Digit groups, looked up by number: 0..999 as written ("7") and zero-padded ("007"), and the
# fraction of a number rounded to 2 decimals as the shortest repr writes it, point included
# (30 -> ".3").
_GROUP = np.array([str(i).encode() for i in range(1000)])
_GROUP_PADDED = np.array([f"{i:03d}".encode() for i in range(1000)])
_FRACTION = {1: np.array([f".{i}".encode() for i in range(10)]),
             2: np.array([("." + (f"{i:02d}".rstrip("0") or "0")).encode() for i in range(100)])}
_EMPTY = np.array(b"")


def _number_fields(values: np.ndarray, decimals: int) -> list[np.ndarray]:
    """Each value rounded to `decimals` (1 or 2) and written as the shortest repr of that double
    writes it ("12.5", "-3.0", "55.25"), as the pieces of a line, built from digit groups (a
    group no value has, such as millions for a state of charge, is left out)."""
    scaled = np.rint(values * 10.0**decimals)
    if not np.all(np.abs(scaled) < 1e9 * 10**decimals):
        raise ValueError("a simulated value beyond 1e9 cannot be written")
    units = np.abs(scaled).astype(np.int64)
    whole, fraction = np.divmod(units, 10**decimals)
    millions, rest = np.divmod(whole, 1_000_000)
    thousands, ones = np.divmod(rest, 1000)
    pieces = []
    if np.any(scaled < 0):
        pieces.append(np.where(scaled < 0, np.array(b"-"), _EMPTY))
    if np.any(millions > 0):
        pieces.append(np.where(millions > 0, _GROUP[millions], _EMPTY))
        pieces.append(np.where(millions > 0, _GROUP_PADDED[thousands],
                               np.where(thousands > 0, _GROUP[thousands], _EMPTY)))
    elif np.any(thousands > 0):
        pieces.append(np.where(thousands > 0, _GROUP[thousands], _EMPTY))
    if np.any(whole >= 1000):
        pieces.append(np.where(whole >= 1000, _GROUP_PADDED[ones], _GROUP[ones]))
    else:
        pieces.append(_GROUP[ones])
    pieces.append(_FRACTION[decimals][fraction])
    return pieces


TRUNCATED_MIN, TRUNCATED_MAX = 40, 70
STATUS_TEXT = np.array([b"online", b"fault", b"offline"])
ONLINE, FAULT, OFFLINE = range(3)


def _lines(device: Device, day: dt.date, seconds: np.ndarray, power: np.ndarray,
           soc: np.ndarray, temp: np.ndarray, status: np.ndarray) -> np.ndarray:
    """One JSON line per reading, as a record of fixed-width byte fields (each field padded with
    NUL bytes, which JSON text never holds): `_file_bytes` drops the padding. Building columns
    and joining them once is several times cheaper than concatenating strings row by row; text
    that is the same on every line is one field with its neighbours of the same kind."""
    head = f'{{"device_id":"{device.device_id}","site_id":"{device.site_id}","ts":"'.encode()
    pieces = []
    for piece in [
        np.array(head), *_timestamp_fields(day, seconds),
        np.array(b'","power_w":'), *_number_fields(power, 1),
        np.array(b',"soc_percent":'), *_number_fields(soc, 2),
        np.array(b',"temperature_c":'), *_number_fields(temp, 2),
        np.array(b',"status":"'), STATUS_TEXT[status], np.array(b'"}\n'),
    ]:
        if piece.ndim == 0 and pieces and pieces[-1].ndim == 0:
            pieces[-1] = np.array(pieces[-1].item() + piece.item())
        else:
            pieces.append(piece)
    # The first field is wide enough to hold a truncated line, which is put there alone.
    widths = [piece.dtype.itemsize for piece in pieces]
    widths[0] = max(widths[0], TRUNCATED_MAX)
    record = np.empty(seconds.size, dtype=[(f"f{i}", f"S{w}") for i, w in enumerate(widths)])
    for i, piece in enumerate(pieces):
        record[f"f{i}"] = piece
    return record


def _truncate(lines: np.ndarray, rows: np.ndarray) -> None:
    """Cut the lines at `rows` off mid-way (40 to 69 bytes), as a truncated write leaves them."""
    for k, row in enumerate(rows):
        text = b"".join(lines[row].tolist())[: TRUNCATED_MIN + k % (TRUNCATED_MAX - TRUNCATED_MIN)]
        lines[row] = (text, *([b""] * (len(lines.dtype.names) - 2)), b"\n")


def _file_bytes(lines: list[np.ndarray]) -> np.ndarray:
    """The file's content: the lines' fields back to back, without their padding (read from a
    view of each record's bytes: the records are not copied first)."""
    raw = [part.view(np.uint8) for part in lines]
    return np.concatenate([part[part != 0] for part in raw])


def generate_device_day(device: Device, device_index: int, day: dt.date, rows_per_device: int,
                        seed: int, rates: FaultRates) -> tuple[np.ndarray, DeviceDay]:
    """The bytes of one device-day file (uint8) and an exact count of what it holds."""
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
    status = np.full(n, ONLINE, dtype=np.int8)

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
    status[faulted] = FAULT
    offline = pick(rates.status_offline)
    status[offline] = OFFLINE
    power[offline] = 0.0
    malformed = pick(rates.malformed)
    duplicated = pick(rates.duplicate)
    late_sources = pick(rates.late)

    lines = _lines(device, day, seconds, power, soc, temp, status)
    _truncate(lines, malformed)

    # Late readings: belong to the previous day, at half-second offsets so that they never
    # collide with that day's own (whole-second) readings.
    late_seconds = np.sort(rng.choice(SECONDS_PER_DAY, size=late_sources.size, replace=False)
                           ).astype(float) + 0.5
    prev_day = day - dt.timedelta(days=1)
    late_power, late_soc, late_temp = _signals(device, late_seconds, rng)
    late_lines = _lines(device, prev_day, late_seconds, late_power, late_soc, late_temp,
                        np.full(late_sources.size, ONLINE, dtype=np.int8))

    # Exact copies of healthy readings, sent again at the end of the file.
    body = [lines, lines[duplicated], late_lines]

    counts.lines = sum(part.size for part in body)
    counts.readings_on_day = n - malformed.size
    counts.duplicates = int(duplicated.size)
    counts.negative_power = int(negative.size)
    counts.soc_out_of_range = int(soc_bad.size)
    counts.temperature_out_of_range = int(temp_bad.size)
    counts.status_fault = int(faulted.size)
    counts.status_offline = int(offline.size)
    counts.malformed = int(malformed.size)
    counts.late = int(late_sources.size)
    return _file_bytes(body), counts


WRITE_PIECE = 1 << 20


def _write_atomic(path: Path, data: bytes | np.ndarray) -> None:
    """Write to a temporary name, then rename. The data goes in 1 MiB pieces: on the project's
    machines, 25 files of 13 MiB cost the kernel 1.6 to 3.8 s of system time written with one
    write() each, and 0.07 s written in 1 MiB pieces."""
    tmp = path.with_name(f".{path.name}.tmp")
    view = memoryview(data).cast("B")
    with tmp.open("wb") as handle:
        for start in range(0, len(view), WRITE_PIECE):
            handle.write(view[start:start + WRITE_PIECE])
    os.replace(tmp, path)


def _write_device_day(raw_dir: Path, device: Device, index: int, day: dt.date,
                      rows_per_device: int, seed: int, rates: FaultRates
                      ) -> tuple[str, DeviceDay, str]:
    data, counts = generate_device_day(device, index, day, rows_per_device, seed, rates)
    target = day_folder(raw_dir, day) / device.site_id / f"{device.device_id}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(target, data)
    return target.relative_to(raw_dir).as_posix(), counts, hashlib.sha256(data).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def simulated_files(raw_dir: Path, day: dt.date) -> dict[Path, str]:
    """The files the simulator wrote for the day (its manifest's), with their recorded sha256."""
    manifest = day_folder(raw_dir, day) / MANIFEST_NAME
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        return {raw_dir / name: str(entry["sha256"]) for name, entry in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def foreign_file(raw_dir: Path, day: dt.date) -> Path | None:
    """A file in the day's folder that the simulator did not write (one its manifest does not
    list, or one changed since it was written), or None when there is none."""
    folder = day_folder(raw_dir, day)
    if not folder.is_dir():
        return None
    written = simulated_files(raw_dir, day)
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        if path.parent == folder and path.name in {MANIFEST_NAME, COMPLETE_MARKER}:
            continue
        if path.name.startswith(".") and path.name.endswith(".tmp"):  # an interrupted write
            continue
        if path.is_symlink() or written.get(path) != _sha256(path):
            return path
    return None


def refuse_real_files(raw_dir: Path, days: Sequence[dt.date]) -> None:
    """Stop before writing anything when a day's folder holds a file the simulator did not
    write: simulated telemetry never replaces a real device's file."""
    for day in days:
        found = foreign_file(raw_dir, day)
        if found is not None:
            raise LakehouseError(
                f"refusing to write simulated telemetry for {day}: {found} was not written by "
                f"the simulator (its {MANIFEST_NAME} does not list it, or it changed since). "
                "Simulated files never replace real ones: generate into another data folder "
                "(TELEMETRY_DATA_DIR) or another day.")


def generate(raw_dir: Path, devices: Sequence[Device], start: dt.date, days: int = 1,
             rows_per_device: int = 1440, seed: int = 42, rates: FaultRates | None = None,
             progress: bool | None = None, workers: int | None = None) -> list[DayManifest]:
    """Write `days` days of telemetry from `start` under raw_dir; returns each day's manifest.

    Large runs spread the device files over the machine's cores; every device-day has its own
    random stream, so the files are the same however the work is spread. A day's folder that
    holds files the simulator did not write is refused, before anything is written. Each day is
    marked complete (`_SUCCESS`) last; while it is rewritten, it has no marker."""
    if not 1 <= rows_per_device <= SECONDS_PER_DAY:
        raise ValueError(f"rows per device must be between 1 and {SECONDS_PER_DAY}, "
                         f"got {rows_per_device}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    rates = rates or FaultRates()
    dates = [start + dt.timedelta(days=offset) for offset in range(days)]
    refuse_real_files(raw_dir, dates)
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
        for day in dates:
            folder = day_folder(raw_dir, day)
            complete_marker(raw_dir, day).unlink(missing_ok=True)
            # Files of an earlier generation that this one does not rewrite (a device no longer
            # registered) would otherwise be ingested with the new ones.
            for stale in simulated_files(raw_dir, day).keys() - {
                    day_folder(raw_dir, day) / d.site_id / f"{d.device_id}.jsonl" for d in devices}:
                stale.unlink(missing_ok=True)
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
            mark_complete(raw_dir, day)
            manifests.append(manifest)
    finally:
        if pool:
            pool.shutdown()
        bar.close()
    return manifests
