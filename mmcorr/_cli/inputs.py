"""Flags and steps shared by ``mmcorr train`` / ``evaluate`` / ``encode`` for AnnData / MuData input
(``--layer``), user-chosen validation and test sets (``--val-modality`` / ``--test-modality``) and
where ``encode`` writes its latents (a folder of .npy files, an .h5mu, or back into the user's .h5mu).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmcorr._cli.common import modality_files, parse_assignment
from mmcorr._io import atomic_write_npy, atomic_write_text
from mmcorr._validation import MmcorrError
from mmcorr.data import JOINT

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mmcorr.config import JobSpec
    from mmcorr.data import MediaSpec, Modality, PairedDataset, Split

__all__ = [
    "add_encode_output_args",
    "add_given_dataset_args",
    "add_label_column_arg",
    "add_layer_arg",
    "add_split_args",
    "encode_inputs",
    "given_splits",
    "label_column",
    "layer_map",
    "set_obs_label",
    "write_h5mu_outputs",
    "write_joint_npy",
    "write_npy_outputs",
]


def _layer_pair(text: str) -> tuple[str, str]:
    """``NAME=LAYER`` -> (NAME, LAYER); an argparse type (a malformed value exits with code 2)."""
    name, sep, layer = text.partition("=")
    if not sep or not name.strip() or not layer.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=LAYER (e.g. rna=counts), got {text!r}")
    return name.strip(), layer.strip()


def add_layer_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--layer",
        metavar="NAME=LAYER",
        type=_layer_pair,
        action="append",
        default=[],
        help="for .h5ad / .h5mu files: read this modality's values from LAYER instead of X "
        "(e.g. rna=counts; NAME is the --modality name or the MuData modality key); repeat per modality",
    )


def add_label_column_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--label-column",
        metavar="COLUMN",
        help="for .h5ad / .h5mu data: the obs column to use as sample labels (a MuData's global obs "
        "column, or KEY:COLUMN for one modality's); instead of --labels PATH:COL",
    )


def label_column(args: argparse.Namespace, files: dict[str, str]) -> str | None:
    """The ``--label-column`` asked for, checked against the other flags before any file is read."""
    column: str | None = args.label_column
    if column is None:
        return None
    if args.labels:
        raise MmcorrError("Give either --labels PATH:COL or --label-column COLUMN, not both.")
    if not any(str(p).lower().endswith((".h5ad", ".h5mu")) for p in files.values()):
        raise MmcorrError(
            f"--label-column names an obs column of .h5ad / .h5mu data; the --modality files "
            f"{sorted(files.values())} have none (use --labels PATH:COL for a label table). "
            f"Got {column!r}."
        )
    return column


def set_obs_label(ds: PairedDataset, column: str, files: dict[str, str]) -> None:
    """Use the obs column ``column`` of the loaded data as ``ds``'s labels."""
    from mmcorr._validation import DataError

    columns = [] if ds.metadata is None else [str(c) for c in ds.metadata.columns]
    if column not in columns:
        names = sorted(Path(p).name for p in files.values())
        raise DataError(
            f"--label-column {column!r} is not an obs column of {', '.join(names)}; "
            f"the obs columns: {columns[:20]}."
        )
    ds.label_column = column


def add_encode_output_args(p: argparse.ArgumentParser) -> None:
    """``encode``'s ``--layer``, ``--out`` (a folder or an .h5mu file) and ``--write-back``."""
    add_layer_arg(p)
    p.add_argument(
        "--out",
        metavar="OUT",
        help="a folder for NAME.npy + NAME_ids.txt per modality and joint.npy + joint_ids.txt, or a file "
        "ending in .h5mu (each modality's latent in .mod[NAME].obsm['X_mmcorr'], the joint one in .obsm)",
    )
    p.add_argument(
        "--write-back",
        metavar="DATA.h5mu|DATA.h5ad",
        help="add the latents to this .h5mu file (obsm['X_mmcorr'] per modality and joint) or to a "
        "one-modality .h5ad given as a --modality file (its latent in obsm['X_mmcorr']), replacing it "
        "atomically",
    )


