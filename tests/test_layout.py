"""The package boundary: everything in pipeline/ imports without Airflow, so the CLI and
the unit tests stay fast and the DAG files are the only Airflow-aware code. And the layout
rules: stage packages know no database, modules stay small, every package is documented,
and every module has a test module of its name."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline
from pipeline import ingest

REPO = Path(__file__).resolve().parent.parent


def test_no_pipeline_module_imports_airflow() -> None:
    modules = sorted(info.name for info in pkgutil.walk_packages(pipeline.__path__, "pipeline."))
    assert "pipeline.ingest" in modules
    assert "pipeline.stories.engine" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    if name != 'pipeline.__main__':\n"
        "        importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"


PACKAGE = REPO / "pipeline"
# Stage packages that must work without a database: they never import psycopg or the
# packages that own tables.
DATABASE_FREE = ("config", "http", "feeds", "extract")
DATABASE_MODULES = ("psycopg", "psycopg_pool", "pipeline.store", "pipeline.ingest")
MAX_MODULE_LINES = 450


def _imports(path: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_dags_import_only_the_cycle_api_from_pipeline() -> None:
    for dag_file in sorted((REPO / "dags").glob("*.py")):
        imported = {name for name in _imports(dag_file) if name.startswith("pipeline")}
        allowed = {"pipeline.ingest"} | {f"pipeline.ingest.{name}" for name in ingest.__all__}
        assert imported <= allowed, (dag_file.name, imported - allowed)


@pytest.mark.parametrize("package", DATABASE_FREE)
def test_stage_package_knows_no_database(package: str) -> None:
    for path in sorted((PACKAGE / package).rglob("*.py")):
        imported = _imports(path)
        bad = {
            name
            for name in imported
            if any(name == m or name.startswith(f"{m}.") for m in DATABASE_MODULES)
        }
        assert not bad, (str(path.relative_to(REPO)), bad)


def test_modules_are_small_enough_to_read_in_one_sitting() -> None:
    sizes = {
        str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_every_package_says_what_it_owns_and_the_docs_name_it() -> None:
    architecture = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert {"stories", "ingest"} <= set(packages)
    for name in packages:
        docstring = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert "own" in (docstring or "").lower(), name
        assert f"| `{name}` |" in architecture, name
        assert f"`pipeline/{name}/`" in readme, name


# Modules whose tests are not yet named after them (none left: pipeline/stories/ was the last).
TESTS_NOT_BY_MODULE: tuple[str, ...] = ()


def _test_module_of(module: Path) -> str:
    """tests/test_<package>_<module>.py for pipeline/<package>/<module>.py, and
    tests/test_<module>.py for a top-level module: flat, so no tests/http/ package can shadow
    the standard library's `http`."""
    parts = module.relative_to(PACKAGE).with_suffix("").parts
    return f"test_{'_'.join(parts)}.py"


def test_every_module_has_a_test_module_of_its_name() -> None:
    modules = [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name not in ("__init__.py", "__main__.py")
        and path.relative_to(PACKAGE).parts[0] not in TESTS_NOT_BY_MODULE
    ]
    assert PACKAGE / "http" / "fetcher.py" in modules
    assert PACKAGE / "textnorm.py" in modules
    missing = [
        str(path.relative_to(REPO))
        for path in modules
        if not (REPO / "tests" / _test_module_of(path)).is_file()
    ]
    assert missing == [], "write tests/test_<package>_<module>.py for each of these"


def test_every_test_module_named_after_a_package_names_one_of_its_modules() -> None:
    """A module renamed or removed takes its test module's name along."""
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    expected = {_test_module_of(path) for path in PACKAGE.rglob("*.py")}
    orphans = [
        path.name
        for path in sorted((REPO / "tests").glob("test_*.py"))
        if path.stem.split("_")[1] in packages and path.name not in expected
    ]
    assert orphans == []
