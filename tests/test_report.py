"""`telemetry report`: one self-contained HTML file of the published Gold KPIs and the receive
days' data quality. Its numbers equal the plain-Python reference over the raw files, it fetches
nothing when opened, and a headless Chromium renders its charts (the screenshot is kept in
test-artifacts/)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from telemetry.jobs import date_range, run_days
from telemetry.pipeline.registry import REGISTRY_PATH, load_registry
from telemetry.pipeline.report import report_path, write_report
from telemetry.settings import LakehouseError
from telemetry.simulator import generate
from tests import reference
from tests.conftest import assert_gold_row
from tests.test_docs_site import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.spark

DAYS = date_range(dt.date(2026, 9, 1), dt.date(2026, 9, 2))


class Page(HTMLParser):
    """The tags and attributes of a page, and the JSON it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.data: list[str] = []
        self._in_data = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_data = tag == "script" and dict(attrs).get("id") == "report-data"

    def handle_endtag(self, tag):
        self._in_data = False

    def handle_data(self, data):
        if self._in_data:
            self.data.append(data)


class Stages(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def built(spark, lake):
    generate(lake.raw_dir, load_registry(), DAYS[0], days=len(DAYS), rows_per_device=48,
             seed=31)
    stages = Stages()
    logging.getLogger("telemetry").addHandler(stages)
    logging.getLogger("telemetry").setLevel(logging.INFO)
    try:
        run = run_days(spark, lake, DAYS)
    finally:
        logging.getLogger("telemetry").removeHandler(stages)
    lines = reference.raw_lines(lake.raw_dir, set(DAYS))
    outcome = reference.silver(lines, reference.registry(REGISTRY_PATH))
    return {"readings": list(outcome.readings.values()), "run": run, "lines": len(lines),
            "books": reference.books(lines, outcome), "stages": stages.messages}


def test_a_run_reports_each_stage_with_its_counts(built):
    stages = [re.sub(r" \(\d+\.\d s\)$", "", message) for message in built["stages"]]
    tests = [r for r in built["run"].dbt_results if r.resource_type == "test"]
    assert len(stages) == 5, stages
    assert stages[0] == "branch run_20260901_20260902 opened"
    assert stages[1] == (f"ingest: {built['lines']:,} lines of 2026-09-01 to 2026-09-02 into "
                         "bronze.raw_telemetry")
    outcomes = ", ".join(f"{sum(1 for t in tests if t.status == status)} {status}"
                         for status in sorted({t.status for t in tests}))
    assert stages[2] == f"dbt build: 6 models, 1 seed, {len(tests)} tests ({outcomes})"
    assert stages[3] == "publish: 7 tables' main now at run_20260901_20260902"
    assert stages[4].startswith("metrics: 2 file(s) in ")
    assert all(re.search(r"\(\d+\.\d s\)$", message) for message in built["stages"])


@pytest.fixture(scope="module")
def report(built, lake):
    """The command line's report of the two days (a process of its own, no Spark)."""
    done = subprocess.run(
        [sys.executable, "-m", "telemetry.cli", "report", "--date", str(DAYS[-1]), "--days", "2"],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    path = report_path(lake, DAYS[-1], 2)
    assert str(path) in done.stdout
    page = Page()
    text = path.read_text(encoding="utf-8")
    page.feed(text)
    return {"path": path, "text": text, "page": page, "data": json.loads("".join(page.data))}


def test_the_report_holds_golds_kpis_as_the_reference_computes_them(report, built):
    devices = reference.registry(REGISTRY_PATH)
    gold = report["data"]["gold"]
    sites = {row["site_id"] for row in devices.values()}
    assert set(gold) == sites
    for day in DAYS:
        for site, want in reference.gold(built["readings"], devices, day).items():
            assert_gold_row(gold[site][day.isoformat()], want, (day, site))
    # The table shows the same numbers, in kWh.
    row = gold["angleton-tx"][DAYS[-1].isoformat()]
    assert f"{row['energy_wh_total'] / 1000:,.1f}" in report["text"]


def test_the_report_holds_each_receive_days_data_quality(report, built):
    quality = report["data"]["quality"]
    assert set(quality) == {day.isoformat() for day in DAYS}
    for day, want in built["books"].items():
        got = quality[day.isoformat()]
        for key in ("bronze_rows", "silver_rows", "duplicates_dropped", "rejected_rows"):
            assert got[key] == want[key], (day, key)
        assert sum(got["rejected_rows_by_reason"].values()) == want["rejected_rows"]
        assert got["status"] == "passed"


def test_the_report_opens_offline(report):
    tags = report["page"].tags
    # The charts drawn inline; no stylesheet, script, image or frame fetched from anywhere.
    assert sum(1 for tag, _ in tags if tag == "svg") == 4  # energy, uptime, anomalies, quality
    for tag, attrs in tags:
        assert tag not in {"link", "img", "iframe"}, tag
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value or value.startswith("#"), (tag, name, value)
        if tag == "script":
            assert attrs.get("type") == "application/json"
    assert not re.search(r"url\((?!#)", report["text"])


def test_chromium_renders_the_report(report):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        # Any request leaving the file would fail the page: none may be made.
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report["path"].as_uri())
        sizes = page.evaluate(
            "() => [...document.querySelectorAll('.charts svg')]"
            ".map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])")
        page.screenshot(path=str(ARTIFACTS / "kpi-report.png"), full_page=True)
        browser.close()
    assert requests == [report["path"].as_uri()]
    assert len(sizes) == 4 and all(w > 300 and h > 100 for w, h in sizes), sizes


def test_a_report_of_days_with_nothing_published_says_so(lake, built):
    with pytest.raises(LakehouseError, match="no published Gold rows for 2020-01-01 to "
                                             "2020-01-03"):
        write_report(lake, dt.date(2020, 1, 3), 3)
    done = subprocess.run([sys.executable, "-m", "telemetry.cli", "report", "--date",
                           "2026-09-02", "--days", "0"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2 and "must be at least 1" in done.stderr
