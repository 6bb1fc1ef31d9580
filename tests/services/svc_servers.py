"""Real redis-server and PostgreSQL servers on 127.0.0.1 for the scale-out integration tests.

Each server lives in its own temporary directory on a free port and is stopped (and its files
removed) by the fixture that started it. PostgreSQL refuses to run as root, so when the tests run as
root the cluster is created and run as an unprivileged user (``postgres`` when it exists, else
``nobody``) by passing ``user=``/``group=`` to subprocess (no sudo / runuser needed).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REQUIRE_ENV = "MMCORR_REQUIRE_SERVICES"


def skip_or_fail(reason: str) -> None:
    """Skip the test saying ``reason``; fail it instead under ``MMCORR_REQUIRE_SERVICES=1`` (CI)."""
    import pytest

    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


def need_binary(what: str, found: object) -> None:
    if found is None:
        skip_or_fail(
            f"{what} not found on PATH (nor /usr/lib/postgresql/*/bin): install it "
            "(apt-get install redis-server postgresql) to run the scale-out tests"
        )


def need_python(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        skip_or_fail(f"the Python package {module!r} is not installed (pip install -r requirements.txt)")


def need_postgres() -> None:
    """Skip (or, in CI, fail) unless the PostgreSQL binaries and psycopg are there."""
    need_binary("initdb/postgres", postgres_binaries())
    need_python("psycopg")
    need_python("psycopg_pool")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0, *, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def stop_process(
    proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15.0
) -> None:
    """Signal ``proc`` and wait; SIGKILL it if it does not exit in ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(5)


def redis_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """A redis-server with AOF persistence fsynced on every write: nothing acknowledged is lost."""

    def __init__(self, root: Path) -> None:
        binary = redis_binary()
        assert binary is not None
        self.binary = binary
        self.dir = root / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.dir / "redis.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.dir),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--daemonize", "no",
                "--protected-mode", "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_port(self.port, proc=self.proc)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig)
        self.proc = None


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def postgres_binaries() -> tuple[str, str] | None:
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    return (initdb, postgres) if initdb and postgres else None


def _run_as() -> tuple[int, int] | None:
    """The (uid, gid) to run PostgreSQL as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


class PostgresServer:
    """A throwaway PostgreSQL cluster (trust auth on loopback, fsync off: test data only)."""

    USER = "mmcorr"

    def __init__(self) -> None:
        bins = postgres_binaries()
        assert bins is not None
        self.initdb, self.postgres = bins
        self.ids = _run_as()
        # Not under pytest's tmp_path: its parents are 0700 root, which the postgres user cannot enter.
        self.dir = Path(tempfile.mkdtemp(prefix="mmcorr-pg-"))
        if self.ids is not None:
            os.chown(self.dir, *self.ids)
        self.data = self.dir / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._kw: dict[str, object] = {}
        if self.ids is not None:
            self._kw = {"user": self.ids[0], "group": self.ids[1], "extra_groups": []}
        subprocess.run(
            [self.initdb, "-D", str(self.data), "-A", "trust", "-U", self.USER, "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            cwd=self.dir,
            **self._kw,  # type: ignore[arg-type]
        )

    @property
    def url(self) -> str:
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        log = open(self.dir / "postgres.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [
                self.postgres, "-D", str(self.data), "-p", str(self.port),
                "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "max_connections=60",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            **self._kw,  # type: ignore[arg-type]
        )  # fmt: skip
        log.close()
        wait_port(self.port, proc=self.proc)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast shutdown": clients are disconnected at once.
        stop_process(self.proc, signal.SIGINT)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
