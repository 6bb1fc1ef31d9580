"""`mmcorr doctor`: plain verdicts on the queue, the job store and the artifacts root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmcorr.cli import main
from mmcorr.jobs.states import DB_URL_ENV, QUEUE_URL_ENV


def test_doctor_all_good_on_the_embedded_default(
    mmcorr_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "OK    queue: embedded SQLite queue" in out and out.strip().endswith("all good")


def test_doctor_rejects_a_bad_queue_url(
    mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(QUEUE_URL_ENV, "http://queue:6379")
    assert main(["doctor"]) == 1
    assert (
        "FAIL  queue: The MMCORR_QUEUE_URL environment variable must be a Redis URL"
        in capsys.readouterr().out
    )


def test_doctor_rejects_a_bad_db_url(
    mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DB_URL_ENV, "mysql://u:pw@db/x")
    assert main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    store = next(c for c in report["checks"] if c["name"] == "job store")
    assert store["status"] == "fail" and "postgresql://" in store["detail"]


def test_doctor_reports_an_unwritable_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MMCORR_HOME", str(blocker / "home"))
    monkeypatch.setenv(DB_URL_ENV, f"sqlite:///{tmp_path / 'jobs.db'}")
    monkeypatch.setenv(QUEUE_URL_ENV, f"sqlite:///{tmp_path / 'queue.db'}")
    from mmcorr.jobs.health import CheckStatus, check_artifacts_root

    check = check_artifacts_root()
    assert check.status is CheckStatus.FAIL
    assert "is not writable" in check.detail and str(blocker / "home") in check.detail


@pytest.mark.services
def test_doctor_with_real_servers_and_after_postgres_stops(
    redis_server, postgres_server, mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv(QUEUE_URL_ENV, redis_server.url)
    monkeypatch.setenv(DB_URL_ENV, postgres_server.url)
    from mmcorr.jobs.queue import reset_queues

    reset_queues()
    assert main(["doctor"]) == 0  # warnings (machine-local home) do not fail ...
    out = capsys.readouterr().out
    assert "AOF persistence on (appendfsync always)" in out
    assert "reachable and empty" in out
    assert "WARN  artifacts root" in out and "looks machine-local" in out
    assert main(["doctor", "--strict"]) == 1  # ... unless asked to
    capsys.readouterr()
    postgres_server.stop()
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  job store: Cannot reach the PostgreSQL job store" in out
    assert "Connection refused" in out or "connection failed" in out
    reset_queues()