def layer_map(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The ``--layer`` values as modality -> layer (each modality once)."""
    layers: dict[str, str] = {}
    for name, layer in pairs:
        if name in layers:
            raise MmcorrError(
                f"The modality {name!r} is given twice with --layer; give each modality one layer."
            )
        layers[name] = layer
    return layers


def add_split_args(p: argparse.ArgumentParser) -> None:
    for flag, what, fraction in (
        ("--val-modality", "validation (early-stopping)", "--val-fraction"),
        ("--test-modality", "test (held-out analyses)", "--test-fraction"),
    ):
        p.add_argument(
            flag,
            metavar="NAME=PATH",
            type=parse_assignment,
            action="append",
            default=[],
            help=f"one modality of your own {what} set, with the same modalities and features as "
            f"--modality; repeat for each modality. Replaces {fraction}: the --modality files are "
            "split only into the parts not given",
        )


def add_given_dataset_args(p: argparse.ArgumentParser) -> None:
    """``--val-dataset ID`` / ``--test-dataset ID``: registered datasets as the given sets."""
    for flag, what, fraction in (
        ("--val-dataset", "validation (early-stopping)", "--val-fraction"),
        ("--test-dataset", "test (held-out analyses)", "--test-fraction"),
    ):
        p.add_argument(
            flag,
            metavar="ID",
            default=None,
            help=f"a registered dataset used as the {what} set, with the same modalities and features "
            f"as --dataset; replaces {fraction} (--dataset is split only into the parts not given)",
        )


def given_splits(
    args: argparse.Namespace, ds: PairedDataset, spec: JobSpec
) -> tuple[PairedDataset, Split | None]:
    """``ds`` with the user's ``--val-modality`` / ``--test-modality`` sets appended, and the split
    naming them; ``(ds, None)`` when neither is given (the run then splits by the fractions)."""
    from mmcorr.data import load_paired
    from mmcorr.data.split import stack_given_splits

    parts: dict[str, PairedDataset | None] = {}
    for flag, pairs in (("--val-modality", args.val_modality), ("--test-modality", args.test_modality)):
        if not pairs:
            parts[flag] = None
            continue
        files: dict[str, str | os.PathLike[str]] = dict(modality_files(pairs, flag))
        part, _ = load_paired(
            files, id_column=args.id_column, how=args.how, layers=layer_map(args.layer), media=ds.media
        )
        parts[flag] = part
    if parts["--val-modality"] is None and parts["--test-modality"] is None:
        return ds, None
    return stack_given_splits(ds, parts["--val-modality"], parts["--test-modality"], spec.data)


def encode_inputs(
    files: dict[str, str],
    known: list[str],
    *,
    id_column: str | None,
    layers: dict[str, str],
    media: Mapping[str, MediaSpec],
) -> list[Modality]:
    """The modalities ``encode`` reads: one per ``NAME=PATH``; an .h5mu gives those of its modalities
    the run knows, named as ``mmcorr train`` named them (``NAME_<key>``), or the one keyed NAME.
    media: the run's raw modalities (name -> MediaSpec): their new files are featurised the same way."""
    from mmcorr.data import load_file, load_modality

    mods: list[Modality] = []
    for name, path in files.items():
        if not str(path).lower().endswith(".h5mu"):
            mods.append(load_modality(path, name, id_column=id_column, layers=layers, media=media.get(name)))
            continue
        found = load_file(path, name, id_column=id_column, layers=layers)
        if len(found) == 1:
            found[0].name = name
        matched = [m for m in found if m.name in known]
        mods.extend(matched or [load_modality(path, name, layers=layers)])
    return mods


def write_npy_outputs(out: Path, mod: Modality, z: np.ndarray) -> str:
    """``out/NAME.npy`` (the latent, one row per sample of the file) and ``out/NAME_ids.txt``."""
    atomic_write_npy(out / f"{mod.name}.npy", np.asarray(z, dtype=np.float32))
    atomic_write_text(out / f"{mod.name}_ids.txt", "\n".join(map(str, mod.ids)) + "\n")
    return f"Wrote {out / (mod.name + '.npy')}  ({z.shape[0]} x {z.shape[1]}; row ids in {mod.name}_ids.txt)"


def write_joint_npy(out: Path, joint: np.ndarray, ids: np.ndarray) -> str:
    atomic_write_npy(out / f"{JOINT}.npy", np.asarray(joint, dtype=np.float32))
    atomic_write_text(out / f"{JOINT}_ids.txt", "\n".join(map(str, ids)) + "\n")
    return (
        f"Wrote {out / (JOINT + '.npy')}  ({joint.shape[0]} x {joint.shape[1]}; row ids in {JOINT}_ids.txt)"
    )


def write_h5mu_outputs(
    latents: dict[str, Any],
    ds: PairedDataset,
    *,
    out: Path | None,
    write_back: Path | None,
    files: dict[str, str] | None = None,
) -> list[str]:
    """Write ``latents`` (name -> (n, k) in ``ds`` row order, and ``"joint"``) as a new .h5mu at
    ``out`` and / or into the user's ``write_back`` .h5mu / .h5ad (atomically); the lines to print.
    files: the ``--modality`` NAME -> PATH, to find which modality an .h5ad ``write_back`` holds."""
    from mmcorr.data import OBSM_KEY, latents_mudata
    from mmcorr.data import write_back as add_to_file
    from mmcorr.data.scverse import write_h5mu
    from mmcorr.data.types import SCVERSE_KEYS

    lines: list[str] = []
    if out is not None:
        present = {n: ds.mask[:, j] for j, n in enumerate(ds.names) if n in latents}
        write_h5mu(latents_mudata(latents, ds.ids, present, ds.info.get(SCVERSE_KEYS)), out)
        lines.append(
            f"Wrote {out}  (each modality's latent in .mod[NAME].obsm[{OBSM_KEY!r}], joint in .obsm)"
        )
    if write_back is not None:
        same = [n for n, p in (files or {}).items() if Path(p).resolve() == write_back.resolve()]
        modality = same[0] if len(same) == 1 else None
        where = add_to_file(write_back, latents, ds.ids, ds.info.get(SCVERSE_KEYS, {}), modality=modality)
        lines.append(f"Added latents to {write_back}: {', '.join(where)}")
    return lines
