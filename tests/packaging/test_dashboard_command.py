"""``mmcorr dashboard [--host] [--port]``: which app it serves, its flags, and serving from a checkout
(tests/packaging/test_wheel.py serves the copy shipped in an installed wheel)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from server_probe import free_port, health

from mmcorr import MmcorrError
from mmcorr._cli.dashboard import dashboard_app, streamlit_command
from mmcorr.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _app(folder: Path) -> Path:
    (folder / "pages").mkdir(parents=True)
    (folder / "pages" / "_ui.py").write_text("", encoding="utf-8")
    (folder / "app.py").write_text("", encoding="utf-8")
    return folder / "app.py"


def test_a_checkout_serves_its_top_level_app() -> None:
    assert dashboard_app() == ROOT / "app.py"


def test_an_installed_copy_serves_the_app_shipped_inside_the_package(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "mmcorr"
    shipped = _app(package / "_dashboard")
    _app(tmp_path / "site-packages")  # some other project's app.py beside it must not win
    assert dashboard_app(package) == shipped


def test_no_dashboard_in_the_installation(tmp_path: Path) -> None:
    package = tmp_path / "mmcorr"
    package.mkdir()
    (tmp_path / "app.py").write_text("", encoding="utf-8")  # not ours: no pages/_ui.py beside it
    with pytest.raises(
        MmcorrError, match=r"The dashboard is not in this mmcorr installation .*_dashboard/app\.py"
    ):
        dashboard_app(package)


def test_the_command_runs_streamlit_on_the_host_and_port() -> None:
    cmd = streamlit_command(ROOT / "app.py", "0.0.0.0", 8600)
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--server.port") + 1] == "8600"


@pytest.mark.parametrize("bad", ["0", "65536", "web"])
def test_bad_port_is_a_usage_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["dashboard", "--port", bad])
    assert exc.value.code == 2
    assert f"--port must be a whole number in [1, 65535]. Got {bad!r}." in capsys.readouterr().err


@pytest.mark.slow
def test_serves_the_checkout_and_stops_with_it(mmcorr_home: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmcorr", "dashboard", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,  # not the checkout: the app is found from the package, not the working folder
    )
    try:
        answer = None
        deadline = time.monotonic() + 180  # a bound on a hang, not a speed check
        while answer is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = health(port)
    finally:
        proc.terminate()
        log, _ = proc.communicate(timeout=60)
    assert answer == "ok", log
    assert health(port) is None  # SIGTERM to `mmcorr dashboard` stopped Streamlit too
