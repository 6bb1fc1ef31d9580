"""A real ``streamlit run app.py`` for the browser tests: a free loopback port, a private home.

Skips when Chromium is missing, unless MMCORR_REQUIRE_E2E=1 (CI), where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_browser() -> None:
    if CHROMIUM.exists():
        return
    reason = (
        f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` to run the journey."
    )
    if os.environ.get("MMCORR_REQUIRE_E2E") == "1":
        pytest.fail(f"MMCORR_REQUIRE_E2E=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_app_idle(page: Any) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
    page.wait_for_function(
        '() => !document.querySelector(\'[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]\')',
        timeout=60_000,
    )


@contextlib.contextmanager
def dashboard(tmp_path: Path, **env_extra: str) -> Iterator[str]:
    """Serve the dashboard with its embedded worker; yields its URL, stops both afterwards."""
    require_browser()
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "MMCORR_HOME": str(home),
        "MMCORR_AUTOSTART_WORKER": "1",
        "MMCORR_WORKER_THREADS": "1",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    env.pop("MMCORR_PASSWORD", None)
    env.update(env_extra)
    log_path = tmp_path / "streamlit.log"
    with log_path.open("wb") as log:
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
        cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r,
                ):
                    if r.status == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            # The embedded worker is a child of the app: stop it through the library, by its pid file.
            stop = "from mmcorr.jobs import stop_worker; stop_worker()"
            subprocess.run([sys.executable, "-c", stop], env=env, cwd=ROOT, timeout=30, check=False)
