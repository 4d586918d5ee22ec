"""The layout enforces itself: io -> science -> store -> catalogue -> flows / cli.

Every import in the package, at module level or inside a function, is read with ``ast`` and
checked against the layer rules below; a violation fails the build (as setigen audits its own
facade). See ARCHITECTURE.md for what each layer is for.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rficat"

# layer -> rficat layers it may import (itself always allowed); config/errors/progress are shared
ALLOWED = {
    "io": set(),
    "science": {"io"},
    "synthetic": {"io", "science"},
    "store": set(),
    "catalogue": {"io", "science", "synthetic", "store", "plots"},
    "plots": {"science"},
    "flows": {"io", "science", "store", "catalogue"},
    "web": {"catalogue", "store", "science", "plots"},
    "cli": {"io", "science", "synthetic", "store", "catalogue", "plots", "flows", "web"},
    "search": {"catalogue", "config"},  # the public facade rficat.search
    "__init__": {"science", "config"},  # rficat.encode
}
SHARED = {"config", "errors", "progress"}
FORMAT_LIBRARIES = {"h5py", "hdf5plugin", "blimpy"}
ENTRY_POINTS = {"cli", "flows", "search", "__init__"}  # may build settings (load_settings)


def modules() -> dict[str, Path]:
    return {".".join(("rficat", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def layer(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def imports(path: Path) -> set[str]:
    """Every module an import statement names, anywhere in the file (relative imports resolved)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layers_import_only_what_they_may(module):
    own = layer(module)
    for name in imports(MODULES[module]):
        top = name.split(".")[0]
        if top == "rficat" and "." in name:
            target = name.split(".")[1]
            if target in SHARED or target == own or target in {"__init__"}:
                continue
            assert target in ALLOWED[own], f"{module} imports {name}: layer {own} may not import {target}"
        if top in FORMAT_LIBRARIES:
            assert own == "io", f"{module} imports {top}: only rficat.io knows file formats"
        if top == "prefect":
            assert own == "flows", f"{module} imports prefect: only rficat.flows may"


def _module_graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        targets = set()
        for name in imports(path):
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module and name != "rficat":
                targets.add(name)
        graph[module] = targets
    return graph


def test_no_import_cycles():
    graph = _module_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in graph[node]:
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) not in ENTRY_POINTS))
def test_library_code_builds_no_settings_and_never_prints_or_exits(module):
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            assert name != "load_settings", f"{module} builds settings; take them from the entry point"
            assert name != "print", f"{module} prints; return results or log"
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                assert (func.value.id, func.attr) != ("sys", "exit"), f"{module} calls sys.exit"


def test_the_snippet_shape_has_one_owner():
    owners = [m for m, p in MODULES.items() if "SNIPPET_SHAPE =" in p.read_text()]
    assert owners == ["rficat.science.snippets"]


@pytest.mark.parametrize("argv", [["db", "url"], ["db", "status"], ["detect", "{h5}", "--json"],
                                  ["rfi", "list", "--help"], ["cadence", "search", "--help"],
                                  ["serve", "--help"]])
def test_commands_that_do_not_encode_do_not_load_tensorflow(argv, catalogue, observation):
    argv = [a.format(h5=observation["h5"]) for a in argv]
    code = ("import sys\nfrom rficat.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('tensorflow', 'keras', 'prefect') if m in sys.modules)\n"
            "assert not heavy, heavy\n") % (argv,)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
