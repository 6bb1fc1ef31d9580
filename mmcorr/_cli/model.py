"""``mmcorr encode | evaluate | predict | report``: the model commands of the command line.

Each command validates its arguments, calls one mmcorr function and prints a short result. Bad
input raises MmcorrError, which mmcorr/cli.py prints as one line with exit code 1 (argparse usage
errors exit with 2). torch loads only inside the commands that need a model.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from mmcorr._cli.common import (
    add_data_args,
    add_output_args,
    add_run_arg,
    labels_spec,
    modality_files,
    output_for,
    parse_assignment,
    summary_lines,
)
from mmcorr._cli.inputs import add_encode_output_args, add_label_column_arg, add_layer_arg, layer_map
from mmcorr._io import atomic_write_bytes, atomic_write_npy, atomic_write_text
from mmcorr._validation import MmcorrError, check_identifier
from mmcorr.data import JOINT, csv_text
from mmcorr.runs import EVALUATION_FILE, require_run

if TYPE_CHECKING:
    from mmcorr.data import Modality, PairedDataset
    from mmcorr.estimator import CorrelationModel

__all__ = ["register"]

_PREDICT_FORMATS = (".npy", ".csv", ".tsv", ".parquet")


def _load_model(run: str) -> CorrelationModel:
    from mmcorr.estimator import CorrelationModel  # torch loads here only

    path = require_run(run)
    try:
        return CorrelationModel.load(path)
    except MmcorrError:
        raise
    except Exception as exc:  # a damaged weights file: say which run, not a torch traceback
        first = (str(exc).strip().splitlines() or [""])[0]  # torch's messages run over many lines
        raise MmcorrError(
            f"The model in the run folder {str(path)!r} cannot be read ({type(exc).__name__}: {first}). "
            "The run may be damaged; train it again."
        ) from None


def _with_model_modalities(model: CorrelationModel, ds: PairedDataset) -> PairedDataset:
    """``ds`` re-laid in the model's modality order; modalities not given are absent (mask False)."""
    from mmcorr.data import PairedDataset

    names: list[str] = list(model.names_)
    dims: dict[str, int] = dict(model.dims_)
    unknown = [n for n in ds.names if n not in names]
    if unknown:
        raise MmcorrError(f"The run was trained on modalities {names}; it has no {unknown}.")
    for n in ds.names:
        if ds.dims[n] != dims[n]:
            raise MmcorrError(
                f"The modality {n!r} has {ds.dims[n]} features here but the run was trained on {dims[n]}."
            )
    n_rows = ds.n_samples
    mask = np.zeros((n_rows, len(names)), dtype=bool)
    values: dict[str, np.ndarray] = {}
    features: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        if name in ds.names:
            values[name] = ds.values[name]
            features[name] = list(ds.features[name])
            mask[:, j] = ds.mask[:, ds.names.index(name)]
        else:
            values[name] = np.zeros((n_rows, dims[name]), dtype=np.float32)
            features[name] = list(model.features_[name])
    return PairedDataset(
        names=names,
        values=values,
        features=features,
        ids=ds.ids,
        mask=mask,
        metadata=ds.metadata,
        label_column=ds.label_column,
        info=dict(ds.info),
        media=dict(model.media_),
        previews=dict(ds.previews),
    )


def _single(mod: Modality) -> PairedDataset:
    from mmcorr.data import PairedDataset

    return PairedDataset(
        names=[mod.name],
        values={mod.name: mod.values},
        features={mod.name: list(mod.features)},
        ids=mod.ids,
        mask=np.ones((mod.n_samples, 1), dtype=bool),
        media={} if mod.media is None else {mod.name: mod.media},
    )


