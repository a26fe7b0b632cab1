"""The KPI report: one self-contained HTML file with charts per site over the last N days.

Energy per day, uptime and anomalies come from the published Gold table, read through pyiceberg
(no Spark); the data quality of each receive day (Bronze lines, Silver readings, duplicates,
rejected lines by reason) comes from its quality-metrics JSON. matplotlib draws every chart as
inline SVG, so the file needs no network and no other file to open.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telemetry.pipeline.metrics import metrics_path
from telemetry.pipeline.readers import read_event_dates
from telemetry.pipeline.tables import GOLD_TABLE
from telemetry.settings import Lakehouse, LakehouseError

MAX_DAYS = 366
GOLD_COLUMNS = ["energy_wh_total", "peak_power_w", "avg_temp_c", "uptime_percent",
                "anomaly_count", "readings_count", "devices_reporting", "devices_registered"]


@dataclass(frozen=True)
class ReportData:
    """What the report shows: Gold rows per (site, event date), and the books of the receive
    days that have a metrics file."""

    last_day: dt.date
    days: list[dt.date]
    gold: dict[str, dict[dt.date, dict[str, Any]]]
    quality: dict[dt.date, dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "last_day": self.last_day.isoformat(),
            "days": [d.isoformat() for d in self.days],
            "gold": {site: {d.isoformat(): row for d, row in sorted(rows.items())}
                     for site, rows in sorted(self.gold.items())},
            "quality": {d.isoformat(): book for d, book in sorted(self.quality.items())},
        }


def report_path(lake: Lakehouse, last_day: dt.date, days: int) -> Path:
    return lake.reports_dir / f"kpi_report_{last_day.isoformat()}_{days}d.html"


def report_window(last_day: dt.date, days: int) -> list[dt.date]:
    if not 1 <= days <= MAX_DAYS:
        raise LakehouseError(f"--days {days}: a report covers 1 to {MAX_DAYS} days")
    return [last_day - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


def _quality(book: dict[str, Any]) -> dict[str, Any]:
    keys = ["bronze_rows", "silver_rows", "duplicates_dropped", "rejected_rows", "lost_rows",
            "rejected_rows_by_reason", "status"]
    return {key: book[key] for key in keys if key in book}


def load_report_data(lake: Lakehouse, last_day: dt.date, days: int) -> ReportData:
    """Gold's published rows for the event dates `last_day - days + 1` to `last_day`, and the
    quality metrics of the same receive days."""
    window = report_window(last_day, days)
    table = read_event_dates(lake, GOLD_TABLE, window)
    if table.num_rows == 0:
        raise LakehouseError(
            f"no published Gold rows for {window[0]} to {window[-1]} in {GOLD_TABLE}: run those "
            f"days first (telemetry run --date {window[0]} --to {window[-1]})")
    gold: dict[str, dict[dt.date, dict[str, Any]]] = defaultdict(dict)
    for row in table.to_pylist():
        gold[row["site_id"]][row["event_date"]] = {c: row[c] for c in GOLD_COLUMNS}
    quality = {}
    for day in window:
        path = metrics_path(lake, day)
        try:
            quality[day] = _quality(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue
        except (json.JSONDecodeError, KeyError) as error:
            raise LakehouseError(f"{path}: not a quality-metrics file ({error})") from None
    return ReportData(last_day, window, dict(gold), quality)


def _svg(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _site_chart(data: ReportData, column: str, title: str, unit: str, scale: float = 1.0,
                bars: bool = False) -> str:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 3.4))
    sites = sorted(data.gold)
    width = 0.8 / max(len(sites), 1)
    for n, site in enumerate(sites):
        rows = data.gold[site]
        xs = [d for d in data.days if d in rows and rows[d][column] is not None]
        ys = [rows[d][column] * scale for d in xs]
        if bars:
            offsets = [data.days.index(d) + (n - (len(sites) - 1) / 2) * width for d in xs]
            axes.bar(offsets, ys, width=width, label=site)
        else:
            axes.plot([data.days.index(d) for d in xs], ys, marker="o", label=site)
    axes.set_xticks(range(len(data.days)), [f"{d:%m-%d}" for d in data.days],
                    rotation=45 if len(data.days) > 10 else 0)
    axes.set_title(title)
    axes.set_ylabel(unit)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize="small", ncols=min(len(sites), 4), loc="upper center",
                bbox_to_anchor=(0.5, -0.22 if len(data.days) > 10 else -0.12), frameon=False)
    return _svg(figure)


def _quality_chart(data: ReportData) -> str:
    """Two panels per receive day: Bronze lines beside Silver readings, and the lines that did
    not become readings (duplicates dropped, rejected by reason), which are too few to see on
    the first panel's scale."""
    import matplotlib.pyplot as plt

    figure, (counts, lost) = plt.subplots(1, 2, figsize=(14, 3.6))
    days = [d for d in data.days if d in data.quality]
    books = [data.quality[d] for d in days]
    xs = list(range(len(days)))
    labels = [f"{d:%m-%d}" for d in days]
    counts.bar([x - 0.2 for x in xs], [b.get("bronze_rows", 0) for b in books], width=0.4,
               label="Bronze lines", color="#b08d57")
    counts.bar([x + 0.2 for x in xs], [b.get("silver_rows", 0) for b in books], width=0.4,
               label="Silver readings", color="#7f8c9a")
    counts.set_title("Lines in, readings out")
    reasons = sorted({r for b in books for r, n in b.get("rejected_rows_by_reason", {}).items()
                      if n})
    parts = [("duplicates dropped", [b.get("duplicates_dropped", 0) for b in books]),
             *((f"rejected: {r}", [b.get("rejected_rows_by_reason", {}).get(r, 0)
                                   for b in books]) for r in reasons)]
    bottom = [0] * len(days)
    for label, values in parts:
        lost.bar(xs, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    lost.set_title("Lines that are not readings")
    for axes in (counts, lost):
        axes.set_xticks(xs, labels, rotation=45 if len(days) > 7 else 0)
        axes.set_ylabel("lines")
        axes.grid(axis="y", alpha=0.3)
        axes.legend(fontsize="small", loc="upper center", ncols=3, frameon=False,
                    bbox_to_anchor=(0.5, -0.22 if len(days) > 7 else -0.12))
    figure.suptitle("Data quality per receive day")
    figure.tight_layout()
    return _svg(figure)


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _tables(data: ReportData) -> str:
    head = ("<tr><th>event date</th><th>site</th><th>energy kWh</th><th>peak kW</th>"
            "<th>uptime %</th><th>anomalies</th><th>readings</th><th>devices</th></tr>")
    rows = []
    for day in reversed(data.days):
        for site in sorted(data.gold):
            row = data.gold[site].get(day)
            if row is None:
                continue
            peak = row["peak_power_w"] / 1000 if row["peak_power_w"] is not None else None
            rows.append(
                f"<tr><td>{day}</td><td>{html.escape(site)}</td>"
                f"<td>{_number(row['energy_wh_total'] / 1000)}</td><td>{_number(peak)}</td>"
                f"<td>{_number(row['uptime_percent'], 2)}</td><td>{row['anomaly_count']:,}</td>"
                f"<td>{row['readings_count']:,}</td>"
                f"<td>{row['devices_reporting']} of {row['devices_registered']}</td></tr>")
    quality = []
    for day in reversed(data.days):
        book = data.quality.get(day)
        if book is None:
            quality.append(f"<tr><td>{day}</td><td colspan='6'>no metrics file</td></tr>")
            continue
        reasons = ", ".join(f"{html.escape(r)} {n:,}" for r, n in
                            sorted(book.get("rejected_rows_by_reason", {}).items()) if n) or "none"
        quality.append(
            f"<tr><td>{day}</td><td>{html.escape(str(book.get('status', '')))}</td>"
            f"<td>{_number(book.get('bronze_rows'))}</td><td>{_number(book.get('silver_rows'))}"
            f"</td><td>{_number(book.get('duplicates_dropped'))}</td>"
            f"<td>{_number(book.get('rejected_rows'))}</td><td>{reasons}</td></tr>")
    return (
        f"<h2>Gold KPIs</h2><table id='kpis'>{head}{''.join(rows)}</table>"
        "<h2>Data quality</h2><table id='quality'><tr><th>receive day</th><th>status</th>"
        "<th>Bronze lines</th><th>Silver readings</th><th>duplicates</th><th>rejected</th>"
        f"<th>rejected by reason</th></tr>{''.join(quality)}</table>")


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { margin-bottom: 0.2rem; } .note { color: #555; margin-top: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: 1rem; }
.charts svg { width: 100%; height: auto; }
.charts .wide { grid-column: 1 / -1; }
table { border-collapse: collapse; font-size: 0.85rem; margin-bottom: 2rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
"""


def render_report(data: ReportData) -> str:
    """The report as one HTML document: inline SVG charts and inline CSS, nothing fetched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Text stays text in the SVG (smaller, searchable), and no random ids: the same data
    # renders the same file.
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "telemetry",
                         "svg.id": None}):
        charts = [
            _site_chart(data, "energy_wh_total", "Energy per day", "kWh", scale=1 / 1000),
            _site_chart(data, "uptime_percent", "Uptime", "% of registered device time"),
            _site_chart(data, "anomaly_count", "Anomalies", "readings", bars=True),
            _quality_chart(data) if data.quality else "<p>No quality metrics for these days.</p>",
        ]
    first, last = data.days[0], data.days[-1]
    sites = len(data.gold)
    payload = json.dumps(data.as_json(), sort_keys=True).replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Fleet KPIs {first} to {last}</title><style>{STYLE}</style></head><body>"
        f"<h1>Fleet KPIs, {first} to {last}</h1>"
        f"<p class='note'>{sites} sites, {len(data.days)} days, from the published "
        f"{GOLD_TABLE} and the quality metrics of each receive day.</p>"
        + "<div class='charts'>" + "".join(f"<section>{chart}</section>" for chart in charts[:3])
        + f"<section class='wide'>{charts[3]}</section>"
        + "</div>"
        + _tables(data)
        + f"<script type='application/json' id='report-data'>{payload}</script>"
        "</body></html>\n")


def write_report(lake: Lakehouse, last_day: dt.date, days: int,
                 path: Path | None = None) -> Path:
    """Write the report of the `days` days ending on `last_day` (whole or not at all)."""
    data = load_report_data(lake, last_day, days)
    path = path or report_path(lake, last_day, days)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(data), encoding="utf-8")
    os.replace(tmp, path)
    return path
