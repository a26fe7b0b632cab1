"""The package layout's import rule (README, "Which way imports go"), checked on the source.

Each module belongs to a layer; a layer may import only the layers listed for it. The walk reads
every import statement, also those inside functions, so a lazy import cannot hide a wrong arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

from telemetry.settings import PROJECT_DIR

# layer -> the project layers its modules may import (their own layer included where listed)
ALLOWED: dict[str, set[str]] = {
    "ingest": {"ingest"},
    "settings": set(),
    "spark": {"settings"},
    "pipeline": {"ingest", "settings", "spark", "pipeline"},
    "simulator": {"ingest", "settings", "pipeline"},
    "jobs": {"ingest", "settings", "spark", "pipeline", "simulator"},
    "services": {"settings", "spark", "pipeline", "services"},
    "front ends": {"settings", "spark", "pipeline", "jobs", "services"},
    "dags": {"settings", "front ends"},
}


def layer(module: str) -> str | None:
    """The layer of a project module (dotted name), None for anything else."""
    parts = module.split(".")
    if parts[0] == "ingest":
        return "ingest"
    if parts[0] == "dags":
        return "dags"
    if parts[0] != "telemetry" or len(parts) == 1:
        return None
    return {
        "settings": "settings",
        "spark": "spark",
        "pipeline": "pipeline",
        "simulator": "simulator",
        "jobs": "jobs",
        "services": "services",
        "cli": "front ends",
        "airflow_tasks": "front ends",
    }.get(parts[1], "unknown")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every module an import statement of `source` names, relative imports resolved; for
    `from package import name`, also `package.name` (it may be a module)."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of a module that break the rule, as 'module -> imported (layer -> layer)'."""
    own = layer(module)
    found = []
    for name in sorted(imported_modules(source, module, is_package)):
        target = layer(name)
        if own is None or target is None or name == "telemetry":
            continue
        if target == "unknown" or own == "unknown":
            found.append(f"{module} -> {name} (a module of no layer: add it to ALLOWED)")
        elif target != own and target not in ALLOWED[own]:
            found.append(f"{module} -> {name} ({own} -> {target})")
    return found


def project_modules() -> list[tuple[Path, str]]:
    files = [*sorted((PROJECT_DIR / "ingest").rglob("*.py")),
             *sorted((PROJECT_DIR / "telemetry").rglob("*.py")),
             *sorted((PROJECT_DIR / "dags").glob("*.py"))]
    return [(path, module_name(path, PROJECT_DIR)) for path in files]


def test_every_import_follows_the_layer_rule():
    modules = project_modules()
    assert len(modules) >= 15, "the walk found too few modules: is it looking in the right place?"
    broken = [v for path, module in modules
              for v in violations(path.read_text(encoding="utf-8"), module,
                                  path.name == "__init__.py")]
    assert broken == []


def test_every_module_has_a_layer():
    assert [module for _, module in project_modules()
            if module != "telemetry" and layer(module) in {None, "unknown"}] == []


def test_the_rule_catches_a_wrong_arrow():
    # The ingest job reaching into the simulator, the services into the Airflow callables, the
    # pipeline into the services: each is reported, also as a lazy or relative import.
    assert violations("from telemetry.simulator import generate\n", "ingest.bronze") == [
        "ingest.bronze -> telemetry.simulator (ingest -> simulator)",
        "ingest.bronze -> telemetry.simulator.generate (ingest -> simulator)",
    ]
    lazy = "def start():\n    from telemetry import airflow_tasks\n"
    assert violations(lazy, "telemetry.services.airflow") == [
        "telemetry.services.airflow -> telemetry.airflow_tasks (services -> front ends)"]
    relative = "from ..services import process\n"
    assert violations(relative, "telemetry.pipeline.dbt") == [
        "telemetry.pipeline.dbt -> telemetry.services (pipeline -> services)",
        "telemetry.pipeline.dbt -> telemetry.services.process (pipeline -> services)",
    ]
    # ... and what the rule allows is not.
    assert violations("from ingest.layout import day_folder\n", "telemetry.simulator") == []