def _cmd_encode(args: argparse.Namespace) -> int:
    from mmcorr._cli.inputs import encode_inputs, write_h5mu_outputs, write_joint_npy, write_npy_outputs
    from mmcorr.data import pair_modalities
    from mmcorr.data.types import SCVERSE_KEYS

    files = modality_files(args.modality)
    out = Path(args.out) if args.out else None
    to_h5mu = out is not None and out.suffix.lower() == ".h5mu"
    write_back = Path(args.write_back) if args.write_back else None
    if out is None and write_back is None:
        raise MmcorrError("Give --out (a folder, or a file ending in .h5mu) or --write-back DATA.h5mu.")
    if out is not None and not to_h5mu and out.exists() and not out.is_dir():
        raise MmcorrError(f"The --out path {str(out)!r} exists and is not a folder (or an .h5mu file name).")
    model = _load_model(args.run)
    mods = encode_inputs(
        files, list(model.names_), id_column=args.id_column, layers=layer_map(args.layer), media=model.media_
    )
    if len(mods) == 1:
        joint_ds = _single(mods[0])
    else:
        by: Literal["id", "order"] = (
            "id" if all(getattr(m, "id_column", None) is not None for m in mods) else "order"
        )
        joint_ds, _ = pair_modalities(mods, how="outer", by=by)
    full = _with_model_modalities(model, joint_ds)
    output = output_for(args)
    shapes: dict[str, list[int]] = {}  # latent name -> [rows, dims], for --json
    if out is not None and not to_h5mu:
        for mod in mods:
            z = model.transform(_with_model_modalities(model, _single(mod)))[mod.name]
            output.line(write_npy_outputs(out, mod, z))
            shapes[mod.name] = list(z.shape)
        joint = model.transform(full)[JOINT]
        output.line(write_joint_npy(out, joint, joint_ds.ids))
        shapes[JOINT] = list(joint.shape)
    if to_h5mu or write_back is not None:
        full.info[SCVERSE_KEYS] = {m.name: m.key for m in mods if m.key is not None}
        latents = model.transform(full, modalities=[m.name for m in mods])
        for line in write_h5mu_outputs(
            latents, full, out=out if to_h5mu else None, write_back=write_back, files=dict(files)
        ):
            output.line(line)
        shapes.update({name: list(np.shape(z)) for name, z in latents.items()})
    output.result(
        {
            "run": str(args.run),
            "out": None if out is None else str(out),
            "write_back": None if write_back is None else str(write_back),
            "latents": shapes,
        }
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from mmcorr._cli.inputs import label_column, set_obs_label
    from mmcorr.data import load_paired
    from mmcorr.runs.evaluate import evaluate_run

    files = modality_files(args.modality)
    obs_label = label_column(args, files)
    label_path, label_col = labels_spec(args.labels)
    paths: dict[str, str | os.PathLike[str]] = dict(files)
    model = _load_model(args.run)
    ds, _ = load_paired(
        paths,
        id_column=args.id_column,
        how=args.how,
        nan=args.nan,
        labels=label_path,
        label_column=label_col,
        layers=layer_map(args.layer),
        media=model.media_,
    )
    if obs_label is not None:
        set_obs_label(ds, obs_label, files)
    result = evaluate_run(
        Path(args.run),
        model,
        _with_model_modalities(model, ds),
        modalities=list(ds.names),
        permutations=args.permutations,
    )
    out = Path(args.out) if args.out else Path(args.run) / EVALUATION_FILE
    atomic_write_text(out, result.to_text())
    output = output_for(args)
    output.line(f"Evaluated {ds.n_samples} samples; metrics written to {out}")
    output.line(summary_lines(result.results.summary.labelled()))
    output.result(
        {
            "run": str(args.run),
            "out": str(out),
            "n_samples": ds.n_samples,
            "summary": result.results.summary.to_json(),
            "evaluation": result.to_json(),
        }
    )
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from mmcorr.data import load_modality

    source, path = args.source
    check_identifier("modality", source)
    out = Path(args.out)
    if out.suffix.lower() not in _PREDICT_FORMATS:
        raise MmcorrError(
            f"The --out file must end in one of {', '.join(_PREDICT_FORMATS)}. Got {out.name!r} instead."
        )
    model = _load_model(args.run)
    if args.target not in model.names_:
        raise MmcorrError(
            f"The --to modality must be one of {list(model.names_)}. Got {args.target!r} instead."
        )
    if args.target == source:
        raise MmcorrError(f"The --from and --to modalities must differ. Got {source!r} for both.")
    mod = load_modality(path, source, id_column=args.id_column)
    ds = _with_model_modalities(model, _single(mod))
    pred = np.asarray(model.predict(ds, source=source, target=args.target), dtype=np.float32)
    ext = out.suffix.lower()
    if ext == ".npy":
        atomic_write_npy(out, pred)
    else:
        frame = pd.DataFrame(pred, columns=ds.features[args.target])
        frame.insert(0, "id", mod.ids.astype(str))
        if ext == ".parquet":
            buf = io.BytesIO()
            frame.to_parquet(buf, index=False)
            atomic_write_bytes(out, buf.getvalue())
        else:
            # Ids and feature names beginning with = + - @ are quoted so a spreadsheet shows them as text.
            atomic_write_text(out, csv_text(frame, sep="\t" if ext == ".tsv" else ","))
    print(f"Wrote {out}  ({pred.shape[0]} x {pred.shape[1]} predicted {args.target!r} from {source!r})")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from mmcorr.runs.report import write_report

    run = require_run(args.run)
    path = write_report(run, args.out)
    print(f"Wrote {path}")
    return 0


def register(subparsers: Any) -> None:
    """Add encode, evaluate, predict and report to the ``mmcorr`` parser."""
    p = subparsers.add_parser("encode", help="project new samples into a trained run's latent space")
    add_run_arg(p)
    p.add_argument(
        "--modality",
        metavar="NAME=PATH",
        type=parse_assignment,
        action="append",
        required=True,
        help="a table of one modality the run was trained on, by its name in the run; repeat for more",
    )
    p.add_argument("--id-column", metavar="COL", help="sample-id column of every table (default: detected)")
    add_encode_output_args(p)
    add_output_args(p)
    p.set_defaults(func=_cmd_encode)

    p = subparsers.add_parser("evaluate", help="held-out metrics of a trained run on new paired data")
    add_run_arg(p)
    p.add_argument(
        "--modality",
        metavar="NAME=PATH",
        type=parse_assignment,
        action="append",
        required=True,
        help="new paired samples of one modality, by its name in the run; repeat for each (two or more)",
    )
    add_data_args(p)
    add_layer_arg(p)
    add_label_column_arg(p)
    p.add_argument(
        "--permutations",
        metavar="R",
        type=int,
        default=100,
        help="permutations of the canonical-correlation null (default 100)",
    )
    p.add_argument("--out", metavar="FILE", help="metrics JSON (default: RUN_DIR/evaluation.json)")
    add_output_args(p)
    p.set_defaults(func=_cmd_evaluate)

    p = subparsers.add_parser("predict", help="predict one modality from another with a trained run")
    add_run_arg(p)
    p.add_argument(
        "--from",
        dest="source",
        metavar="NAME=PATH",
        type=parse_assignment,
        required=True,
        help="the modality to predict from (its name in the run) and its table",
    )
    p.add_argument("--to", dest="target", metavar="NAME", required=True, help="the modality to predict")
    p.add_argument("--id-column", metavar="COL", help="sample-id column of the table (default: detected)")
    p.add_argument("--out", metavar="FILE", required=True, help="output .npy, .csv, .tsv or .parquet")
    p.set_defaults(func=_cmd_predict)

    p = subparsers.add_parser("report", help="write a run's self-contained HTML report")
    add_run_arg(p)
    p.add_argument("--out", metavar="FILE", help="output HTML (default: RUN_DIR/report.html)")
    p.set_defaults(func=_cmd_report)
