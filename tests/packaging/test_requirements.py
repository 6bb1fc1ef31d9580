"""pyproject.toml declares what requirements.txt installs: the base dependencies, the extras
``scverse`` and ``team``, and the dashboard shipped inside the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
#: requirements.txt's scale-out lines: pyproject's "team" extra, not a base dependency.
TEAM = {"psycopg", "psycopg-pool", "redis"}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirements(path: Path) -> list[Requirement]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [Requirement(line) for line in lines if line]


def _by_name(reqs: list[Requirement]) -> dict[str, Requirement]:
    return {r.name.lower(): r for r in reqs}


def test_base_dependencies_are_requirements_txt_less_the_team_lines() -> None:
    declared = _by_name([Requirement(r) for r in _project()["dependencies"]])
    pinned = _by_name(_requirements(ROOT / "requirements.txt"))
    assert set(declared) == set(pinned) - TEAM
    for name, req in declared.items():
        if name == "torch":
            # requirements.txt pins the CPU build on the machines' disks; the package accepts a range
            # that must contain that pin.
            (pin,) = pinned["torch"].specifier
            assert pin.operator == "==" and req.specifier.contains(pin.version)
        else:
            assert req.specifier == pinned[name].specifier, name
            assert req.extras == pinned[name].extras, name


def test_torch_stays_the_first_requirement_and_pinned() -> None:
    first = _requirements(ROOT / "requirements.txt")[0]
    assert first.name == "torch" and str(first.specifier).startswith("==")


def test_extras_scverse_and_team() -> None:
    extras = {
        k: _by_name([Requirement(r) for r in v]) for k, v in _project()["optional-dependencies"].items()
    }
    assert set(extras["scverse"]) == {"anndata", "mudata"}
    pinned = _by_name(_requirements(ROOT / "requirements.txt"))
    assert set(extras["team"]) == TEAM
    for name in TEAM:
        assert extras["team"][name].specifier == pinned[name].specifier
        assert extras["team"][name].extras == pinned[name].extras
    # The tests of the AnnData / MuData readers need the scverse extra: `make test` installs it.
    dev = _by_name(_requirements(ROOT / "requirements-dev.txt"))
    assert set(extras["scverse"]) <= set(dev)
    assert "h5mu" in extras  # the old name keeps working


def test_the_cross_platform_libraries_are_dependencies() -> None:
    declared = _by_name([Requirement(r) for r in _project()["dependencies"]])
    assert {"filelock", "psutil"} <= set(declared)
