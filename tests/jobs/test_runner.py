"""The task body with huey's immediate mode: every ending of a job leaves a definite state.

The pipeline is replaced by small stand-ins that call the callbacks the way the estimator does, so
each branch (success, cancel, shutdown, orphan, failures) is exercised without training.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import mmcorr.runs.pipeline as pipeline
from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs import JobState, cancel, get_job, job_logs, progress, resubmit, runner, submit
from mmcorr.jobs.states import WORKER_LOST


class Cancelled(Exception):
    """Stands in for mmcorr.training.TrainingCancelled."""


def _fake_run(epochs: int, *, fail: BaseException | None = None, at: int = 0) -> Any:
    calls: dict[str, Any] = {}

    def run_spec(spec: JobSpec, run_dir: Path, *, callbacks: Any = (), checkpoint_dir: Any = None,
                 resume: bool = False, registry: Any = None) -> Path:  # fmt: skip
        calls.update(spec=spec, checkpoint_dir=checkpoint_dir, resume=resume)
        for epoch in range(1, epochs + 1):
            if fail is not None and epoch == at:
                raise fail
            record = {"epoch": epoch, "epochs": epochs, "train": {"recon": 1.0 / epoch, "corr": -0.5},
                      "val": {"recon": 1.1 / epoch}, "val_corr": 0.4, "seconds": 0.01}  # fmt: skip
            if any(cb.on_epoch_end(record) for cb in callbacks):
                raise Cancelled(f"cancelled at epoch {epoch}")
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.json").write_text("{}")
        return run_dir

    run_spec.calls = calls  # type: ignore[attr-defined]
    return run_spec


@pytest.fixture
def no_dataset_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mmcorr.jobs.api._check_dataset", lambda dataset_id: None)


def test_successful_job_writes_progress_and_run_dir(
    immediate: None, no_dataset_check: None, monkeypatch: pytest.MonkeyPatch, jobs_home: Path
) -> None:
    fake = _fake_run(3)
    monkeypatch.setattr(pipeline, "run_spec", fake)
    job_id = submit(JobSpec(dataset_id="ds"), autostart=False)
    job = get_job(job_id)
    assert job.state is JobState.SUCCEEDED, job.message
    assert job.run_dir == str(jobs_home / "runs" / job_id) and Path(job.run_dir, "metrics.json").exists()
    frame = progress(job_id)
    assert list(frame["epoch"]) == [1, 2, 3]
    assert {"train_recon", "train_corr", "val_recon", "val_corr", "seconds"} <= set(frame.columns)
    assert fake.calls["spec"].train.threads == 1  # MMCORR_WORKER_THREADS caps the job
    assert fake.calls["resume"] is False
    assert "succeeded" in job_logs(job_id)


def test_cancel_flag_stops_training_and_keeps_history(
    immediate: None, no_dataset_check: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = {"id": None}
    real = _fake_run(50)

    def run_spec(spec: JobSpec, run_dir: Path, **kw: Any) -> Path:
        # Ask for the cancel from "outside" after the first epoch, as a user would.
        class Canceller:
            def on_epoch_end(self, record: dict[str, Any]) -> None:
                if record["epoch"] == 2:
                    cancel(runner_job_id())

        return real(spec, run_dir, callbacks=[*kw["callbacks"], Canceller()])

    def runner_job_id() -> str:
        from mmcorr.jobs import list_jobs

        return list_jobs(1)[0].id

    monkeypatch.setattr(pipeline, "run_spec", run_spec)
    state["id"] = submit(JobSpec(dataset_id="ds"), autostart=False)
    job = get_job(state["id"])
    assert job.state is JobState.CANCELLED and "cancelled at epoch 3" in job.message
    assert list(progress(job.id)["epoch"]) == [1, 2, 3]  # stopped within one epoch, history kept


def test_failure_message_is_readable_and_traceback_kept(
    immediate: None, no_dataset_check: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        pipeline, "run_spec", _fake_run(5, fail=MmcorrError("Dataset 'x' has NaN in 'rna'."), at=2)
    )
    job = get_job(submit(JobSpec(dataset_id="ds"), autostart=False))
    assert job.state is JobState.FAILED and job.message == "Dataset 'x' has NaN in 'rna'."
    assert "Traceback" in job.traceback and "MmcorrError" in job_logs(job.id)
    assert list(progress(job.id)["epoch"]) == [1]


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (MemoryError("no room"), "Out of memory: no room"),
        (RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "Out of memory: CUDA out of memory"),
        (OSError(errno.ENOSPC, "No space left on device"), "Disk full while writing the run"),
        (KeyError("boom"), "KeyError: 'boom'"),
    ],
)
def test_describe_failure(exc: BaseException, expected: str) -> None:
    assert runner.describe_failure(exc).startswith(expected)


def test_worker_keeps_serving_after_a_failed_job(
    immediate: None, no_dataset_check: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "run_spec", _fake_run(2, fail=MemoryError("big"), at=1))
    first = submit(JobSpec(dataset_id="ds"), autostart=False)
    monkeypatch.setattr(pipeline, "run_spec", _fake_run(2))
    second = submit(JobSpec(dataset_id="ds"), autostart=False)
    assert get_job(first).state is JobState.FAILED and get_job(first).message.startswith("Out of memory")
    assert get_job(second).state is JobState.SUCCEEDED


def test_shutdown_requeues_at_the_front_then_resumes(
    jobs_home: Path, no_dataset_check: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmcorr.jobs.queue import pending_job_ids

    event = threading.Event()
    monkeypatch.setattr(runner, "_stop_event", event)
    job_id = submit(JobSpec(dataset_id="ds"), autostart=False)
    later = submit(JobSpec(dataset_id="ds"), autostart=False)

    def run_spec(spec: JobSpec, run_dir: Path, **kw: Any) -> Path:
        event.set()  # the worker got SIGTERM during epoch 1
        return _fake_run(5)(spec, run_dir, **kw)

    monkeypatch.setattr(pipeline, "run_spec", run_spec)
    assert runner.execute_job(pending_and_pop(job_id)) is JobState.QUEUED
    job = get_job(job_id)
    assert job.state is JobState.QUEUED and "worker shutdown at epoch 1" in job.message
    assert pending_job_ids() == [job_id, later]  # back at the front, before later submissions
    # A stopping worker that dequeues it again puts it straight back, untouched.
    assert runner.execute_job(pending_and_pop(job_id)) is None and pending_job_ids()[0] == job_id
    event.clear()
    (runner.checkpoints_dir() / job_id).mkdir(exist_ok=True)
    (runner.checkpoints_dir() / job_id / "checkpoint.pt").write_bytes(b"x")
    fake = _fake_run(2)
    monkeypatch.setattr(pipeline, "run_spec", fake)
    assert runner.execute_job(pending_and_pop(job_id)) is JobState.SUCCEEDED
    assert fake.calls["resume"] is True and fake.calls["checkpoint_dir"] == runner.checkpoints_dir() / job_id
    assert not (runner.checkpoints_dir() / job_id).exists()  # removed once the run is complete


def pending_and_pop(job_id: str) -> str:
    from mmcorr.jobs.queue import get_huey

    task = get_huey().dequeue()
    assert task is not None and task.args == (job_id,)
    return job_id


def test_orphaned_child_marks_its_job_worker_lost(
    immediate: None, no_dataset_check: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    parents = iter([1000] + [1] * 100)  # the parent changes after the first epoch
    monkeypatch.setattr(os, "getppid", lambda: next(parents))
    monkeypatch.setattr(pipeline, "run_spec", _fake_run(5))
    job = get_job(submit(JobSpec(dataset_id="ds"), autostart=False))
    assert job.state is JobState.FAILED and job.message.startswith(WORKER_LOST)


def test_resubmit_copies_the_checkpoint_and_resumes(
    immediate: None, no_dataset_check: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "run_spec", _fake_run(3, fail=MemoryError("x"), at=3))
    old = submit(JobSpec(dataset_id="ds"), autostart=False)
    (runner.checkpoints_dir() / old).mkdir(exist_ok=True)
    (runner.checkpoints_dir() / old / "checkpoint.pt").write_bytes(b"state")
    fake = _fake_run(3)
    monkeypatch.setattr(pipeline, "run_spec", fake)
    new = resubmit(old, autostart=False)
    assert new != old and get_job(new).resume_from == old and get_job(new).state is JobState.SUCCEEDED
    assert fake.calls["resume"] is True and fake.calls["checkpoint_dir"].name == new


def test_resubmit_of_a_succeeded_job_is_refused(
    immediate: None, no_dataset_check: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "run_spec", _fake_run(1))
    job_id = submit(JobSpec(dataset_id="ds"), autostart=False)
    with pytest.raises(MmcorrError, match="is succeeded; only failed or cancelled jobs can be resubmitted"):
        resubmit(job_id, autostart=False)


def test_bad_worker_threads_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMCORR_WORKER_THREADS", "many")
    with pytest.raises(MmcorrError, match="MMCORR_WORKER_THREADS environment variable must be an int"):
        runner.worker_threads()
