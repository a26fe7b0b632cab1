"""A plain-Python reading of the data contract (../shared/SPEC.md), independent of the project's
SQL: parses the raw files line by line and computes what Silver and Gold must hold."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

# `YYYY-MM-DDThh:mm[:ss[.fraction]]`, then `Z`, `±hh:mm`, `±hhmm`, `±hh` or nothing (SPEC: Raw
# input). Field ranges are left to datetime, and the offset's to `timestamp` below.
ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?"
    r"(Z|([+-])([0-9]{2})(?::?([0-9]{2}))?)?"
)
# A number in a string: surrounding ASCII whitespace allowed, ASCII digits only.
NUMBER = re.compile(
    r"[ \t\n\r\f\v]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r\f\v]*"
)
# Unicode's White_Space property (PropList.txt), the "whitespace of any kind" of a blank device_id.
WHITE_SPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0E)] + [" ", "\x85", "\xa0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)] + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)
LATE_DAYS = 7
MAX_GAP_S = 900.0


@dataclass(frozen=True)
class Line:
    received_on: dt.date
    source_file: str
    line_number: int
    text: str


@dataclass(frozen=True)
class Reading:
    device_id: str
    site_id: str
    reading_at: dt.datetime
    status: str | None
    power_w: float | None
    soc_percent: float | None
    temperature_c: float | None
    power_capped: bool
    soc_out: bool
    temp_out: bool
    received_on: dt.date
    source_file: str
    line_number: int

    @property
    def event_date(self) -> dt.date:
        return self.reading_at.date()

    @property
    def is_anomaly(self) -> bool:
        return self.power_capped or self.soc_out or self.temp_out or self.status == "fault"


def registry(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {row["device_id"]: row for row in csv.DictReader(handle)}


def raw_lines(raw_dir: Path, days: set[dt.date]) -> list[Line]:
    """Every non-blank line of the raw files of the receive days under raw_dir
    (YYYY/MM/DD/site/device.jsonl[.gz])."""
    lines = []
    for path in sorted(raw_dir.glob("*/*/*/*/*")):
        if not (path.name.endswith(".jsonl") or path.name.endswith(".jsonl.gz")):
            continue
        year, month, day = path.parts[-5:-2]
        received = dt.date(int(year), int(month), int(day))
        if received not in days:
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
        relative = path.relative_to(raw_dir).as_posix()
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            if line.strip():
                lines.append(Line(received, relative, number, line))
    return lines


def measurement(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and NUMBER.fullmatch(value)):
        number = float(value)
    else:
        return None
    return number if math.isfinite(number) else None


def timestamp(value: object) -> dt.datetime | None:
    """`ts` in UTC (naive), or None when it is not an accepted ISO-8601 date-time."""
    match = ISO.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _, sign, off_h, off_m = match.groups()
    try:
        local = dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                            int(second or 0), int((fraction or "")[:6].ljust(6, "0")))
    except ValueError:
        return None
    offset = dt.timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
    if int(off_m or 0) > 59 or offset > dt.timedelta(hours=18):
        return None
    return local - offset if sign == "+" else local + offset


def json_object(text: str) -> dict | None:
    """The line's JSON object, or None when the line is anything but exactly one JSON object
    (strict JSON: no NaN or Infinity words, no key twice in one object)."""

    def refuse(word: str) -> None:
        raise ValueError(word)

    def no_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("a key given twice")
        return dict(pairs)

    try:
        value = json.loads(text, parse_constant=refuse, object_pairs_hook=no_repeated_keys)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def classify(line: Line, devices: dict[str, dict[str, str]]) -> tuple[str | None, Reading | None]:
    """(rejection reason, None) or (None, the cleaned reading)."""
    record = json_object(line.text)
    if record is None:
        return "malformed_json", None
    device_id = record.get("device_id")
    if not isinstance(device_id, str) or all(c in WHITE_SPACE for c in device_id):
        return "missing_device_id", None
    reading_at = timestamp(record.get("ts"))
    if reading_at is None:
        return "invalid_timestamp", None
    if device_id not in devices:
        return "unknown_device", None
    if not (line.received_on - dt.timedelta(days=LATE_DAYS) <= reading_at.date()
            <= line.received_on):
        return "out_of_window", None
    power = measurement(record.get("power_w"))
    soc = measurement(record.get("soc_percent"))
    temp = measurement(record.get("temperature_c"))
    power_capped = power is not None and power < 0
    soc_out = soc is not None and not 0 <= soc <= 100
    temp_out = temp is not None and not -40 <= temp <= 85
    return None, Reading(
        device_id=device_id,
        site_id=devices[device_id]["site_id"],
        reading_at=reading_at,
        status=record.get("status"),
        power_w=0.0 if power_capped else power,
        soc_percent=None if soc_out else soc,
        temperature_c=None if temp_out else temp,
        power_capped=power_capped,
        soc_out=soc_out,
        temp_out=temp_out,
        received_on=line.received_on,
        source_file=line.source_file,
        line_number=line.line_number,
    )


@dataclass
class Outcome:
    readings: dict[tuple[str, dt.datetime], Reading]
    rejected: list[tuple[Line, str]]
    accepted_by_day: dict[dt.date, int]


def silver(lines: list[Line], devices: dict[str, dict[str, str]]) -> Outcome:
    readings: dict[tuple[str, dt.datetime], Reading] = {}
    rejected = []
    accepted_by_day: dict[dt.date, int] = defaultdict(int)
    for line in lines:
        reason, reading = classify(line, devices)
        if reason is not None:
            rejected.append((line, reason))
            continue
        assert reading is not None
        accepted_by_day[line.received_on] += 1
        key = (reading.device_id, reading.reading_at)
        order = (reading.received_on, reading.source_file, reading.line_number)
        kept = readings.get(key)
        if kept is None or order > (kept.received_on, kept.source_file, kept.line_number):
            readings[key] = reading
    return Outcome(readings, rejected, accepted_by_day)


def gold(readings: list[Reading], devices: dict[str, dict[str, str]], event_date: dt.date
         ) -> dict[str, dict[str, float | int | None]]:
    """The Gold row of every registered site for event_date."""
    registered: dict[str, int] = defaultdict(int)
    for row in devices.values():
        registered[row["site_id"]] += 1
    by_device: dict[str, list[Reading]] = defaultdict(list)
    for reading in readings:
        if reading.event_date == event_date:
            by_device[reading.device_id].append(reading)
    midnight = dt.datetime.combine(event_date + dt.timedelta(days=1), dt.time())
    per_site: dict[str, list[tuple[Reading, float]]] = defaultdict(list)
    for device_readings in by_device.values():
        device_readings.sort(key=lambda r: r.reading_at)
        for index, reading in enumerate(device_readings):
            following = (device_readings[index + 1].reading_at
                         if index + 1 < len(device_readings) else midnight)
            covered = min((following - reading.reading_at) / dt.timedelta(microseconds=1) / 1e6,
                          MAX_GAP_S)
            per_site[reading.site_id].append((reading, covered))
    result = {}
    for site, devices_at_site in registered.items():
        rows = per_site.get(site, [])
        powers = [r.power_w for r, _ in rows if r.power_w is not None]
        temps = [r.temperature_c for r, _ in rows if r.temperature_c is not None]
        result[site] = {
            "energy_wh_total": math.fsum((r.power_w or 0.0) * c / 3600.0 for r, c in rows),
            "peak_power_w": max(powers) if powers else None,
            "avg_temp_c": math.fsum(temps) / len(temps) if temps else None,
            "uptime_percent": 100.0 * math.fsum(c for r, c in rows if r.status == "online")
            / (86400.0 * devices_at_site),
            "anomaly_count": sum(1 for r, _ in rows if r.is_anomaly),
            "readings_count": len(rows),
            "devices_reporting": len({r.device_id for r, _ in rows}),
            "devices_registered": devices_at_site,
        }
    return result


def books(lines: list[Line], outcome: Outcome) -> dict[dt.date, dict[str, object]]:
    """Each receive day's book as it must stand with every day of `lines` processed: its lines,
    the readings taken from it (those whose kept copy it sent), the duplicates it sent that
    another copy beat, and its rejected lines by reason."""
    result: dict[dt.date, dict[str, object]] = {}
    for day in sorted({line.received_on for line in lines}):
        taken = sum(1 for r in outcome.readings.values() if r.received_on == day)
        reasons: dict[str, int] = defaultdict(int)
        for line, reason in outcome.rejected:
            if line.received_on == day:
                reasons[reason] += 1
        result[day] = {
            "bronze_rows": sum(1 for line in lines if line.received_on == day),
            "silver_rows": taken,
            "duplicates_dropped": outcome.accepted_by_day.get(day, 0) - taken,
            "rejected_rows": sum(reasons.values()),
            "rejected_rows_by_reason": dict(reasons),
        }
    return result
