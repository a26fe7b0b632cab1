"""The generator: deterministic, and its manifest tells the truth about its files."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from telemetry.pipeline.registry import load_registry
from telemetry.settings import LakehouseError
from telemetry.simulator import (
    MANIFEST_NAME,
    WRITE_PIECE,
    FaultRates,
    _number_fields,
    _timestamp_fields,
    generate,
    generate_device_day,
)

START = dt.date(2025, 8, 1)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def two_days(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    generate(root, load_registry(), START, days=2, rows_per_device=720, seed=7)
    return root


def test_same_arguments_give_byte_identical_files(two_days, tmp_path):
    generate(tmp_path, load_registry(), START, days=2, rows_per_device=720, seed=7)
    assert _files(tmp_path) == _files(two_days)


def test_a_day_does_not_depend_on_the_range_it_was_generated_in(two_days, tmp_path):
    generate(tmp_path, load_registry(), START + dt.timedelta(days=1), days=1,
             rows_per_device=720, seed=7)
    second_day = {k: v for k, v in _files(two_days).items() if k.startswith("2025/08/02/")}
    assert _files(tmp_path) == second_day


def test_spreading_the_work_over_processes_gives_the_same_files(tmp_path):
    devices = load_registry()[:4]
    generate(tmp_path / "one", devices, START, rows_per_device=2000, seed=5, workers=1)
    generate(tmp_path / "two", devices, START, rows_per_device=2000, seed=5, workers=2)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_a_file_larger_than_a_write_piece_is_written_whole(tmp_path):
    device = load_registry()[0]
    expected, _ = generate_device_day(device, 0, START, 86_400, 3, FaultRates())
    generate(tmp_path, [device], START, rows_per_device=86_400, seed=3)
    written = (tmp_path / "2025/08/01" / device.site_id / f"{device.device_id}.jsonl").read_bytes()
    assert len(expected) > 5 * WRITE_PIECE  # the file goes out in several pieces
    assert written == expected.tobytes()


def test_another_seed_gives_other_files(two_days, tmp_path):
    generate(tmp_path, load_registry(), START, days=2, rows_per_device=720, seed=8)
    other = _files(tmp_path)
    assert other.keys() == _files(two_days).keys()
    assert all(other[k] != v for k, v in _files(two_days).items() if k.endswith(".jsonl"))


def test_one_file_per_registered_device_in_its_site_folder(two_days):
    devices = load_registry()
    for day in ("2025/08/01", "2025/08/02"):
        files = sorted(p.relative_to(two_days / day).as_posix()
                       for p in (two_days / day).glob("*/*.jsonl"))
        assert files == sorted(f"{d.site_id}/{d.device_id}.jsonl" for d in devices)


def _recount(path: Path, day: dt.date) -> Counter:
    """Count what a file holds by reading it as a consumer would, line by line."""
    counts: Counter = Counter()
    seen: Counter = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        counts["lines"] += 1
        try:
            record = json.loads(line)
        except ValueError:
            counts["malformed"] += 1
            continue
        seen[(record["device_id"], record["ts"])] += 1
        if not record["ts"].startswith(day.isoformat()):
            counts["late"] += 1
            assert record["ts"].startswith((day - dt.timedelta(days=1)).isoformat())
        counts["negative_power"] += record["power_w"] < 0
        counts["soc_out_of_range"] += not 0 <= record["soc_percent"] <= 100
        counts["temperature_out_of_range"] += not -40 <= record["temperature_c"] <= 85
        counts["status_fault"] += record["status"] == "fault"
        counts["status_offline"] += record["status"] == "offline"
    counts["duplicates"] = sum(n - 1 for n in seen.values())
    return counts


@pytest.mark.parametrize("day", [START, START + dt.timedelta(days=1)])
def test_manifest_matches_the_files(two_days, day):
    folder = two_days / f"{day:%Y/%m/%d}"
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["receive_date"] == day.isoformat()
    assert len(manifest["files"]) == len(load_registry())
    totals: Counter = Counter()
    for relative, expected in manifest["files"].items():
        path = two_days / relative
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected["sha256"]
        counts = _recount(path, day)
        for key in ("lines", "malformed", "late", "duplicates", "negative_power",
                    "soc_out_of_range", "temperature_out_of_range", "status_fault",
                    "status_offline"):
            assert counts[key] == expected[key], (relative, key)
        # Every line is a reading of the day, a late reading, a copy, or a malformed line.
        assert expected["lines"] == (expected["readings_on_day"] + expected["late"]
                                     + expected["duplicates"] + expected["malformed"])
        totals.update(counts)
    for key, value in totals.items():
        assert manifest["totals"][key] == value
    # The default rates inject every kind of fault somewhere in a day of the fleet.
    for key in ("malformed", "late", "duplicates", "negative_power", "soc_out_of_range",
                "temperature_out_of_range", "status_fault", "status_offline"):
        assert totals[key] > 0, key


def test_healthy_readings_follow_a_daily_cycle(two_days):
    """Evening discharge is far above the night's standby draw; midday charging raises the
    state of charge."""
    path = two_days / "2025/08/01/lathrop-ca/mp-lathrop-01.jsonl"
    by_hour: dict[int, list[dict]] = {}
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record["ts"].startswith("2025-08-01") and record["status"] == "online" \
                and record["power_w"] >= 0 and 0 <= record["soc_percent"] <= 100:
            by_hour.setdefault(int(record["ts"][11:13]), []).append(record)

    def mean(hour: int, field: str) -> float:
        return sum(r[field] for r in by_hour[hour]) / len(by_hour[hour])

    assert mean(19, "power_w") > 5 * mean(3, "power_w")
    assert mean(15, "soc_percent") > mean(9, "soc_percent") + 20


def _texts(pieces: list, rows: int) -> list[str]:
    return [b"".join(p.item() if p.ndim == 0 else p[i] for p in pieces).decode()
            for i in range(rows)]


# Values of every width, sign and digit group, none halfway between two roundings.
NUMBERS = [0.0, 0.04, 0.3, 7.0, -3.0, 12.5, 55.27, 99.99, 100.0, 999.94, 999.96, 1000.0,
           1234.5, -20480.26, 999999.9, 1000000.0, 1234567.8, -2000000.04, 987654321.0]


@pytest.mark.parametrize("decimals", [1, 2])
@pytest.mark.parametrize("numbers", [NUMBERS, [0.0, 1.27, 64.5], [-5.5, 3.0], [1500.0, 2.0]],
                         ids=["every group", "units only", "with a sign", "with thousands"])
def test_numbers_are_written_as_the_shortest_repr_of_the_rounded_value(numbers, decimals):
    values = np.array(numbers)
    expected = [repr(round(value, decimals)) for value in numbers]
    assert _texts(_number_fields(values, decimals), len(numbers)) == expected


def test_timestamps_are_iso_8601_utc_to_the_millisecond():
    seconds = np.array([0.0, 59.0, 3600.5, 45296.25, 86399.0, 86399.999])
    expected = [(dt.datetime(2025, 8, 1) + dt.timedelta(seconds=s)).isoformat(
        timespec="milliseconds").replace(".000", "") + "Z" for s in seconds]
    assert _texts(_timestamp_fields(START, seconds), len(seconds)) == expected


def test_rates_of_zero_give_clean_files(tmp_path):
    rates = FaultRates(duplicate=0, negative_power=0, soc_out_of_range=0,
                       temperature_out_of_range=0, status_fault=0, status_offline=0,
                       malformed=0, late=0, gap=0)
    manifest = generate(tmp_path, load_registry()[:2], START, rows_per_device=96,
                        rates=rates)[0]
    assert manifest.totals.lines == 2 * 96
    for path in tmp_path.rglob("*.jsonl"):
        stamps = [json.loads(line)["ts"] for line in path.read_text().splitlines()]
        assert stamps[0] == "2025-08-01T00:00:00Z"
        assert stamps[1] == "2025-08-01T00:15:00Z"
        assert len(set(stamps)) == 96


@pytest.mark.parametrize("rows", [0, 86_401])
def test_rows_per_device_out_of_range_is_refused(tmp_path, rows):
    with pytest.raises(ValueError, match="rows per device"):
        generate(tmp_path, load_registry(), START, rows_per_device=rows)


def test_each_generated_day_is_marked_complete(two_days):
    for day in ("2025/08/01", "2025/08/02"):
        assert (two_days / day / "_SUCCESS").read_bytes() == b""


def test_files_the_simulator_did_not_write_are_never_replaced(tmp_path):
    devices = load_registry()[:2]
    generate(tmp_path, devices, START, rows_per_device=24, seed=1)
    ours = _files(tmp_path)
    # Its own files it may write again (the same bytes for the same arguments).
    generate(tmp_path, devices, START, rows_per_device=24, seed=1)
    assert _files(tmp_path) == ours

    real = tmp_path / "2025/08/01/lathrop-ca/mp-lathrop-09.jsonl"
    real.write_text('{"device_id": "mp-lathrop-09"}\n')
    with pytest.raises(LakehouseError, match=re.escape(f"{real} was not written by the simulator")):
        generate(tmp_path, devices, START, days=2, rows_per_device=24, seed=2)
    # Refused before anything was written: not the first day, not the second.
    assert _files(tmp_path) == {**ours, "2025/08/01/lathrop-ca/mp-lathrop-09.jsonl":
                                real.read_bytes()}

    # A file it wrote that has changed since is no longer its own.
    real.unlink()
    changed = tmp_path / "2025/08/01/lathrop-ca/mp-lathrop-01.jsonl"
    changed.write_bytes(changed.read_bytes() + b'{"device_id": "mp-lathrop-01"}\n')
    with pytest.raises(LakehouseError, match=re.escape(f"{changed} was not written by")):
        generate(tmp_path, devices, START, rows_per_device=24, seed=1)

    # Without its manifest, nothing in the folder is its own.
    other = tmp_path / "other"
    (other / "2025/08/01/lathrop-ca").mkdir(parents=True)
    (other / "2025/08/01/lathrop-ca/mp-lathrop-01.jsonl").write_text("{}\n")
    with pytest.raises(LakehouseError, match=re.escape("mp-lathrop-01.jsonl was not written")):
        generate(other, devices, START, rows_per_device=24, seed=1)
