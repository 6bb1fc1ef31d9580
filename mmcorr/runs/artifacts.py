"""The tables and arrays of a run bundle, computed from a fitted model's latents.

:func:`latents_frame` (latents.parquet), :func:`umap_frame` (umap.parquet), :func:`feature_corr`
(feature_correlation.parquet) and :func:`similarity` (similarity.npz). numpy / pandas in and out;
no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmcorr import analysis
from mmcorr._validation import MmcorrError
from mmcorr.analysis.feature_map import FeatureMapColumn
from mmcorr.config import UMAP_AUTO_MIN_SAMPLES, AnalysisConfig, JobSpec
from mmcorr.data import JOINT, PairedDataset, dense_rows
from mmcorr.data._chunks import column_mean_var
from mmcorr.runs.files import ID_COLUMN, PAIR_COLUMN, SPLIT_COLUMN, SplitName, latent_columns
from mmcorr.runs.schema import Pair, pairs_of
from mmcorr.runs.tables import SimilarityData

__all__ = [
    "latents_frame",
    "umap_frame",
    "umap_table",
    "umap_wanted",
    "feature_corr",
    "similarity",
    "SIMILARITY_FULL_LIMIT",
    "SIMILARITY_TOP_K",
]

#: The full test x test similarity matrix is stored up to this many test samples (100 MB float32).
SIMILARITY_FULL_LIMIT = 5000
#: Beyond the limit, each test sample's top-k most similar samples of the other modality are stored.
SIMILARITY_TOP_K = 10


def latents_frame(
    ds: PairedDataset, latents: dict[str, np.ndarray], split: np.ndarray | None = None
) -> pd.DataFrame:
    """The latents table: id, split, <modality>_i per modality, joint_i, then the metadata columns.

    latents: name -> (n, k) arrays (each modality and JOINT), rows in ``ds`` order (NaN where absent).
    split: (n,) split names, or None (all "test", as for new data).
    """
    cols: dict[str, Any] = {ID_COLUMN: ds.ids.astype(str)}
    cols[SPLIT_COLUMN] = split if split is not None else np.full(ds.n_samples, SplitName.TEST.value)
    for name in [*ds.names, JOINT]:
        z = np.asarray(latents[name], dtype=np.float32)
        cols.update(zip(latent_columns(name, z.shape[1]), z.T, strict=True))
    frame = pd.DataFrame(cols)
    if ds.metadata is not None:
        meta = ds.metadata.reset_index(drop=True)
        # metadata columns never overwrite the bundle's own columns
        meta = meta.rename(columns={c: f"meta_{c}" for c in meta.columns if c in frame.columns})
        frame = pd.concat([frame, meta], axis=1)
    return frame


def umap_wanted(mode: str, n_samples: int) -> bool:
    """Whether a run of ``n_samples`` samples embeds its latents with UMAP under option ``umap``."""
    return mode == "on" or (mode == "auto" and n_samples >= UMAP_AUTO_MIN_SAMPLES)


def umap_frame(
    ds: PairedDataset, latents: dict[str, np.ndarray], frame: pd.DataFrame, spec: JobSpec
) -> pd.DataFrame:
    """umap.parquet of a run being bundled: every modality's latents in one 2-D embedding."""
    n_meta = 0 if ds.metadata is None else ds.metadata.shape[1]
    return umap_table({name: latents[name] for name in ds.names}, frame, n_meta, spec.analysis)


