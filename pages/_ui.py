"""What every dashboard page shares: session / URL keys, page paths, error display, cached loaders.

Not a page itself (``app.py`` registers pages explicitly). Session state holds ids only; the cached
loaders below are keyed by the run directory, so a finished run's arrays are read from disk once.
Run bundles are written once and never change, which is what makes caching them by path correct.
"""

from __future__ import annotations

import contextlib
import re
import runpy
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mmcorr import MmcorrError
from mmcorr.data import DatasetRegistry
from mmcorr.runs import (
    BundleFile,
    FeatureMapTable,
    RunMetrics,
    SimilarityData,
    TrainingHistory,
    open_run,
)

# Dataset / job / run ids as the registry and the job store make them; anything else from a URL
# is ignored (it would otherwise become part of a filesystem path).
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,127}$")


APP_PATH = Path(__file__).resolve().parents[1] / "app.py"


class Key(StrEnum):
    """Keys of ``st.session_state``: ids only, never models or arrays."""

    DATASET = "mmcorr_dataset_id"
    JOB = "mmcorr_job_id"
    RUN = "mmcorr_run_id"
    # The job whose status panel is polling (a job id): lets the panel stop its own timer.
    POLLING = "mmcorr_polling_job_id"
    # True once this session tried to auto-start the worker (a flag, not data).
    AUTOSTARTED = "mmcorr_worker_autostarted"


class Param(StrEnum):
    """URL query parameters, so that a reload or a shared link shows the same job / run."""

    JOB = "job"
    RUN = "run"


class PagePath(StrEnum):
    HOME = "pages/home.py"
    DATA = "pages/data.py"
    TRAIN = "pages/train.py"
    EXPLORE = "pages/explore.py"
    COMPARE = "pages/compare.py"


#: Legend under the plot: on the right it covers the second (validation correlation) axis.
LEGEND_BELOW: dict[str, Any] = {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0}


def ensure_routed() -> None:
    """Make every page render inside app.py's router (page config, password gate, navigation).

    Streamlit decides once per process, before any script runs, whether a ``pages/`` folder next to
    the main script means legacy auto-discovery; only a call to ``st.navigation`` turns that off. So
    the first visit after a server start to a page URL (a bookmark to ``/explore``) would run the
    page file alone: no wide layout, a legacy sidebar listing every file, and no password gate.
    Called first by every page: in that case it switches the legacy mode off, runs app.py (which
    renders this same page through its navigation, widget state intact) and stops the bare run.
    A rerun instead would drop the click that triggered this run.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    runpy.run_path(str(APP_PATH), run_name="__main__")  # app.py routes only when run as __main__
    st.stop()


# Characters Streamlit's Markdown acts on anywhere in a line (emphasis, code, links and images,
# raw HTML, entities, strikethrough, LaTeX, tables, directives and icons), and those it acts on at
# the start of a line (headings, lists, setext underlines; "1." and "1)" start ordered lists).
_MD_INLINE = re.compile(r"([\\`*_\[\]<>!~$|&:{}])")
_MD_LINE_START = re.compile(r"^([ \t]*)([#+\-=])", re.MULTILINE)
_MD_ORDERED = re.compile(r"^([ \t]*\d+)([.)])", re.MULTILINE)


def plain(text: object) -> str:
    """``text`` with its Markdown backslash-escaped, so that st.markdown, st.caption, st.error,
    titles, labels and help show it exactly as typed.

    For every user-supplied string (job, dataset, column and feature names, ids, cell values, error
    messages quoting them): an image link in a job name must not make the browser fetch a URL, and
    ``**`` in a column name is two asterisks, not bold. CommonMark allows a backslash before any
    ASCII punctuation, so the escaped text reads back as the original.
    """
    escaped = _MD_INLINE.sub(r"\\\1", str(text))
    escaped = _MD_LINE_START.sub(r"\1\\\2", escaped)
    return _MD_ORDERED.sub(r"\1\\\2", escaped)


@contextlib.contextmanager
def user_errors(what: str = "") -> Iterator[None]:
    """Show any error raised inside the block in ``st.error`` instead of a traceback.

    MmcorrError messages are written for people and are shown verbatim (as plain text: they quote
    file, column and cell values, see :func:`plain`). Streamlit's own control
    flow (st.rerun / st.stop) derives from BaseException and passes through untouched.
    """
    try:
        yield
    except MmcorrError as exc:
        st.error(plain(exc), icon=":material/error:")
    except Exception as exc:  # an unexpected failure: still no traceback in the page
        prefix = f"{what} failed" if what else "Something went wrong"
        st.error(plain(f"{prefix}: {type(exc).__name__}: {exc}"), icon=":material/error:")


def safe_id(value: Any) -> str | None:
    """``value`` if it looks like a dataset / job / run id, else None (ids come from URLs)."""
    if isinstance(value, str) and _ID_RE.match(value):
        return value
    return None


def current_job_id() -> str | None:
    """The job shown on the Train page: the URL's ``?job=`` wins over the session."""
    from_url = safe_id(st.query_params.get(Param.JOB.value))
    if from_url:
        st.session_state[Key.JOB.value] = from_url
        return from_url
    return safe_id(st.session_state.get(Key.JOB.value))


