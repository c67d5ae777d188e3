"""The house stays one-way: no import cycle in processor/ (counting imports inside functions), and the README's
layout table names every module; the package loads jsonschema, PyYAML and python-docx only when it uses them."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "processor"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """processor modules this file imports, anywhere in it (functions included)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            target = f"{base}.{node.module}" if node.level and node.module else (base if node.level else node.module)
            if not target or not target.startswith("processor"):
                continue
            for alias in node.names:  # `from . import ledger` imports a module
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _exists(candidate) else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("processor")}
    found.discard(name)
    return {m for m in found if _exists(m)}


def _exists(module: str) -> bool:
    path = ROOT / Path(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_cycle__imports_inside_functions_counted():
    graph = _graph()
    # A package's __init__ only hands its modules' names on; its own edges are the modules'.
    for name in [n for n in graph if (PACKAGE / Path(*n.split(".")[1:]) / "__init__.py").is_file()]:
        for module, targets in graph.items():
            if module.startswith(name + ".") and name in targets:
                targets.discard(name)
    assert _cycle(graph) == []


def test_only_the_cli_imports_inside_functions():
    lazy = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lazy += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(node)
                         if isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").startswith("processor"))]
    assert lazy == []


def test_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):]
    layout = layout[: layout.find("\n## ", 5)] if "\n## " in layout[5:] else layout
    missing = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py" and f"`{p.name}`" not in layout]
    missing += [f"mail/{p.stem}" for p in (PACKAGE / "mail").glob("*.py")
                if p.name != "__init__.py" and f"`{p.stem}`" not in layout]
    assert missing == []


def test_the_package_loads_jsonschema_only_when_a_schema_is_checked():
    """jsonschema and what it imports are ~80 ms of a county's one-second run (rulebook.schema_validator): the
    run's modules import it when a rulebook without the stamp or a row the compiled checks refuse needs it."""
    code = ("import sys, processor.run, processor.runconfig, processor.rulebook as r; assert 'jsonschema' not in sys.modules; "
            "r.schema_validator({'type': 'integer'}); print('jsonschema' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "True"


def test_the_run_loads_pyyaml_when_it_parses_yaml_and_python_docx_when_it_builds_a_notice():
    """PyYAML (~20 ms) and python-docx with lxml (~60 ms) were imported at every run's start: a run whose rulebooks
    come from the stamp parses no YAML, and the notices are built by a lane's child when the run has one (the notice
    tests build them, with python-docx loaded by the first)."""
    code = ("import sys, processor.cli, processor.run, processor.runconfig, processor.workdays, processor.notice; "
            "print(sorted(m for m in ('yaml', 'docx', 'lxml') if m in sys.modules)); "
            "import processor.rulebook as r; r.parse_yaml('a: 1'); print('yaml' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert shown.stdout.split("\n")[:2] == ["[]", "True"]
