"""`telemetry`: the command line. Argument parsing and printing only; the work is done by
`telemetry.jobs` and the local services."""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import gc
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from telemetry.settings import LOOPBACK, Lakehouse, LakehouseError, lakehouse

# As the process ends, the interpreter's last collections would walk every object dbt's parse
# and Spark's client made (0.3 s of a day's run) looking for cycles to free: frozen, they are
# left to the process's end. Exit handlers still run (the log files' flush among them), and an
# object still goes when its last reference does.
atexit.register(gc.freeze)


def _date(text: str) -> dt.date:
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _dbt_vars(text: str) -> dict[str, object]:
    """dbt vars as `dbt --vars` takes them: a YAML (or JSON) mapping."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"not a YAML mapping such as '{{max_rejected_share: 0.1}}': {text!r}")
    taken = sorted({"process_date", "process_date_to", "run_branch"} & set(value))
    if taken:
        raise argparse.ArgumentTypeError(f"{', '.join(taken)} is set by the run itself")
    return value


def _days(start: dt.date, end: dt.date | None) -> list[dt.date]:
    from telemetry.jobs import date_range

    if end is not None and end < start:
        raise LakehouseError(f"--to {end} is before --date {start}")
    return date_range(start, end)


def _require_complete(lake: Lakehouse, days: list[dt.date], allow_incomplete: bool) -> None:
    """Refuse, before Spark starts, a day its producer has not marked complete."""
    from telemetry.jobs import require_complete

    if not allow_incomplete:
        for day in days:
            require_complete(lake, day)


def cmd_generate(args: argparse.Namespace) -> None:
    from telemetry.jobs import generate_days

    lake = lakehouse()
    manifests = generate_days(lake, args.start, args.days, args.rows_per_device, args.seed)
    for manifest in manifests:
        print(f"generated {manifest.receive_date}: {manifest.totals.lines:,} lines in "
              f"{len(manifest.files)} files under {lake.raw_dir}")


def cmd_ingest(args: argparse.Namespace) -> None:
    from telemetry.jobs import BRONZE_TABLE, ingest_range
    from telemetry.spark import spark_session

    days = _days(args.date, args.to)
    lake = lakehouse()
    _require_complete(lake, days, args.allow_incomplete)
    spark = spark_session(lake)
    for day, rows in ingest_range(spark, lake, days, args.allow_incomplete).items():
        print(f"ingested {day}: {rows:,} lines into {BRONZE_TABLE}")


def cmd_run(args: argparse.Namespace) -> None:
    from telemetry.jobs import raw_bytes, run_days
    from telemetry.pipeline.dbt import parse_ahead
    from telemetry.pipeline.kpis import gold_kpis
    from telemetry.settings import run_java_options
    from telemetry.spark import spark_session

    days = _days(args.date, args.to)
    lake = lakehouse()
    _require_complete(lake, days, args.allow_incomplete)
    # The raw files' sizes first: beside the parse, each file's look-up waits for the lock.
    java_options = run_java_options(raw_bytes(lake, days))
    parse_ahead(lake, args.vars)
    started = time.perf_counter()
    spark = spark_session(lake, java_options=java_options)
    session_s = time.perf_counter() - started
    run = run_days(spark, lake, days, args.vars, args.allow_incomplete)
    for day in days:
        print(f"\n{day}: {run.bronze_rows[day]:,} Bronze lines; metrics in "
              f"{run.metrics_paths[day]}")
        if args.show_kpis:
            print(format_kpis(day, gold_kpis(spark, day)))
    if args.report:
        args.report.write_text(json.dumps({"session_start_s": session_s, "run": run.report()},
                                          indent=2) + "\n")


def cmd_metrics(args: argparse.Namespace) -> None:
    from telemetry.jobs import day_metrics_from_artifacts
    from telemetry.pipeline.dbt import run_results_path
    from telemetry.spark import spark_session

    days = _days(args.date, args.to)
    lake = lakehouse()
    paths = day_metrics_from_artifacts(spark_session(lake), lake, days[0],
                                       [run_results_path(lake)], days[-1])
    for path in paths.values():
        print(f"wrote {path}")


def cmd_history(args: argparse.Namespace) -> None:
    from telemetry.pipeline.history import check_table, snapshots
    from telemetry.spark import spark_session

    check_table(args.table)
    print(f"{'made current at (UTC)':<28} {'snapshot id':>20}  operation  current")
    for row in snapshots(spark_session(lakehouse()), args.table):
        print(f"{row['made_current_at']!s:<28} {row['snapshot_id']:>20}  "
              f"{row['operation'] or '-':<9}  {'yes' if row['is_current_ancestor'] else 'no'}")


def cmd_rollback(args: argparse.Namespace) -> None:
    from telemetry.pipeline.history import check_table, rollback
    from telemetry.spark import spark_session

    check_table(args.table)
    current = rollback(spark_session(lakehouse()), args.table, args.to)
    print(f"{args.table} is back at snapshot {current}")


def cmd_maintain(args: argparse.Namespace) -> None:
    from telemetry.pipeline.history import maintain
    from telemetry.spark import spark_session

    done = maintain(spark_session(lakehouse()), args.keep_days, args.retain_last)
    for table, counts in done.items():
        print(f"{table}: {counts['data_files_deleted']} expired data files and "
              f"{counts['orphan_files_deleted']} orphan files deleted")


def cmd_jars(args: argparse.Namespace) -> None:
    from telemetry.jobs import record_class_archive
    from telemetry.spark import build_file_system_jar, fetch_jars

    lake = lakehouse()
    for path in fetch_jars(lake):
        print(f"{path} ({path.stat().st_size / 2**20:,.1f} MiB)")
    built = build_file_system_jar(lake)
    if built is not None:
        print(f"{built} (the local file system Spark writes the tables with)")
    archive = record_class_archive(lake)
    if archive is not None:
        print(f"{archive} ({archive.stat().st_size / 2**20:,.1f} MiB, the classes a run loads)")


def cmd_kpis(args: argparse.Namespace) -> None:
    from telemetry.pipeline.kpis import gold_kpis
    from telemetry.spark import spark_session

    print(format_kpis(args.date, gold_kpis(spark_session(lakehouse()), args.date)))


def format_kpis(event_date: dt.date, kpis: list[dict[str, object]]) -> str:
    """The day's Gold KPIs per site as a plain-text table."""
    header = ["site", "readings", "devices", "energy MWh", "peak kW", "avg temp C", "uptime %",
              "anomalies"]

    def number(value: object, scale: float = 1.0, digits: int = 1) -> str:
        return "-" if value is None else f"{float(value) / scale:,.{digits}f}"

    rows = [
        [
            str(k["site_id"]),
            f"{k['readings_count']:,}",
            f"{k['devices_reporting']}/{k['devices_registered']}",
            number(k["energy_wh_total"], 1e6, 3),
            number(k["peak_power_w"], 1e3),
            number(k["avg_temp_c"]),
            number(k["uptime_percent"], digits=2),
            f"{k['anomaly_count']:,}",
        ]
        for k in kpis
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = zip(cells, widths, strict=True)
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(padded))

    rule = "-" * len(line(header))
    title = f"Gold KPIs for {event_date.isoformat()} (gold.site_daily_kpis)"
    return "\n".join([title, rule, line(header), rule, *(line(r) for r in rows), rule])


