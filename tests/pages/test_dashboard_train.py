"""The Train page: empty state, bad options, and a real job through huey's immediate mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import no_exceptions, page

TRAIN = "pages/train.py"


@pytest.fixture
def immediate(mmcorr_home: Path) -> Iterator[None]:
    """huey runs each job inside submit() (no worker process), in this test's home."""
    from mmcorr.jobs.queue import get_huey, reset_queues

    reset_queues()
    huey = get_huey()
    huey.immediate = True
    yield
    reset_queues()


@pytest.fixture
def dataset_id(mmcorr_home: Path) -> str:
    from mmcorr.data import DatasetRegistry, make_demo

    return DatasetRegistry().save(make_demo("synthetic", seed=0, n_samples=120), "tiny-synthetic")


def test_train_without_datasets_says_where_to_get_one(app: Any) -> None:
    page(app, TRAIN)
    no_exceptions(app)
    assert any("No dataset yet" in i.value for i in app.info)


def test_bad_hidden_sizes_show_the_message(app: Any, dataset_id: str) -> None:
    page(app, TRAIN)
    app.text_input(key="hidden").input("256,abc")
    app.button(key="train").click().run()
    no_exceptions(app)
    assert any("'hidden' parameter" in e.value and "256,abc" in e.value for e in app.error)


def test_learning_rate_follows_the_chosen_model(app: Any, dataset_id: str) -> None:
    page(app, TRAIN)
    app.selectbox(key="model").set_value("dccae").run()
    assert app.number_input(key="lr_dccae").value == 5e-3
    app.number_input(key="lr_dccae").set_value(2e-3).run()
    app.selectbox(key="model").set_value("ae").run()
    no_exceptions(app)
    assert app.number_input(key="lr_ae").value == 1e-3
    app.selectbox(key="model").set_value("dccae").run()
    assert app.number_input(key="lr_dccae").value == 2e-3  # the user's own rate is kept


def test_closed_form_cca_disables_the_training_loop_options(app: Any, dataset_id: str) -> None:
    page(app, TRAIN)
    loop = ("epochs", "batch_size")
    assert not any(app.number_input(key=k).disabled for k in (*loop, "lr_auto"))  # the default model
    app.selectbox(key="model").set_value("cca").run()
    no_exceptions(app)
    assert all(app.number_input(key=k).disabled for k in (*loop, "lr_cca"))
    assert not app.number_input(key="latent_dim").disabled and not app.number_input(key="seed").disabled


@pytest.mark.slow  # the real pipeline: torch import and UMAP's numba compile (~30 s on 2 cores)
def test_train_submits_a_job_that_reaches_succeeded(
    app: Any, dataset_id: str, immediate: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    torch.set_num_threads(1)
    page(app, TRAIN)
    assert app.selectbox(key="dataset").value == dataset_id
    app.selectbox(key="model").set_value("cca")
    app.number_input(key="latent_dim").set_value(2)
    app.number_input(key="permutations").set_value(5)
    app.button(key="train").click().run(timeout=120)
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    job_id = app.session_state["mmcorr_job_id"]
    assert app.query_params["job"] in (job_id, [job_id])
    states = {m.label: m.value for m in app.metric}
    assert states["State"] == "succeeded"
    assert any("Training finished" in s.value for s in app.success)
    from mmcorr.jobs import JobState, get_job

    assert get_job(job_id).state == JobState.SUCCEEDED
    # the job id in the URL alone (a reload or a shared link) shows the same job
    from streamlit.testing.v1 import AppTest

    fresh = AppTest.from_file(str(Path(app._script_path)), default_timeout=60)
    fresh.query_params["job"] = job_id
    page(fresh, TRAIN)
    no_exceptions(fresh)
    assert {m.label: m.value for m in fresh.metric}["State"] == "succeeded"
    assert any(h.value.startswith(f"Job {job_id}") for h in fresh.subheader)


def test_a_queued_job_shows_its_place_the_worker_warning_and_cancels(app: Any, dataset_id: str) -> None:
    # MMCORR_AUTOSTART_WORKER=0 (conftest): nothing runs the job, so it stays queued.
    page(app, TRAIN)
    app.selectbox(key="model").set_value("cca")
    app.button(key="train").click().run()
    no_exceptions(app)
    job_id = app.session_state["mmcorr_job_id"]
    states = {m.label: m.value for m in app.metric}
    assert states["State"] == "queued"
    assert states["Queue position"] == "1"  # next to run
    assert any("worker is not running" in w.value for w in app.warning)
    assert any(b.label == "Start worker" for b in app.button)
    app.button(key=f"cancel_{job_id}").click().run()
    no_exceptions(app)
    assert {m.label: m.value for m in app.metric}["State"] == "cancelled"
    from mmcorr.jobs import JobState, get_job

    assert get_job(job_id).state == JobState.CANCELLED


def test_worker_list_shows_every_worker_with_host_and_state(app: Any, mmcorr_home: Path) -> None:
    import time

    from mmcorr.jobs.store import get_store

    page(app, TRAIN)
    no_exceptions(app)
    assert any(e.label.startswith("Workers: 0 alive") for e in app.expander)
    store = get_store()
    store.heartbeat(4321, "gpu-box-1", time.time() - 60, 4, "running", name="gpu-1")
    store.heartbeat(8765, "gpu-box-2", time.time() - 30, 2, "running", name="gpu-2")
    page(app, TRAIN)
    no_exceptions(app)
    assert any(e.label == "Workers: 2 alive, 0 busy" for e in app.expander)
    (table,) = [d.value for d in app.dataframe if "worker" in d.value.columns]
    assert sorted(table["worker"]) == ["gpu-1", "gpu-2"]
    assert set(table["host"]) == {"gpu-box-1", "gpu-box-2"}
    assert set(table["state"]) == {"idle"}
