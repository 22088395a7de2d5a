"""The package's import graph and private-name uses, read from the source with ast."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "dlprimer"

#: The layers of DESIGN.md, bottom (0) to top; a module imports only from its rank or below.
LAYERS = [
    ("dlprimer.version", 0), ("dlprimer.engine", 0), ("dlprimer.notation", 0),
    ("dlprimer.nn", 1),
    ("dlprimer.models", 2), ("dlprimer.optim", 2),
    ("dlprimer.data", 3), ("dlprimer.io", 3), ("dlprimer.io_checks", 3),
    ("dlprimer.training", 4),
    ("dlprimer.distributed", 5),
    ("dlprimer.explain", 6), ("dlprimer.inference", 6),
    ("dlprimer.inference_checks", 6), ("dlprimer.report", 6),
    ("dlprimer.sklearn", 6), ("dlprimer.cli", 6), ("dlprimer.playground", 6),
]
ROOT_RANK = 7  # dlprimer/__init__.py: the public names, above everything


def modules() -> dict[str, Path]:
    """Every module of the package: dotted name → file."""
    out = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def rank(module: str) -> int:
    if module == "dlprimer":
        return ROOT_RANK
    for prefix, r in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return r
    raise KeyError(f"{module} is in no layer of DESIGN.md; add it to LAYERS")


def _package(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports(known: dict[str, Path]) -> dict[str, set[str]]:
    """module → the dlprimer modules it imports anywhere (function bodies included)."""
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("dlprimer"))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = _package(module, path).split(".")
                    pkg = pkg[:len(pkg) - node.level + 1]
                    base = ".".join(pkg + ([base] if base else []))
                if not base.startswith("dlprimer"):
                    continue
                # NOTE: ``from pkg import sub`` runs pkg/__init__.py too, so it counts as
                # an import of the package as well as of the submodule.
                targets.add(base)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in known:
                        targets.add(sub)
        graph[module] = {t for t in targets if t in known and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports from a module to a higher layer."""
    return sorted((a, b) for a, targets in graph.items() for b in targets if rank(b) > rank(a))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _defined(tree: ast.AST) -> set[str]:
    """The private names a module defines: functions, classes, names and attributes it
    assigns (``self._x = ...``), arguments."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
    return {n for n in out if _is_private(n)}


def private_uses(known: dict[str, Path]) -> list[str]:
    """Private names (``_name``) a module uses but does not define: imported from another
    module, or read as an attribute defined elsewhere (``model.dtype``)."""
    found = []
    for path in known.values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = _defined(tree)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dlprimer"):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                names = [node.attr]
            for n in names:
                if _is_private(n) and n not in own:
                    found.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}: {n}")
    return found
