"""Issue 14 item 1: code execution through the queue file.

A pickled payload written into ``state/queue.db`` used to run inside ``mmcorr doctor`` and
``mmcorr worker`` (huey's default serializer is pickle) and then stopped the worker at start.
Messages are JSON naming one job id now: a planted message is never unpickled, the worker drops it
and keeps serving, and state files are private (0600 / 0700).
"""

from __future__ import annotations

import json
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmcorr.cli import main
from mmcorr.config import JobSpec
from mmcorr.jobs import JobState, get_job, get_store
from mmcorr.jobs.messages import BadMessage, JobMessageSerializer
from mmcorr.jobs.queue import enqueue_job, get_huey, pending_job_ids, reset_queues

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
from jobs_helpers import Processes, cca_spec, wait_for


class _Canary:
    """Unpickling this creates ``path``: proof that the payload ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


@pytest.fixture
def home(mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MMCORR_WORKER_THREADS", "1")
    monkeypatch.setenv("MMCORR_WORKER_WARMUP", "0")
    # The numba cache the job tests share: UMAP's JIT compiles once, not once per worker.
    cache = Path(os.environ.get("NUMBA_CACHE_DIR") or Path(tempfile.gettempdir()) / "mmcorr-test-numba-cache")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    reset_queues()
    yield mmcorr_home
    reset_queues()


def _plant(data: bytes) -> None:
    """What an attacker who can write queue.db does: insert a raw message row."""
    get_huey().storage.enqueue(data, 0)


def test_doctor_never_unpickles_a_planted_queue_message(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canary = tmp_path / "pwned"
    _plant(pickle.dumps(_Canary(canary)))
    main(["doctor"])
    out = capsys.readouterr().out
    assert not canary.exists()
    assert "OK    queue: embedded SQLite queue (one machine), 0 job(s) waiting" in out


def test_pending_job_ids_skips_messages_that_do_not_decode(home: Path, tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    enqueue_job("job-1")
    _plant(pickle.dumps(_Canary(canary)))
    _plant(b"\x00garbage")
    enqueue_job("job-2")
    assert pending_job_ids() == ["job-1", "job-2"]
    assert not canary.exists()


def test_messages_are_json_naming_one_job(home: Path) -> None:
    enqueue_job("job-1", front=True)
    (raw,) = get_huey().storage.enqueued_items()
    body = json.loads(raw)
    assert body["job"] == "job-1" and body["task"] == "mmcorr.run_job" and body["priority"] == 100


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (pickle.dumps({"job": "x"}), r"must be JSON .*Got b'\\x80"),
        (b'["job-1"]', r"must be an object with the keys"),
        (b'{"v": 1, "task": "os.system", "id": "a", "job": "j", "priority": 0}', r"task='mmcorr\.run_job'"),
        (b'{"v": 2, "task": "mmcorr.run_job", "id": "a", "job": "j", "priority": 0}', r"must have v=1"),
        (
            b'{"v": 1, "task": "mmcorr.run_job", "id": "a", "job": "../../x", "priority": 0}',
            r"job id of 1-128",
        ),
        (b'{"v": 1, "task": "mmcorr.run_job", "id": "a", "job": "j", "priority": "9"}', r"priority an int"),
        (b'{"v": 1, "task": "mmcorr.run_job", "id": "a", "job": "j", "priority": 0, "eta": 1}', r"the keys"),
        (b"{" + b" " * 5000 + b"}", r"at most 4096 bytes"),
    ],
    ids=["pickle", "list", "other-task", "version", "path-id", "str-priority", "extra-key", "huge"],
)
def test_a_bad_message_is_refused_by_the_serializer(raw: bytes, match: str) -> None:
    with pytest.raises(BadMessage, match=match):
        JobMessageSerializer().deserialize(raw)


def test_state_files_are_private(home: Path) -> None:
    enqueue_job("job-1")
    get_store().queued_ids()
    state = home / "state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("queue.db", "jobs.db"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name


def test_state_files_made_wide_by_an_older_version_are_tightened(home: Path) -> None:
    state = home / "state"
    enqueue_job("job-1")
    reset_queues()
    os.chmod(state / "queue.db", 0o644)
    os.chmod(state, 0o755)
    assert pending_job_ids() == ["job-1"]
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "queue.db").stat().st_mode) == 0o600


@pytest.mark.slow
def test_worker_drops_a_planted_message_and_still_runs_queued_jobs(home: Path, tmp_path: Path) -> None:
    """The worker starts, never runs the payload, and runs a job that an older mmcorr queued as a
    pickled message: the job store knows it is queued, so the worker re-queues it at start."""
    data = pytest.importorskip("mmcorr.data")
    dataset_id = str(data.DatasetRegistry().save(data.make_demo("synthetic", seed=0, n_samples=200), "s"))
    canary = tmp_path / "pwned"
    spec: JobSpec = cca_spec(dataset_id)
    store = get_store()
    store.add_job("20250101-000000-00aa00", spec.to_json(), "old", 1, None)  # queued by an older version
    _plant(pickle.dumps(_Canary(canary)))  # its message, as far as this version can tell
    reset_queues()
    procs = Processes(home, tmp_path)
    try:
        worker = procs.worker()
        wait_for(lambda: get_job("20250101-000000-00aa00").is_terminal, 120, "the old job")
        assert get_job("20250101-000000-00aa00").state is JobState.SUCCEEDED
        assert worker.poll() is None and not canary.exists()
        assert "dropped a queue message that is not a job message" in procs.log(0)
    finally:
        procs.close()
