"""Train: pick a dataset and a model, submit a background job, watch it live.

The page never trains: "Train" submits a JobSpec to the job store and the worker runs it. The job id
lives in the URL (``?job=``), so a reload or a shared link shows the same job. The status panel is a
fragment that re-runs every two seconds while the job is queued or running, and stops when it ends.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from pages._config_widgets import (
    SECTIONS,
    form_options,
    render_given_sets,
    render_option,
    render_options,
    widget_values,
)
from pages._ui import (
    LEGEND_BELOW,
    Key,
    PagePath,
    Param,
    auto_choice,
    current_job_id,
    ensure_routed,
    plain,
    user_errors,
)

ensure_routed()

POLL_SECONDS = 2.0
#: The learning rate under model=auto: left at its default, every candidate takes its own tuned rate.
AUTO_LR_HELP = (
    " With auto, leave it at its default and every candidate family trains at its own tuned rate; "
    "any other value is used for every family."
)
#: What the figures in "Which model?" are (bench/RESULTS.md, sections "Frontier" and "Raw modalities").
GUIDE_FIGURES = (
    "Figures: held-out canonical correlation sums (higher is better) from bench/RESULTS.md: 'sim', "
    "two views of 4 Gaussian factors behind monotone warps (2,000 samples); 'small', 40 samples of 120 "
    "vs 21 features; 'three', digits split into three views; 'digits-noisy', the demo; images / text / "
    "audio, the digits-media demo (image-text pair, 20 epochs unless said)."
)


def _state(job: Any) -> str:
    return str(getattr(job.state, "value", job.state))


def _datasets() -> list[Any]:
    from mmcorr.data import DatasetRegistry

    return DatasetRegistry().list()


def _dataset_picker() -> Any | None:
    datasets = _datasets()
    if not datasets:
        st.info(
            "No dataset yet: upload one on the Data page or load a demo from Home.", icon=":material/info:"
        )
        st.page_link(PagePath.DATA.value, label="Upload data", icon=":material/upload_file:")
        return None
    ids = [d.id for d in datasets]
    labels = {
        d.id: f"{d.name} · {d.n_samples:,} samples · "
        + ", ".join(f"{m} ({n})" for m, n in d.modalities.items())
        for d in datasets
    }
    chosen = st.session_state.get(Key.DATASET.value)
    index = ids.index(chosen) if chosen in ids else 0
    dataset_id = st.selectbox("Dataset", ids, index=index, format_func=labels.__getitem__, key="dataset")
    st.session_state[Key.DATASET.value] = dataset_id
    return next(d for d in datasets if d.id == dataset_id)


def _form(dataset: Any) -> None:
    from mmcorr.config import AUTO, NAME_MAX, build_job_spec, max_latent_dim

    opts = form_options()
    c1, c2 = st.columns([1, 2])
    model = str(render_option(c1, opts["model"], str(opts["model"].default)))
    _model_guide(c2, model)
    # Default to a latent size that linear CCA can fit on this dataset (the estimator checks the
    # final size after preprocessing).
    limit = max_latent_dim("cca", dataset.modalities.values())
    basic = [o for o in opts.values() if not o.advanced and o.name != "model"]
    raw = render_options(
        basic,
        model,
        defaults={"latent_dim": max(1, min(opts["latent_dim"].default, limit))},
        extra_help={
            "latent_dim": f" Linear CCA allows at most {limit} here.",
            "lr": AUTO_LR_HELP if model == AUTO else "",
        },
    )
    given: dict[str, str | None] = {}  # the user's own validation / test dataset, by JobSpec field
    with st.expander("Advanced options"):
        for section, title in SECTIONS.items():
            st.caption(title)
            raw |= render_options([o for o in opts.values() if o.advanced and o.section == section], model)
            if section == "data":
                given = render_given_sets(dataset, _datasets())
    name = st.text_input(
        "Run name (optional)", "", help=f"Shown on Explore and Compare; at most {NAME_MAX} characters."
    )
    if st.button("Train", type="primary", icon=":material/rocket_launch:", key="train"):
        with user_errors("Submitting the job"):
            values = widget_values(opts, raw)
            spec = build_job_spec(str(dataset.id), name=name.strip(), model=model, **values)
            spec = dataclasses.replace(
                spec, val_dataset_id=given.get("val_dataset_id"), test_dataset_id=given.get("test_dataset_id")
            )
            from mmcorr.jobs import submit

            job_id = submit(spec)  # also starts the local worker if none is alive
            st.session_state[Key.JOB.value] = job_id
            st.query_params[Param.JOB.value] = job_id
            st.rerun()


def _model_guide(container: Any, model: str) -> None:
    """What the chosen model is, and when each family is the right choice (from the measured figures)."""
    from mmcorr.config import MODEL_GUIDE

    container.markdown(f"**{model}**: {MODEL_GUIDE[model].summary}")
    with container.expander("Which model?", icon=":material/help:"):
        rows = "".join(f"| **{name}** | {guide.when} |\n" for name, guide in MODEL_GUIDE.items())
        st.markdown("| model | when it is the right choice |\n|---|---|\n" + rows)
        st.caption(GUIDE_FIGURES)


def _worker_health() -> None:
    from mmcorr.jobs import ensure_worker, worker_status

    status = worker_status()
    if status.alive:
        st.caption(f":material/check_circle: Worker running (pid {status.pid}).")
        return
    if not st.session_state.get(Key.AUTOSTARTED.value):
        # Auto-start once per session (a no-op when MMCORR_AUTOSTART_WORKER=0); after that only the
        # button does, so a worker that keeps dying is reported instead of restarted every 2 s.
        st.session_state[Key.AUTOSTARTED.value] = True
        with user_errors("Starting the worker"):
            status = ensure_worker()
        if status.alive:
            st.caption(f":material/check_circle: Worker started (pid {status.pid}).")
            return
    st.warning("The background worker is not running: queued jobs will wait.", icon=":material/warning:")
    if st.button("Start worker", icon=":material/play_arrow:"):
        with user_errors("Starting the worker"):
            ensure_worker()
            st.rerun()


def _workers() -> None:
    """Every worker sharing this job store (one machine, or a fleet on Redis + PostgreSQL)."""
    from mmcorr.jobs import list_workers

    workers = list_workers()
    count = {state: sum(w.state.value == state for w in workers) for state in ("idle", "busy", "stale")}
    label = f"Workers: {count['idle'] + count['busy']} alive, {count['busy']} busy"
    if count["stale"]:
        label += f", {count['stale']} stale"
    with st.expander(label, icon=":material/dns:"):
        if not workers:
            st.caption("No worker is running. The first job you submit starts one on this machine.")
            return
        st.dataframe(
            [
                {
                    "worker": w.name,
                    "host": w.host,
                    "pid": w.pid,
                    "state": w.state.value,
                    "job": w.job_id or "",
                    "last heartbeat": f"{w.heartbeat_age:.0f} s ago",
                    "threads": w.threads,
                }
                for w in workers
            ],
            hide_index=True,
        )
        if count["stale"]:
            st.caption(
                "A stale worker has stopped sending heartbeats (its process or machine died); "
                "its job is marked failed 'worker lost' and can be resubmitted to resume."
            )


def _panel(job_id: str) -> None:
    with user_errors("Reading the job"):
        _panel_body(job_id)


def _panel_body(job_id: str) -> None:
    from mmcorr.jobs import JobState, cancel, get_job, progress
    from mmcorr.viz import training_curves

    job = get_job(job_id)
    state = _state(job)
    done = job.is_terminal
    title = job.name or job.spec.model.model
    st.subheader(f"Job {job_id} · {plain(title)}")
    m = st.columns(4)
    m[0].metric("State", state)
    m[1].metric("Epoch", f"{job.epoch or 0} / {job.epochs or job.spec.train.epochs}")
    if state == JobState.QUEUED.value:
        position = "-" if job.queue_position is None else str(job.queue_position + 1)
        m[2].metric("Queue position", position, help="1 = next to run.")
    else:
        m[2].metric("Started", (job.started or "-")[11:19] or "-", help="UTC time the worker picked it up.")
    eta = job.eta_seconds
    m[3].metric("ETA", "-" if done or eta is None else f"{eta:.0f} s")
    total = max(int(job.epochs or job.spec.train.epochs or 1), 1)
    fraction = 1.0 if state == JobState.SUCCEEDED.value else min(int(job.epoch or 0) / total, 1.0)
    st.progress(fraction, text=f"{fraction:.0%}")
    if state == JobState.SUCCEEDED.value:
        st.success("Training finished and every held-out analysis is saved.", icon=":material/check_circle:")
        if job.run_dir:
            auto_choice(job.run_dir)
        st.session_state[Key.RUN.value] = job_id
        st.page_link(PagePath.EXPLORE.value, label="Explore this run", icon=":material/insights:")
    elif state == JobState.FAILED.value:
        st.error(plain(job.message or "The job failed."), icon=":material/error:")
    elif state == JobState.CANCELLED.value:
        st.warning(plain(job.message or "The job was cancelled."), icon=":material/cancel:")
    elif st.button("Cancel", icon=":material/stop_circle:", key=f"cancel_{job_id}"):
        cancel(job_id)
        st.rerun()
    history = progress(job_id)
    if job.spec.model.model == "cca":
        st.caption("Linear CCA is fitted in closed form: one step, no training curve.")
    elif len(history):
        st.plotly_chart(
            training_curves(history, title="Loss and validation correlation").update_layout(
                legend=LEGEND_BELOW
            ),
            theme=None,
            key="live_curves",
        )
    elif not done:
        st.caption("Curves appear after the first epoch.")
    if not done:
        _worker_health()
    if done and st.session_state.get(Key.POLLING.value) == job_id:
        # The job ended during a timed fragment run: one full rerun rebuilds the page without the
        # timer, which is how polling stops.
        st.session_state.pop(Key.POLLING.value, None)
        st.rerun()


st.title("Train")
st.caption("Jobs run in a background worker: you can leave this page and come back, or share the URL.")

# The selected job first (from ?job= or this session), then the form for a new one.
job_id = current_job_id()
if job_id:
    with user_errors("Reading the job"):
        from mmcorr.jobs import get_job

        running = not get_job(job_id).is_terminal
        if running:
            st.session_state[Key.POLLING.value] = job_id
        st.fragment(run_every=POLL_SECONDS if running else None)(_panel)(job_id)
    st.divider()
    st.subheader("New training job")
with user_errors("Loading datasets"):
    chosen_dataset = _dataset_picker()
    if chosen_dataset is not None:
        _form(chosen_dataset)
with user_errors("Reading the worker list"):
    _workers()
