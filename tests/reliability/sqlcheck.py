"""Find SQL built from data: an AST check of every execute()/executemany() call.

Allowed as the statement: a string literal (or implicit concatenation of literals); a name
bound, in the same module or function, only to allowed statements; psycopg.sql compositions
whose dynamic parts are `sql.Identifier`/`sql.Literal`/`sql.Placeholder`/`sql.SQL(literal)`,
joins of those or calls of statement builders; a call of a statement builder: a module-level function among the
scanned files each of whose `return` values is itself an allowed statement by these rules
(so `insert_sql(table, ...)` in one module can build what another executes). Everything else
is reported: f-strings, `%` and `.format()` formatting, `+` with non-literal parts,
`sql.SQL(non-literal)`, names that cannot be resolved.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

EXECUTE_METHODS = frozenset({"execute", "executemany"})
SAFE_SQL_CONSTRUCTORS = frozenset({"Identifier", "Literal", "Placeholder"})


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def check_source(
    source: str, path: str = "<snippet>", builders: frozenset[str] = frozenset()
) -> list[Finding]:
    tree = ast.parse(source, filename=path)
    builders = builders | statement_builders([tree])
    checker = _Checker(path, tree, builders)
    checker.visit(tree)
    return checker.findings


def check_paths(paths: list[Path], root: Path) -> list[Finding]:
    sources = {str(path.relative_to(root)): path.read_text(encoding="utf-8") for path in paths}
    builders = statement_builders([ast.parse(source) for source in sources.values()])
    findings: list[Finding] = []
    for rel, source in sources.items():
        findings += check_source(source, rel, builders)
    return findings


def statement_builders(trees: list[ast.Module]) -> frozenset[str]:
    """Names of module-level functions whose every return value is an allowed statement,
    found to a fixpoint (a builder may call another)."""
    builders: frozenset[str] = frozenset()
    while True:
        found = set(builders)
        for tree in trees:
            checker = _Checker("<builders>", tree, builders)
            for node in tree.body:
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                checker.scopes.append(_assignments(list(ast.walk(node))))
                returns = [
                    ret.value
                    for ret in ast.walk(node)
                    if isinstance(ret, ast.Return) and ret.value is not None
                ]
                if returns and all(checker._unsafe(value, depth=0) is None for value in returns):
                    found.add(node.name)
                checker.scopes.pop()
        if found == builders:
            return builders
        builders = frozenset(found)


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str, tree: ast.Module, builders: frozenset[str]) -> None:
        self.path = path
        self.builders = builders
        self.findings: list[Finding] = []
        self.scopes: list[dict[str, list[ast.expr]]] = [_assignments(tree.body)]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scopes.append(_assignments(list(ast.walk(node))))
        self.generic_visit(node)
        self.scopes.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in EXECUTE_METHODS:
            statement = node.args[0] if node.args else _keyword(node, "query")
            if statement is not None:
                reason = self._unsafe(statement, depth=0)
                if reason:
                    self.findings.append(
                        Finding(self.path, node.lineno, f"{func.attr}(): {reason}")
                    )
        self.generic_visit(node)

    # -- classification ------------------------------------------------------------------------

    def _unsafe(self, node: ast.expr, depth: int) -> str | None:
        """Why `node` is not a safe statement, or None."""
        if depth > 20:
            return "statement too indirect to verify"
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            return None
        if isinstance(node, ast.JoinedStr):
            if any(isinstance(v, ast.FormattedValue) for v in node.values):
                return "f-string with interpolated values"
            return None
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Mod):
                return "%-formatted string"
            if isinstance(node.op, ast.Add):
                return self._unsafe(node.left, depth + 1) or self._unsafe(node.right, depth + 1)
            return "computed statement"
        if isinstance(node, ast.IfExp):  # "a" if flag else "b": both must be safe
            return self._unsafe(node.body, depth + 1) or self._unsafe(node.orelse, depth + 1)
        if isinstance(node, ast.Name):
            return self._unsafe_name(node, depth)
        if isinstance(node, ast.Call):
            return self._unsafe_call(node, depth)
        return f"statement is a {type(node).__name__} expression"

    def _unsafe_name(self, node: ast.Name, depth: int) -> str | None:
        for scope in reversed(self.scopes):
            if node.id in scope:
                for value in scope[node.id]:
                    reason = self._unsafe(value, depth + 1)
                    if reason:
                        return f"{node.id} = {reason}"
                return None
        return f"cannot see what {node.id!r} holds"

    def _unsafe_call(self, node: ast.Call, depth: int) -> str | None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        receiver = func.value if isinstance(func, ast.Attribute) else None
        if name == "format":
            if receiver is None or not self._is_sql_composition(receiver, depth):
                return "str.format() of a statement"
            args = [*node.args, *(k.value for k in node.keywords)]
            for arg in args:
                if not self._is_safe_sql_part(arg, depth):
                    return "sql.SQL().format() with a part that is not sql.Identifier/Literal"
            return None
        if name == "join" and receiver is not None and self._is_sql_composition(receiver, depth):
            return None  # sql.SQL(", ").join(parts): the parts are checked where they are built
        if name == "SQL":
            if len(node.args) != 1 or self._unsafe(node.args[0], depth + 1):
                return "sql.SQL() of a non-literal string"
            return None
        if name in SAFE_SQL_CONSTRUCTORS or name == "Composed" or name in self.builders:
            return None
        return f"statement built by {name or 'a call'}()"

    def _is_sql_composition(self, node: ast.expr, depth: int) -> bool:
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "SQL":
                return self._unsafe_call(node, depth + 1) is None
            if name in ("format", "join"):
                return self._unsafe_call(node, depth + 1) is None
        if isinstance(node, ast.Name):
            return self._unsafe_name(node, depth + 1) is None and _bound_to_sql(node, self.scopes)
        return False

    def _is_safe_sql_part(self, node: ast.expr, depth: int) -> bool:
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in SAFE_SQL_CONSTRUCTORS or name in self.builders:
                return True  # a builder: a function whose every return is a safe statement
            return self._is_sql_composition(node, depth)
        if isinstance(node, ast.Name):
            return self._is_sql_composition(node, depth)
        return False


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _bound_to_sql(node: ast.Name, scopes: list[dict[str, list[ast.expr]]]) -> bool:
    for scope in reversed(scopes):
        if node.id in scope:
            return all(
                isinstance(v, ast.Call) and _call_name(v) in ("SQL", "format", "join")
                for v in scope[node.id]
            )
    return False


def _assignments(nodes: list[ast.AST]) -> dict[str, list[ast.expr]]:
    """name → every value assigned to it (plain, annotated, augmented) among `nodes`."""
    found: dict[str, list[ast.expr]] = {}
    for node in nodes:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        value = getattr(node, "value", None)
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                found.setdefault(target.id, []).append(value)
    return found


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    for keyword in node.keywords:
        if keyword.arg == name:
            return keyword.value
    return None
