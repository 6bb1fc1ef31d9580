"""``/_stcore/metrics`` answered without the password (issue 14, item 12). ``streamlit run app.py``
now serves app.py's ``st.App`` behind ``mmcorr.auth.PasswordGateMiddleware``: with
``MMCORR_PASSWORD`` set the route answers 403 unless the request carries a signed-in browser's
session cookie. These tests serve the real app and check both sides, and pin what a signed-in
scrape gets: only the families docs/deploy.md lists, none with a per-user label, the password or the
data home's path.
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

from mmcorr.auth import SESSION_COOKIE, session_token

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "metrics-test-password"
# The families docs/deploy.md lists ("What answers without the password").
DOCUMENTED = {
    "session_events",
    "session_duration_seconds",
    "active_sessions",
    "cache_memory_bytes",
    "cache_lookups",
    "cache_evictions",
    "cache_compute_duration_seconds",
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed_in_cookie() -> str:
    return f"{SESSION_COOKIE}={session_token(PASSWORD, time.time(), 1.0)}"


def _get(url: str, accept: str = "*/*", cookie: str | None = None) -> str:
    headers = {"Accept": accept, **({"Cookie": cookie} if cookie else {})}
    request = urllib.request.Request(url, headers=headers)
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


def _status(url: str, cookie: str | None = None) -> int:
    try:
        _get(url, cookie=cookie)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    return 200


def test_metrics_need_a_signed_in_browser(server: tuple[str, Path]) -> None:
    url, _ = server
    assert _status(f"{url}/_stcore/metrics") == 403
    assert _status(f"{url}/_stcore/metrics/") == 403
    assert _status(f"{url}/_stcore/metrics?families=active_sessions") == 403
    assert _status(f"{url}/_stcore/metrics", cookie="mmcorr_session=123.forged") == 403
    stale = f"{SESSION_COOKIE}={session_token(PASSWORD, 0.0, 1.0)}"  # expired in 1970
    assert _status(f"{url}/_stcore/metrics", cookie=stale) == 403
    assert _status(f"{url}/_stcore/metrics", cookie=_signed_in_cookie()) == 200
    assert _get(f"{url}/_stcore/health") == "ok"  # health checks stay open for load balancers


def test_metrics_serve_only_the_documented_families(server: tuple[str, Path]) -> None:
    url, home = server
    text = _get(f"{url}/_stcore/metrics", cookie=_signed_in_cookie())
    served = _families(text)
    assert {"session_events", "active_sessions"} <= served
    assert served <= DOCUMENTED, f"undocumented families: {sorted(served - DOCUMENTED)}"
    assert PASSWORD not in text and str(home) not in text


def test_no_per_user_family_is_served(server: tuple[str, Path]) -> None:
    url, _ = server
    text = _get(
        f"{url}/_stcore/metrics?families=user_session_events&families=cache_memory_bytes",
        cookie=_signed_in_cookie(),
    )
    assert "user_session_events" not in text
    assert _families(text) <= {"cache_memory_bytes"}


def test_deploy_doc_lists_every_family() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = doc.split("### What answers without the password", 1)[1].split("\n## ", 1)[0]
    for family in (
        "session connects",
        "open sessions",
        "lookups, evictions and compute seconds",
        "cache_memory_bytes",
        "unsafeMetricsUserAttributes",
        "answers 403",
    ):
        assert family in section
