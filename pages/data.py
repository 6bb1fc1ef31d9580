"""Data: upload one file per modality (plus optional labels), check the pairing, save the dataset.

A modality is a numeric table, a .zip of images / .txt files / audio clips, or a text column of a
table; raw modalities are previewed (thumbnails, snippets, players) once paired.

Uploaded bytes are written under the state directory, named by their content hash, and parsed by one
library call (``mmcorr.data.load_paired``); "Save dataset" registers the result server-side at once,
so it survives a reload and the worker can read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from pages._ui import Key, PagePath, ensure_routed, plain, user_errors

ensure_routed()


def _types() -> tuple[list[str], list[str]]:
    from mmcorr.data import upload_types

    return upload_types(), upload_types(tables_only=True)


DATA_TYPES, TABLE_TYPES = _types()
AUTO = "(auto-detect)"
NUMERIC = "numeric features"


def _stage(uploaded: Any) -> Path:
    """Stage one upload as a file the loaders can read (same bytes -> same path -> cache hit)."""
    from mmcorr.data import stage_upload

    return stage_upload(str(uploaded.name), uploaded.getvalue())


def _default_name(i: int) -> None:
    """Name modality i after its uploaded file (rna.csv -> rna) until the user types a name.

    The uploader's value is already in the session at the start of the rerun it triggers, so the
    name box can follow it before it is drawn; a name the user typed is never overwritten.
    """
    from mmcorr.data import sanitize_name

    key, auto_key = f"modality_name_{i}", f"modality_auto_name_{i}"
    placeholder = f"view_{i + 1}"
    st.session_state.setdefault(key, placeholder)
    upload = st.session_state.get(f"modality_file_{i}")
    if upload is None or st.session_state[key] not in (placeholder, st.session_state.get(auto_key)):
        return
    suggested = sanitize_name(Path(str(upload.name)).stem)
    st.session_state[key] = st.session_state[auto_key] = suggested


def _text_column(i: int, staged: Path) -> str | None:
    """For a table with text columns: the column that is the modality's text, or None (numeric)."""
    from mmcorr.data.uploads import text_columns

    found = text_columns(staged)
    if not found.columns:
        return None
    options = [NUMERIC, *found.columns]
    chosen = st.selectbox(
        f"Read modality {i + 1} as",
        options,
        index=options.index(found.suggested) if found.suggested else 0,
        key=f"text_column_{i}",
        format_func=lambda c: c if c == NUMERIC else f"text in column {c!r}",
        help="This table has text columns. Numeric features: every number column is a feature (text "
        "columns are dropped). Text: each row's text in that column is the sample (featurised as "
        "word and character n-grams).",
    )
    return None if chosen == NUMERIC else str(chosen)


def _show_media(dataset: Any, mod: str) -> bool:
    """A raw modality's first samples: thumbnails, text snippets or players. False for a table."""
    from mmcorr.data.uploads import media_preview

    preview = media_preview(dataset, mod)
    if preview is None:
        return False
    items = preview.items
    if preview.kind == "image":
        st.image(
            [data for _, data, _ in items],
            caption=[plain(sample_id) for sample_id, _, _ in items],  # captions are Markdown
            width=96,
            output_format="PNG",
        )
    elif preview.kind == "text":
        for sample_id, text, _ in items:
            st.markdown(f"**{plain(sample_id)}**: {plain(text)}")
    else:
        for col, (sample_id, clip, mime) in zip(st.columns(max(len(items), 1)), items, strict=False):
            col.caption(plain(sample_id))
            col.audio(clip, format=mime)
    st.caption(
        f"The first {len(items)} of {dataset.n_samples:,} samples; the model sees each as "
        f"{dataset.dims[mod]:,} features: {preview.features}."
    )
    return True


def _layers(path: str, name: str) -> dict[str, list[str]]:
    """The layers each AnnData / MuData modality of an uploaded file offers besides X."""
    from mmcorr.data import file_layers

    return file_layers(path, name)


def _obs_columns(files: dict[str, str]) -> list[str]:
    """The obs columns of the uploaded AnnData / MuData files, offered as labels."""
    from mmcorr.data import obs_columns

    return list(dict.fromkeys(c for path in files.values() for c in obs_columns(path)))


def _header(path: Path) -> list[str]:
    """Column names of a table file, for the id-column picker (reads the header only)."""
    from mmcorr.data import table_columns

    return table_columns(path)


@st.cache_data(show_spinner="Reading and pairing the files...", max_entries=2)
def _pair(files: dict[str, str], options: dict[str, Any]) -> tuple[Any, Any]:
    from mmcorr.data import load_paired

    return load_paired(files, **options)


st.title("Data")
st.caption(
    "One file per modality: a table whose rows are samples and columns features (csv, tsv, parquet, "
    "npy, npz, h5ad, or h5mu holding several modalities); a .zip of images (PNG, JPEG, WebP), of .txt "
    "files or of audio clips (WAV, FLAC, OGG), one sample per file named by its id; or a table with a "
    "text column. Samples are paired by id (an id column, the file names in a zip, AnnData / MuData "
    "obs names), or by order when there is none."
)

n_modalities = int(
    st.columns([1, 3])[0].number_input(
        "Number of modalities",
        min_value=1,
        max_value=8,
        value=2,
        help="How many files to pair (1 when a single h5mu file holds every modality).",
    )
)

