"""mmcorr where POSIX-only modules do not exist (Windows): every module imports without ``fcntl``,
the command line answers ``--help``, the worker's file lock still excludes, and the memory check
reads the system's figure through psutil (no ``/proc/meminfo``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections import namedtuple
from pathlib import Path

import psutil
import pytest

from mmcorr._memory import ENV_LIMIT, available_bytes
from mmcorr.jobs.autostart import file_lock

ROOT = Path(__file__).resolve().parents[1]

#: Loaded first by the child interpreter (sitecustomize): ``import fcntl`` raises ImportError there.
NO_FCNTL = textwrap.dedent(
    """
    import sys

    class _NoFcntl:
        def find_spec(self, name, path=None, target=None):
            if name == "fcntl":
                raise ImportError("No module named 'fcntl' (hidden: a Windows-like interpreter)", name=name)
            return None

    sys.modules.pop("fcntl", None)
    sys.meta_path.insert(0, _NoFcntl())
    """
)


def _without_fcntl(tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(NO_FCNTL, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)]),
        "MMCORR_HOME": str(home),
        "MMCORR_AUTOSTART_WORKER": "0",
    }
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )


def test_every_module_imports_without_fcntl(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        try:
            import fcntl
        except ImportError:
            pass
        else:
            raise SystemExit("the hook did not hide fcntl")
        import mmcorr
        names = [m.name for m in pkgutil.walk_packages(mmcorr.__path__, "mmcorr.")]
        failed = []
        for name in names:
            if name == "mmcorr.__main__":  # runs the command line when imported
                continue
            try:
                importlib.import_module(name)
            except Exception as exc:
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
        print(len(names))
        print("\\n".join(failed))
        print("fcntl" in sys.modules)
        """
    )
    out = _without_fcntl(tmp_path, code)
    assert out.returncode == 0, out.stderr
    count, *rest = [line for line in out.stdout.splitlines() if line]
    assert int(count) > 50  # the walk reached every package
    assert rest == ["False"], "\n".join(rest)


def test_the_command_line_answers_help_without_fcntl(tmp_path: Path) -> None:
    out = _without_fcntl(
        tmp_path, "import sys; from mmcorr.cli import main; sys.exit(main(sys.argv[1:]))", "--help"
    )
    assert out.returncode == 0, out.stderr
    for command in ("train", "jobs", "worker", "dashboard"):
        assert re.search(rf"^    {command}\b", out.stdout, re.MULTILINE), command
    sub = _without_fcntl(
        tmp_path, "import sys; from mmcorr.cli import main; sys.exit(main(sys.argv[1:]))", "jobs", "--help"
    )
    assert sub.returncode == 0 and "submit" in sub.stdout


def test_the_worker_lock_excludes_without_fcntl(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import warnings
        warnings.simplefilter("ignore")  # filelock says it falls back to its portable lock
        from mmcorr.jobs.autostart import file_lock
        with file_lock("worker.lock") as held:
            with file_lock("worker.lock", blocking=False) as second:
                print(held, second)
        with file_lock("worker.lock", blocking=False) as again:
            print(again)
        """
    )
    out = _without_fcntl(tmp_path, code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "True"]


def test_the_worker_lock_excludes_another_process(mmcorr_home: Path) -> None:
    probe = "from mmcorr.jobs.autostart import file_lock\nwith file_lock('worker.lock', blocking=False) as got: print(got)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with file_lock("worker.lock") as held:
        assert held
        busy = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
        )
    free = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert (busy.stdout.strip(), free.stdout.strip()) == ("False", "True"), busy.stderr + free.stderr


_Memory = namedtuple("_Memory", "total available")


def test_available_memory_is_what_psutil_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The figure comes from psutil on every platform; 4096 bytes is below any cgroup's headroom."""
    monkeypatch.delenv(ENV_LIMIT, raising=False)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: _Memory(total=2**34, available=4096))
    assert available_bytes() == 4096
    monkeypatch.setenv(ENV_LIMIT, "1024")  # the operator's cap still lowers it
    assert available_bytes() == 1024


def test_the_real_figure_is_known_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_LIMIT, raising=False)
    real = available_bytes()
    assert real is not None and 0 < real <= psutil.virtual_memory().total
