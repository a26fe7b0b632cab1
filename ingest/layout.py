"""The raw-file layout: `<raw>/YYYY/MM/DD/<site_id>/<device_id>.jsonl[.gz]`, YYYY/MM/DD the day the
file was received. Producers write into it (real devices' uploads, or the simulator); the Bronze
job reads from it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

RAW_SUFFIXES = (".jsonl", ".jsonl.gz")


class RawDataError(RuntimeError):
    """Raw input the job cannot take as it is; the message names what and where."""


def day_folder(raw_dir: Path, day: dt.date) -> Path:
    """The folder of a receive day's raw files."""
    return raw_dir / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


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
