"""Keep the dependency rules of STYLE.md true by parsing imports with ast."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Modules that pull in torch or run training: the pages and app.py must never import them.
HEAVY = ("torch", "mmcorr.training", "mmcorr.models", "mmcorr.estimator", "mmcorr.losses")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _hits(names: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == b or n.startswith(b + ".") for b in banned))


def test_nothing_in_mmcorr_imports_streamlit() -> None:
    offenders = {
        str(p.relative_to(ROOT)): _hits(_imports(p), ("streamlit",)) for p in (ROOT / "mmcorr").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_pages_never_import_torch_or_training() -> None:
    files = [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]
    files = [f for f in files if f.exists()]
    offenders = {str(p.relative_to(ROOT)): _hits(_imports(p), HEAVY) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_lower_layers_do_not_import_upper_layers() -> None:
    # data and config sit at the bottom: they import neither models, training, jobs nor analysis.
    upper = (
        "mmcorr.models",
        "mmcorr.training",
        "mmcorr.estimator",
        "mmcorr.jobs",
        "mmcorr.analysis",
        "mmcorr.viz",
        "mmcorr.cli",
        "torch",
    )
    files = [
        ROOT / "mmcorr" / "config.py",
        ROOT / "mmcorr" / "_validation.py",
        *sorted((ROOT / "mmcorr" / "data").rglob("*.py")),
    ]
    offenders = {str(p.relative_to(ROOT)): _hits(_imports(p), upper) for p in files if p.exists()}
    assert {k: v for k, v in offenders.items() if v} == {}
    # viz builds figures only: no torch, no streamlit.
    viz = ROOT / "mmcorr" / "viz.py"
    if viz.exists():
        assert _hits(_imports(viz), ("torch", "streamlit", "mmcorr.training")) == []


def test_light_modules_do_not_load_torch_at_import() -> None:
    # The pages import these; loading torch there would cost seconds on every rerun.
    code = (
        "import sys, importlib\n"
        "for m in ['mmcorr', 'mmcorr.data', 'mmcorr.jobs', 'mmcorr.viz', 'mmcorr.config']:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if e.name != m: raise\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False", out.stderr