# Cached loaders, keyed by the run folder (a str from RunInfo.path, so the key is cheap and includes
# MMCORR_HOME). max_entries bounds memory: a 100k-sample run's latents are tens of MB.
@st.cache_data(show_spinner=False, max_entries=8)
def load_metrics(run_dir: str) -> RunMetrics:
    return open_run(run_dir).metrics()


@st.cache_data(show_spinner=False, max_entries=8)
def load_history(run_dir: str) -> TrainingHistory:
    return open_run(run_dir).history()


@st.cache_data(show_spinner=False, max_entries=4)
def load_latents(run_dir: str) -> pd.DataFrame:
    return open_run(run_dir).latents()


@st.cache_data(show_spinner=False, max_entries=4)
def load_umap(run_dir: str) -> pd.DataFrame:
    return open_run(run_dir).umap()


@st.cache_data(show_spinner=False, max_entries=4)
def load_feature_map(run_dir: str) -> FeatureMapTable:
    return open_run(run_dir).feature_map()


@st.cache_data(show_spinner=False, max_entries=4)
def load_similarity(run_dir: str) -> SimilarityData:
    return open_run(run_dir).similarity()


@st.cache_data(show_spinner=False, max_entries=4)
def load_file_bytes(run_dir: str, file: BundleFile) -> bytes:
    return open_run(run_dir).file_bytes(file)


def zip_run(run_dir: str) -> bytes:
    """The whole run folder as a zip (built on demand, when the download button is clicked)."""
    return open_run(run_dir).zip_bytes()


# Feature values for colouring the UMAP, read one column at a time from the registered dataset
# (never the whole matrix). ``root`` keys the cache by the registry's folder (MMCORR_HOME).
@st.cache_data(show_spinner=False, max_entries=16)
def load_feature_names(dataset_id: str, modality: str, root: str) -> list[str]:
    """Feature names of one modality of a registered dataset ([] when it is gone)."""
    try:
        return DatasetRegistry(root).feature_names(dataset_id, modality)
    except MmcorrError:
        return []


@st.cache_data(show_spinner=False, max_entries=16)
def load_feature_values(dataset_id: str, modality: str, feature: str, root: str) -> pd.Series:
    """One feature's values indexed by sample id (float); empty when the dataset is gone."""
    try:
        return DatasetRegistry(root).feature_values(dataset_id, modality, feature)
    except MmcorrError:
        return pd.Series(dtype=np.float64)


def registry_root() -> str:
    """The registry folder, as a cache key for the loaders above."""
    return str(DatasetRegistry().root)


def auto_choice(run_dir: str) -> None:
    """model=auto's choice and every candidate's validation score, from the finished run (nothing
    for a run whose family was asked for by name)."""
    from mmcorr.runs.choice import inputs_choice, model_choice

    run = load_metrics(run_dir).run
    rows = model_choice(run)
    if rows:
        st.markdown(
            f"**auto chose {plain(run.model)}**: the highest canonical correlation sum on the validation "
            "rows among the candidate families, each trained on the same training rows."
        )
        inputs = inputs_choice(run)
        if inputs:
            st.caption(f"Inputs: {plain(inputs)}.")
        st.dataframe(rows, hide_index=True)
