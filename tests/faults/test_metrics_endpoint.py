"""``/_stcore/metrics`` answers without the password (issue 14, item 12): Streamlit's own server has
no hook to gate it under ``streamlit run app.py``, so docs/deploy.md states what it exposes and how
to block it. This test serves the real app with ``MMCORR_PASSWORD`` set and pins that statement:
the endpoint serves only the documented families, none of them carrying a per-user label, the
password, or the data home's path.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "metrics-test-password"
# The families docs/deploy.md lists ("What answers without the password").
DOCUMENTED = {"session_events", "session_duration_seconds", "active_sessions", "cache_memory_bytes"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, accept: str = "*/*") -> str:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode("utf-8"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``streamlit run app.py`` on a free loopback port with the password gate on."""
    home = tmp_path_factory.mktemp("metrics-home")
    port = _free_port()
    env = {
        **os.environ,
        "MMCORR_HOME": str(home),
        "MMCORR_PASSWORD": PASSWORD,
        "MMCORR_AUTOSTART_WORKER": "0",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    log = (home / "streamlit.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a wait for start-up, not an assertion on speed
        while True:
            try:
                if _get(f"{url}/_stcore/health") == "ok":
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not start: {(home / 'streamlit.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, home
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _families(text: str) -> set[str]:
    return set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))


def test_metrics_serve_only_the_documented_families(server: tuple[str, Path]) -> None:
    url, home = server
    text = _get(f"{url}/_stcore/metrics")
    served = _families(text)
    assert {"session_events", "active_sessions"} <= served  # it does answer without the password
    assert served <= DOCUMENTED, f"undocumented families: {sorted(served - DOCUMENTED)}"
    assert PASSWORD not in text and str(home) not in text


def test_no_per_user_family_is_served(server: tuple[str, Path]) -> None:
    url, _ = server
    text = _get(f"{url}/_stcore/metrics?families=user_session_events&families=cache_memory_bytes")
    assert "user_session_events" not in text
    assert _families(text) <= {"cache_memory_bytes"}


def test_deploy_doc_lists_every_family_and_the_proxy_block() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = doc.split("### What answers without the password", 1)[1].split("\n## ", 1)[0]
    for family in ("session connects", "open sessions", "cache_memory_bytes", "unsafeMetricsUserAttributes"):
        assert family in section
    assert "location = /_stcore/metrics" in section and "deny  all;" in section
