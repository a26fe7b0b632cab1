"""Hand-made raw files with every kind of bad input the contract names: each line ends as a
quarantined row with the right reason or as a documented, clean value; the run does not crash,
nothing is lost, and no other day's partitions change."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
from pathlib import Path

import pytest

from ingest.bronze import BRONZE_TABLE
from ingest.layout import day_folder, mark_complete
from telemetry.jobs import ingest, run_day
from telemetry.pipeline.registry import load_registry
from telemetry.settings import PROJECT_DIR, LakehouseError
from telemetry.simulator import generate
from tests import reference
from tests.conftest import files_under, table_rows

pytestmark = pytest.mark.spark

NEIGHBOUR = dt.date(2025, 9, 5)
DAY = dt.date(2025, 9, 10)
# The hand-made day is mostly bad lines from a few devices, on purpose: open the quality gates.
OPEN_GATES = {"max_rejected_share": 1, "min_devices_reporting_share": 0}
LATHROP = "2025/09/10/lathrop-ca/mp-lathrop-01.jsonl"
ANGLETON = "2025/09/10/angleton-tx/mp-angleton-01.jsonl"
GZIPPED = "2025/09/10/lathrop-ca/mp-lathrop-03.jsonl.gz"
EMPTY = "2025/09/10/lathrop-ca/mp-lathrop-02.jsonl"


def reading(ts: str, device: str = "mp-lathrop-01", **fields: object) -> str:
    return json.dumps({"device_id": device, "site_id": "lathrop-ca", "ts": ts, **fields})


# (line text, what becomes of it): a reason, "reading", or "blank".
LATHROP_LINES: list[tuple[str, str]] = [
    (reading("2025-09-10T00:00:00Z", power_w=1000, soc_percent=50, temperature_c=25,
             status="online"), "reading"),
    ("", "blank"),
    ("   \t", "blank"),
    ("not json at all", "malformed_json"),
    ("[1, 2, 3]", "malformed_json"),
    ('"just a string"', "malformed_json"),
    ('{"site_id": "lathrop-ca", "ts": "2025-09-10T00:01:00Z"}', "missing_device_id"),
    (reading("2025-09-10T00:01:00Z", device="   "), "missing_device_id"),
    ('{"device_id": null, "ts": "2025-09-10T00:01:00Z"}', "missing_device_id"),
    (reading("2025-09-10T00:02:00Z", device="mp-nope-99"), "unknown_device"),
    (reading("10/09/2025 00:03"), "invalid_timestamp"),
    (reading("2025-09-10T02:30:00+02:00", power_w="250.5", soc_percent="40",
             temperature_c="30.25", status="online"), "reading"),
    (reading("2025-09-10T01:00:00+03:00", power_w=10, status="online"), "reading"),
    ('{"device_id": "mp-lathrop-01", "ts": "2025-09-10T00:04:00Z", "power_w": "NaN", '
     '"soc_percent": "Infinity", "temperature_c": 1e308, "status": "online"}', "reading"),
    (reading("2025-09-10T00:05:00Z", status="online"), "reading"),
    (reading("2025-09-10T00:06:00Z", power_w=-5, status="fault", firmware="1.2.3",
             nested={"a": [1, 2]}), "reading"),
    (reading("2025-09-11T00:00:00Z", power_w=1), "out_of_window"),
    (reading("2025-08-11T00:00:00Z", power_w=1), "out_of_window"),
    ('{"device_id": "mp-lathrop-01", "ts": "2025-09-', "malformed_json"),
]
EDGES = "2025/09/10/lathrop-ca/mp-lathrop-04.jsonl"


def edge(ts: object, **fields: object) -> str:
    return json.dumps({"device_id": "mp-lathrop-04", "ts": ts, "status": "online", **fields})


def canonical(ts: str, power_w: object, soc_percent: object, temperature_c: object,
              status: str = "online", device: object = "mp-lathrop-04",
              site: object = "lathrop-ca", separators: tuple[str, str] = (",", ":")) -> str:
    """A line with the contract's seven fields in the contract's order."""
    return json.dumps({"device_id": device, "site_id": site, "ts": ts, "power_w": power_w,
                       "soc_percent": soc_percent, "temperature_c": temperature_c,
                       "status": status},
                      separators=separators)


# Lines at the edges of the contract's rules: (line text, reason or the reading's UTC time).
EDGE_LINES: list[tuple[str, str]] = [
    # Anything but exactly one JSON object is malformed, also when it starts with one.
    (edge("2025-09-10T01:00:00Z") + " and then some text", "malformed_json"),
    (edge("2025-09-10T01:01:00Z") + edge("2025-09-10T01:02:00Z"), "malformed_json"),
    (edge("2025-09-10T01:03:00Z") + ", " + edge("2025-09-10T01:04:00Z"), "malformed_json"),
    (edge("2025-09-10T01:05:00Z") + ', "_end_"] and more', "malformed_json"),
    (edge("2025-09-10T01:06:00Z") + ', "\\u005fend_"]', "malformed_json"),
    ('{"device_id": "mp-lathrop-04", "device_id": "mp-lathrop-05", '
     '"ts": "2025-09-10T01:07:00Z"}', "malformed_json"),
    ('{"device_id": "mp-lathrop-04", "ts": "2025-09-10T01:08:00Z", "power_w": NaN}',
     "malformed_json"),
    (edge("2025-09-10T01:09:00Z", power_w=5) + " \t ", "2025-09-10T01:09:00"),
    # A device_id of whitespace of any kind is blank; one that is not a string is missing.
    (json.dumps({"device_id": "\u00a0\u2003\t", "ts": "2025-09-10T01:10:00Z"}),
     "missing_device_id"),
    (json.dumps({"device_id": "\u3000 \u2028", "ts": "2025-09-10T01:10:00Z"},
                ensure_ascii=False), "missing_device_id"),
    ('{"device_id": 404, "ts": "2025-09-10T01:10:00Z"}', "missing_device_id"),
    ('{"device_id": true, "ts": "2025-09-10T01:10:00Z"}', "missing_device_id"),
    ('{"device_id": {"id": "mp-lathrop-04"}, "ts": "2025-09-10T01:10:00Z"}', "missing_device_id"),
    # A device_id spelled with escapes is the id it spells.
    ('{"device_id": "mp-lathrop-0\\u0034", "ts": "2025-09-10T01:22:00Z", "status": "online", '
     '"power_w": 2}', "2025-09-10T01:22:00"),
    # ISO-8601 forms devices send: offsets with and without a colon, hours only, no seconds,
    # any number of fraction digits (kept to microseconds).
    (edge("2025-09-10T03:10+0200", power_w=1), "2025-09-10T01:10:00"),
    (edge("2025-09-10T06:11:00.1234567891+05", power_w=1), "2025-09-10T01:11:00.123456"),
    (edge("2025-09-10T01:12:30.5", power_w=1), "2025-09-10T01:12:30.500000"),
    (edge("2025-09-09T20:13-05:00", power_w=1), "2025-09-10T01:13:00"),
    (edge("2025-02-30T00:00:00Z"), "invalid_timestamp"),
    (edge("2025-09-10 01:14:00Z"), "invalid_timestamp"),
    (edge("2025-09-10T01:15:00+19:00"), "invalid_timestamp"),
    (edge("2025-09-10T01:15:00+18:30"), "invalid_timestamp"),
    (edge("2025-09-10T01:16:00Z\n"), "invalid_timestamp"),
    (edge("2025-09-10T24:00:00Z"), "invalid_timestamp"),
    (edge("2025-09-10T01:17:00.Z"), "invalid_timestamp"),
    (edge(20250910), "invalid_timestamp"),
    (edge({"at": "2025-09-10T01:19:00Z"}), "invalid_timestamp"),
    # Numbers in strings (ASCII whitespace around them allowed); true and other digits are not.
    (edge("2025-09-10T01:18:00Z", power_w=" 12.5 ", soc_percent=True,
          temperature_c="\u0661\u0662"), "2025-09-10T01:18:00"),
    # Numbers as JSON writes them (an exponent, trailing zeros, past 64 bits, minus zero) are
    # those numbers; an object or an array is no number.
    ('{"device_id": "mp-lathrop-04", "ts": "2025-09-10T01:20:00Z", "status": "online", '
     '"power_w": 1.5e3, "soc_percent": 50.250, "temperature_c": {"v": 20}}',
     "2025-09-10T01:20:00"),
    ('{"device_id": "mp-lathrop-04", "ts": "2025-09-10T01:21:00Z", "status": "online", '
     '"power_w": 12345678901234567890, "soc_percent": [50], "temperature_c": -0}',
     "2025-09-10T01:21:00"),
    # The contract's fields in its order with plain values (staging reads such a line with
    # Spark's JSON reader, any other line as exactly one object): the same rules hold.
    (canonical("2025-09-10T01:30:00Z", 98.0, -0.5, 0), "2025-09-10T01:30:00"),
    (canonical("2025-09-10T01:31:00Z", "12.5", None, " 7 ", status="offline",
               separators=(", ", ": ")),
     "2025-09-10T01:31:00"),
    (canonical("2025-09-10T01:32:00Z", 123456789012345.25, 100, -40.0), "2025-09-10T01:32:00"),
    (canonical("2025-09-10T01:33:00Z", 1, 2, 3)[:-1] + ',"status":"fault"}', "malformed_json"),
    (canonical("2025-09-10T01:34:00Z", 1, 2, 3) + '{"a":1}', "malformed_json"),
    (canonical("2025-09-10T01:34:30Z", 1, 2, 3) + "\u2028", "malformed_json"),
    (canonical("2025-09-10T01:35:00Z", 4, 5, 6, site=12.5), "2025-09-10T01:35:00"),
    (canonical("2025-09-10T01:36:00Z", 1, 2, 3, device=None), "missing_device_id"),
    (canonical("2025-09-10T01:37:00Z", 1, 2, 3, device="  "), "missing_device_id"),
]
LONG_PADDING = "x" * 1_000_000


def write_bad_day(raw_dir: Path) -> None:
    lathrop = raw_dir / LATHROP
    lathrop.parent.mkdir(parents=True, exist_ok=True)
    # A byte-order mark, CRLF endings, and a truncated last line with no line ending.
    text = "\r\n".join(line for line, _ in LATHROP_LINES)
    lathrop.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (raw_dir / EMPTY).write_bytes(b"")
    (raw_dir / EDGES).write_text("\n".join(line for line, _ in EDGE_LINES) + "\n",
                                 encoding="utf-8")
    with gzip.open(raw_dir / GZIPPED, "wt", encoding="utf-8") as handle:
        handle.write(reading("2025-09-10T00:00:00Z", device="mp-lathrop-03", power_w=7,
                             status="online") + "\n")
        handle.write(reading("2025-09-10T00:01:00Z", device="mp-lathrop-03", power_w=8,
                             status="online") + "\n")
    angleton = raw_dir / ANGLETON
    angleton.parent.mkdir(parents=True, exist_ok=True)
    angleton.write_bytes(b"\n".join([
        reading("2025-09-10T00:00:00Z", device="mp-angleton-01", power_w=100,
                status="online").encode(),
        # the same reading sent again with other values: the later line is kept
        reading("2025-09-10T00:00:00Z", device="mp-angleton-01", power_w=200,
                status="fault").encode(),
        b'{"device_id": "mp-angle\xfften-01", "ts": "2025-09-10T00:01:00Z"}',
        reading("2025-09-10T00:02:00Z", device="mp-angleton-01", power_w=300, status="online",
                padding=LONG_PADDING).encode(),
    ]) + b"\n")
    # Not telemetry: ignored by the ingest.
    (raw_dir / "2025/09/10/lathrop-ca/notes.txt").write_text("operator notes\n")
    mark_complete(raw_dir, DAY)


@pytest.fixture(scope="module")
def bad_day(spark, lake):
    generate(lake.raw_dir, load_registry(), NEIGHBOUR, rows_per_device=24, seed=3)
    run_day(spark, lake, NEIGHBOUR)
    neighbour_rows = table_rows(
        spark, f"select * from silver.readings where event_date = date'{NEIGHBOUR}'")
    neighbour_gold = table_rows(
        spark, f"select * from gold.site_daily_kpis where event_date = date'{NEIGHBOUR}'")
    neighbour_files = {
        t: files_under(lake.table_dir(t) / f"event_date={NEIGHBOUR}")
        for t in ("silver.readings", "gold.site_daily_kpis")
    }
    write_bad_day(lake.raw_dir)
    result = run_day(spark, lake, DAY, OPEN_GATES)
    return {
        "result": result,
        "neighbour_rows": neighbour_rows,
        "neighbour_gold": neighbour_gold,
        "neighbour_files": neighbour_files,
    }


def test_every_rejected_line_is_quarantined_with_its_reason(bad_day, spark):
    want = {(LATHROP, number, outcome)
            for number, (_, outcome) in enumerate(LATHROP_LINES, start=1)
            if outcome not in {"reading", "blank"}}
    want |= {(EDGES, number, outcome) for number, (_, outcome) in enumerate(EDGE_LINES, start=1)
             if not outcome.startswith("2025-")}
    want.add((ANGLETON, 3, "unknown_device"))
    got = set(table_rows(spark, "select source_file, line_number, rejection_reason "
                                f"from silver.quarantine where received_on = date'{DAY}'"))
    assert got == want


def test_bronze_keeps_lines_as_received_with_their_numbers(bad_day, spark):
    rows = {(r[0], r[1]): r[2] for r in table_rows(
        spark, f"select source_file, line_number, raw_line from {BRONZE_TABLE} "
               f"where received_on = date'{DAY}'")}
    # Blank lines are not rows, but keep their place in the numbering.
    assert sorted(n for f, n in rows if f == LATHROP) == [
        n for n, (_, outcome) in enumerate(LATHROP_LINES, start=1) if outcome != "blank"]
    assert rows[(LATHROP, 1)] == LATHROP_LINES[0][0]  # no byte-order mark, no CR
    assert rows[(LATHROP, 4)] == "not json at all"
    assert rows[(LATHROP, 16)] == LATHROP_LINES[15][0]  # extra fields kept in Bronze
    assert rows[(LATHROP, 19)] == LATHROP_LINES[18][0]  # the truncated last line
    assert not any("\r" in text for text in rows.values())
    assert rows[(GZIPPED, 1)].startswith('{"device_id": "mp-lathrop-03"')
    assert not any(f == EMPTY for f, _ in rows)
    # An undecodable byte is replaced by U+FFFD, the rest of the line kept.
    assert rows[(ANGLETON, 3)] == '{"device_id": "mp-angle\ufffdten-01", ' \
        '"ts": "2025-09-10T00:01:00Z"}'
    assert len(rows[(ANGLETON, 4)]) > len(LONG_PADDING)
    assert sorted(n for f, n in rows if f == EDGES) == list(range(1, len(EDGE_LINES) + 1))
    assert len(rows) == 23 + len(EDGE_LINES)


def test_readings_get_clean_documented_values(bad_day, spark):
    rows = {(r[0], r[1].isoformat()): r[2:] for r in table_rows(
        spark,
        "select device_id, reading_at, power_w, soc_percent, temperature_c, status, "
        "is_power_capped, is_soc_out_of_range, is_temperature_out_of_range, is_anomaly, "
        f"received_on from silver.readings where received_on = date'{DAY}'")}
    d = DAY
    assert rows == {
        ("mp-lathrop-01", "2025-09-10T00:00:00"): (1000.0, 50.0, 25.0, "online",
                                                   False, False, False, False, d),
        # numbers as strings are numbers; +02:00 is converted to UTC
        ("mp-lathrop-01", "2025-09-10T00:30:00"): (250.5, 40.0, 30.25, "online",
                                                   False, False, False, False, d),
        # +03:00 lands on the previous UTC day: a late reading
        ("mp-lathrop-01", "2025-09-09T22:00:00"): (10.0, None, None, "online",
                                                   False, False, False, False, d),
        # NaN and Infinity are null (not flagged); 1e308 degrees is out of range
        ("mp-lathrop-01", "2025-09-10T00:04:00"): (None, None, None, "online",
                                                   False, False, True, True, d),
        # missing measurements are null
        ("mp-lathrop-01", "2025-09-10T00:05:00"): (None, None, None, "online",
                                                   False, False, False, False, d),
        # negative power is capped and flagged; extra fields are ignored
        ("mp-lathrop-01", "2025-09-10T00:06:00"): (0.0, None, None, "fault",
                                                   True, False, False, True, d),
        ("mp-lathrop-03", "2025-09-10T00:00:00"): (7.0, None, None, "online",
                                                   False, False, False, False, d),
        ("mp-lathrop-03", "2025-09-10T00:01:00"): (8.0, None, None, "online",
                                                   False, False, False, False, d),
        # conflicting duplicates: the later line is kept
        ("mp-angleton-01", "2025-09-10T00:00:00"): (200.0, None, None, "fault",
                                                    False, False, False, True, d),
        ("mp-angleton-01", "2025-09-10T00:02:00"): (300.0, None, None, "online",
                                                    False, False, False, False, d),
        ("mp-lathrop-04", "2025-09-10T01:09:00"): (5.0, None, None, "online",
                                                   False, False, False, False, d),
        # 03:10+0200, 06:11:00.1234567891+05, 01:12:30.5 (UTC), 20:13-05:00 the day before
        ("mp-lathrop-04", "2025-09-10T01:10:00"): (1.0, None, None, "online",
                                                   False, False, False, False, d),
        ("mp-lathrop-04", "2025-09-10T01:11:00.123456"): (1.0, None, None, "online",
                                                          False, False, False, False, d),
        ("mp-lathrop-04", "2025-09-10T01:12:30.500000"): (1.0, None, None, "online",
                                                          False, False, False, False, d),
        ("mp-lathrop-04", "2025-09-10T01:13:00"): (1.0, None, None, "online",
                                                   False, False, False, False, d),
        # " 12.5 " is 12.5; true and Arabic-Indic digits are no numbers
        ("mp-lathrop-04", "2025-09-10T01:18:00"): (12.5, None, None, "online",
                                                   False, False, False, False, d),
        ("mp-lathrop-04", "2025-09-10T01:20:00"): (1500.0, 50.25, None, "online",
                                                   False, False, False, False, d),
        ("mp-lathrop-04", "2025-09-10T01:21:00"): (1.2345678901234567e19, None, 0.0, "online",
                                                   False, False, False, False, d),
        ("mp-lathrop-04", "2025-09-10T01:22:00"): (2.0, None, None, "online",
                                                   False, False, False, False, d),
        # 98.0 is 98; a soc of -0.5 is out of range
        ("mp-lathrop-04", "2025-09-10T01:30:00"): (98.0, None, 0.0, "online",
                                                   False, True, False, True, d),
        ("mp-lathrop-04", "2025-09-10T01:31:00"): (12.5, None, 7.0, "offline",
                                                   False, False, False, False, d),
        ("mp-lathrop-04", "2025-09-10T01:32:00"): (123456789012345.25, 100.0, -40.0, "online",
                                                   False, False, False, False, d),
        # a site_id that is a number: the site comes from the registry
        ("mp-lathrop-04", "2025-09-10T01:35:00"): (4.0, 5.0, 6.0, "online",
                                                   False, False, False, False, d),
    }


def test_reconciliation_holds_and_metrics_count_each_reason(bad_day, spark):
    recon = table_rows(spark, "select bronze_rows, silver_rows, duplicates_dropped, "
                              "rejected_rows, lost_rows, late_rows "
                              f"from silver.receive_day_reconciliation "
                              f"where received_on = date'{DAY}'")
    assert recon == [(62, 23, 1, 38, 0, 1)]
    metrics = json.loads(bad_day["result"].metrics_path.read_text())
    assert metrics["rejected_rows_by_reason"] == {
        "malformed_json": 14, "missing_device_id": 10, "invalid_timestamp": 10,
        "unknown_device": 2, "out_of_window": 2,
    }
    assert metrics["event_dates_recomputed"] == ["2025-09-09", "2025-09-10"]
    assert metrics["null_counts"] == {"power_w": 2, "soc_percent": 18, "temperature_c": 16}


def test_silver_quarantine_and_books_equal_the_reference(bad_day, spark, lake):
    """The hand-made day and its generated neighbour, read by the plain-Python reference."""
    lines = reference.raw_lines(lake.raw_dir, {NEIGHBOUR, DAY})
    outcome = reference.silver(lines, reference.registry(PROJECT_DIR / "seeds" / "devices.csv"))
    days = f"date'{NEIGHBOUR}', date'{DAY}'"
    readings = {(r[0], r[1]): r[2:] for r in table_rows(
        spark, "select device_id, reading_at, site_id, status, power_w, soc_percent, "
               "temperature_c, is_power_capped, is_soc_out_of_range, "
               "is_temperature_out_of_range, is_anomaly, received_on, source_file, line_number "
               f"from silver.readings where received_on in ({days})")}
    assert readings == {
        key: (r.site_id, r.status, r.power_w, r.soc_percent, r.temperature_c, r.power_capped,
              r.soc_out, r.temp_out, r.is_anomaly, r.received_on, r.source_file, r.line_number)
        for key, r in outcome.readings.items()
    }
    quarantine = table_rows(
        spark, "select received_on, source_file, line_number, rejection_reason, raw_line "
               f"from silver.quarantine where received_on in ({days})")
    assert quarantine == sorted((line.received_on, line.source_file, line.line_number, reason,
                                 line.text) for line, reason in outcome.rejected)
    books = {r[0]: dict(zip(["bronze_rows", "silver_rows", "duplicates_dropped", "rejected_rows",
                             "rejected_rows_by_reason"], r[1:], strict=True))
             for r in table_rows(
                 spark, "select received_on, bronze_rows, silver_rows, duplicates_dropped, "
                        "rejected_rows, map_filter(rejected_rows_by_reason, (k, v) -> v > 0) "
                        f"from silver.receive_day_reconciliation where received_on in ({days})")}
    assert books == reference.books(lines, outcome)


def test_gold_has_every_site_and_the_late_reading(bad_day, spark):
    gold = {(r[0].isoformat(), r[1]): r[2:] for r in table_rows(
        spark, "select event_date, site_id, readings_count, devices_reporting, "
               "devices_registered, energy_wh_total, peak_power_w from gold.site_daily_kpis "
               "where event_date in (date'2025-09-09', date'2025-09-10')")}
    sites = {d.site_id for d in load_registry()}
    assert {s for _, s in gold} == sites
    assert gold[("2025-09-10", "lathrop-ca")][:3] == (20, 3, 6)
    assert gold[("2025-09-10", "hornsdale-sa")] == (0, 0, 4, 0.0, None)
    # The late reading alone, 22:00 to midnight capped at 900 s: 10 W x 900 s = 2.5 Wh.
    late = gold[("2025-09-09", "lathrop-ca")]
    assert late[0] == 1
    assert math.isclose(late[3], 2.5, abs_tol=1e-9)


def test_no_other_days_partitions_change(bad_day, spark, lake):
    assert table_rows(spark, "select * from silver.readings "
                             f"where event_date = date'{NEIGHBOUR}'") == bad_day["neighbour_rows"]
    assert table_rows(spark, "select * from gold.site_daily_kpis "
                             f"where event_date = date'{NEIGHBOUR}'") == bad_day["neighbour_gold"]
    for table, files in bad_day["neighbour_files"].items():
        assert files
        assert files_under(lake.table_dir(table) / f"event_date={NEIGHBOUR}") == files


def test_a_raw_file_linking_outside_the_raw_folder_is_refused(bad_day, spark, lake, tmp_path):
    day = dt.date(2025, 9, 12)
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text(reading("2025-09-12T00:00:00Z") + "\n")
    folder = day_folder(lake.raw_dir, day) / "lathrop-ca"
    folder.mkdir(parents=True)
    (folder / "mp-lathrop-01.jsonl").symlink_to(outside)
    mark_complete(lake.raw_dir, day)
    before = spark.table(BRONZE_TABLE).count()
    with pytest.raises(LakehouseError, match="points outside the raw folder"):
        ingest(spark, lake, day)
    assert spark.table(BRONZE_TABLE).count() == before


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "..", ".hidden"])
def test_an_id_that_would_escape_the_data_folder_is_refused(tmp_path, bad_id):
    from telemetry.pipeline.registry import load_registry as load

    registry = tmp_path / "devices.csv"
    registry.write_text("device_id,site_id,device_type,capacity_kwh,rated_power_w\n"
                        f"{bad_id},site-a,t,13.5,5000\n")
    with pytest.raises(LakehouseError, match=r"devices.csv:2: device_id .* is not a safe name"):
        load(registry)


def test_a_project_without_its_registry_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from telemetry.cli import main

    monkeypatch.setenv("TELEMETRY_HOME", str(tmp_path))
    monkeypatch.setenv("TELEMETRY_DATA_DIR", str(tmp_path / "data"))
    assert main(["generate", "--start", "2025-09-14"]) == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'seeds' / 'devices.csv'} does not exist" in error
    assert "Traceback" not in error
    assert not (tmp_path / "data" / "raw").exists()


def test_a_day_whose_files_now_hold_no_lines_empties_its_bronze_partition(bad_day, spark, lake):
    day = dt.date(2025, 9, 14)
    path = day_folder(lake.raw_dir, day) / "lathrop-ca" / "mp-lathrop-01.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(reading("2025-09-14T00:00:00Z") + "\n" + reading("2025-09-14T00:00:05Z") + "\n")
    mark_complete(lake.raw_dir, day)
    in_partition = f"select count(*) from {BRONZE_TABLE} where received_on = date'{day}'"
    assert ingest(spark, lake, day) == 2
    assert table_rows(spark, in_partition) == [(2,)]
    path.write_text("\n  \n")
    assert ingest(spark, lake, day) == 0
    spark.sql(f"refresh table {BRONZE_TABLE}")
    assert table_rows(spark, in_partition) == [(0,)]


def test_a_day_with_no_lines_has_a_book_of_zeros(bad_day, spark, lake):
    day = dt.date(2025, 9, 20)
    path = day_folder(lake.raw_dir, day) / "lathrop-ca" / "mp-lathrop-01.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n \n\n")
    mark_complete(lake.raw_dir, day)
    result = run_day(spark, lake, day, OPEN_GATES)
    metrics = json.loads(result.metrics_path.read_text())
    registered = len(reference.registry(PROJECT_DIR / "seeds" / "devices.csv"))
    book = {key: metrics[key] for key in (
        "bronze_rows", "silver_rows", "duplicates_dropped", "rejected_rows", "lost_rows",
        "late_rows", "rejected_rows_by_reason", "null_counts", "flag_counts", "anomalies",
        "devices_reporting", "devices_registered", "event_dates_recomputed")}
    assert book == {
        "bronze_rows": 0, "silver_rows": 0, "duplicates_dropped": 0, "rejected_rows": 0,
        "lost_rows": 0, "late_rows": 0,
        "rejected_rows_by_reason": {"malformed_json": 0, "missing_device_id": 0,
                                    "invalid_timestamp": 0, "unknown_device": 0,
                                    "out_of_window": 0},
        "null_counts": {"power_w": 0, "soc_percent": 0, "temperature_c": 0},
        "flag_counts": {"power_capped": 0, "soc_out_of_range": 0,
                        "temperature_out_of_range": 0},
        "anomalies": 0, "devices_reporting": 0, "devices_registered": registered,
        "event_dates_recomputed": [day.isoformat()],
    }
