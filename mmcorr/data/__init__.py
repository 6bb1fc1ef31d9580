"""mmcorr.data: load, pair, preprocess, split and register paired multimodal data (no torch)."""

from __future__ import annotations

from ._chunks import dense_rows
from .demos import DEMO_NAMES, DEMO_SPLIT_COLUMN, make_demo
from .export import FORMULA_PREFIXES, csv_text, neutralise_text, spreadsheet_safe
from .loaders import (
    SUPPORTED_EXTENSIONS,
    TABLE_EXTENSIONS,
    file_extension,
    load_file,
    load_modality,
    sanitize_name,
)
from .metadata import RESERVED_COLUMNS, read_metadata
from .pairing import MIN_PAIRED, load_paired, pair_modalities
from .preprocess import Preprocessor
from .registry import DatasetInfo, DatasetRegistry
from .report import ModalitySummary, PairingReport
from .scverse import OBSM_KEY, add_latents, latents_mudata, paired_from_scverse, write_back
from .split import DatasetSplit, Split, split_dataset, split_indices
from .types import JOINT, MEDIA_KINDS, MediaSpec, Modality, PairedDataset
from .uploads import file_layers, obs_columns, stage_upload, table_columns, upload_types

__all__ = [
    "DEMO_NAMES",
    "DEMO_SPLIT_COLUMN",
    "FORMULA_PREFIXES",
    "JOINT",
    "MEDIA_KINDS",
    "MIN_PAIRED",
    "OBSM_KEY",
    "RESERVED_COLUMNS",
    "SUPPORTED_EXTENSIONS",
    "TABLE_EXTENSIONS",
    "DatasetInfo",
    "DatasetRegistry",
    "DatasetSplit",
    "MediaSpec",
    "Modality",
    "ModalitySummary",
    "PairedDataset",
    "PairingReport",
    "Preprocessor",
    "Split",
    "add_latents",
    "csv_text",
    "dense_rows",
    "file_extension",
    "file_layers",
    "load_file",
    "load_modality",
    "load_paired",
    "latents_mudata",
    "make_demo",
    "neutralise_text",
    "obs_columns",
    "pair_modalities",
    "paired_from_scverse",
    "read_metadata",
    "sanitize_name",
    "split_dataset",
    "split_indices",
    "spreadsheet_safe",
    "stage_upload",
    "table_columns",
    "upload_types",
    "write_back",
]
