"""Train: pick a dataset and a model, submit a background job, watch it live.

The page never trains: "Train" submits a JobSpec to the job store and the worker runs it. The job id
lives in the URL (``?job=``), so a reload or a shared link shows the same job. The status panel is a
fragment that re-runs every two seconds while the job is queued or running, and stops when it ends.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages._ui import (
    LEGEND_BELOW,
    MODEL_HELP,
    Key,
    PagePath,
    Param,
    current_job_id,
    ensure_routed,
    user_errors,
)

ensure_routed()

POLL_SECONDS = 2.0


def _state(job: Any) -> str:
    return str(getattr(job.state, "value", job.state))


def _dataset_picker() -> Any | None:
    from mmcorr.data import DatasetRegistry

    datasets = DatasetRegistry().list()
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


def _hidden(text: str) -> tuple[int, ...]:
    from mmcorr import MmcorrError

    try:
        sizes = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        sizes = ()
    if not sizes:
        raise MmcorrError(
            f"The 'hidden' parameter must be comma-separated layer sizes such as 256,256. Got {text!r} instead."
        )
    return sizes


def _form(dataset: Any) -> None:
    dataset_id = str(dataset.id)
    # Linear CCA finds at most min(feature counts) components: default to a latent that fits.
    narrowest = min(dataset.modalities.values(), default=10)
    from mmcorr.config import (
        MODEL_NAMES,
        AnalysisConfig,
        DataConfig,
        JobSpec,
        ModelConfig,
        TrainConfig,
        resolve_lr,
    )

    # Widget defaults are the library's defaults, so the page and the Python API never drift apart.
    m0, t0, a0 = ModelConfig(), TrainConfig(), AnalysisConfig()
    c1, c2 = st.columns([1, 2])
    model = c1.selectbox("Model", list(MODEL_NAMES), index=list(MODEL_NAMES).index("dccae"), key="model")
    c2.markdown(f"**{model}**: {MODEL_HELP.get(model, '')}")
    c = st.columns(4)
    latent_dim = c[0].number_input(
        "Latent size",
        1,
        512,
        max(1, min(m0.latent_dim, narrowest)),
        key="latent_dim",
        help=f"Dimensions of the shared space, 1-512 (2-50 typical). Linear CCA allows at most the "
        f"narrowest modality's feature count ({narrowest} here).",
    )
    epochs = c[1].number_input(
        "Epochs",
        1,
        10000,
        t0.epochs,
        help="Maximum passes over the training split, 1-10000 (early stopping may end sooner).",
        disabled=model == "cca",
    )
    batch_size = c[2].number_input(
        "Batch size",
        2,
        65536,
        t0.batch_size,
        help="Samples per step, 32-1024 typical; deep CCA needs more samples per batch than latent dims.",
        disabled=model == "cca",
    )
    lr = c[3].number_input(
        "Learning rate",
        1e-6,
        1.0,
        resolve_lr(model),
        format="%.1e",
        step=1e-4,
        help="AdamW step size, 1e-4 to 1e-2 typical. Starts at the model's tuned rate "
        "(5e-3 for deep CCA, 1e-3 for the others).",
        key=f"lr_{model}",  # one per model: switching models shows that model's rate
        disabled=model == "cca",
    )
    with st.expander("Advanced options"):
        a = st.columns(4)
        hidden = a[0].text_input(
            "Hidden layers",
            ",".join(str(h) for h in m0.hidden),
            key="hidden",
            help="Encoder layer sizes, comma-separated; decoders mirror them.",
        )
        dropout = a[1].slider(
            "Dropout", 0.0, 0.9, m0.dropout, 0.05, help="Dropout after hidden layers, 0-0.3 typical."
        )
        recon_weight = a[2].number_input(
            "Reconstruction weight",
            0.0,
            100.0,
            m0.recon_weight,
            help="Weight of reconstruction, 0-100 (0.1-10 typical).",
        )
        corr_weight = a[3].number_input(
            "Correlation weight",
            0.0,
            100.0,
            m0.corr_weight,
            help="Weight of the correlation term (corrae, dccae), 0-100 (0.1-10 typical).",
        )
        b = st.columns(4)
        kl_weight = b[0].number_input(
            "KL weight (mvae)",
            0.0,
            100.0,
            m0.kl_weight,
            help="beta of the VAE's KL term, 0-100 (0.1-1 typical).",
        )
        modality_dropout = b[1].slider(
            "Modality dropout",
            0.0,
            0.9,
            m0.modality_dropout,
            0.05,
            help="Probability of hiding a modality in training (ae, mvae) so it learns to infer it, 0-0.5.",
        )
        cca_reg = b[2].number_input(
            "CCA ridge",
            1e-8,
            1.0,
            m0.cca_reg,
            format="%.0e",
            help="Added to covariances, 1e-6 to 1e-1; raise it when samples are few relative to features.",
        )
        seed = b[3].number_input("Seed", 0, 2**31 - 1, 0, help="Same seed, same split and same run.")
        d = st.columns(4)
        patience = d[0].number_input(
            "Early-stopping patience",
            0,
            10000,
            t0.patience,
            help="Epochs without validation gain before stopping; 0 off.",
        )
        pca_dim = d[1].number_input(
            "PCA dims (0 = off)",
            0,
            100000,
            0,
            help="Reduce each wider modality to this many principal components first (50-500 typical).",
        )
        log1p = d[2].checkbox("log1p", help="Apply log(1 + x) first: for non-negative counts such as RNA.")
        permutations = d[3].number_input(
            "Null permutations",
            0,
            10000,
            a0.permutations,
            key="permutations",
            help="Shuffled-pairing rounds for p-values, 100-1000.",
        )
    name = st.text_input("Run name (optional)", "", help="Shown on Explore and Compare.")
    if st.button("Train", type="primary", icon=":material/rocket_launch:", key="train"):
        with user_errors("Submitting the job"):
            spec = JobSpec(
                dataset_id=dataset_id,
                model=ModelConfig(
                    model=model,  # type: ignore[arg-type]
                    latent_dim=int(latent_dim),
                    hidden=_hidden(hidden),
                    dropout=float(dropout),
                    recon_weight=float(recon_weight),
                    corr_weight=float(corr_weight),
                    kl_weight=float(kl_weight),
                    modality_dropout=float(modality_dropout),
                    cca_reg=float(cca_reg),
                ),
                train=TrainConfig(
                    epochs=int(epochs),
                    batch_size=int(batch_size),
                    lr=float(lr),
                    patience=int(patience),
                    seed=int(seed),
                ),
                data=DataConfig(log1p=bool(log1p), pca_dim=int(pca_dim) or None, split_seed=int(seed)),
                analysis=AnalysisConfig(permutations=int(permutations), seed=int(seed)),
                name=name.strip(),
            )
            from mmcorr.jobs import submit

            job_id = submit(spec)  # also starts the local worker if none is alive
            st.session_state[Key.JOB.value] = job_id
            st.query_params[Param.JOB.value] = job_id
            st.rerun()


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
    st.subheader(f"Job {job_id} · {title}")
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
        st.session_state[Key.RUN.value] = job_id
        st.page_link(PagePath.EXPLORE.value, label="Explore this run", icon=":material/insights:")
    elif state == JobState.FAILED.value:
        st.error(job.message or "The job failed.", icon=":material/error:")
    elif state == JobState.CANCELLED.value:
        st.warning(job.message or "The job was cancelled.", icon=":material/cancel:")
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
