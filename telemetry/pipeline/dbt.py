"""Run dbt in this process, through dbtRunner, so that it reuses the process's SparkSession."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telemetry.settings import Lakehouse, LakehouseError, disable_usage_telemetry


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    name: str
    resource_type: str
    status: str
    failures: int | None
    message: str | None
    execution_time: float | None = None
    # Where a test stored its failing rows (store_failures), and the SQL it ran.
    relation_name: str | None = None
    compiled_code: str | None = None


# The vars that change with every run: `run_dbt` passes them in the environment (the macro
# run_setting reads TELEMETRY_<NAME> when the var is not given), so that dbt's vars stay the same
# from one day to the next and it keeps its partial parse instead of parsing the whole project
# again (about 1.5 s of a small day's run).
RUN_SETTINGS = ("process_date", "process_date_to", "run_branch")


def run_settings(day: dt.date, to: dt.date | None = None) -> dict[str, str]:
    """process_date, and process_date_to for a range, as dbt takes them."""
    days = {"process_date": day.isoformat()}
    if to is not None and to != day:
        days["process_date_to"] = to.isoformat()
    return days


@contextmanager
def run_environment(settings: dict[str, str]) -> Iterator[None]:
    """The run's settings as TELEMETRY_<NAME> environment variables (each of RUN_SETTINGS, '' when
    not given, so that none is left from elsewhere) while dbt runs; the environment as it was
    afterwards."""
    names = {f"TELEMETRY_{name.upper()}": str(settings.get(name, "")) for name in RUN_SETTINGS}
    before = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _project_args(lake: Lakehouse, other_vars: dict[str, Any]) -> list[str]:
    """The arguments naming the project, its profile and the vars (not RUN_SETTINGS) that every
    dbt command of the run is given."""
    args = ["--project-dir", str(lake.home), "--profiles-dir", str(lake.profiles_dir)]
    if other_vars:
        args += ["--vars", json.dumps(other_vars)]
    return args


def _other_vars(extra_vars: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (extra_vars or {}).items() if k not in RUN_SETTINGS}


# The parses made ahead of a build (parse_ahead), by the project arguments they were made with.
_parses_ahead: dict[tuple[str, ...], Future[Any]] = {}
# dbt keeps its flags and adapters in globals: one command at a time in a process.
_ONE_COMMAND = threading.Lock()
# While a parse made ahead runs, a thread waiting for the interpreter's lock asks the parse to
# hand it over after 0.5 ms, not Python's 5 ms: the run's own thread starts Spark's JVM through
# hundreds of short calls, each waiting for the lock again after it returns. 30 seed-rate days'
# file sizes read and session started beside a whole project's parse, 3 runs each: 4.2 to 4.4 s
# against 4.7 to 5.2 s (and 5.4 to 5.9 s with the sizes read beside the parse too).
AHEAD_SWITCH_INTERVAL_S = 0.0005
_ahead: dict[str, float] = {"running": 0, "interval": sys.getswitchinterval()}
_ahead_lock = threading.Lock()


def _ahead_started() -> None:
    with _ahead_lock:
        if _ahead["running"] == 0:
            _ahead["interval"] = sys.getswitchinterval()
            sys.setswitchinterval(AHEAD_SWITCH_INTERVAL_S)
        _ahead["running"] += 1


def _ahead_ended() -> None:
    with _ahead_lock:
        _ahead["running"] -= 1
        if _ahead["running"] == 0:
            sys.setswitchinterval(_ahead["interval"])


def parse_ahead(lake: Lakehouse, extra_vars: dict[str, Any] | None = None) -> None:
    """Import dbt and parse the project (`dbt parse`) in a thread of their own while the run does
    other work (Spark's JVM starts, the run's branch is opened, Bronze is written): the run's
    next `build` with the same vars starts from this parse (dbtRunner takes a parsed manifest)
    instead of parsing while the cores wait. A parse depends on the vars only, never on the day
    (run_setting), so one made before the day's settings are in the environment serves the
    build. The whole project's parse (a new project, or changed vars) is about 2 s of a small
    day's run, a partial one 0.7 s. A parse that fails says nothing here: the build then parses
    again itself, and reports why."""
    key = tuple(_project_args(lake, _other_vars(extra_vars)))
    parsed: Future[Any] = Future()
    _parses_ahead[key] = parsed

    def parse() -> None:
        manifest = None
        try:
            from dbt.cli.main import dbtRunner

            disable_usage_telemetry()
            with _ONE_COMMAND:
                outcome = dbtRunner().invoke(["--quiet", "parse", *key])
            if outcome.success:
                manifest = outcome.result
        except Exception:  # the build parses again, and reports the error
            manifest = None
        finally:
            _ahead_ended()
            parsed.set_result(manifest)

    _ahead_started()
    threading.Thread(target=parse, name="dbt-parse-ahead", daemon=True).start()


def _parsed_ahead(project_args: list[str]) -> Any | None:
    """The manifest parse_ahead made with these project arguments (waiting for it), once; None
    when there is none, or its parse failed."""
    parsed = _parses_ahead.pop(tuple(project_args), None)
    return parsed.result() if parsed is not None else None


@contextmanager
def tests_beside_models() -> Iterator[None]:
    """While it lasts, `dbt build` runs a data test as soon as the nodes it tests are built, and
    no longer holds their children back until it has passed (dbt's graph without its test edges);
    a failing model still stops its children. For a build on a run's branch only: there the
    tests audit the branch and nothing is published unless every error-severity test passed, so
    holding a model back protects no reader, and it left cores idle (a small day's Silver waited
    for the checks of Bronze and the seed, Gold for those of the readings). A failed run's build
    now also builds and tests every node, so its metrics hold every test's result."""
    from dbt.task.base import ConfiguredTask
    from dbt.task.build import BuildTask

    with_test_edges = BuildTask.__dict__.get("compile_manifest")
    if with_test_edges is None:
        from importlib.metadata import version

        raise LakehouseError(
            f"dbt-core {version('dbt-core')} builds its graph differently from the dbt-core "
            "1.11 this project pins (constraints.txt): reinstall with `make install`")
    BuildTask.compile_manifest = ConfiguredTask.compile_manifest  # type: ignore[method-assign]
    try:
        yield
    finally:
        BuildTask.compile_manifest = with_test_edges  # type: ignore[method-assign]


def run_dbt(lake: Lakehouse, command: list[str], day: dt.date | None = None,
            extra_vars: dict[str, Any] | None = None, check: bool = True,
            to: dt.date | None = None, tests_hold_back_models: bool = True) -> list[NodeResult]:
    """`dbt <command>` for the project, in-process, for a receive day (or the range `day` ..
    `to`); the node results. A command that could not run is a LakehouseError; one whose nodes
    failed too, unless `check` is false. The day, the range's end and the run's branch
    (`extra_vars["run_branch"]`) go to dbt in the environment (RUN_SETTINGS), any other vars as
    --vars. `tests_hold_back_models=False`: a build runs tests_beside_models."""
    from dbt.cli.main import dbtRunner

    disable_usage_telemetry()
    project_args = _project_args(lake, _other_vars(extra_vars))
    args = [*command, *project_args]
    settings = {k: str(v) for k, v in (extra_vars or {}).items() if k in RUN_SETTINGS}
    if day is not None:
        settings.update(run_settings(day, to))
    # A build starts from the parse made ahead of it, when there is one.
    manifest = _parsed_ahead(project_args) if command[:1] == ["build"] else None
    with _ONE_COMMAND, run_environment(settings), (
            nullcontext() if tests_hold_back_models else tests_beside_models()):
        outcome = dbtRunner(manifest=manifest).invoke(args)
    results = node_results(_run_results(outcome.result))
    if outcome.exception is not None:
        raise LakehouseError(f"dbt {' '.join(command)} could not run: {outcome.exception}")
    if not outcome.success and check:
        failed = failed_nodes(results)
        raise LakehouseError(
            f"dbt {' '.join(command)} failed"
            + (f" for {day}" if day else "")
            + (f" to {to}" if to and to != day else "")
            + (": " + ", ".join(failed) if failed else "")
            + ". dbt's log above says why."
        )
    return results


def failed_nodes(results: list[NodeResult]) -> list[str]:
    """The nodes that failed or errored, as 'name (status)'."""
    return [f"{r.name} ({r.status})" for r in results if r.status in {"error", "fail"}]


def run_status(results: list[NodeResult]) -> str:
    """`failed` when a node failed or errored, `warned` when a test warned, else `passed`."""
    statuses = {r.status for r in results}
    if statuses & {"error", "fail"}:
        return "failed"
    return "warned" if "warn" in statuses else "passed"


def _run_results(result: Any) -> dict[str, Any]:
    """An in-process run's results in the shape of dbt's run_results.json (empty when the command
    has no node results, e.g. parse)."""
    if not hasattr(result, "results") or not hasattr(result, "elapsed_time"):
        return {"results": []}
    from dbt.artifacts.schemas.run import RunResultsArtifact

    return RunResultsArtifact.from_execution_results(
        results=result.results, elapsed_time=result.elapsed_time,
        generated_at=result.generated_at, args=result.args or {},
    ).to_dict(omit_none=False)


def node_results(artifact: dict[str, Any]) -> list[NodeResult]:
    """The node results of a run_results.json artifact (or an in-process run's, in that shape)."""
    nodes = []
    for r in artifact.get("results", []):
        parts = r["unique_id"].split(".")
        # model|seed|test.<project>.<name>[.<hash>]; unit_test.<project>.<model>.<name>
        nodes.append(NodeResult(
            unique_id=r["unique_id"],
            name=parts[3] if parts[0] == "unit_test" else parts[2],
            resource_type=parts[0],
            status=str(r["status"]),
            failures=r.get("failures"),
            message=r.get("message"),
            execution_time=r.get("execution_time"),
            relation_name=r.get("relation_name"),
            compiled_code=r.get("compiled_code"),
        ))
    return nodes


def dbt_target_dir(lake: Lakehouse) -> Path:
    """dbt's target folder for the project (honours DBT_TARGET_PATH)."""
    return Path(os.environ.get("DBT_TARGET_PATH") or lake.home / "target")


def run_results_path(lake: Lakehouse) -> Path:
    """run_results.json of the last dbt command run in the project."""
    return dbt_target_dir(lake) / "run_results.json"


def test_results_from_artifacts(paths: list[Path], day: dt.date, to: dt.date | None = None
                                ) -> list[NodeResult]:
    """The test and unit-test results in dbt's run_results.json files of runs for `day` (or the
    range `day` .. `to`); a later file's result for a node replaces an earlier one's."""
    wanted = days_text(day, to)
    if not paths:
        raise LakehouseError(f"no dbt run results found: run dbt build for {wanted} first")
    results: dict[str, NodeResult] = {}
    for path in paths:
        if not path.exists():
            raise LakehouseError(f"{path} does not exist: run dbt build for {wanted} first")
        artifact = json.loads(path.read_text(encoding="utf-8"))
        ran_vars = artifact.get("args", {}).get("vars") or {}
        first = str(ran_vars.get("process_date", ""))
        last = str(ran_vars.get("process_date_to", "") or first)
        ran_for = first if last == first else f"{first} to {last}"
        if ran_for != wanted:
            raise LakehouseError(
                f"{path} holds the results of a run for {ran_for or 'no date'}, not {wanted}: "
                f"run dbt build for {wanted} first"
            )
        for result in node_results(artifact):
            results[result.unique_id] = result
    return list(results.values())


def days_text(day: dt.date, to: dt.date | None) -> str:
    """A receive day, or a range of them, as the messages name it."""
    return day.isoformat() if to is None or to == day else f"{day} to {to}"
