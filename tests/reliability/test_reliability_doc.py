"""docs/RELIABILITY.md is rendered from the case table, and every row names a real test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .cases import CASES, CATEGORIES, HOSTILE_RUN_TEST, Case, render_markdown
from .render import DOC

HERE = Path(__file__).resolve().parent


def test_document_is_rendered_from_the_cases() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/RELIABILITY.md is stale: run python -m tests.reliability.render"
    )


def test_case_ids_are_unique_and_categorised() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert {case.category for case in CASES} == set(CATEGORIES)
    for case in CASES:
        assert case.sent, case.id
        assert case.behaviour, case.id
        assert case.where_recorded(), case.id


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_case_names_a_test_that_exists(case: Case) -> None:
    filename, _, function = case.test.partition("::")
    path = HERE / filename
    assert path.is_file(), case.test
    assert function in _functions(path), case.test
    if case.test == HOSTILE_RUN_TEST:
        # Rows checked by the parametrised test carry machine-checked expectations.
        assert case.feed is not None, case.id
        assert case.stored is not None or case.later is not None, case.id
    else:
        assert case.recorded, case.id
