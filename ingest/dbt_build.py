"""Run dbt in this process, through dbtRunner, so that it reuses the process's SparkSession."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.lakehouse import Lakehouse, LakehouseError


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    name: str
    resource_type: str
    status: str
    failures: int | None
    message: str | None
    execution_time: float | None = None


def dbt_vars(day: dt.date) -> str:
    return json.dumps({"process_date": day.isoformat()})


def dbt_environment() -> None:
    """Settings every dbt invocation of the project shares: no usage telemetry."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def run_dbt(lake: Lakehouse, command: list[str], day: dt.date | None = None
            ) -> list[NodeResult]:
    """`dbt <command>` for the project, in-process; the node results, or a LakehouseError naming
    what failed."""
    from dbt.cli.main import dbtRunner

    dbt_environment()
    args = [*command, "--project-dir", str(lake.home), "--profiles-dir", str(lake.profiles_dir)]
    if day is not None:
        args += ["--vars", dbt_vars(day)]
    outcome = dbtRunner().invoke(args)
    results = _node_results(outcome.result)
    if outcome.exception is not None:
        raise LakehouseError(f"dbt {' '.join(command)} could not run: {outcome.exception}")
    if not outcome.success:
        failed = [f"{r.name} ({r.status})" for r in results if r.status in {"error", "fail"}]
        raise LakehouseError(
            f"dbt {' '.join(command)} failed"
            + (f" for {day}" if day else "")
            + (": " + ", ".join(failed) if failed else "")
            + ". dbt's log above says why."
        )
    return results


def _node_results(result: Any) -> list[NodeResult]:
    nodes = []
    for item in getattr(result, "results", None) or []:
        node = getattr(item, "node", None)
        if node is None:
            continue
        nodes.append(NodeResult(
            unique_id=node.unique_id,
            name=node.name,
            resource_type=str(node.resource_type),
            status=str(item.status),
            failures=item.failures,
            message=item.message,
            execution_time=getattr(item, "execution_time", None),
        ))
    return nodes


def dbt_target_dir(lake: Lakehouse) -> Path:
    """dbt's target folder for the project (honours DBT_TARGET_PATH)."""
    return Path(os.environ.get("DBT_TARGET_PATH") or lake.home / "target")


def run_results_path(lake: Lakehouse) -> Path:
    """run_results.json of the last dbt command run in the project."""
    return dbt_target_dir(lake) / "run_results.json"


def test_results_from_artifacts(paths: list[Path], day: dt.date) -> list[NodeResult]:
    """The test and unit-test results in dbt's run_results.json files of runs for `day`; a later
    file's result for a node replaces an earlier one's."""
    if not paths:
        raise LakehouseError(f"no dbt run results found: run dbt build for {day} first")
    results: dict[str, NodeResult] = {}
    for path in paths:
        if not path.exists():
            raise LakehouseError(f"{path} does not exist: run dbt build for {day} first")
        artifact = json.loads(path.read_text(encoding="utf-8"))
        ran_for = str((artifact.get("args", {}).get("vars") or {}).get("process_date", ""))
        if ran_for != day.isoformat():
            raise LakehouseError(
                f"{path} holds the results of a run for {ran_for or 'no date'}, not {day}: "
                f"run dbt build for {day} first"
            )
        for r in artifact.get("results", []):
            parts = r["unique_id"].split(".")
            # test.<project>.<name>.<hash>; unit_test.<project>.<model>.<name>
            resource_type, name = parts[0], parts[3] if parts[0] == "unit_test" else parts[2]
            results[r["unique_id"]] = NodeResult(
                unique_id=r["unique_id"],
                name=name,
                resource_type=resource_type,
                status=r["status"],
                failures=r.get("failures"),
                message=r.get("message"),
                execution_time=r.get("execution_time"),
            )
    return list(results.values())
