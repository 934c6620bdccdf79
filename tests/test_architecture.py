"""The import graph of fer_bench: no cycles, and reporting downstream of the engine.

Every ``import`` and ``from … import`` of a fer_bench module counts, including those inside
functions (a lazy import still ties two modules together for a reader).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fer_bench"

#: What reporting must never import: the engine's write path and the plugins.
ENGINE = {"fer_bench.runner", "fer_bench.executors", "fer_bench.folds", "fer_bench.registry", "fer_bench.preprocess",
          "fer_bench.cache", "fer_bench.config", "fer_bench.gate", "fer_bench.transfer", "fer_bench.weights"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    root = ".".join(base + ([node.module] if node.module else []))
                else:
                    root = node.module or ""
                targets = [root] + [f"{root}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    # importing a package runs its __init__: a module inside fer_bench.x imports fer_bench.x
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_graph_is_read():
    graph = import_graph()
    assert "fer_bench.reporting.tables" in graph["fer_bench.reporting"]
    assert "fer_bench.folds" in graph["fer_bench.executors"]


def test_no_import_cycles():
    graph = import_graph()
    graph.pop("fer_bench", None)  # the package's __init__ re-exports the public API
    for node in graph.values():
        node.discard("fer_bench")
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_reporting_is_downstream_of_the_engine():
    graph = import_graph()
    graph.pop("fer_bench", None)
    for node in graph.values():
        node.discard("fer_bench")
    for module in [m for m in graph if m.startswith("fer_bench.reporting")]:
        bad = reachable(graph, module) & ENGINE
        assert not bad, f"{module} reaches {sorted(bad)}"
    assert not (reachable(graph, "fer_bench.results") & ENGINE)


def public_definitions():
    """(module, name, node) of every public class, function and method defined in fer_bench."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = module_name(path)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                yield module, node.name, node
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if (isinstance(item, ast.FunctionDef) and not item.name.startswith("_")
                                and not any(isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list)):
                            yield module, f"{node.name}.{item.name}", item


def test_every_public_class_and_function_has_a_docstring():
    """Public API is documented (shapes, units, errors and sources go in these docstrings).
    Methods that override a documented base method (fit, predict, …) inherit its contract."""
    inherited = {"fit", "predict", "refit", "extract_features", "input_spec", "unmet_requirements", "skip_reasons",
                 "map_folds", "close", "check", "folds", "summary", "feature_key", "fit_info", "as_dict", "lines",
                 "to_markdown", "get_params", "clone", "update"}
    missing = [f"{module}.{name}" for module, name, node in public_definitions()
               if ast.get_docstring(node) is None and name.rsplit(".", 1)[-1] not in inherited]
    assert not missing, "no docstring: " + ", ".join(missing)


def test_one_import_name_per_package():
    """The baselines/ folder is the package ``fer_bench_baselines`` (pyproject.toml's package-dir);
    importing it also as ``baselines`` (it is a folder of the repository root) would load every
    module twice, with two copies of each class and registry entry."""
    root = PACKAGE.parent
    offenders = []
    for path in [*root.glob("fer_bench/**/*.py"), *root.glob("baselines/**/*.py"), *root.glob("tests/**/*.py"),
                 *root.glob("benchmarks/*.py"), *root.glob("results/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            offenders += [f"{path.relative_to(root)}:{node.lineno}" for n in names if n.split(".")[0] == "baselines"]
    assert not offenders, f"import fer_bench_baselines, not baselines: {offenders}"


#: The longest a function of fer_bench/ or baselines/ may be, in lines (docstring included):
#: longer ones are split into steps a reader can follow one at a time.
MAX_FUNCTION_LINES = 80


def test_no_function_is_over_80_lines():
    root = PACKAGE.parent
    long = []
    for path in [*root.glob("fer_bench/**/*.py"), *root.glob("baselines/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_no_name_is_registered_twice():
    """Every registered method, dataset source and protocol loads under one name, with no
    second claim on it (a duplicate raises DuplicateRegistrationError naming both)."""
    from fer_bench.datasets.sources import SOURCES
    from fer_bench.model_selection import PROTOCOLS
    from fer_bench.registry import METHODS

    for registry in (METHODS, SOURCES, PROTOCOLS):
        names = list(registry)
        assert len(names) == len(set(names)), f"{registry.kind} names listed twice: {names}"
        for name in names:
            registry.get(name)  # raises on a second, different claim
