"""The dbt docs lineage site, generated and served on 127.0.0.1, in a real headless Chromium:
the graph holds the Bronze source, the Silver models and the Gold model, coloured by layer."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from telemetry.settings import PROJECT_DIR
from tests.conftest import free_port

pytestmark = pytest.mark.spark

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("TELEMETRY_TEST_ARTIFACTS") or PROJECT_DIR / "test-artifacts")


@pytest.fixture(scope="module")
def docs_url(spark, lake):
    from telemetry.services.docs import docs_service, start_docs

    url = start_docs(lake, port=free_port())
    yield url
    assert docs_service(lake).stop()


@pytest.fixture(scope="module")
def lineage(docs_url):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium package is needed (make test installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(docs_url.replace("index.html", "index.html#!/overview?g_v=1"))
        page.wait_for_function(
            "() => { const c = document.getElementById('cy');"
            " return c && c._cyreg && c._cyreg.cy && c._cyreg.cy.nodes().length > 0 }",
            timeout=60_000,
        )
        page.wait_for_timeout(1000)
        nodes = page.evaluate(
            "() => document.getElementById('cy')._cyreg.cy.nodes()"
            ".map(n => [n.id(), n.style('background-color')])")
        edges = page.evaluate(
            "() => document.getElementById('cy')._cyreg.cy.edges()"
            ".map(e => [e.source().id(), e.target().id()])")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dbt-docs-lineage.png"))
        title = page.title()
        browser.close()
    return {"title": title, "nodes": dict(nodes), "edges": {tuple(e) for e in edges}}


def test_the_site_serves_the_project(lineage):
    assert lineage["title"] == "dbt Docs"


def test_lineage_reads_bronze_source_to_silver_to_gold(lineage):
    nodes, edges = lineage["nodes"], lineage["edges"]
    source = "source.energy_telemetry.bronze.raw_telemetry"
    staging = "model.energy_telemetry.stg_bronze__raw_telemetry"
    readings = "model.energy_telemetry.readings"
    gold = "model.energy_telemetry.site_daily_kpis"
    assert {source, staging, readings, gold, "model.energy_telemetry.quarantine"} <= nodes.keys()
    assert {(source, staging), (staging, readings), (readings, gold)} <= edges


def test_layers_are_coloured(lineage):
    colour = {k: v.lower() for k, v in lineage["nodes"].items()}
    # dbt_project.yml: silver #adb5bd, gold #d4a017, the registry seed #8d99ae
    assert colour["model.energy_telemetry.readings"] == "#adb5bd"
    assert colour["model.energy_telemetry.quarantine"] == "#adb5bd"
    assert colour["model.energy_telemetry.site_daily_kpis"] == "#d4a017"
    assert colour["seed.energy_telemetry.devices"] == "#8d99ae"


def test_a_screenshot_is_kept(lineage):
    shot = ARTIFACTS / "dbt-docs-lineage.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000
