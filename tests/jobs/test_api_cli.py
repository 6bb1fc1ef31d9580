"""The job API and the ``mmcorr jobs`` CLI without a worker: queueing, inspection, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmcorr._validation import MmcorrError
from mmcorr.cli import main
from mmcorr.config import JobSpec
from mmcorr.jobs import JobState, cancel, ensure_worker, get_job, list_jobs, progress, submit, worker_status


@pytest.fixture(autouse=True)
def _no_dataset_check(monkeypatch: pytest.MonkeyPatch, jobs_home: Path) -> None:
    monkeypatch.setattr("mmcorr.jobs.api._check_dataset", lambda dataset_id: None)


def test_submitted_jobs_wait_in_order_with_positions() -> None:
    ids = [submit(JobSpec(dataset_id="ds", name=f"n{i}"), autostart=False) for i in range(3)]
    assert [get_job(i).queue_position for i in ids] == [0, 1, 2]
    assert [r.id for r in list_jobs()] == ids[::-1]
    from mmcorr.jobs.queue import pending_job_ids

    assert pending_job_ids() == ids
    assert cancel(ids[1]) is JobState.CANCELLED
    assert get_job(ids[2]).queue_position == 1
    assert list(progress(ids[0]).columns) == ["epoch", "epochs", "seconds", "val_corr"]
    assert get_job(ids[0]).to_dict()["state"] == "queued"


def test_submit_rejects_a_non_spec() -> None:
    with pytest.raises(MmcorrError, match=r"'spec' parameter must be a JobSpec\. Got dict"):
        submit({"dataset_id": "ds"}, autostart=False)  # type: ignore[arg-type]


def test_get_job_rejects_an_empty_id() -> None:
    with pytest.raises(MmcorrError, match="'job_id' parameter must be a job id"):
        get_job("")


def test_list_jobs_rejects_a_bad_limit() -> None:
    with pytest.raises(MmcorrError, match=r"'limit' parameter must be an int >= 1\. Got 0"):
        list_jobs(0)


def test_progress_of_unknown_job_names_it() -> None:
    with pytest.raises(MmcorrError, match="no job with id 'ghost'"):
        progress("ghost")


def test_no_worker_without_autostart() -> None:
    status = ensure_worker()  # MMCORR_AUTOSTART_WORKER=0 from the mmcorr_home fixture
    assert status == worker_status() and not status.alive and status.pid is None


def test_cli_submit_list_status_cancel_logs(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["jobs", "submit", "--dataset", "ds", "--model", "cca", "--latent-dim", "3", "--epochs", "7",
            "--hidden", "16,8", "--no-worker"]  # fmt: skip
    assert main(args) == 0
    job_id = capsys.readouterr().out.strip()
    job = get_job(job_id)
    assert job.spec.model.model == "cca" and job.spec.model.hidden == (16, 8) and job.spec.train.epochs == 7
    assert main(["jobs", "list"]) == 0 and job_id in capsys.readouterr().out
    assert main(["jobs", "status", job_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "queued"
    assert main(["jobs", "status", job_id]) == 0 and "epoch     0 of 7" in capsys.readouterr().out
    assert main(["jobs", "cancel", job_id]) == 0 and "cancelled before it started" in capsys.readouterr().out
    assert main(["jobs", "logs", job_id]) == 0 and "cancelled before it started" in capsys.readouterr().out


def test_cli_learning_rate_defaults_to_the_models_tuned_rate(capsys: pytest.CaptureFixture[str]) -> None:
    from mmcorr.config import RECOMMENDED_LR

    lrs = {}
    for extra in (["--model", "dccae"], ["--model", "ae"], ["--model", "dccae", "--lr", "2e-4"]):
        assert main(["jobs", "submit", "--dataset", "ds", *extra, "--no-worker"]) == 0
        lrs[" ".join(extra)] = get_job(capsys.readouterr().out.strip()).spec.train.lr
    assert lrs == {
        "--model dccae": RECOMMENDED_LR["dccae"],
        "--model ae": RECOMMENDED_LR["ae"],
        "--model dccae --lr 2e-4": 2e-4,
    }
    assert RECOMMENDED_LR["dccae"] != RECOMMENDED_LR["ae"]


def test_cli_seed_sets_split_weights_and_analyses(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["jobs", "submit", "--dataset", "ds", "--seed", "5", "--hidden", "32", "16", "--no-worker"]
    assert main(args) == 0
    spec = get_job(capsys.readouterr().out.strip()).spec
    assert (spec.train.seed, spec.data.split_seed, spec.analysis.seed) == (5, 5, 5)
    assert spec.model.hidden == (32, 16)


def test_cli_bad_latent_dim_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "submit", "--dataset", "ds", "--latent-dim", "0", "--no-worker"]) == 1
    assert "The 'latent_dim' parameter must be an int in [1, 512]. Got 0" in capsys.readouterr().err


def test_cli_bad_hidden_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["jobs", "submit", "--dataset", "ds", "--hidden", "a,b"])
    assert info.value.code == 2 and "--hidden must be comma-separated" in capsys.readouterr().err


def test_cli_cancel_unknown_job(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "cancel", "nope"]) == 1
    assert "no job with id 'nope'" in capsys.readouterr().err


def test_cli_worker_bad_poll(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--poll", "5"]) == 1
    assert "The 'poll' parameter must be a number in [0.05, 1.0]" in capsys.readouterr().err


def test_cli_worker_status_and_stop_without_worker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--status"]) == 0 and json.loads(capsys.readouterr().out)["alive"] is False
    assert main(["worker", "--stop"]) == 0 and "no worker was running" in capsys.readouterr().out
