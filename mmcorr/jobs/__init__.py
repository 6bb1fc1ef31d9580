"""Background training jobs: a persistent queue, a local worker, live progress, cancel, recovery.

The dashboard and the CLI only submit, watch and cancel; a separate ``mmcorr worker`` process
(:func:`run_worker`) trains, running each job with a :class:`JobRunner` handed its collaborators.
Nothing here imports torch or Streamlit.
"""

from __future__ import annotations

from mmcorr.jobs.api import cancel, get_job, job_logs, list_jobs, progress, resubmit, submit
from mmcorr.jobs.autostart import ensure_worker, recover_lost_jobs, stop_worker, worker_status
from mmcorr.jobs.fleet import list_workers
from mmcorr.jobs.records import JobRecord, WorkerInfo, WorkerState, WorkerStatus
from mmcorr.jobs.runner import JobRunner
from mmcorr.jobs.states import TERMINAL_STATES, WORKER_LOST, JobState
from mmcorr.jobs.store import JobStore, get_store
from mmcorr.jobs.supervisor import WorkerContext
from mmcorr.jobs.worker import run_worker

__all__ = [
    "TERMINAL_STATES",
    "WORKER_LOST",
    "JobRecord",
    "JobRunner",
    "JobState",
    "JobStore",
    "WorkerContext",
    "WorkerInfo",
    "WorkerState",
    "WorkerStatus",
    "cancel",
    "ensure_worker",
    "get_job",
    "get_store",
    "job_logs",
    "list_jobs",
    "list_workers",
    "progress",
    "recover_lost_jobs",
    "resubmit",
    "run_worker",
    "stop_worker",
    "submit",
    "worker_status",
]
