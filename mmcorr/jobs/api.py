"""What the dashboard and the CLI call: submit, watch, cancel and resubmit jobs. Never imports torch."""

from __future__ import annotations

import contextlib
import secrets
import time
from typing import TYPE_CHECKING, Any

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs.autostart import ensure_worker, file_lock, pid_alive, recover_lost_jobs
from mmcorr.jobs.backends import host_name
from mmcorr.jobs.queue import enqueue_job, get_huey
from mmcorr.jobs.records import JobRecord, iso
from mmcorr.jobs.states import EventLevel, JobState
from mmcorr.jobs.store import get_store

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["submit", "get_job", "list_jobs", "progress", "cancel", "resubmit", "job_logs", "new_job_id"]

#: Columns of :func:`progress` that every frame has (loss parts add train_<part> / val_<part>).
PROGRESS_COLUMNS = ("epoch", "epochs", "seconds", "val_corr")


def new_job_id() -> str:
    """A sortable, unique, filesystem-safe id such as ``20250101-120000-3fa9c2``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def _check_job_id(job_id: Any) -> str:
    if isinstance(job_id, str) and job_id.strip():
        return job_id.strip()
    raise MmcorrError(
        f"The 'job_id' parameter must be a job id such as '20250101-120000-3fa9c2'. Got {job_id!r}."
    )


def _check_dataset(dataset_id: str) -> None:
    """Refuse a job for a dataset that is not registered (when the registry is available)."""
    try:
        from mmcorr.data import DatasetRegistry  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return
    DatasetRegistry().info(dataset_id)


def _enqueue_new(spec: JobSpec, resume_from: str | None, autostart: bool) -> str:
    store = get_store()
    job_id = new_job_id()
    get_huey()  # a queue that cannot be opened (damaged, unreachable) refuses before the job is saved
    # One lock around insert + enqueue: the queue order equals the store's submission order even
    # when several processes submit at the same moment.
    with file_lock("submit.lock"):
        store.add_job(job_id, spec.to_json(), spec.name, spec.train.epochs, resume_from)
        try:
            enqueue_job(job_id)
        except Exception as exc:
            # Saved but not queued: cancel it, saying why, rather than leave it waiting forever.
            with contextlib.suppress(Exception):
                store.request_cancel(job_id)
                store.add_event(job_id, EventLevel.ERROR, f"the job could not be queued: {exc}")
            raise
    if autostart:
        ensure_worker()
    return job_id


def submit(spec: JobSpec, *, autostart: bool = True) -> str:
    """Queue a training job and return its id (also its run id).

    spec: the dataset id and every configuration (:class:`mmcorr.config.JobSpec`).
    autostart: start the local worker if none is alive (unless ``MMCORR_AUTOSTART_WORKER=0``).
    """
    if not isinstance(spec, JobSpec):
        raise MmcorrError(f"The 'spec' parameter must be a JobSpec. Got {type(spec).__name__} instead.")
    for dataset_id in (spec.dataset_id, spec.val_dataset_id, spec.test_dataset_id):
        if dataset_id is not None:
            _check_dataset(dataset_id)
    _check_given_features(spec)
    return _enqueue_new(spec, None, autostart)


def _check_given_features(spec: JobSpec) -> None:
    """A given validation / test dataset has the training dataset's modalities and feature names
    (checked now, from the registry's schemas, rather than as a failed job later)."""
    from mmcorr.data import DatasetRegistry
    from mmcorr.data.split import check_same_features

    given = {"val_dataset_id": spec.val_dataset_id, "test_dataset_id": spec.test_dataset_id}
    if not any(given.values()):
        return
    reg = DatasetRegistry()
    train = {m: reg.feature_names(spec.dataset_id, m) for m in reg.info(spec.dataset_id).modalities}
    for field, dataset_id in given.items():
        if dataset_id is None:
            continue
        other = {m: reg.feature_names(dataset_id, m) for m in reg.info(dataset_id).modalities}
        check_same_features(
            train,
            other,
            f"{field} {dataset_id!r}",
            media=reg.media(spec.dataset_id),
            other_media=reg.media(dataset_id),
        )


def resubmit(job_id: str, *, autostart: bool = True) -> str:
    """Queue a failed or cancelled job again as a new job that resumes from its last checkpoint."""
    old = get_job(job_id)
    if old.state not in (JobState.FAILED, JobState.CANCELLED):
        raise MmcorrError(
            f"Job {old.id!r} is {old.state.value}; only failed or cancelled jobs can be resubmitted."
        )
    return _enqueue_new(old.spec, old.id, autostart)


def _refresh_lost(records: list[JobRecord]) -> bool:
    """Mark running jobs whose process died as 'worker lost'; True when any changed."""
    host = host_name()
    if any(r.state is JobState.RUNNING and not pid_alive(r.worker_pid) for r in records):
        store = get_store()
        running_here = [j for j, _, h in store.running() if h in (None, host)]
        return bool(running_here) and bool(recover_lost_jobs(store))
    return False


def get_job(job_id: str) -> JobRecord:
    """The job's current record (state, epoch of total, last record, message, ETA...)."""
    job_id = _check_job_id(job_id)
    record = get_store().get(job_id)
    if _refresh_lost([record]):
        record = get_store().get(job_id)
    return record


def list_jobs(limit: int = 50) -> list[JobRecord]:
    """The ``limit`` most recent jobs, newest first."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise MmcorrError(f"The 'limit' parameter must be an int >= 1. Got {limit!r} instead.")
    records = get_store().list_jobs(limit)
    if _refresh_lost(records):
        records = get_store().list_jobs(limit)
    return records


def progress(job_id: str) -> pd.DataFrame:
    """One row per finished epoch: epoch, epochs, seconds, val_corr, train_<part>, val_<part>."""
    import pandas as pd

    job_id = _check_job_id(job_id)
    store = get_store()
    store.get(job_id)  # unknown id -> clear error
    rows = []
    for rec in store.progress_rows(job_id):
        row: dict[str, Any] = {k: rec.get(k) for k in PROGRESS_COLUMNS}
        for split in ("train", "val"):
            parts = rec.get(split) or {}
            row.update({f"{split}_{name}": value for name, value in parts.items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else list(PROGRESS_COLUMNS))


def cancel(job_id: str) -> JobState:
    """Cancel a job: a queued one never starts; a running one stops within one epoch.

    Returns the state right after the call: CANCELLED for a queued job, RUNNING for a running one
    (it turns CANCELLED at its next epoch end, keeping its history).
    """
    return get_store().request_cancel(_check_job_id(job_id))


def job_logs(job_id: str) -> str:
    """The job's log as text: its events, then the traceback of a failure."""
    job_id = _check_job_id(job_id)
    store = get_store()
    record = get_job(job_id)
    lines = [f"{iso(ts)} {level.value.upper():7s} {text}" for ts, level, text in store.events(job_id)]
    if record.traceback:
        lines += ["", "Traceback of the failure:", record.traceback.rstrip()]
    return "\n".join(lines)
