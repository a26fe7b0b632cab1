"""The raw-file layout: `<raw>/YYYY/MM/DD/<site_id>/<device_id>.jsonl[.gz]`, YYYY/MM/DD the day the
file was received. Producers write into it (real devices' uploads, or the simulator); the Bronze
job reads from it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

# The Bronze table the job lands every raw line in.
BRONZE_TABLE = "bronze.raw_telemetry"
RAW_SUFFIXES = (".jsonl", ".jsonl.gz")
# The producer writes this empty file into a receive day's folder once every file of the day is
# there (the convention of Hadoop's and Spark's own jobs): a day without it may still be arriving.
COMPLETE_MARKER = "_SUCCESS"


class RawDataError(RuntimeError):
    """Raw input the job cannot take as it is; the message names what and where."""


def day_folder(raw_dir: Path, day: dt.date) -> Path:
    """The folder of a receive day's raw files."""
    return raw_dir / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


def complete_marker(raw_dir: Path, day: dt.date) -> Path:
    """The completion marker of a receive day's folder."""
    return day_folder(raw_dir, day) / COMPLETE_MARKER


def is_complete(raw_dir: Path, day: dt.date) -> bool:
    """True once the producer has marked the day complete."""
    return complete_marker(raw_dir, day).is_file()


def mark_complete(raw_dir: Path, day: dt.date) -> Path:
    """Mark the receive day complete (the producer's last step); the marker's path."""
    marker = complete_marker(raw_dir, day)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return marker


def raw_files(raw_dir: Path, day: dt.date) -> list[Path]:
    """The day's raw files, `<day>/<site_id>/<device_id>.jsonl[.gz]`, sorted.

    A missing folder, a folder without raw files, or a file that resolves outside the raw folder
    (a link pointing elsewhere) is refused with an error naming it.
    """
    folder = day_folder(raw_dir, day)
    if not folder.is_dir():
        raise RawDataError(f"no raw telemetry for {day}: folder {folder} does not exist")
    root = raw_dir.resolve()
    files = []
    for site in sorted(folder.iterdir()):
        if not site.is_dir():
            continue
        for path in sorted(site.iterdir()):
            if not path.name.endswith(RAW_SUFFIXES) or path.name.startswith("."):
                continue
            if not path.resolve().is_relative_to(root):
                raise RawDataError(f"{path} points outside the raw folder {root}; refused")
            files.append(path)
    if not files:
        raise RawDataError(
            f"no raw telemetry for {day}: folder {folder} holds no <site>/<device>.jsonl files"
        )
    return files