def cmd_report(args: argparse.Namespace) -> None:
    from telemetry.pipeline.report import write_report

    path = write_report(lakehouse(), args.date, args.days, args.out)
    print(f"wrote the KPI report of {args.days} day(s) to {args.date}: {path}")


def cmd_service(args: argparse.Namespace) -> None:
    from telemetry.services import airflow, docs

    lake = lakehouse()
    service = (airflow.airflow_service if args.command == "airflow" else docs.docs_service)(lake)
    if args.action == "start":
        if args.command == "airflow":
            from telemetry.settings import RAW_SOURCE, raw_source

            raw_source()  # a clear error now, not an import error in Airflow's UI
            url = airflow.start_airflow(lake)
            print(f"Airflow is up at {url} (user admin; password in "
                  f"{airflow.airflow_password_file(lake)})"
                  f"\nthe DAG's raw files: {raw_source()} ({RAW_SOURCE})"
                  f"\nlog: {service.log_file}; stop with: telemetry airflow stop")
        else:
            url = docs.start_docs(lake)
            print(f"dbt docs are served at {url}\nstop with: telemetry docs stop")
    elif args.action == "stop":
        print(f"{service.name} stopped" if service.stop() else f"{service.name} was not running")
    else:
        pid = service.pid()
        print(f"{service.name} is running (pid {pid})" if pid else f"{service.name} is stopped")


def cmd_server(args: argparse.Namespace) -> None:
    from telemetry.services import server

    lake = lakehouse()
    if args.action == "start":
        address = server.start_server(lake, args.master)
        print(f"the Spark server is up: Thrift at {address.host}:{address.thrift_port}, Spark "
              f"Connect at {address.connect_url}\nlog: {server.server_service(lake).log_file}\n"
              "use it with TELEMETRY_DBT_TARGET=server; stop it with 'telemetry server stop'")
    elif args.action == "stop":
        print("the Spark server stopped" if server.stop_server(lake)
              else "the Spark server was not running")
    else:
        print(server.server_status(lake))


