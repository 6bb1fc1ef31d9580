"""The run bundle's vocabulary: file names, keys, column names and the format version, declared once.

A bundle is one folder per training run (see :class:`BundleFile`). Everything that writes or reads a
bundle takes its names from here, so no module spells a file name or a metrics key on its own.
"""

from __future__ import annotations

from enum import StrEnum

from mmcorr._version import BUNDLE_FORMAT
from mmcorr.analysis.embedding import UmapColumn
from mmcorr.data import JOINT

__all__ = [
    "UMAP_NOTE",
    "UMAP_PENDING",
    "BUNDLE_FORMAT",
    "BundleFile",
    "EVALUATION_FILE",
    "PREVIEWS_DIR",
    "PreviewFile",
    "MetricsKey",
    "RunKey",
    "SimilarityKey",
    "SplitName",
    "HistoryKey",
    "ID_COLUMN",
    "SPLIT_COLUMN",
    "MODALITY_COLUMN",
    "PAIR_COLUMN",
    "FEATURE_COLUMN",
    "R2_COLUMN",
    "PAIR_SEP",
    "DIRECTION_SEP",
    "JOINT",
    "UmapColumn",
    "latent_columns",
]


class BundleFile(StrEnum):
    """File names inside a run folder."""

    CONFIG = "config.json"  # the estimator's configs + bundle format (CorrelationModel.save)
    SPEC = "spec.json"  # the JobSpec that produced the run
    MODEL = "model.pt"  # weights (state_dict, loaded with weights_only=True)
    HISTORY = "history.jsonl"  # one JSON record per epoch, see HistoryKey
    METRICS = "metrics.json"  # held-out metrics, see MetricsKey and mmcorr.runs.schema.RunMetrics
    LATENTS = "latents.parquet"  # every sample: id, split, <modality>_i, joint_i, metadata
    UMAP = "umap.parquet"  # id, modality, x, y, split, metadata
    FEATURE_CORR = "feature_correlation.parquet"  # pair, feature_a, feature_b, latent_corr, ...
    SIMILARITY = "similarity.npz"  # see SimilarityKey
    PREDICTION_R2 = "prediction_r2.parquet"  # pair, feature, r2 (cross-modal prediction per feature)
    REPORT = "report.html"  # self-contained interactive report


#: Folder of a run with raw modalities (images, text, audio): what a person looks at per held-out
#: sample, see :class:`PreviewFile` and :mod:`mmcorr.runs.previews`. Absent for tables-only runs.
PREVIEWS_DIR = "previews"


class PreviewFile(StrEnum):
    """Files inside ``previews/``: an index, the ids, and per raw modality ``<stem>.previews.bin`` plus
    ``<stem>.previews.npy`` offsets, the registry's format (:mod:`mmcorr.data._previews`)."""

    INDEX = "index.json"  # format, the cap, and per modality its kind, file stem and count stored
    IDS = "ids.npy"  # (n,) unicode: the held-out sample ids that have a preview row


class MetricsKey(StrEnum):
    """Top-level keys of metrics.json (evaluation.json: RUN holds the run folder, plus N_SAMPLES and NOTES)."""

    BUNDLE_FORMAT = "bundle_format"
    VERSION = "mmcorr_version"
    CREATED = "created"
    RUN = "run"  # the run block, see RunKey
    MODALITIES = "modalities"
    CANONICAL = "canonical"  # "a|b" -> correlations, total, p_values, null_low, null_high, ...
    RETRIEVAL = "retrieval"  # "a->b" -> recall@1, recall@5, recall@10, mrr, median_rank, foscttm
    PREDICTION_R2 = "prediction_r2"  # "a->b" -> overall R^2 on the test split
    PREDICTION_BASELINE = "prediction_baseline_r2"  # "a->b" -> R^2 of predicting the training mean
    LINEAR_PROBE = "linear_probe_accuracy"  # on the joint latent, or None without labels
    SUMMARY = "summary"  # one number per headline metric (averaged over pairs) for leaderboards
    NOTES = "notes"  # evaluation.json: analyses skipped, with why
    N_SAMPLES = "n_samples"  # evaluation.json: the samples evaluated


class RunKey(StrEnum):
    """Keys of the run block of metrics.json."""

    NAME = "name"
    DATASET_ID = "dataset_id"
    MODEL = "model"
    LATENT_DIM = "latent_dim"
    LABEL_COLUMN = "label_column"
    N_SAMPLES = "n_samples"
    N_TRAIN = "n_train"
    N_VAL = "n_val"
    N_TEST = "n_test"
    TRAIN_SECONDS = "train_seconds"
    EPOCHS_RUN = "epochs_run"
    SEED = "seed"
    SOURCES = "sources"
    NOTES = "notes"
    HELD_OUT_SPLIT = "held_out_split"
    MODEL_CHOICE = "model_choice"


class HistoryKey(StrEnum):
    """Keys of one history.jsonl record (what the trainer and the closed-form fit write per epoch)."""

    EPOCH = "epoch"
    EPOCHS = "epochs"
    TRAIN = "train"  # loss part -> mean over the epoch's training batches
    VAL = "val"  # loss part -> value on the validation split ({} without one)
    VAL_CORR = "val_corr"  # mean held-out canonical correlation on validation, or null
    SECONDS = "seconds"


class SimilarityKey(StrEnum):
    """Arrays inside similarity.npz (all loadable with allow_pickle=False)."""

    PAIR = "pair"  # (2,) the modality names (a, b)
    IDS_A = "ids_a"  # (na,) test sample ids of the rows
    IDS_B = "ids_b"  # (nb,) test sample ids of the columns
    MATRIX = "similarity"  # (na, nb) cosine similarities, when n_test <= the full-matrix limit
    INDICES = "indices"  # (na, k) top-k neighbour column indices, beyond the limit
    SCORES = "scores"  # (na, k) their similarities


class SplitName(StrEnum):
    TRAIN = "train"
    VAL = "val"
    TEST = "test"


#: ``mmcorr evaluate`` writes its :class:`~mmcorr.runs.schema.Evaluation` here by default (in the run folder).
EVALUATION_FILE = "evaluation.json"

ID_COLUMN = UmapColumn.ID  # latents / umap tables: the sample id (as the UMAP embedding names it)
SPLIT_COLUMN = "split"
MODALITY_COLUMN = UmapColumn.MODALITY  # umap table: which modality's latent a point is
PAIR_COLUMN = "pair"  # feature_correlation / prediction_r2 tables: the pair's key
#: The key of the run note (metrics.json ``run.notes``) that says why a run has no umap.parquet.
UMAP_NOTE = "umap"
#: That note while ``mmcorr train``'s second step (:mod:`mmcorr.runs.embed`) has not written it yet.
UMAP_PENDING = (
    "UMAP not computed yet: mmcorr train embeds the latents in a second step, after the other "
    "results are written; `mmcorr umap --run RUN_DIR` computes it."
)
FEATURE_COLUMN = "feature"  # prediction_r2 table: the target feature
R2_COLUMN = "r2"  # prediction_r2 table: R^2 of that feature on the test split
PAIR_SEP = "|"  # key of an unordered modality pair: "a|b" (dataset order)
DIRECTION_SEP = "->"  # key of an ordered pair (retrieval, prediction): "a->b"


def latent_columns(name: str, k: int) -> list[str]:
    """Column names of a k-dimensional latent in latents.parquet: ``name_0 .. name_{k-1}``."""
    return [f"{name}_{i}" for i in range(k)]