files: dict[str, str] = {}
tables: list[Path] = []  # the staged files, for the id-column picker
with user_errors("Reading the upload"):
    cols = st.columns(min(n_modalities, 4))
    for i in range(n_modalities):
        with cols[i % len(cols)]:
            _default_name(i)
            name = st.text_input(
                f"Modality {i + 1} name",
                key=f"modality_name_{i}",
                help="A short name: a letter, then letters, digits, '_' or '-' (e.g. rna, image). "
                "It starts as the uploaded file's name.",
            ).strip()
            upload = st.file_uploader(
                f"Modality {i + 1} file",
                type=DATA_TYPES,
                key=f"modality_file_{i}",
                help="A table, or a .zip of images, .txt files or audio clips (zip a folder to upload it).",
            )
            if upload is not None:
                staged = _stage(upload)
                tables.append(staged)
                column = _text_column(i, staged)
                files[name] = str(staged) if column is None else f"{staged}:{column}"

with st.expander("Labels / metadata and pairing options", expanded=False):
    labels_upload = st.file_uploader(
        "Labels or metadata table (optional)",
        type=TABLE_TYPES,
        key="labels_file",
        help="A table with the same sample ids: class labels and any columns to colour plots by.",
    )
    labels_path = _stage(labels_upload) if labels_upload is not None else None
    label_columns = _header(labels_path) if labels_path is not None else _obs_columns(files)
    label_column = st.selectbox(
        "Label column",
        [AUTO, *label_columns],
        help="The column of class labels (used for stratified splits, colouring and label precision).",
    )
    id_choices = _header(tables[0]) if tables else []
    id_column = st.selectbox(
        "Sample id column",
        [AUTO, *id_choices],
        help="The column that names each sample in every file. Auto-detect looks for a column named "
        "id / sample / cell / barcode, else pairs rows by order.",
    )
    how = st.radio(
        "Samples to keep",
        ["inner", "outer"],
        horizontal=True,
        help="inner: only samples present in every modality. outer: all samples, with missing "
        "modalities masked (ae and mvae train on them; metrics use fully paired test samples).",
    )
    nan = st.radio(
        "Missing values (NaN)",
        ["error", "impute"],
        horizontal=True,
        help="error: refuse files with NaN and say where. impute: replace NaN by the feature mean.",
    )
    layers: dict[str, str] = {}
    for file_name, file_path in files.items():
        for key, offered in _layers(file_path, file_name).items():
            if offered:
                chosen = st.selectbox(
                    f"Values of {plain(key)}",
                    ["X", *offered],
                    key=f"layer_{file_name}_{key}",
                    help="AnnData / MuData: the matrix to read, X or one of the layers (e.g. raw counts).",
                )
                if chosen != "X":
                    layers[key] = chosen


def _registered() -> None:
    """The datasets already saved: they survive reloads and restarts."""
    from mmcorr.data import DatasetRegistry

    saved = DatasetRegistry().list()
    if not saved:
        return
    with st.expander(f"Registered datasets ({len(saved)})"):
        st.dataframe(
            pd.DataFrame(
                {
                    "name": [d.name for d in saved],
                    "id": [d.id for d in saved],
                    "samples": [d.n_samples for d in saved],
                    "modalities": [", ".join(f"{m} ({n})" for m, n in d.modalities.items()) for d in saved],
                    "created": [d.created[:19].replace("T", " ") for d in saved],
                }
            ),
            hide_index=True,
            width="stretch",
        )


if len(files) < n_modalities:
    with user_errors("Listing datasets"):
        _registered()
    st.info(
        f"Upload {n_modalities - len(files)} more file(s) to see the pairing report. "
        "No data? Load a demo from the Home page.",
        icon=":material/upload:",
    )
    st.stop()

options: dict[str, Any] = {
    "id_column": None if id_column == AUTO else id_column,
    "how": how,
    "nan": nan,
    "labels": str(labels_path) if labels_path is not None else None,
    "label_column": None if label_column == AUTO else label_column,
    "layers": layers,
}

with user_errors("Pairing the files"):
    dataset, report = _pair(files, options)

    st.subheader("Pairing report")
    summary = st.columns(1 + len(dataset.names))
    summary[0].metric("Paired samples", f"{dataset.n_samples:,}")
    for col, mod in zip(summary[1:], dataset.names, strict=False):
        col.metric(f"{plain(mod)} features", f"{dataset.dims[mod]:,}")
    st.code(report.format(), language=None)
    for warning in report.warnings:
        st.warning(plain(warning), icon=":material/warning:")

    st.subheader("Preview")
    from mmcorr.data import dense_rows

    tabs = st.tabs([plain(n) for n in dataset.names] + (["metadata"] if dataset.metadata is not None else []))
    for tab, mod in zip(tabs, dataset.names, strict=False):
        with tab:
            if _show_media(dataset, mod):
                continue
            preview = pd.DataFrame(
                dense_rows(dataset.values[mod], slice(0, 10), slice(0, 20)),
                index=pd.Index(dataset.ids[:10], name="id"),
                columns=dataset.features[mod][:20],
            )
            st.dataframe(preview, width="stretch")
            st.caption(f"First 10 samples and 20 of {dataset.dims[mod]} features.")
    if dataset.metadata is not None:
        with tabs[-1]:
            st.dataframe(dataset.metadata.head(10), width="stretch")

    st.subheader("Save")
    default_name = tables[0].stem if len(files) == 1 else "-".join(files)[:40]
    dataset_name = st.text_input(
        "Dataset name",
        value=default_name or "my-data",
        key="dataset_name",
        help="Shown in the dataset pickers.",
    )
    if st.button("Save dataset", type="primary", icon=":material/save:", key="save_dataset"):
        from mmcorr.data import DatasetRegistry

        dataset_id = DatasetRegistry().save(dataset, dataset_name, report)
        st.session_state[Key.DATASET.value] = dataset_id
        st.success(f"Saved as dataset {plain(dataset_id)}.", icon=":material/check_circle:")
        st.page_link(PagePath.TRAIN.value, label="Train a model on it", icon=":material/model_training:")
