"""Many openers of a fresh job store or queue file at the same moment (a worker and a page starting
together). SQLite switches a file to WAL without waiting out the busy timeout, so without the retry
in mmcorr.jobs._sqlite some of these opens fail with 'database is locked' (about 1 round in 30 here)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

ROUNDS = 100
OPENERS = 16


def _open_together(tmp_path: Path, open_one: Callable[[Path], None]) -> list[str]:
    errors: list[str] = []
    for round_ in range(ROUNDS):
        path = tmp_path / f"round{round_}.db"
        barrier = threading.Barrier(OPENERS)

        def opener(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                open_one(path)
            except Exception as exc:
                errors.append(f"{path.name}: {exc!r}")

        threads = [threading.Thread(target=opener) for _ in range(OPENERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return errors


def test_fresh_queue_file_opened_by_many_at_once(tmp_path: Path) -> None:
    from mmcorr.jobs.queue import _sqlite_huey

    def open_one(path: Path) -> None:
        huey = _sqlite_huey(str(path))
        huey.storage.enqueue(b"job", 0)
        huey.storage.close()

    assert _open_together(tmp_path, open_one) == []
    assert _sqlite_huey(str(tmp_path / "round0.db")).storage.queue_size() == OPENERS


def test_fresh_job_store_opened_by_many_at_once(tmp_path: Path) -> None:
    from mmcorr.jobs.sqlite_store import SQLiteJobStore

    def open_one(path: Path) -> None:
        store = SQLiteJobStore(path)  # a separate object (and connection) per opener, like processes
        assert store.list_jobs() == []

    assert _open_together(tmp_path, open_one) == []