def cmd_cluster(args: argparse.Namespace) -> None:
    from telemetry.services import cluster

    spec = cluster.cluster_from_env(lakehouse())
    if args.action == "start":
        cluster.start_cluster(spec)
        print(f"a Spark master at {spec.master_url} (web UI http://{LOOPBACK}:"
              f"{spec.master_ui_port}) with {spec.workers} workers\n"
              f"run the server on it: telemetry server start --master {spec.master_url}\n"
              "stop it with 'telemetry cluster stop'")
    elif args.action == "stop":
        cluster.stop_cluster(spec)
        print("the cluster stopped")
    else:
        state = cluster.master_state(spec)
        if state is None:
            print(f"no Spark master answers at {spec.master_url}")
        else:
            apps = ", ".join(a["name"] for a in state.get("activeapps", [])) or "none"
            print(f"the Spark master at {spec.master_url} has {cluster.live_workers(state)} "
                  "live workers; "
                  f"applications: {apps}")


# What each command does, in more words than its one-line help: `telemetry <command> --help`.
DESCRIPTIONS = {
    "generate": "Simulate a battery fleet's telemetry: one JSON Lines file per device and receive "
                "day under data/raw/YYYY/MM/DD/<site>/, with the defects real uploads have "
                "(malformed lines, duplicates, late readings, unknown devices). A day that holds "
                "files the simulator did not write is refused, never overwritten.",
    "ingest": "Land every line of a receive day's raw files (or a range's) in the Bronze table, "
              "as received. Replaces those days' Bronze partitions only.",
    "run": "The daily job, in one process: open a branch of every table, ingest the day's raw "
           "files into Bronze, dbt build Silver and Gold and run every data test on the branch, "
           "publish the branch when no error-severity test failed, and write each receive day's "
           "quality metrics. Readers see the previous data until the publish, then all of the "
           "new. A range (--to) runs in one pass. Prints each stage with its counts and time.",
    "metrics": "Write the quality-metrics JSON of days the last dbt build processed, from its "
               "run_results.json (the DAG's write_metrics task does the same).",
    "history": "List a table's versions (its Iceberg snapshots), newest last.",
    "rollback": "Make an earlier version of a table current again (an Iceberg rollback); the "
                "newer versions stay in the history until they expire.",
    "maintain": "Expire table versions older than --keep-days (keeping --retain-last of each "
                "table) and delete the data files no kept version uses.",
    "jars": "Fetch the jars Spark needs (Iceberg's runtime, SQLite's JDBC driver) from Maven "
            "Central into .jars/, once; later runs use the local copies. Then record the "
            "classes a run's JVM loads into .jars/spark-classes.jsa (a run of a small simulated "
            "day, in a scratch folder), which every later JVM maps to start sooner; again only "
            "when Java, pyspark or the jars changed.",
    "kpis": "Print the published Gold KPIs of one event date, a row per site.",
    "airflow": "Start, stop or check Airflow (standalone) on 127.0.0.1 with the project's DAGs; "
               "its UI shows the dbt docs (Browse > dbt docs).",
    "docs": "Generate the dbt docs site (models, tests, the lineage graph) and serve it on "
            "127.0.0.1.",
    "server": "Start, stop or check the Spark Thrift + Connect server that server mode runs dbt "
              "and the jobs on.",
    "cluster": "Start, stop or check a standalone Spark master with workers on 127.0.0.1, for "
               "the server to run on.",
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="telemetry",
        description="Energy telemetry lakehouse: simulate or receive a battery fleet's raw "
                    "telemetry, land it in Bronze, build Silver and Gold with dbt on Spark, "
                    "publish a day only when its tests pass, and report on it.",
        epilog="A day from scratch: telemetry generate --start 2025-08-01 && telemetry run "
               "--date 2025-08-01 && telemetry report --date 2025-08-01. "
               "Each command's --help says more.",
    )
    commands = top.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write simulated raw telemetry under data/raw")
    gen.add_argument("--start", type=_date, required=True, help="first receive day, YYYY-MM-DD")
    gen.add_argument("--days", type=_positive, default=1, help="number of days (default 1)")
    gen.add_argument("--rows-per-device", type=_positive, default=1440,
                     help="readings per device per day (default 1440: one a minute)")
    gen.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    gen.set_defaults(func=cmd_generate)

    for name, func, text in [
        ("ingest", cmd_ingest, "land a receive day's raw files (or a range's) in Bronze"),
        ("run", cmd_run, "ingest, dbt build and test a receive day (or a range of days, in one "
                         "pass) on a branch of its own, publish it when its tests pass, write "
                         "each day's quality metrics; in one JVM"),
    ]:
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--date", type=_date, required=True, help="receive day, YYYY-MM-DD")
        sub.add_argument("--to", type=_date,
                         help="last day of a range, processed with --date's day as one batch")
        sub.add_argument("--allow-incomplete", action="store_true",
                         help="process a day whose folder has no _SUCCESS marker yet (its "
                              "producer may still be delivering files)")
        sub.set_defaults(func=func)
        if name == "run":
            sub.add_argument("--show-kpis", action=argparse.BooleanOptionalAction, default=True,
                             help="print the day's Gold KPIs (default: yes)")
            sub.add_argument("--report", type=Path, metavar="FILE",
                             help="write the run's stage and dbt-node timings to this JSON file")
            sub.add_argument("--vars", type=_dbt_vars, default={},
                             help="dbt vars, as for dbt: e.g. '{max_rejected_share: 0.1, "
                                  "min_devices_reporting_share: 0.8}'")

    met = commands.add_parser("metrics", help="write the quality-metrics JSON of a built day")
    met.add_argument("--date", type=_date, required=True, help="receive day, YYYY-MM-DD")
    met.add_argument("--to", type=_date,
                     help="last day of the range the last dbt build processed")
    met.set_defaults(func=cmd_metrics)

    hist = commands.add_parser("history", help="list a table's versions (Iceberg snapshots)")
    hist.add_argument("--table", required=True, help="e.g. gold.site_daily_kpis")
    hist.set_defaults(func=cmd_history)
    back = commands.add_parser(
        "rollback", help="make an earlier version of a table current again")
    back.add_argument("--table", required=True, help="e.g. gold.site_daily_kpis")
    back.add_argument("--to", required=True,
                      help="a snapshot id (telemetry history) or a UTC time YYYY-MM-DD HH:MM:SS")
    back.set_defaults(func=cmd_rollback)

    keep = commands.add_parser(
        "maintain", help="expire old table versions and delete files no version uses")
    keep.add_argument("--keep-days", type=_positive, default=7,
                      help="keep every version younger than this many days (default 7)")
    keep.add_argument("--retain-last", type=_positive, default=5,
                      help="and at least this many versions of each table (default 5)")
    keep.set_defaults(func=cmd_maintain)

    jars = commands.add_parser(
        "jars", help="fetch the Iceberg jars from Maven Central and record Spark's class archive "
                     "into .jars/ (once)")
    jars.set_defaults(func=cmd_jars)

    kpis = commands.add_parser("kpis", help="print the Gold KPIs of an event date")
    kpis.add_argument("--date", type=_date, required=True, help="event date, YYYY-MM-DD")
    kpis.set_defaults(func=cmd_kpis)
    rep = commands.add_parser(
        "report", help="write an HTML report of the fleet's KPIs and data quality (opens offline)",
        description="Write one self-contained HTML file (no network needed to open it) with "
                    "charts per site over the N days ending on --date: energy per day, uptime, "
                    "anomalies, and each receive day's data quality (Bronze lines, Silver "
                    "readings, duplicates, rejected lines by reason). It reads the published "
                    "Gold table and the quality-metrics files; Spark is not started.")
    rep.add_argument("--date", type=_date, required=True,
                     help="the report's last day (event date of Gold, receive day of the "
                          "metrics), YYYY-MM-DD")
    rep.add_argument("--days", type=_positive, default=7,
                     help="how many days up to --date it covers (default 7)")
    rep.add_argument("--out", type=Path,
                     help="where to write it (default data/reports/kpi_report_<date>_<N>d.html)")
    rep.set_defaults(func=cmd_report)
    for name, text in [("airflow", "run Airflow (standalone) on 127.0.0.1 with the DAG"),
                       ("docs", "generate the dbt docs and serve them on 127.0.0.1")]:
        sub = commands.add_parser(name, help=text)
        sub.add_argument("action", choices=["start", "stop", "status"])
        sub.set_defaults(func=cmd_service)
    srv = commands.add_parser(
        "server", help="run the Spark Thrift + Connect server on 127.0.0.1 (server mode)")
    srv.add_argument("action", choices=["start", "stop", "status"])
    srv.add_argument("--master", help="Spark master, e.g. spark://HOST:7077 "
                     "(default: TELEMETRY_SPARK_MASTER, else local[*])")
    srv.set_defaults(func=cmd_server)
    clu = commands.add_parser(
        "cluster", help="run a standalone Spark master and workers on 127.0.0.1 for the server")
    clu.add_argument("action", choices=["start", "stop", "status"])
    clu.set_defaults(func=cmd_cluster)
    for name, sub in commands.choices.items():
        if sub.description is None:
            sub.description = DESCRIPTIONS[name]
    return top


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    args = parser().parse_args(argv)
    # The stages of a run as they end, on stderr (results go to stdout); once per process.
    stages = logging.getLogger("telemetry")
    if not stages.handlers:
        progress = logging.StreamHandler(sys.stderr)
        progress.setFormatter(logging.Formatter("telemetry: %(message)s"))
        stages.addHandler(progress)
        stages.setLevel(logging.INFO)
    try:
        args.func(args)
    except LakehouseError as error:
        print(f"telemetry {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"telemetry {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
