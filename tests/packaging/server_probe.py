"""A free loopback port and the dashboard's health answer, for the packaging tests that serve it."""

from __future__ import annotations

import socket
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health(port: int) -> str | None:
    """``/_stcore/health``'s body on ``port``, or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
            return str(resp.read().decode())
    except OSError:
        return None
