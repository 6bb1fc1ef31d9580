"""Held-out analyses of a shared latent space (numpy in, numpy / pandas out; no torch).

* :func:`canonical_correlation_test`: linear CCA fitted on training latents, canonical correlations
  measured on test, with a shuffled-pairing permutation null.
* :func:`similarity_matrix`, :func:`top_k_neighbours`, :func:`retrieval_metrics`: cosine similarity
  in the aligned space, blockwise, and cross-modal retrieval (Recall@k, MRR, median rank, FOSCTTM).
* :func:`cross_modal_neighbours`: a held-out sample's top-k samples of another modality, true match marked.
* :func:`prediction_r2`, :func:`linear_probe_accuracy`: cross-modal prediction and class separation.
* :func:`feature_correlation_map`: feature x feature map through the latent space beside plain
  Pearson, with a permutation null and Benjamini-Hochberg FDR.
* :func:`umap_embedding`, :func:`warm_umap`: one seeded UMAP of all modalities' latents.
"""

from __future__ import annotations

from mmcorr.analysis.canonical import (
    ALIGN_FIT_ON,
    MIN_FIT_ROWS_PER_DIM,
    CanonicalResult,
    canonical_correlation_test,
)
from mmcorr.analysis.embedding import UmapColumn, umap_embedding, warm_umap
from mmcorr.analysis.feature_map import (
    FeatureMap,
    FeatureMapColumn,
    benjamini_hochberg,
    feature_correlation_map,
)
from mmcorr.analysis.neighbours import Neighbours, cross_modal_neighbours
from mmcorr.analysis.prediction import linear_probe_accuracy, prediction_r2, r2_from_sums
from mmcorr.analysis.retrieval import (
    RetrievalMetric,
    retrieval_metrics,
    similarity_matrix,
    top_k_neighbours,
)

__all__ = [
    "ALIGN_FIT_ON",
    "MIN_FIT_ROWS_PER_DIM",
    "CanonicalResult",
    "Neighbours",
    "FeatureMap",
    "FeatureMapColumn",
    "RetrievalMetric",
    "UmapColumn",
    "benjamini_hochberg",
    "canonical_correlation_test",
    "cross_modal_neighbours",
    "feature_correlation_map",
    "linear_probe_accuracy",
    "prediction_r2",
    "r2_from_sums",
    "retrieval_metrics",
    "similarity_matrix",
    "top_k_neighbours",
    "umap_embedding",
    "warm_umap",
]
