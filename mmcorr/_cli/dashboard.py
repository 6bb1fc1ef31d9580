"""``mmcorr dashboard``: serve the dashboard from wherever mmcorr is.

An installed mmcorr carries the dashboard inside the package (``mmcorr/_dashboard/app.py`` and its
``pages/``, put there by setup.py when the wheel is built); a source checkout has ``app.py`` and
``pages/`` beside ``mmcorr/``. Either way the app runs under Streamlit in a child process of this
command, so Ctrl-C stops both. Streamlit is a dependency of mmcorr but never imported here.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from mmcorr._validation import MmcorrError

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "dashboard_app", "register", "streamlit_command"]

#: Loopback only, as in .streamlit/config.toml: the dashboard has no accounts (MMCORR_PASSWORD).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
#: The installed copy's folder inside the package (setup.py's DASHBOARD mapping).
SHIPPED = "_dashboard"


def dashboard_app(package: Path | None = None) -> Path:
    """The dashboard's ``app.py``: the copy shipped inside the package, else the checkout's.

    package: the ``mmcorr`` package folder (default: this installation's).
    """
    package = package if package is not None else Path(__file__).resolve().parents[1]
    for app in (package / SHIPPED / "app.py", package.parent / "app.py"):
        # pages/_ui.py beside it: an app.py of some other project next to site-packages/mmcorr is not ours.
        if app.is_file() and (app.parent / "pages" / "_ui.py").is_file():
            return app
    raise MmcorrError(
        f"The dashboard is not in this mmcorr installation ({package}): neither {SHIPPED}/app.py inside "
        "the package nor app.py beside it. Install mmcorr from its wheel (pip install mmcorr) or run "
        "'make run' in a source checkout."
    )


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1-65535 (a bad one exits with code 2)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be a whole number in [1, 65535]. Got {text!r}.")
    return port


def streamlit_command(app: Path, host: str, port: int) -> list[str]:
    """The command line that serves ``app`` on ``host:port`` with this interpreter's Streamlit."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        host,
        "--server.port",
        str(port),
        # As in .streamlit/config.toml: no browser to open and no first-run e-mail prompt, which
        # would wait on a terminal a service does not have.
        "--server.headless",
        "true",
    ]


def _serve(command: list[str]) -> int:
    """Run ``command`` until it exits; a SIGTERM or Ctrl-C here stops it too (a service manager
    stopping ``mmcorr dashboard`` must not leave Streamlit running)."""
    proc = subprocess.Popen(command)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _cmd_dashboard(args: argparse.Namespace) -> int:
    app = dashboard_app()
    print(
        f"mmcorr: serving the dashboard on http://{args.host}:{args.port} (Ctrl-C stops it)", file=sys.stderr
    )
    return _serve(streamlit_command(app, args.host, args.port))


def register(subparsers: Any) -> None:
    """Add ``dashboard`` to the ``mmcorr`` parser."""
    p = subparsers.add_parser(
        "dashboard",
        help="serve the dashboard (and start its job worker) in this terminal",
        description="Serve the dashboard. It binds to 127.0.0.1 unless --host says otherwise; to show it "
        "on a network set MMCORR_PASSWORD first (README: Configuration).",
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0: every interface)",
    )
    p.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"TCP port to listen on (default {DEFAULT_PORT})"
    )
    p.set_defaults(func=_cmd_dashboard)