def umap_table(
    latents: dict[str, np.ndarray], frame: pd.DataFrame, n_meta: int, cfg: AnalysisConfig
) -> pd.DataFrame:
    """The UMAP of ``latents`` (modality -> (n, k), rows in ``frame`` order) under ``cfg``'s
    neighbours, min_dist, seed and point cap, with each sample's split and its ``n_meta`` metadata
    columns (the last columns of ``frame``, the latents table) beside its points."""
    emb = analysis.umap_embedding(
        latents,
        frame[ID_COLUMN].to_numpy().astype(str),
        n_neighbors=cfg.umap_neighbors,
        min_dist=cfg.umap_min_dist,
        seed=cfg.seed,
        max_points=cfg.max_umap_points,
    )
    # latents_frame puts the metadata columns last
    keep = [ID_COLUMN, SPLIT_COLUMN, *frame.columns[frame.shape[1] - n_meta :]]
    extra = frame[keep].drop_duplicates(ID_COLUMN)
    emb = emb.assign(**{ID_COLUMN: emb[ID_COLUMN].astype(str)})
    return emb.merge(extra, on=ID_COLUMN, how="left", validate="many_to_one")


def _top_variance(x: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k columns of x with the highest variance over ``rows`` (the training split);
    x may be a CSR matrix (read in row chunks, never densified whole)."""
    var = column_mean_var(x, rows)[1] if rows.size > 1 else np.zeros(x.shape[1])
    return np.sort(np.argsort(-var, kind="stable")[:k])


def _pair_map(
    ds: PairedDataset,
    latents: dict[str, np.ndarray],
    splits: dict[SplitName, np.ndarray],
    pair: Pair,
    spec: JobSpec,
) -> pd.DataFrame:
    cfg = spec.analysis
    a, b = pair
    both = ds.mask[:, ds.names.index(a)] & ds.mask[:, ds.names.index(b)]
    train = splits[SplitName.TRAIN][both[splits[SplitName.TRAIN]]]
    test = splits[SplitName.TEST][both[splits[SplitName.TEST]]]
    fa = _top_variance(ds.values[a], train, cfg.top_features)
    fb = _top_variance(ds.values[b], train, cfg.top_features)
    fmap = analysis.feature_correlation_map(
        dense_rows(ds.values[a], test, fa),
        dense_rows(ds.values[b], test, fb),
        latents[a][test],
        latents[b][test],
        features_a=[ds.features[a][j] for j in fa],
        features_b=[ds.features[b][j] for j in fb],
        permutations=cfg.permutations,
        fdr=cfg.fdr,
        seed=cfg.seed,
    )
    table = fmap.to_frame()
    table.insert(0, PAIR_COLUMN, pair.key)
    return table


def feature_corr(
    ds: PairedDataset, latents: dict[str, np.ndarray], splits: dict[SplitName, np.ndarray], spec: JobSpec
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Feature x feature maps for every modality pair on the test split; skipped pairs with why."""
    parts, notes = [], {}
    for pair in pairs_of(ds.names):
        try:
            parts.append(_pair_map(ds, latents, splits, pair, spec))
        except MmcorrError as exc:
            notes[pair.key] = str(exc)
    if not parts:
        empty = [
            PAIR_COLUMN,
            FeatureMapColumn.FEATURE_A,
            FeatureMapColumn.FEATURE_B,
            FeatureMapColumn.LATENT_CORR,
            FeatureMapColumn.PEARSON,
        ]
        return pd.DataFrame(columns=empty), notes
    return pd.concat(parts, ignore_index=True), notes


def similarity(ds: PairedDataset, latents: dict[str, np.ndarray], test: np.ndarray) -> SimilarityData:
    """Similarity of the first modality pair's test samples: full matrix, or top-k beyond the limit."""
    a, b = ds.names[0], ds.names[1]
    both = ds.mask[test, 0] & ds.mask[test, 1]
    rows = test[both]
    za, zb = latents[a][rows], latents[b][rows]
    ids = ds.ids[rows].astype(str)
    if rows.size <= SIMILARITY_FULL_LIMIT:
        matrix = analysis.similarity_matrix(za, zb).astype(np.float32)
        return SimilarityData(Pair(a, b), ids, ids, matrix=matrix)
    idx, scores = analysis.top_k_neighbours(za, zb, k=SIMILARITY_TOP_K)
    return SimilarityData(
        Pair(a, b),
        ids,
        ids,
        indices=np.asarray(idx, dtype=np.int64),
        scores=np.asarray(scores, dtype=np.float32),
    )
