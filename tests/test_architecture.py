"""Keep the house picture of STYLE.md true: layers, no import cycles, thin pages.

Every import is read with ``ast`` — absolute, relative (``from ..training import Trainer``) and those
inside functions — and resolved to the mmcorr/pages module it names. The checker runs on a folder,
so a test can hand it a copy of the tree with a bad import planted and see it fail.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Components of the house (STYLE.md "The shape of the house"), each a module or package prefix.
# A module belongs to the longest prefix that matches it. Every path listed must exist.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "root": ("mmcorr",),  # mmcorr/__init__.py: the public surface (lazy estimator)
    "base": (
        "mmcorr._validation",
        "mmcorr.config",
        "mmcorr._version",
        "mmcorr._io",
        "mmcorr.paths",
    ),
    "data": ("mmcorr.data",),
    "losses": ("mmcorr.losses",),
    "linalg": ("mmcorr._cca",),
    "memory": ("mmcorr._memory",),
    "auth": ("mmcorr.auth",),
    "models": ("mmcorr.models",),
    "training": ("mmcorr.training",),
    "estimator": ("mmcorr.estimator",),
    "analysis": ("mmcorr.analysis",),
    "viz": ("mmcorr.viz",),
    "runs": ("mmcorr.runs",),
    "jobs": ("mmcorr.jobs",),
    "cli": ("mmcorr.cli", "mmcorr._cli", "mmcorr.__main__"),
    "pages": ("pages", "app"),
}
# What each component may import (besides itself). Imports point down only; "base" and "data"
# are open to everyone. This table is the picture in STYLE.md; change both together.
_EVERYONE = {"base", "data"}
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "data": {"base"},
    "linalg": _EVERYONE,
    "losses": _EVERYONE,
    "memory": _EVERYONE,
    "auth": _EVERYONE,
    "models": _EVERYONE | {"losses", "linalg"},
    "training": _EVERYONE | {"models", "losses"},
    "estimator": _EVERYONE | {"training", "models", "losses", "linalg", "memory"},
    "analysis": _EVERYONE | {"linalg"},
    "viz": _EVERYONE,
    "runs": _EVERYONE | {"estimator", "analysis", "viz", "memory"},
    "jobs": _EVERYONE | {"runs"},
    "cli": _EVERYONE | {"root", "jobs", "runs", "estimator", "analysis"},
    "root": _EVERYONE | {"estimator"},
    "pages": _EVERYONE | {"root", "runs", "jobs", "viz", "auth"},
}
# Third-party modules a component must never load.
BANNED_EXTERNAL: dict[str, tuple[str, ...]] = {
    "pages": ("torch",),
    "viz": ("torch", "streamlit"),
    "data": ("torch", "streamlit"),
    "base": ("torch", "streamlit"),
    "runs": ("streamlit",),
    "jobs": ("streamlit",),
    "analysis": ("streamlit",),
}
# Pages read runs and datasets through mmcorr.runs / mmcorr.data, never by path.
PAGE_BANNED_NAMES = ("mmcorr.paths", "mmcorr.runs.bundle.BundleFile")
PAGE_BANNED_CALLS = (
    "open",
    "read_text",
    "read_bytes",
    "read_parquet",
    "read_csv",
    "load",
    "rglob",
    "iterdir",
)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported mmcorr/pages module or external top-level name, dotted
    name: str  # the full dotted name as written (module + imported attribute)
    line: int
    type_checking: bool  # inside ``if TYPE_CHECKING:`` (never executed)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def source_files(root: Path) -> list[Path]:
    files = [
        *sorted((root / "mmcorr").rglob("*.py")),
        *sorted((root / "pages").rglob("*.py")),
        root / "app.py",
    ]
    return [f for f in files if "__pycache__" not in f.parts]


def _is_package(root: Path, module: str) -> bool:
    return (root / module.replace(".", "/") / "__init__.py").is_file()


def _exists(root: Path, module: str) -> bool:
    base = root / module.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(root: Path, path: Path) -> Iterator[Import]:
    """Every import in ``path``, relative ones resolved, ``from pkg import mod`` resolved to the module."""
    mod = module_name(root, path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    guarded = _type_checking_lines(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(mod, alias.name, alias.name, node.lineno, node.lineno in guarded)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                if len(base) == 0:
                    raise AssertionError(f"{path}:{node.lineno}: relative import climbs out of the tree")
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                target = full if _exists(root, full) else module
                yield Import(mod, target, full, node.lineno, node.lineno in guarded)


def component(module: str) -> str | None:
    best, best_len = None, -1
    for comp, prefixes in COMPONENTS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = comp, len(prefix)
    return best


def _internal(imp: Import) -> bool:
    return imp.target == "mmcorr" or imp.target.startswith(("mmcorr.", "pages")) or imp.target == "app"


def all_imports(root: Path) -> list[Import]:
    return [imp for f in source_files(root) for imp in imports_of(root, f)]


def layer_violations(root: Path) -> list[str]:
    bad = []
    for imp in all_imports(root):
        src = component(imp.source)
        if src is None:
            bad.append(f"{imp.source}: not in the component table (add it to COMPONENTS)")
            continue
        if _internal(imp):
            dst = component(imp.target)
            if dst != src and dst not in ALLOWED[src]:
                bad.append(f"{imp.source}:{imp.line} ({src}) imports {imp.target} ({dst})")
        elif imp.target.split(".")[0] in BANNED_EXTERNAL.get(src, ()):
            bad.append(f"{imp.source}:{imp.line} ({src}) imports {imp.target}")
    return sorted(set(bad))


def _graph(root: Path, key: object) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in all_imports(root):
        if imp.type_checking or not _internal(imp):
            continue
        a, b = key(imp.source), key(imp.target)  # type: ignore[operator]
        if a != b:
            graph.setdefault(a, set()).add(b)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one node (each is a cycle),
    found with Tarjan's algorithm written iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    nodes = sorted(set(graph) | {b for bs in graph.values() for b in bs})
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def module_cycles(root: Path) -> list[list[str]]:
    return cycles(_graph(root, lambda m: m))


def package_cycles(root: Path) -> list[list[str]]:
    return cycles(_graph(root, lambda m: component(m) or m))


def page_violations(root: Path) -> list[str]:
    bad = []
    for f in source_files(root):
        mod = module_name(root, f)
        if component(mod) != "pages":
            continue
        for imp in imports_of(root, f):
            private = any(part.startswith("_") for part in imp.target.split(".")[1:])
            if imp.target.startswith("mmcorr") and private:
                bad.append(f"{mod}:{imp.line} imports the private module {imp.target}")
            if any(imp.name == b or imp.name.startswith(b + ".") for b in PAGE_BANNED_NAMES):
                bad.append(
                    f"{mod}:{imp.line} imports {imp.name} (read runs/datasets through mmcorr.runs/data)"
                )
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
                if name in PAGE_BANNED_CALLS:
                    bad.append(f"{mod}:{node.lineno} calls {name}() (pages never read files by path)")
    return bad


# -- the rules on the real tree ---------------------------------------------------------------------


def missing_components(root: Path) -> list[str]:
    """Every module or package the component table lists that is not in the tree."""
    return [p for prefixes in COMPONENTS.values() for p in prefixes if not _exists(root, p)]


def test_every_listed_component_exists() -> None:
    assert missing_components(ROOT) == []
    assert set(ALLOWED) == set(COMPONENTS)
    assert (ROOT / "mmcorr" / "runs" / "__init__.py").is_file()


def test_every_module_belongs_to_a_component() -> None:
    loose = [module_name(ROOT, f) for f in source_files(ROOT) if component(module_name(ROOT, f)) is None]
    assert loose == []


def test_imports_point_down_the_layers() -> None:
    assert layer_violations(ROOT) == []


def test_no_cycle_between_modules() -> None:
    assert module_cycles(ROOT) == []


def test_no_cycle_between_packages() -> None:
    assert package_cycles(ROOT) == []


def test_nothing_below_the_run_package_imports_its_consumers() -> None:
    consumers = {"jobs", "cli", "pages"}
    offenders = [
        f"{imp.source} -> {imp.target}"
        for imp in all_imports(ROOT)
        if _internal(imp)
        and component(imp.source) not in (consumers | {"runs"})
        and component(imp.target) in consumers
    ]
    assert offenders == []


def test_pages_stay_thin() -> None:
    assert page_violations(ROOT) == []


def test_light_modules_do_not_load_torch_at_import() -> None:
    # The pages import these; loading torch there would cost seconds on every rerun.
    code = (
        "import sys, importlib\n"
        "for m in ['mmcorr', 'mmcorr.data', 'mmcorr.jobs', 'mmcorr.runs', 'mmcorr.viz', 'mmcorr.config']:\n"
        "    importlib.import_module(m)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False", out.stderr


# -- the checker catches what it should: plant bad imports in a copy of the tree ----------------------


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    for part in ("mmcorr", "pages"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "app.py", tmp_path / "app.py")
    return tmp_path


def _plant(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


def test_a_relative_upward_import_inside_a_function_is_caught(tree: Path) -> None:
    _plant(tree / "mmcorr" / "data" / "split.py", "def _sneak():\n    from ..training import Trainer\n")
    assert any("mmcorr.data.split" in v and "mmcorr.training" in v for v in layer_violations(tree))


def test_a_cycle_through_a_function_level_import_is_caught(tree: Path) -> None:
    _plant(tree / "mmcorr" / "runs" / "bundle.py", "def _sneak():\n    from . import pipeline\n")
    assert any({"mmcorr.runs.bundle", "mmcorr.runs.pipeline"} <= set(c) for c in module_cycles(tree))


def test_a_package_cycle_is_caught(tree: Path) -> None:
    _plant(tree / "mmcorr" / "runs" / "metrics.py", "def _sneak():\n    import mmcorr.jobs.api\n")
    assert any({"runs", "jobs"} <= set(c) for c in package_cycles(tree))
    assert any("mmcorr.runs.metrics" in v for v in layer_violations(tree))


def test_a_page_reading_a_bundle_by_path_is_caught(tree: Path) -> None:
    _plant(
        tree / "pages" / "compare.py",
        "def _sneak(p):\n    from mmcorr._io import json_safe\n    return open(p).read()\n",
    )
    found = page_violations(tree)
    assert any("private module mmcorr._io" in v for v in found)
    assert any("calls open()" in v for v in found)


def test_a_missing_component_file_is_caught(tree: Path) -> None:
    shutil.rmtree(tree / "mmcorr" / "runs")
    (tree / "mmcorr" / "_cca.py").rename(tree / "mmcorr" / "_linalg.py")
    assert missing_components(tree) == ["mmcorr._cca", "mmcorr.runs"]


# -- room sizes (STYLE habit 1): one concept per file, functions a reader can hold --------------------

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80


def oversized(root: Path) -> list[str]:
    found = []
    for f in source_files(root):
        text = f.read_text(encoding="utf-8")
        name = str(f.relative_to(root))
        if len(text.splitlines()) > MAX_FILE_LINES:
            found.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{name}::{node.name}: {length} lines")
    return found


def test_files_and_functions_stay_small() -> None:
    assert oversized(ROOT) == []


def test_an_oversized_function_is_caught(tree: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    _plant(tree / "mmcorr" / "data" / "split.py", f"def _long():\n{body}\n")
    assert any("split.py::_long" in v for v in oversized(tree))
